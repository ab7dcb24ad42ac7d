/*
 * promptdaw bridge: a generated clip (audio and/or MIDI plus its musical frame), how it is
 * read from a daemon reply, and how it is kept in the plugin state.
 *
 * A ClipData is built and then never changed: the worker thread builds it, the audio thread
 * only reads it (see Exchange.hpp for the hand-over).
 */

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "Protocol.hpp"
#include "Smf.hpp"

namespace promptdaw {

enum class ClipKind : int { None = 0, Sample = 1, Loop = 2, Midi = 3 };

/** "sample", "loop", "midi" ("none" for None). */
const char* clipKindName(ClipKind kind) noexcept;
/** Parses a mode name (case-insensitive); false for anything else. */
bool clipKindFromName(std::string_view name, ClipKind& kind) noexcept;
/** The daemon request type that generates clips of `kind`: "generate-sample", ... */
std::string requestTypeFor(ClipKind kind);
/** "C4" -> 60 (C4 = middle C, as the daemon reads note names), "F#1" -> 30; -1 if unreadable. */
int parseNoteName(std::string_view name) noexcept;

/** Columns of the waveform preview. */
constexpr size_t kPreviewColumns = 480;

struct PreviewNote {
    float start = 0.f;   ///< quarter notes
    float length = 0.f;  ///< quarter notes
    uint8_t pitch = 0;
    uint8_t channel = 0;
};

/** A stem of a loop (one part), kept for export. */
struct Stem {
    std::string name;  ///< the part's role, e.g. "drums"
    uint32_t sampleRate = 0;
    uint32_t channels = 0;
    uint32_t frames = 0;
    std::vector<float> interleaved;
};

struct ClipData {
    ClipKind kind = ClipKind::None;

    // audio, planar; `right` equals `left` for mono clips
    uint32_t sampleRate = 0;
    uint32_t channels = 0;
    uint32_t frames = 0;
    std::vector<float> left, right;

    // stems (generate-loop): for export; saved in the state too, so nothing is lost
    std::vector<Stem> stems;

    // MIDI: the file as received, and its events
    std::string smf;
    std::vector<MidiClipEvent> events;

    // musical frame
    double bpm = 120.0;
    int meterNumerator = 4;
    int meterDenominator = 4;
    int bars = 0;              ///< 0 for one-shot samples
    double lengthBeats = 0.0;  ///< quarter notes (loop and MIDI clips)
    int rootNote = 48;         ///< Sample mode: the note that plays the sample unchanged

    // provenance
    std::string prompt;
    std::string requestType;
    std::string requestId;
    int64_t seed = -1;
    Json result = Json::object();  ///< the daemon's result object

    // preview for the UI, derived by finishClip()
    std::vector<float> peaks;  ///< kPreviewColumns (min, max) pairs of the mix
    std::vector<PreviewNote> notes;

    bool hasAudio() const noexcept { return frames > 0; }
    bool hasMidi() const noexcept { return !smf.empty(); }
    double quarterNotesPerBar() const noexcept { return meterNumerator * 4.0 / meterDenominator; }
};

/** What was asked for, kept with the clip and used where the reply leaves something out. */
struct ClipRequest {
    ClipKind kind = ClipKind::None;
    std::string prompt;
    int64_t seed = -1;
    int bars = 0;
    double bpm = 0.0;          ///< 0 = not sent
    int meterNumerator = 0;    ///< 0 = not sent
    int meterDenominator = 0;
    int rootNote = 48;
};

/** A part of a MIDI clip as the daemon writes it: one track per part, drums on channel 10 (9),
    the others on channels 0, 1, 2 ... in track order. */
struct ClipPart {
    std::string role;    ///< "drums", "bass", ...
    int channel = 0;     ///< 0-based MIDI channel
    int pitchedIndex = -1; ///< 0, 1, 2 ... among the parts that are not drums; -1 for drums
};

/** The clip's parts from its result (`tracks`, else `spec.parts`), in track order; empty when
    the result names none. */
std::vector<ClipPart> clipParts(const ClipData& clip);

/** Builds a clip from a `generate-*` result reply. */
bool clipFromReply(const ClipRequest& request, const Reply& reply, ClipData& clip, std::string& problem);

/** Derives events from the MIDI file, the clip length and the preview; checks consistency. */
bool finishClip(ClipData& clip, std::string& problem);

/** The clip as the text of the `clip` state (JSON with base64 audio and MIDI). */
std::string clipToState(const ClipData& clip);

/** Reads a `clip` state written by clipToState(). An empty text gives an empty clip. */
bool clipFromState(std::string_view text, ClipData& clip, std::string& problem);

/** The clip's audio as interleaved floats. */
std::vector<float> interleavedAudio(const ClipData& clip);

} // namespace promptdaw
