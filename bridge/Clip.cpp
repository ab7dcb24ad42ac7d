/*
 * promptdaw bridge: clips (see Clip.hpp).
 */

#include "Clip.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "Base64.hpp"

namespace promptdaw {

// ---------------------------------------------------------------------------------- names

const char* clipKindName(ClipKind kind) noexcept
{
    switch (kind)
    {
    case ClipKind::Sample: return "sample";
    case ClipKind::Loop: return "loop";
    case ClipKind::Midi: return "midi";
    default: return "none";
    }
}

bool clipKindFromName(std::string_view name, ClipKind& kind) noexcept
{
    std::string lower;
    for (const char c : name)
        lower += char(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "sample")
        kind = ClipKind::Sample;
    else if (lower == "loop")
        kind = ClipKind::Loop;
    else if (lower == "midi")
        kind = ClipKind::Midi;
    else
        return false;
    return true;
}

std::string requestTypeFor(ClipKind kind)
{
    return std::string("generate-") + clipKindName(kind);
}

int parseNoteName(std::string_view name) noexcept
{
    static const int letters[7] = {9, 11, 0, 2, 4, 5, 7}; // A B C D E F G
    size_t i = 0;
    while (i < name.size() && name[i] == ' ')
        ++i;
    if (i >= name.size())
        return -1;
    const char letter = char(std::toupper(static_cast<unsigned char>(name[i++])));
    if (letter < 'A' || letter > 'G')
        return -1;
    int pitch = letters[letter - 'A'];
    for (; i < name.size() && (name[i] == '#' || name[i] == 'b'); ++i)
        pitch += name[i] == '#' ? 1 : -1;
    if (i >= name.size())
        return -1;
    bool negative = false;
    if (name[i] == '-')
    {
        negative = true;
        ++i;
    }
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i])))
        return -1;
    int octave = 0;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i)
        octave = octave * 10 + (name[i] - '0');
    if (negative)
        octave = -octave;
    const int note = (octave + 1) * 12 + pitch;
    return note >= 0 && note <= 127 ? note : -1;
}

// ---------------------------------------------------------------------------------- helpers

static bool readMeter(const Json& value, int& numerator, int& denominator)
{
    if (!value.is_string())
        return false;
    const std::string text = value.get<std::string>();
    int n = 0, d = 0;
    if (std::sscanf(text.c_str(), "%d/%d", &n, &d) != 2 || n <= 0 || n > 64 || d <= 0 || d > 64 || (d & (d - 1)) != 0)
        return false;
    numerator = n;
    denominator = d;
    return true;
}

