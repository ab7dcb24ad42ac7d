/*
 * promptdaw bridge: NanoVG drawing helpers (see Widgets.hpp).
 */

#include "Widgets.hpp"

#include <algorithm>

namespace promptdaw::ui {

using DGL_NAMESPACE::Color;
using DGL_NAMESPACE::NanoVG;

namespace colors {
Color background() { return Color(24, 26, 31); }
Color panel() { return Color(34, 37, 44); }
Color border() { return Color(58, 63, 74); }
Color text() { return Color(226, 229, 235); }
Color dim() { return Color(140, 147, 160); }
Color accent() { return Color(255, 138, 61); }
Color good() { return Color(92, 199, 122); }
Color warn() { return Color(232, 190, 80); }
Color bad() { return Color(235, 87, 87); }
Color part(int pitchedIndex, bool drums)
{
    static const Color kPitched[] = {accent(), Color(90, 160, 250), Color(92, 199, 122), Color(170, 120, 240),
                                     Color(240, 110, 170), Color(70, 200, 200)};
    if (drums)
        return warn();
    return kPitched[std::max(0, pitchedIndex) % int(sizeof(kPitched) / sizeof(kPitched[0]))];
}
} // namespace colors

void button(NanoVG& vg, const Box& box, const char* text, bool active, bool enabled)
{
    vg.beginPath();
    vg.roundedRect(box.x + 0.5f, box.y + 0.5f, box.w - 1.f, box.h - 1.f, 4.f);
    vg.fillColor(active ? colors::accent() : colors::panel());
    vg.fill();
    vg.strokeColor(active ? colors::accent() : colors::border());
    vg.strokeWidth(1.f);
    vg.stroke();
    vg.fontSize(13.f);
    vg.textAlign(NanoVG::ALIGN_CENTER | NanoVG::ALIGN_MIDDLE);
    vg.fillColor(!enabled ? colors::dim() : active ? Color(20, 20, 20) : colors::text());
    vg.text(box.x + box.w / 2, box.y + box.h / 2 + 1, text, nullptr);
}

void label(NanoVG& vg, const Box& box, const std::string& text, const Color& color, float size)
{
    vg.save();
    vg.scissor(box.x, box.y, box.w, box.h);
    vg.fontSize(size);
    vg.textAlign(NanoVG::ALIGN_LEFT | NanoVG::ALIGN_MIDDLE);
    vg.fillColor(color);
    vg.text(box.x, box.y + box.h / 2 + 1, text.c_str(), nullptr);
    vg.restore();
}

void progressBar(NanoVG& vg, const Box& box, float fraction, const Color& color)
{
    vg.beginPath();
    vg.roundedRect(box.x, box.y, box.w, box.h, box.h / 2);
    vg.fillColor(colors::panel());
    vg.fill();
    const float f = std::clamp(fraction, 0.f, 1.f);
    if (f > 0.f)
    {
        vg.beginPath();
        vg.roundedRect(box.x, box.y, std::max(box.h, box.w * f), box.h, box.h / 2);
        vg.fillColor(color);
        vg.fill();
    }
}

void lamp(NanoVG& vg, float x, float y, float radius, const Color& color)
{
    vg.beginPath();
    vg.circle(x, y, radius);
    vg.fillColor(color);
    vg.fill();
}

} // namespace promptdaw::ui
