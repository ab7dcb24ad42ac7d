/*
 * promptdaw bridge: the plugin UI (DGL with NanoVG).
 *
 * Commands go to the DSP side as states (setState), exactly as a host or a test would send
 * them, so the host records every change. What the UI shows comes from two places: output
 * parameters (connection, request state, progress, playhead), which every host forwards,
 * and a status snapshot copied from the plugin's worker (text, preview data), which needs
 * direct access (DISTRHO_PLUGIN_WANT_DIRECT_ACCESS; LV2 hosts provide instance-access).
 * Without it the UI still works, with less detail.
 */

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "DistrhoUI.hpp"

#include "FileDrag.hpp"
#include "PromptdawPlugin.hpp"
#include "Widgets.hpp"

START_NAMESPACE_DISTRHO

using promptdaw::ClipData;
using promptdaw::ClipKind;
using promptdaw::ui::Box;
namespace colors = promptdaw::ui::colors;

namespace {

const char* const kNoteNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

std::string noteName(int note)
{
    return std::string(kNoteNames[note % 12]) + std::to_string(note / 12 - 1);
}

std::string trimTo(const std::string& text, size_t chars)
{
    return text.size() <= chars ? text : text.substr(0, chars - 3) + "...";
}

/** The Key control's choices: "" (the prompt decides), then C major, C minor, C# major ... B minor.
    No host hands DPF plugins a project key (see docs/bridge.md), so there is no "follow the project". */
constexpr int kKeyChoices = 25;

std::string keyChoice(int index)
{
    if (index <= 0 || index >= kKeyChoices)
        return std::string();
    return std::string(kNoteNames[(index - 1) / 2]) + ((index - 1) % 2 == 0 ? " major" : " minor");
}

int keyIndex(const std::string& key)
{
    for (int i = 1; i < kKeyChoices; ++i)
        if (keyChoice(i) == key)
            return i;
    return 0;
}

} // namespace

class PromptdawUI : public UI {
public:
    PromptdawUI() : UI(DISTRHO_UI_DEFAULT_WIDTH, DISTRHO_UI_DEFAULT_HEIGHT)
    {
        loadSharedResources();
        fPlugin = static_cast<PromptdawPlugin*>(getPluginInstancePointer());
        if (fPlugin != nullptr)
        {
            const promptdaw::Settings s = fPlugin->settings();
            fPrompt = s.prompt;
            fMode = s.mode;
            fBars = s.bars;
            fSeed = s.seed;
            fNote = std::max(0, promptdaw::parseNoteName(s.note));
            fKey = keyIndex(s.key);
            fRegenPart = s.regenPart;
            readRegenBars(s.regenBars);
        }
        refreshStatus();
    }

protected:
    // ------------------------------------------------------------------------------ DSP -> UI

    /** Output parameters (and the inputs, when the host changes them). */
    void parameterChanged(uint32_t index, float value) override
    {
        switch (index)
        {
        case kParamConnection: fConnection = int(value); break;
        case kParamJob: fJob = int(value); break;
        case kParamProgress: fProgress = value; break;
        case kParamPlayhead: fPlayhead = value; break;
        case kParamClipKind: fClipKind = int(value); break;
        default: return;
        }
        repaint();
    }

    /** Settings restored by the host (e.g. when a project opens). */
    void stateChanged(const char* key, const char* value) override
    {
        const std::string k = key, v = value != nullptr ? value : "";
        if (k == "prompt")
            fPrompt = v;
        else if (k == "mode")
            promptdaw::clipKindFromName(v, fMode);
        else if (k == "bars")
            fBars = std::clamp(std::atoi(v.c_str()), 1, 32);
        else if (k == "seed")
            fSeed = v;
        else if (k == "note")
            fNote = std::max(0, promptdaw::parseNoteName(v));
        else if (k == "key")
            fKey = keyIndex(v);
        else if (k == "regen_part")
            fRegenPart = v == "all" ? std::string() : v;
        else if (k == "regen_bars")
            readRegenBars(v);
        repaint();
    }

