/*
 * promptdaw bridge: Standard MIDI File reader (see Smf.hpp).
 */

#include "Smf.hpp"

#include <algorithm>

namespace promptdaw {

namespace {

struct Reader {
    std::string_view bytes;
    size_t pos = 0;

    bool has(size_t n) const noexcept { return pos + n <= bytes.size(); }
    uint8_t u8() noexcept { return uint8_t(bytes[pos++]); }
    uint32_t be(int n) noexcept
    {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i)
            v = (v << 8) | u8();
        return v;
    }
    bool varlen(uint32_t& v) noexcept
    {
        v = 0;
        for (int i = 0; i < 4; ++i)
        {
            if (!has(1))
                return false;
            const uint8_t b = u8();
            v = (v << 7) | (b & 0x7f);
            if ((b & 0x80) == 0)
                return true;
        }
        return false;
    }
};

int order(const MidiClipEvent& e) noexcept
{
    if (e.isNoteOff())
        return 0;
    if (e.isNoteOn())
        return 2;
    return 1;
}

} // namespace

bool parseSmf(std::string_view bytes, SmfInfo& info, std::string& problem)
{
    info = SmfInfo();
    Reader r{bytes};
    if (!r.has(14) || bytes.substr(0, 4) != "MThd")
    {
        problem = "not a Standard MIDI File (no MThd)";
        return false;
    }
    r.pos = 4;
    const uint32_t headerLength = r.be(4);
    if (headerLength < 6 || !r.has(headerLength))
    {
        problem = "MIDI header chunk is truncated";
        return false;
    }
    info.format = uint16_t(r.be(2));
    info.tracks = uint16_t(r.be(2));
    const uint16_t division = uint16_t(r.be(2));
    r.pos = 8 + headerLength;
    if ((division & 0x8000) != 0 || division == 0)
    {
        problem = "SMPTE-timed MIDI files are not supported";
        return false;
    }
    if (info.format > 1)
    {
        problem = "MIDI file type " + std::to_string(info.format) + " is not supported (0 or 1)";
        return false;
    }
    info.ticksPerQuarter = division;

    for (uint16_t track = 0; track < info.tracks; ++track)
    {
        // Skip unknown chunks until the next MTrk.
        size_t end = 0;
        for (;;)
        {
            if (!r.has(8))
            {
                problem = "MIDI file ends before track " + std::to_string(track);
                return false;
            }
            const std::string_view id = bytes.substr(r.pos, 4);
            r.pos += 4;
            const uint32_t length = r.be(4);
            if (id == "MTrk")
            {
                if (!r.has(length))
                {
                    problem = "MIDI track " + std::to_string(track) + " is truncated";
                    return false;
                }
                end = r.pos + length;
                break;
            }
            if (!r.has(length))
            {
                problem = "MIDI chunk is truncated";
                return false;
            }
            r.pos += length;
        }
        uint64_t ticks = 0;
        uint8_t running = 0;
        while (r.pos < end)
        {
            uint32_t delta;
            if (!r.varlen(delta) || r.pos >= end)
            {
                problem = "bad delta time in track " + std::to_string(track);
                return false;
            }
            ticks += delta;
            const double beat = double(ticks) / division;
            uint8_t status = uint8_t(bytes[r.pos]);
            if (status & 0x80)
                ++r.pos;
            else if (running != 0)
                status = running;
            else
            {
                problem = "data byte without status in track " + std::to_string(track);
                return false;
            }
            if (status == 0xff)
            {
                if (!r.has(1))
                    break;
                const uint8_t type = r.u8();
                uint32_t length;
                if (!r.varlen(length) || r.pos + length > end)
                {
                    problem = "bad meta event in track " + std::to_string(track);
                    return false;
                }
                const size_t data = r.pos;
                if (type == 0x51 && length == 3 && info.bpm == 0.0)
                {
                    const uint32_t usPerQuarter = (uint32_t(uint8_t(bytes[data])) << 16)
                                                | (uint32_t(uint8_t(bytes[data + 1])) << 8) | uint8_t(bytes[data + 2]);
                    if (usPerQuarter != 0)
                        info.bpm = 60e6 / usPerQuarter;
                }
                else if (type == 0x58 && length >= 2 && info.meterNumerator == 0)
                {
                    info.meterNumerator = uint8_t(bytes[data]);
                    info.meterDenominator = 1 << std::min<int>(uint8_t(bytes[data + 1]), 6);
                }
                else if (type == 0x2f)
                    info.endBeat = std::max(info.endBeat, beat);
                r.pos = data + length;
                continue;
            }
            if (status == 0xf0 || status == 0xf7)
            {
                uint32_t length;
                if (!r.varlen(length) || r.pos + length > end)
                {
                    problem = "bad sysex event in track " + std::to_string(track);
                    return false;
                }
                r.pos += length;
                running = 0;
                continue;
            }
            if (status >= 0xf0)
            {
                problem = "unexpected system message in track " + std::to_string(track);
                return false;
            }
            running = status;
            const uint8_t kind = status & 0xf0;
            const uint8_t size = (kind == 0xc0 || kind == 0xd0) ? 2 : 3;
            if (r.pos + size - 1 > end)
            {
                problem = "truncated MIDI event in track " + std::to_string(track);
                return false;
            }
            MidiClipEvent e;
            e.beat = beat;
            e.size = size;
            e.data[0] = status;
            e.data[1] = r.u8() & 0x7f;
            if (size == 3)
                e.data[2] = r.u8() & 0x7f;
            info.events.push_back(e);
            info.endBeat = std::max(info.endBeat, beat);
        }
        r.pos = end;
    }
    std::stable_sort(info.events.begin(), info.events.end(), [](const MidiClipEvent& a, const MidiClipEvent& b) {
        return a.beat < b.beat || (a.beat == b.beat && order(a) < order(b));
    });
    return true;
}

} // namespace promptdaw
