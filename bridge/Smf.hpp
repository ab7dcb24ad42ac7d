/*
 * promptdaw bridge: reading Standard MIDI Files (types 0 and 1) into timed channel events.
 */

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace promptdaw {

/** A channel voice message at a musical time, in quarter notes from the clip start. */
struct MidiClipEvent {
    double beat = 0.0;
    uint8_t data[3] = {0, 0, 0};
    uint8_t size = 0;

    bool isNoteOn() const noexcept { return (data[0] & 0xf0) == 0x90 && data[2] != 0; }
    bool isNoteOff() const noexcept
    {
        return (data[0] & 0xf0) == 0x80 || ((data[0] & 0xf0) == 0x90 && data[2] == 0);
    }
};

struct SmfInfo {
    uint16_t format = 0;
    uint16_t tracks = 0;
    uint16_t ticksPerQuarter = 0;
    double bpm = 0.0;            ///< first tempo event; 0 when there is none
    int meterNumerator = 0;      ///< first time signature; 0 when there is none
    int meterDenominator = 0;
    double endBeat = 0.0;        ///< the latest end-of-track, in quarter notes
    /** All tracks merged, sorted by time; at equal times note-offs come first, note-ons last. */
    std::vector<MidiClipEvent> events;
};

/** Parses `bytes`; on failure returns false and says why in `problem`. */
bool parseSmf(std::string_view bytes, SmfInfo& info, std::string& problem);

} // namespace promptdaw