    /** Polls the worker's status snapshot (cheap: a version number) and repaints on change. */
    void uiIdle() override
    {
        if (fDragging || fDrag.active())
        {
            fDrag.idle();
            if (!fDrag.outcome().empty() && fDrag.outcome() != fDragOutcome)
            {
                fDragOutcome = fDrag.outcome();
                repaint();
            }
        }
        if (fPlugin != nullptr && fPlugin->statusVersion() != fStatus.version)
        {
            refreshStatus();
            repaint();
        }
        if (fFocused && ++fBlink % 15 == 0)
            repaint();
    }

    // ------------------------------------------------------------------------------ drawing

    /** Draws the whole UI. */
    void onNanoDisplay() override
    {
        const float W = float(getWidth()), H = float(getHeight());
        beginPath();
        rect(0, 0, W, H);
        fillColor(colors::background());
        fill();
        fontFace(NANOVG_DEJAVU_SANS_TTF);

        // header: name and connection
        promptdaw::ui::label(*this, {16, 10, 200, 24}, "promptdaw", colors::accent(), 20.f);
        const int connection = fPlugin != nullptr ? int(fStatus.connection) : fConnection;
        const DGL::Color lampColor = connection == kConnConnected  ? colors::good()
                                   : connection == kConnStarting   ? colors::warn()
                                   : connection == kConnUnreachable ? colors::bad()
                                                                    : colors::dim();
        std::string connText = connection == kConnConnected    ? "daemon connected"
                             : connection == kConnStarting     ? "starting the daemon..."
                             : connection == kConnUnreachable  ? "no daemon"
                                                               : "looking for the daemon...";
        if (fPlugin != nullptr && !fStatus.endpoint.empty())
            connText += "  " + fStatus.endpoint;
        if (connection == kConnConnected && !fStatus.daemonVersion.empty())
            connText += "  v" + fStatus.daemonVersion;
        fStartBox = connection == kConnUnreachable ? Box{W - 128, 10, 112, 24} : Box{};
        const float connRight = fStartBox.w > 0 ? fStartBox.x - 10 : W - 16;
        promptdaw::ui::lamp(*this, connRight - 340, 22, 5, lampColor);
        promptdaw::ui::label(*this, {connRight - 328, 10, 328, 24}, trimTo(connText, 52), colors::dim(), 12.f);
        if (fStartBox.w > 0)
            promptdaw::ui::button(*this, fStartBox, "Start daemon", false);

        // prompt box and Generate / Cancel
        fPromptBox = {16, 44, W - 16 - 140, 40};
        beginPath();
        roundedRect(fPromptBox.x, fPromptBox.y, fPromptBox.w, fPromptBox.h, 5);
        fillColor(colors::panel());
        fill();
        strokeColor(fFocused ? colors::accent() : colors::border());
        strokeWidth(1.f);
        stroke();
        const bool empty = fPrompt.empty();
        std::string shown = empty && !fFocused ? "Describe a sound, a loop or a MIDI part..." : fPrompt;
        if (fFocused && (fBlink / 15) % 2 == 0)
            shown += "|";
        promptdaw::ui::label(*this, {fPromptBox.x + 10, fPromptBox.y, fPromptBox.w - 20, fPromptBox.h}, shown,
                             empty && !fFocused ? colors::dim() : colors::text(), 15.f);
        const bool running = currentJob() == kJobRunning;
        fGenerateBox = {W - 132, 44, 116, 40};
        promptdaw::ui::button(*this, fGenerateBox, running ? "Cancel" : "Generate", !running);

        // controls row
        const float y = 96, h = 26;
        const char* modes[3] = {"Sample", "Loop", "MIDI"};
        for (int i = 0; i < 3; ++i)
        {
            fModeBoxes[i] = {16.f + i * 72.f, y, 70, h};
            promptdaw::ui::button(*this, fModeBoxes[i], modes[i], int(fMode) == i + 1);
        }
        float x = 248;
        if (fMode == ClipKind::Sample)
        {
            x = stepper(x, y, "Note", noteName(fNote), fNoteDown, fNoteUp);
        }
        else
        {
            x = stepper(x, y, "Bars", std::to_string(fBars), fBarsDown, fBarsUp);
        }
        x = stepper(x + 12, y, "Seed", fSeed.empty() ? "random" : fSeed, fSeedDown, fSeedUp);
        fDiceBox = {x + 4, y, 64, h};
        promptdaw::ui::button(*this, fDiceBox, "Random", fSeed.empty());

        // progress
        const float progress = fPlugin != nullptr ? float(fStatus.progress) : fProgress;
        promptdaw::ui::progressBar(*this, {16, 134, W - 32, 6}, running ? progress : (currentJob() == kJobDone ? 1.f : 0.f),
                                   running ? colors::accent() : colors::border());
        if (running)
        {
            char line[160];
            std::snprintf(line, sizeof(line), "%s  %d%%  %s", fStatus.requestType.c_str(), int(std::lround(progress * 100)),
                          fStatus.stage.c_str());
            promptdaw::ui::label(*this, {16, 142, W - 32, 16}, line, colors::dim(), 11.f);
        }

        // preview
        const Box preview{16, 162, W - 32, 186};
        beginPath();
        roundedRect(preview.x, preview.y, preview.w, preview.h, 5);
        fillColor(colors::panel());
        fill();
        const ClipData* clip = fStatus.clip.get();
        if (clip != nullptr && clip->kind == ClipKind::Midi)
            drawPianoRoll(*clip, preview);
        else if (clip != nullptr && clip->hasAudio())
            drawWaveform(*clip, preview);
        else
        {
            fontSize(13.f);
            textAlign(ALIGN_CENTER | ALIGN_MIDDLE);
            fillColor(colors::dim());
            text(preview.x + preview.w / 2, preview.y + preview.h / 2,
                 fPlugin == nullptr ? "preview needs a host with instance access" : "no clip yet: type a prompt and press Generate",
                 nullptr);
        }

        // clip summary and Export
        fExportBox = {W - 132, 356, 116, 28};
        promptdaw::ui::button(*this, fExportBox, "Export", false, clip != nullptr);
        if (clip != nullptr)
        {
            char summary[256];
            if (clip->kind == ClipKind::Sample)
                std::snprintf(summary, sizeof(summary), "sample  root %s  %.2f s  %u Hz  seed %lld  \"%s\"", noteName(clip->rootNote).c_str(),
                              clip->frames / double(clip->sampleRate), clip->sampleRate, (long long)clip->seed,
                              trimTo(clip->prompt, 40).c_str());
            else
                std::snprintf(summary, sizeof(summary), "%s  %d bars  %g BPM  %d/%d  seed %lld  \"%s\"", promptdaw::clipKindName(clip->kind),
                              clip->bars, clip->bpm, clip->meterNumerator, clip->meterDenominator, (long long)clip->seed,
                              trimTo(clip->prompt, 40).c_str());
            promptdaw::ui::label(*this, {16, 356, W - 164, 28}, summary, colors::text(), 12.f);
        }

        // messages: export paths (drag handles once there are files), then the error line. Audio (the
        // mix and its stems) and MIDI are handles of their own: a DAW takes each onto its own kind of track.
        splitExports(fStatus.exported, fAudioFiles, fMidiFiles);
        const bool both = !fAudioFiles.empty() && !fMidiFiles.empty();
        fDragBox = fStatus.exported.empty() ? Box{} : Box{16, 386, both ? W - 32 - 208 : W - 32, 22};
        fMidiDragBox = both ? Box{W - 16 - 200, 386, 200, 22} : Box{};
        if (fDragBox.w > 0)
        {
            const std::vector<std::string>& files = fAudioFiles.empty() ? fMidiFiles : fAudioFiles;
            dragHandle(fDragBox, "drag onto a track: " + files.front(), files);
        }
        if (fMidiDragBox.w > 0)
            dragHandle(fMidiDragBox, "MIDI: " + fMidiFiles.front().substr(fMidiFiles.front().find_last_of('/') + 1), fMidiFiles);
        if (fDragBox.w == 0 && !fStatus.message.empty())
            promptdaw::ui::label(*this, {16, 388, W - 32, 18}, trimTo(fStatus.message, 110), colors::dim(), 11.f);
        std::string error;
        if (!fStatus.errorMessage.empty())
            error = fStatus.errorMessage;
        else if (fPlugin == nullptr && fJob == kJobFailed)
            error = "the request failed (details need a host with instance access)";
        else if (connection == kConnUnreachable)
            error = "no daemon answers: press Start daemon, or run `promptdaw serve`";
        if (!error.empty())
            promptdaw::ui::label(*this, {16, 408, W - 32, 22}, trimTo("! " + error, 115), colors::bad(), 12.f);

        // Key and the history of results
        const float y2 = 440;
        float x2 = stepper(16, y2, "Key", fKey == 0 ? "auto" : keyChoice(fKey), fKeyDown, fKeyUp);
        const HistoryInfo history = fPlugin != nullptr ? fPlugin->historyInfo() : HistoryInfo();
        const std::string take = history.size == 0 ? "-" : std::to_string(history.index + 1) + "/" + std::to_string(history.size);
        x2 = stepper(x2 + 24, y2, "Take", take, fTakeBack, fTakeForward);
        fKeepBox = {x2 + 4, y2, 56, 26};
        promptdaw::ui::button(*this, fKeepBox, history.favourite ? "Kept" : "Keep", history.favourite, history.size > 0);

        // regenerate a part or bars of the MIDI clip
        const float y3 = 474;
        const bool midi = clip != nullptr && clip->hasMidi() && clip->kind == ClipKind::Midi;
        const int clipBars = clip != nullptr && clip->bars > 0 ? clip->bars : 1;
        const int from = std::clamp(fRegenFrom, 1, clipBars), to = fRegenTo == 0 ? clipBars : std::clamp(fRegenTo, from, clipBars);
        x2 = stepper(16, y3, "Part", fRegenPart.empty() ? "all" : fRegenPart, fPartDown, fPartUp);
        x2 = stepper(x2 + 24, y3, "From", std::to_string(from), fFromDown, fFromUp);
        x2 = stepper(x2 + 12, y3, "To", std::to_string(to), fToDown, fToUp);
        fRegenBox = {x2 + 12, y3, 112, 26};
        promptdaw::ui::button(*this, fRegenBox, "Regenerate", false, midi && !running);
    }

