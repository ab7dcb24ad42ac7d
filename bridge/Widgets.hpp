/*
 * promptdaw bridge: small NanoVG drawing helpers for the UI (UI thread only).
 */

#pragma once

#include <string>

#include "NanoVG.hpp"

namespace promptdaw::ui {

/** A rectangle in UI pixels, with hit testing. */
struct Box {
    float x = 0.f, y = 0.f, w = 0.f, h = 0.f;
    bool contains(double px, double py) const noexcept { return px >= x && px < x + w && py >= y && py < y + h; }
};

/** The palette: dark background, one accent. */
namespace colors {
DGL_NAMESPACE::Color background();
DGL_NAMESPACE::Color panel();
DGL_NAMESPACE::Color border();
DGL_NAMESPACE::Color text();
DGL_NAMESPACE::Color dim();
DGL_NAMESPACE::Color accent();
DGL_NAMESPACE::Color good();
DGL_NAMESPACE::Color warn();
DGL_NAMESPACE::Color bad();
/** The colour of a clip's part in the piano roll and its legend: drums warn-yellow, the pitched
    parts in turn accent-orange, blue, green, violet, pink, teal. */
DGL_NAMESPACE::Color part(int pitchedIndex, bool drums);
} // namespace colors

/** A rounded button; `active` draws it filled with the accent colour. */
void button(DGL_NAMESPACE::NanoVG& vg, const Box& box, const char* label, bool active, bool enabled = true);

/** Text left-aligned and vertically centred in `box`, clipped to it. */
void label(DGL_NAMESPACE::NanoVG& vg, const Box& box, const std::string& text, const DGL_NAMESPACE::Color& color,
           float size = 13.f);

/** A horizontal progress bar. */
void progressBar(DGL_NAMESPACE::NanoVG& vg, const Box& box, float fraction, const DGL_NAMESPACE::Color& color);

/** A filled circle (status lamp). */
void lamp(DGL_NAMESPACE::NanoVG& vg, float x, float y, float radius, const DGL_NAMESPACE::Color& color);

} // namespace promptdaw::ui