static double number(const Json& object, const char* key, double fallback)
{
    if (!object.is_object())
        return fallback;
    const auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::vector<float> interleavedAudio(const ClipData& clip)
{
    std::vector<float> out(size_t(clip.frames) * clip.channels);
    for (uint32_t f = 0; f < clip.frames; ++f)
    {
        out[size_t(f) * clip.channels] = clip.left[f];
        if (clip.channels > 1)
            out[size_t(f) * clip.channels + 1] = clip.right[f];
    }
    return out;
}

static void setAudio(ClipData& clip, const Buffer& audio)
{
    clip.sampleRate = audio.sampleRate;
    clip.frames = audio.frames;
    // More than two channels: the first two are played.
    clip.channels = std::min<uint32_t>(audio.channels, 2);
    clip.left.resize(audio.frames);
    clip.right.resize(audio.frames);
    for (uint32_t f = 0; f < audio.frames; ++f)
    {
        clip.left[f] = audio.sample(f, 0);
        clip.right[f] = audio.channels > 1 ? audio.sample(f, 1) : clip.left[f];
    }
}

// ---------------------------------------------------------------------------------- replies

bool clipFromReply(const ClipRequest& request, const Reply& reply, ClipData& clip, std::string& problem)
{
    clip = ClipData();
    clip.kind = request.kind;
    clip.prompt = request.prompt;
    clip.seed = request.seed;
    clip.requestId = reply.id;
    clip.requestType = reply.type;
    clip.result = reply.body.is_object() ? reply.body : Json::object();
    clip.rootNote = request.rootNote;

    const Buffer* audio = reply.firstBuffer(Buffer::Kind::Audio);
    const Buffer* midi = reply.firstBuffer(Buffer::Kind::Midi);
    if (request.kind != ClipKind::Midi && audio == nullptr)
    {
        problem = reply.type + " answered without an audio buffer";
        return false;
    }
    if (request.kind == ClipKind::Midi && midi == nullptr)
    {
        problem = reply.type + " answered without a MIDI buffer";
        return false;
    }
    if (audio != nullptr)
    {
        if (audio->frames == 0 || audio->channels == 0)
        {
            problem = reply.type + " answered with empty audio";
            return false;
        }
        setAudio(clip, *audio);
    }
    if (midi != nullptr)
        clip.smf = midi->bytes;
    // Further audio buffers are stems, named by result.parts when given.
    const Json parts = clip.result.contains("parts") && clip.result["parts"].is_array() ? clip.result["parts"] : Json::array();
    size_t stemIndex = 0;
    for (const Buffer& b : reply.buffers)
    {
        if (b.kind != Buffer::Kind::Audio || &b == audio)
            continue;
        Stem stem;
        stem.name = stemIndex < parts.size() && parts[stemIndex].is_string() ? parts[stemIndex].get<std::string>()
                                                                          : "stem-" + std::to_string(stemIndex + 1);
        stem.sampleRate = b.sampleRate;
        stem.channels = b.channels;
        stem.frames = b.frames;
        stem.interleaved.resize(size_t(b.frames) * b.channels);
        std::memcpy(stem.interleaved.data(), b.bytes.data(), b.bytes.size());
        clip.stems.push_back(std::move(stem));
        ++stemIndex;
    }

    // Musical frame: the resolved spec first, then the request, then the MIDI file.
    const Json spec = clip.result.contains("spec") ? clip.result["spec"] : Json::object();
    clip.bpm = number(spec, "bpm", number(clip.result, "bpm", request.bpm));
    clip.bars = int(number(spec, "bars", number(clip.result, "bars", request.bars)));
    clip.meterNumerator = 0; // unresolved: finishClip() falls back to the MIDI file, then 4/4
    if (!(spec.is_object() && spec.contains("meter") && readMeter(spec["meter"], clip.meterNumerator, clip.meterDenominator))
        && !(clip.result.contains("meter") && readMeter(clip.result["meter"], clip.meterNumerator, clip.meterDenominator))
        && request.meterNumerator > 0)
    {
        clip.meterNumerator = request.meterNumerator;
        clip.meterDenominator = request.meterDenominator;
    }
    // generate-sample reports the note it rendered at as "note"
    const int root = int(number(clip.result, "root_note", number(clip.result, "note", number(clip.result, "midi_note", -1))));
    if (root >= 0 && root <= 127)
        clip.rootNote = root;
    if (request.kind == ClipKind::Sample)
        clip.bars = 0;
    return finishClip(clip, problem);
}

bool finishClip(ClipData& clip, std::string& problem)
{
    if (clip.kind == ClipKind::None)
        return true;
    clip.events.clear();
    double midiEndBeat = 0.0;
    if (clip.hasMidi())
    {
        SmfInfo info;
        if (!parseSmf(clip.smf, info, problem))
            return false;
        clip.events = std::move(info.events);
        if (clip.bpm <= 0.0 && info.bpm > 0.0)
            clip.bpm = info.bpm;
        if (clip.meterNumerator <= 0 && info.meterNumerator > 0)
        {
            clip.meterNumerator = info.meterNumerator;
            clip.meterDenominator = info.meterDenominator;
        }
        midiEndBeat = info.endBeat;
    }
    if (clip.meterNumerator <= 0 || clip.meterDenominator <= 0)
    {
        clip.meterNumerator = 4;
        clip.meterDenominator = 4;
    }
    if (!(clip.bpm > 0.0 && clip.bpm <= 999.0))
        clip.bpm = 120.0;
    if (clip.kind == ClipKind::Midi && clip.bars <= 0)
        clip.bars = std::max(1, int(std::ceil(midiEndBeat / clip.quarterNotesPerBar() - 1e-9)));
    if (clip.kind != ClipKind::Midi && !clip.hasAudio())
    {
        problem = std::string(clipKindName(clip.kind)) + " clip without audio";
        return false;
    }
    if (clip.kind == ClipKind::Loop && clip.bars <= 0)
    {
        // Length from the audio: the nearest whole number of bars at the clip's tempo.
        const double beats = clip.frames / double(clip.sampleRate) * clip.bpm / 60.0;
        clip.bars = std::max(1, int(std::lround(beats / clip.quarterNotesPerBar())));
    }
    clip.lengthBeats = clip.kind == ClipKind::Sample ? 0.0 : clip.bars * clip.quarterNotesPerBar();

    // preview
    clip.peaks.clear();
    if (clip.hasAudio())
    {
        clip.peaks.assign(kPreviewColumns * 2, 0.f);
        for (size_t c = 0; c < kPreviewColumns; ++c)
        {
            const size_t a = c * clip.frames / kPreviewColumns;
            const size_t b = std::max(a + 1, (c + 1) * clip.frames / kPreviewColumns);
            float lo = 0.f, hi = 0.f;
            for (size_t f = a; f < b && f < clip.frames; ++f)
            {
                const float v = 0.5f * (clip.left[f] + clip.right[f]);
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
            clip.peaks[2 * c] = lo;
            clip.peaks[2 * c + 1] = hi;
        }
    }
    clip.notes.clear();
    double open[16][128];
    for (auto& row : open)
        std::fill(std::begin(row), std::end(row), -1.0);
    for (const MidiClipEvent& e : clip.events)
    {
        const int ch = e.data[0] & 0x0f, pitch = e.data[1];
        if (e.isNoteOn())
        {
            open[ch][pitch] = e.beat;
        }
        else if (e.isNoteOff() && open[ch][pitch] >= 0.0)
        {
            clip.notes.push_back({float(open[ch][pitch]), float(e.beat - open[ch][pitch]), uint8_t(pitch), uint8_t(ch)});
            open[ch][pitch] = -1.0;
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------- parts

std::vector<ClipPart> clipParts(const ClipData& clip)
{
    const Json* list = nullptr;
    if (clip.result.contains("tracks") && clip.result["tracks"].is_array())
        list = &clip.result["tracks"];
    else if (clip.result.contains("spec") && clip.result["spec"].is_object() && clip.result["spec"].contains("parts")
             && clip.result["spec"]["parts"].is_array())
        list = &clip.result["spec"]["parts"];
    std::vector<ClipPart> parts;
    if (list == nullptr)
        return parts;
    int pitched = 0;
    for (const Json& item : *list)
    {
        if (!item.is_object() || !item.contains("role") || !item["role"].is_string())
            continue;
        ClipPart part;
        part.role = item["role"].get<std::string>();
        // core/clip.py's clip_to_midi: drums on channel 10, the rest on 1, 2, 3 ... skipping 10
        if (part.role == "drums")
            part.channel = 9;
        else
        {
            part.pitchedIndex = pitched;
            part.channel = pitched >= 9 ? pitched + 1 : pitched;
            ++pitched;
        }
        parts.push_back(part);
    }
    return parts;
}

// ---------------------------------------------------------------------------------- state

std::string clipToState(const ClipData& clip)
{
    if (clip.kind == ClipKind::None)
        return std::string();
    Json state = {
        {"format", "promptdaw-clip"},
        {"version", 1},
        {"kind", clipKindName(clip.kind)},
        {"prompt", clip.prompt},
        {"seed", clip.seed},
        {"request_type", clip.requestType},
        {"request_id", clip.requestId},
        {"bpm", clip.bpm},
        {"meter", std::to_string(clip.meterNumerator) + "/" + std::to_string(clip.meterDenominator)},
        {"bars", clip.bars},
        {"root_note", clip.rootNote},
        {"result", clip.result},
    };
    if (clip.hasAudio())
    {
        const std::vector<float> samples = interleavedAudio(clip);
        state["audio"] = {
            {"encoding", "f32le"},
            {"sample_rate", clip.sampleRate},
            {"channels", clip.channels},
            {"frames", clip.frames},
            {"data", base64Encode(std::string_view(reinterpret_cast<const char*>(samples.data()),
                                                   samples.size() * sizeof(float)))},
        };
    }
    if (clip.hasMidi())
        state["midi"] = {{"encoding", "smf"}, {"data", base64Encode(clip.smf)}};
    if (!clip.stems.empty())
    {
        Json stems = Json::array();
        for (const Stem& stem : clip.stems)
            stems.push_back({{"name", stem.name},
                             {"encoding", "f32le"},
                             {"sample_rate", stem.sampleRate},
                             {"channels", stem.channels},
                             {"frames", stem.frames},
                             {"data", base64Encode(std::string_view(reinterpret_cast<const char*>(stem.interleaved.data()),
                                                                    stem.interleaved.size() * sizeof(float)))}});
        state["stems"] = stems;
    }
    return state.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool clipFromState(std::string_view text, ClipData& clip, std::string& problem)
{
    clip = ClipData();
    if (text.empty())
        return true;
    const Json state = Json::parse(text, nullptr, false);
    if (state.is_discarded() || !state.is_object() || state.value("format", "") != "promptdaw-clip")
    {
        problem = "the clip state is not a promptdaw clip";
        return false;
    }
    if (state.value("version", 0) != 1)
    {
        problem = "the clip state has an unknown version";
        return false;
    }
    try
    {
        if (!clipKindFromName(state.value("kind", ""), clip.kind))
        {
            problem = "the clip state has an unknown kind";
            return false;
        }
        clip.prompt = state.value("prompt", "");
        clip.seed = state.value("seed", int64_t(-1));
        clip.requestType = state.value("request_type", "");
        clip.requestId = state.value("request_id", "");
        clip.bpm = state.value("bpm", 120.0);
        clip.bars = state.value("bars", 0);
        clip.rootNote = std::clamp(state.value("root_note", 48), 0, 127);
        if (state.contains("meter"))
            readMeter(state["meter"], clip.meterNumerator, clip.meterDenominator);
        if (state.contains("result") && state["result"].is_object())
            clip.result = state["result"];
        if (state.contains("audio"))
        {
            const Json& audio = state["audio"];
            const uint32_t rate = audio.value("sample_rate", 0u), channels = audio.value("channels", 0u),
                           frames = audio.value("frames", 0u);
            std::string bytes;
            if (audio.value("encoding", "") != "f32le" || rate == 0 || rate > 768000 || channels == 0 || channels > 2
                || !base64Decode(audio.value("data", ""), bytes) || bytes.size() != size_t(frames) * channels * 4)
            {
                problem = "the clip state's audio is damaged";
                return false;
            }
            Buffer b;
            b.kind = Buffer::Kind::Audio;
            b.frames = frames;
            b.channels = channels;
            b.sampleRate = rate;
            b.bytes = std::move(bytes);
            setAudio(clip, b);
        }
        if (state.contains("stems") && state["stems"].is_array())
        {
            for (const Json& s : state["stems"])
            {
                Stem stem;
                stem.name = s.value("name", "stem");
                stem.sampleRate = s.value("sample_rate", 0u);
                stem.channels = s.value("channels", 0u);
                stem.frames = s.value("frames", 0u);
                std::string bytes;
                if (s.value("encoding", "") != "f32le" || stem.sampleRate == 0 || stem.channels == 0 || stem.channels > 64
                    || !base64Decode(s.value("data", ""), bytes) || bytes.size() != size_t(stem.frames) * stem.channels * 4)
                {
                    problem = "the clip state's stem " + stem.name + " is damaged";
                    return false;
                }
                stem.interleaved.resize(size_t(stem.frames) * stem.channels);
                std::memcpy(stem.interleaved.data(), bytes.data(), bytes.size());
                clip.stems.push_back(std::move(stem));
            }
        }
        if (state.contains("midi"))
        {
            if (!base64Decode(state["midi"].value("data", ""), clip.smf))
            {
                problem = "the clip state's MIDI is damaged";
                return false;
            }
        }
    }
    catch (const std::exception& e)
    {
        problem = std::string("the clip state is damaged: ") + e.what();
        return false;
    }
    return finishClip(clip, problem);
}

} // namespace promptdaw