    // ------------------------------------------------------------------------------ input

    /** Clicks: buttons, mode, steppers, focus of the prompt box. */
    bool onMouse(const MouseEvent& ev) override
    {
        if (ev.button != 1)
            return false;
        if (!ev.press)
        {
            if (fDragging)
                fDrag.release();
            fDragging = fDragPending = false;
            repaint();
            return true;
        }
        const double px = ev.pos.getX(), py = ev.pos.getY();
        fFocused = fPromptBox.contains(px, py);
        if ((fDragBox.w > 0 && fDragBox.contains(px, py)) || (fMidiDragBox.w > 0 && fMidiDragBox.contains(px, py)))
        {
            const bool midiHandle = fMidiDragBox.w > 0 && fMidiDragBox.contains(px, py);
            fDragFiles = midiHandle || fAudioFiles.empty() ? fMidiFiles : fAudioFiles;
            fDragPending = true;  // a drag once the pointer moves a few pixels
            fPressX = px;
            fPressY = py;
        }
        else if (fGenerateBox.contains(px, py))
        {
            if (currentJob() == kJobRunning)
                trigger("cancel");
            else
                trigger("generate");
        }
        else if (fExportBox.contains(px, py))
            trigger("export");
        else if (fStartBox.w > 0 && fStartBox.contains(px, py))
            trigger("connect");
        else if (fDiceBox.contains(px, py))
            setSeed("");
        else if (fBarsDown.contains(px, py))
            setBars(fBars > 1 ? fBars - 1 : 1);
        else if (fBarsUp.contains(px, py))
            setBars(std::min(32, fBars + 1));
        else if (fNoteDown.contains(px, py))
            setNote(std::max(0, fNote - 1));
        else if (fNoteUp.contains(px, py))
            setNote(std::min(127, fNote + 1));
        else if (fSeedDown.contains(px, py) || fSeedUp.contains(px, py))
        {
            long long seed = fSeed.empty() ? (fStatus.clip ? fStatus.clip->seed : 1) : std::atoll(fSeed.c_str());
            if (!fSeed.empty())
                seed += fSeedUp.contains(px, py) ? 1 : -1;
            setSeed(std::to_string(std::max(0LL, seed)));
        }
        else if (fKeyDown.contains(px, py) || fKeyUp.contains(px, py))
        {
            fKey = (fKey + (fKeyUp.contains(px, py) ? 1 : kKeyChoices - 1)) % kKeyChoices;
            setState("key", keyChoice(fKey).c_str());
        }
        else if (fTakeBack.contains(px, py))
            trigger("history_back");
        else if (fTakeForward.contains(px, py))
            trigger("history_forward");
        else if (fKeepBox.contains(px, py) && fPlugin != nullptr)
            setState("favourite", fPlugin->historyInfo().favourite ? "0" : "1");
        else if (fPartDown.contains(px, py) || fPartUp.contains(px, py))
            stepPart(fPartUp.contains(px, py) ? 1 : -1);
        else if (fFromDown.contains(px, py) || fFromUp.contains(px, py) || fToDown.contains(px, py) || fToUp.contains(px, py))
            stepRegenBars(px, py);
        else if (fRegenBox.contains(px, py) && currentJob() != kJobRunning)
            trigger("regenerate");
        else
        {
            for (int i = 0; i < 3; ++i)
                if (fModeBoxes[i].contains(px, py))
                {
                    fMode = ClipKind(i + 1);
                    setState("mode", promptdaw::clipKindName(fMode));
                }
        }
        repaint();
        return true;
    }

    /** Dragging the exported files: starts after a few pixels, then follows the pointer. */
    bool onMotion(const MotionEvent& ev) override
    {
        if (fDragPending && std::hypot(ev.pos.getX() - fPressX, ev.pos.getY() - fPressY) > 4.0)
        {
            fDragPending = false;
            std::string error;
            fDragging = fDrag.start(fDragFiles, error);
            fDragOutcome = fDragging ? "" : error;
            repaint();
        }
        else if (fDragging)
            fDrag.motion();
        return fDragging;
    }

    /** Editing keys of the prompt box. */
    bool onKeyboard(const KeyboardEvent& ev) override
    {
        if (!fFocused || !ev.press)
            return false;
        if (ev.key == kKeyBackspace)
        {
            // drop one UTF-8 character
            while (!fPrompt.empty() && (static_cast<unsigned char>(fPrompt.back()) & 0xC0) == 0x80)
                fPrompt.pop_back();
            if (!fPrompt.empty())
                fPrompt.pop_back();
            setState("prompt", fPrompt.c_str());
        }
        else if (ev.key == '\r' || ev.key == '\n')
        {
            trigger("generate");
        }
        else if (ev.key == kKeyEscape)
        {
            fFocused = false;
        }
        else
            return false;
        repaint();
        return true;
    }

    /** Typed text goes into the prompt. */
    bool onCharacterInput(const CharacterInputEvent& ev) override
    {
        if (!fFocused || ev.character < 32 || ev.character == 127)
            return false;
        if (fPrompt.size() < 500)
        {
            fPrompt += ev.string;
            setState("prompt", fPrompt.c_str());
        }
        repaint();
        return true;
    }

private:
    float stepper(float x, float y, const char* name, const std::string& value, Box& down, Box& up)
    {
        promptdaw::ui::label(*this, {x, y, 40, 26}, name, colors::dim(), 12.f);
        down = {x + 40, y, 24, 26};
        promptdaw::ui::button(*this, down, "-", false);
        fontSize(13.f);
        textAlign(ALIGN_CENTER | ALIGN_MIDDLE);
        fillColor(colors::text());
        text(x + 40 + 24 + 34, y + 14, value.c_str(), nullptr);
        up = {x + 40 + 24 + 68, y, 24, 26};
        promptdaw::ui::button(*this, up, "+", false);
        return up.x + up.w;
    }

    /** A drag handle for `files`: the text, trimmed to fit, then the outcome of their last drag. */
    void dragHandle(const Box& box, const std::string& text, const std::vector<std::string>& files)
    {
        const bool mine = fDragFiles == files;
        beginPath();
        roundedRect(box.x, box.y, box.w, box.h, 4);
        strokeColor(fDragging && mine ? colors::accent() : colors::border());
        strokeWidth(1.f);
        stroke();
        const std::string outcome = fDragOutcome.empty() || !mine ? "" : " [" + fDragOutcome + "]";
        const size_t fits = size_t(box.w / 6.2f);
        promptdaw::ui::label(*this, {box.x + 8, box.y, box.w - 16, box.h},
                             trimTo(text, fits > outcome.size() + 8 ? fits - outcome.size() : 8) + outcome, colors::text(), 11.f);
    }

    /** Exported paths: the MIDI files (.mid) apart from the audio (mix and stems), each in order. */
    static void splitExports(const std::vector<std::string>& paths, std::vector<std::string>& audio, std::vector<std::string>& midi)
    {
        audio.clear();
        midi.clear();
        for (const std::string& path : paths)
            (path.size() > 4 && path.compare(path.size() - 4, 4, ".mid") == 0 ? midi : audio).push_back(path);
    }

    void drawWaveform(const ClipData& clip, const Box& box)
    {
        const size_t columns = clip.peaks.size() / 2;
        if (columns == 0)
            return;
        const float mid = box.y + box.h / 2, scale = box.h / 2 - 8;
        // bar lines for loops
        if (clip.kind == ClipKind::Loop && clip.bars > 0)
        {
            for (int b = 1; b < clip.bars; ++b)
            {
                const float bx = box.x + box.w * b / clip.bars;
                beginPath();
                moveTo(bx, box.y + 4);
                lineTo(bx, box.y + box.h - 4);
                strokeColor(colors::border());
                stroke();
            }
        }
        beginPath();
        for (size_t c = 0; c < columns; ++c)
        {
            const float px = box.x + 4 + (box.w - 8) * c / columns;
            const float lo = std::max(-1.f, clip.peaks[2 * c]), hi = std::min(1.f, clip.peaks[2 * c + 1]);
            rect(px, mid - hi * scale, std::max(1.f, (box.w - 8) / columns), std::max(1.f, (hi - lo) * scale));
        }
        fillColor(colors::accent());
        fill();
        drawPlayhead(box);
    }

    void drawPianoRoll(const ClipData& clip, const Box& box)
    {
        if (clip.notes.empty() || clip.lengthBeats <= 0.0)
            return;
        int lo = 127, hi = 0;
        for (const promptdaw::PreviewNote& n : clip.notes)
        {
            lo = std::min(lo, int(n.pitch));
            hi = std::max(hi, int(n.pitch));
        }
        lo = std::max(0, lo - 2);
        hi = std::min(127, hi + 2);
        const float rowH = (box.h - 8) / float(hi - lo + 1);
        const double qnPerBar = clip.quarterNotesPerBar();
        for (int b = 0; b <= clip.bars; ++b)
        {
            const float bx = box.x + 4 + float((box.w - 8) * b * qnPerBar / clip.lengthBeats);
            beginPath();
            moveTo(bx, box.y + 4);
            lineTo(bx, box.y + box.h - 4);
            strokeColor(colors::border());
            stroke();
        }
        // one colour per part (by its channel), with a legend naming them
        const std::vector<promptdaw::ClipPart> parts = promptdaw::clipParts(clip);
        DGL::Color channelColor[16];
        for (int ch = 0; ch < 16; ++ch)
            channelColor[ch] = colors::part(ch > 9 ? ch - 1 : ch, ch == 9);
        for (const promptdaw::ClipPart& part : parts)
            channelColor[part.channel] = colors::part(part.pitchedIndex, part.pitchedIndex < 0);
        for (const promptdaw::PreviewNote& n : clip.notes)
        {
            const float nx = box.x + 4 + float((box.w - 8) * n.start / clip.lengthBeats);
            const float nw = std::max(2.f, float((box.w - 8) * n.length / clip.lengthBeats));
            const float ny = box.y + 4 + (hi - n.pitch) * rowH;
            beginPath();
            roundedRect(nx, ny, nw, std::max(2.f, rowH - 1), 1.5f);
            fillColor(channelColor[n.channel & 15]);
            fill();
        }
        fontSize(11.f);
        std::vector<float> widths;
        float legendWidth = 0.f;
        for (const promptdaw::ClipPart& part : parts)
        {
            DGL::Rectangle<float> bounds;
            textBounds(0, 0, part.role.c_str(), nullptr, bounds);
            widths.push_back(bounds.getWidth());
            legendWidth += bounds.getWidth() + 18;
        }
        if (!parts.empty()) // over the notes: a panel of its own
        {
            beginPath();
            roundedRect(box.x + box.w - 12 - legendWidth, box.y + 4, legendWidth + 8, 18, 3);
            fillColor(colors::panel());
            fill();
        }
        float lx = box.x + box.w - 8;
        for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        {
            const float width = widths[size_t(parts.rend() - it - 1)];
            lx -= width + 18;
            beginPath();
            roundedRect(lx, box.y + 8, 9, 9, 2);
            fillColor(channelColor[it->channel]);
            fill();
            promptdaw::ui::label(*this, {lx + 12, box.y + 4, width + 4, 16}, it->role, colors::text(), 11.f);
        }
        drawPlayhead(box);
    }

    void drawPlayhead(const Box& box)
    {
        if (fPlayhead <= 0.f)
            return;
        const float px = box.x + 4 + (box.w - 8) * std::min(1.f, fPlayhead);
        beginPath();
        moveTo(px, box.y + 2);
        lineTo(px, box.y + box.h - 2);
        strokeColor(colors::text());
        strokeWidth(1.5f);
        stroke();
    }

    int currentJob() const { return fPlugin != nullptr ? int(fStatus.job) : fJob; }

    void refreshStatus()
    {
        if (fPlugin != nullptr)
            fStatus = fPlugin->status();
    }

    /** A one-shot command: a fresh value each time so every press reaches the DSP. */
    void trigger(const char* key)
    {
        char value[32];
        std::snprintf(value, sizeof(value), "%u", ++fTriggerCount);
        setState(key, value);
    }

    void setBars(int bars)
    {
        fBars = bars;
        setState("bars", std::to_string(bars).c_str());
    }

    void setSeed(const std::string& seed)
    {
        fSeed = seed;
        setState("seed", seed.c_str());
    }

    /** "" -> the whole clip; "2" -> 2..2; "2-3" -> 2..3 (what the `regen_bars` state holds). */
    void readRegenBars(const std::string& text)
    {
        int a = 0, b = 0;
        const int n = std::sscanf(text.c_str(), "%d-%d", &a, &b);
        fRegenFrom = n >= 1 ? std::max(1, a) : 1;
        fRegenTo = n == 2 ? std::max(fRegenFrom, b) : n == 1 ? fRegenFrom : 0;
    }

    int clipBars() const { return fStatus.clip && fStatus.clip->bars > 0 ? fStatus.clip->bars : 1; }

    void stepRegenBars(double px, double py)
    {
        const int bars = clipBars();
        int from = std::clamp(fRegenFrom, 1, bars), to = fRegenTo == 0 ? bars : std::clamp(fRegenTo, from, bars);
        if (fFromDown.contains(px, py))
            from = std::max(1, from - 1);
        else if (fFromUp.contains(px, py))
            from = std::min(bars, from + 1);
        else if (fToDown.contains(px, py))
            to = std::max(1, to - 1);
        else
            to = std::min(bars, to + 1);
        if (from > to)  // the other end follows
            fFromUp.contains(px, py) ? to = from : from = to;
        fRegenFrom = from;
        fRegenTo = to;
        const std::string text = from == 1 && to == bars ? std::string()
                               : from == to            ? std::to_string(from)
                                                       : std::to_string(from) + "-" + std::to_string(to);
        setState("regen_bars", text.c_str());
    }

    /** Cycles "all" and the clip's parts. */
    void stepPart(int step)
    {
        std::vector<std::string> choices{std::string()};
        if (fStatus.clip)
            for (const promptdaw::ClipPart& part : promptdaw::clipParts(*fStatus.clip))
                choices.push_back(part.role);
        const auto at = std::find(choices.begin(), choices.end(), fRegenPart);
        const int i = at == choices.end() ? 0 : int(at - choices.begin());
        fRegenPart = choices[size_t((i + step + int(choices.size())) % int(choices.size()))];
        setState("regen_part", fRegenPart.empty() ? "all" : fRegenPart.c_str());
    }

    void setNote(int note)
    {
        fNote = note;
        setState("note", noteName(note).c_str());
    }

    PromptdawPlugin* fPlugin = nullptr;
    promptdaw::WorkerStatus fStatus;

    std::string fPrompt;
    ClipKind fMode = ClipKind::Loop;
    int fBars = 4;
    std::string fSeed;
    int fNote = 48;
    int fKey = 0;             ///< index into the Key choices (0 = auto)
    std::string fRegenPart;   ///< "" = all
    int fRegenFrom = 1, fRegenTo = 0; ///< 1-based, inclusive; fRegenTo 0 = to the end
    bool fFocused = false;
    unsigned fBlink = 0;
    unsigned fTriggerCount = 0;

    int fConnection = kConnUnknown, fJob = kJobIdle, fClipKind = 0;
    float fProgress = 0.f, fPlayhead = 0.f;

    promptdaw::FileDrag fDrag;
    bool fDragPending = false, fDragging = false;
    double fPressX = 0.0, fPressY = 0.0;
    std::string fDragOutcome;

    Box fPromptBox, fGenerateBox, fExportBox, fStartBox, fDiceBox, fDragBox, fMidiDragBox;
    std::vector<std::string> fAudioFiles, fMidiFiles, fDragFiles; ///< exported files; those being dragged
    Box fModeBoxes[3];
    Box fBarsDown, fBarsUp, fSeedDown, fSeedUp, fNoteDown, fNoteUp;
    Box fKeyDown, fKeyUp, fTakeBack, fTakeForward, fKeepBox;
    Box fPartDown, fPartUp, fFromDown, fFromUp, fToDown, fToUp, fRegenBox;

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(PromptdawUI)
};

UI* createUI() { return new PromptdawUI(); }

END_NAMESPACE_DISTRHO
