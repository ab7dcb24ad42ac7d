/*
 * promptdaw bridge: the real-time playback engine (see Engine.hpp).
 *
 * Everything here runs on the audio thread: no allocation, no locks, no system calls.
 * std::sin/std::exp/std::pow are plain math; clips are only read.
 */

#include "Engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace promptdaw {

namespace {
constexpr double kTwoPi = 6.283185307179586;
constexpr float kStopFadeSeconds = 0.005f;    // loops fade out this fast when stopped
constexpr float kSampleReleaseSeconds = 0.03f;
constexpr float kSynthGain = 0.2f;
constexpr double kSyncToleranceQn = 1e-4;     // larger transport jumps re-position the sequencer
// An event less than this much of a frame past a frame boundary plays on that frame
// (rounding noise of positions computed in double, not musical timing).
constexpr double kFrameEpsilon = 1e-4;

// Song positions computed from a host's musical time land within a few 1e-6 frames of an
// integer; snap those so sample-aligned transports play sample-exact.
double snapFrames(double x) noexcept
{
    const double r = std::round(x);
    return std::fabs(x - r) < 1e-3 ? r : x;
}
} // namespace

double TransportInfo::quarterNotes(double sampleRate) const noexcept
{
    if (bbtValid)
    {
        const double beats = (bar - 1) * beatsPerBar + (beat - 1) + (ticksPerBeat > 0.0 ? tick / ticksPerBeat : 0.0);
        return beats * 4.0 / (beatType > 0.0 ? beatType : 4.0);
    }
    return double(frame) / sampleRate * bpm / 60.0;
}

// ---------------------------------------------------------------------------------- setup

void Engine::prepare(double sampleRate) noexcept
{
    fSampleRate = sampleRate > 0.0 ? sampleRate : 48000.0;
    setClip(fClip);
}

void Engine::setClip(const ClipData* clip) noexcept
{
    fClip = clip != nullptr && clip->kind != ClipKind::None ? clip : nullptr;
    fClipChanged = true;
    for (SampleVoice& v : fVoices)
        v.active = false;
    for (SynthVoice& v : fSynth)
        v.active = false;
    fLoopRunning = false;
    fLoopPos = 0.0;
    fSeqRunning = false;
    fSeqIndex = 0;
    fSeqPos = 0.0;
    fPlayhead = 0.f;
    // A held note keeps gating the new clip from its start.
    if (fGate && fClip != nullptr && !fSynced)
    {
        if (fClip->kind == ClipKind::Loop)
        {
            fLoopRunning = true;
            fLoopFade = 1.f;
            fLoopFrames = double(fClip->frames) * fSampleRate / fClip->sampleRate;
        }
        else if (fClip->kind == ClipKind::Midi && fClip->lengthBeats > 0.0)
        {
            fSeqRunning = true;
            fSeqQnPerFrame = fClip->bpm / 60.0 / fSampleRate;
        }
    }
}

// ---------------------------------------------------------------------------------- process

void Engine::process(float* outL, float* outR, uint32_t frames, const MidiInEvent* midi, uint32_t midiCount,
                     const TransportInfo& transport, float gain, bool audition, MidiSink* sink) noexcept
{
    std::memset(outL, 0, sizeof(float) * frames);
    std::memset(outR, 0, sizeof(float) * frames);
    if (fClipChanged)
    {
        releaseHeldNotes(0, sink);
        fClipChanged = false;
    }
    const ClipKind kind = fClip != nullptr ? fClip->kind : ClipKind::None;
    const bool musical = (kind == ClipKind::Loop || kind == ClipKind::Midi) && fClip->lengthBeats > 0.0;

    if (fTransportPlaying && !transport.playing && !fGate)
    {
        // The transport stopped: let go of whatever it was driving.
        if (kind == ClipKind::Loop && fLoopRunning)
            fLoopFade = std::min(fLoopFade, 0.999f);
        if (kind == ClipKind::Midi && fSeqRunning)
        {
            fSeqRunning = false;
            releaseHeldNotes(0, sink);
        }
    }
    fTransportPlaying = transport.playing;
    fSynced = transport.playing && musical;
    if (fSynced)
        syncToTransport(transport, sink);

    uint32_t cursor = 0;
    for (uint32_t i = 0; i < midiCount; ++i)
    {
        const uint32_t at = std::min(midi[i].frame, frames);
        if (at > cursor)
        {
            renderSpan(outL, outR, cursor, at, audition, sink);
            cursor = at;
        }
        handleInput(midi[i], sink);
    }
    renderSpan(outL, outR, cursor, frames, audition, sink);

    if (gain != 1.f)
    {
        for (uint32_t f = 0; f < frames; ++f)
        {
            outL[f] *= gain;
            outR[f] *= gain;
        }
    }

    // playhead for the UI
    if (kind == ClipKind::Loop && fLoopRunning && fLoopFrames > 0.0)
        fPlayhead = float(fLoopPos / fLoopFrames);
    else if (kind == ClipKind::Midi && fSeqRunning)
        fPlayhead = float(fSeqPos / fClip->lengthBeats);
    else if (kind == ClipKind::Sample)
    {
        const SampleVoice* newest = nullptr;
        for (const SampleVoice& v : fVoices)
            if (v.active && (newest == nullptr || v.age > newest->age))
                newest = &v;
        fPlayhead = newest != nullptr ? float(newest->pos / fClip->frames) : 0.f;
    }
    else
        fPlayhead = 0.f;
}

void Engine::syncToTransport(const TransportInfo& t, MidiSink* sink) noexcept
{
    const double bpm = t.bpm > 0.0 ? t.bpm : 120.0;
    const double lengthQn = fClip->lengthBeats;
    const double framesPerQn = fSampleRate * 60.0 / bpm;
    // Snap the song position (not the loop position: loops need not start on a whole frame)
    // to the frame it is within a hair of, so hosts' fixed-point positions play exactly.
    const double songFrames = snapFrames(t.quarterNotes(fSampleRate) * framesPerQn);
    if (fClip->kind == ClipKind::Loop)
    {
        // In frames: a loop of a whole number of frames then reads whole frames, exactly.
        fLoopFrames = lengthQn * framesPerQn;
        fLoopPos = std::fmod(songFrames, fLoopFrames);
        if (fLoopPos < 0.0)
            fLoopPos += fLoopFrames;
        if (fLoopPos >= fLoopFrames)
            fLoopPos -= fLoopFrames;
        fLoopRunning = true;
        fLoopFade = 1.f;
        return;
    }
    fSeqQnPerFrame = bpm / 60.0 / fSampleRate;
    double pos = std::fmod(songFrames / framesPerQn, lengthQn);
    if (pos < 0.0)
        pos += lengthQn;
    double distance = std::fabs(pos - fSeqPos);
    distance = std::min(distance, lengthQn - distance); // the loop point is no jump
    if (fSeqRunning && distance <= kSyncToleranceQn)
    {
        // Continuous: follow the host's position unless it already wrapped and we did not.
        if (std::fabs(pos - fSeqPos) <= kSyncToleranceQn)
            fSeqPos = pos;
        return;
    }
    // Started or jumped: release what sounds and continue from the new position.
    releaseHeldNotes(0, sink);
    fSeqRunning = true;
    fSeqPos = pos;
    const auto& ev = fClip->events;
    fSeqIndex = size_t(std::lower_bound(ev.begin(), ev.end(), pos - kFrameEpsilon * fSeqQnPerFrame,
                                        [](const MidiClipEvent& e, double b) { return e.beat < b; })
                       - ev.begin());
}

void Engine::handleInput(const MidiInEvent& e, MidiSink* sink) noexcept
{
    if (fClip == nullptr || e.size < 2)
        return;
    const uint8_t status = e.data[0] & 0xf0;
    const bool allOff = status == 0xb0 && (e.data[1] == 120 || e.data[1] == 123);
    const bool noteOn = status == 0x90 && e.size >= 3 && e.data[2] != 0;
    const bool noteOff = status == 0x80 || (status == 0x90 && e.size >= 3 && e.data[2] == 0);
    const ClipKind kind = fClip->kind;

    if (kind == ClipKind::Sample)
    {
        if (allOff)
        {
            for (SampleVoice& v : fVoices)
                v.active = false;
        }
        else if (noteOn)
        {
            const uint8_t note = e.data[1];
            SampleVoice* voice = nullptr;
            for (SampleVoice& v : fVoices)
            {
                if (v.active && v.note == note && v.release == 0.f)
                    v.release = 1.f / (kSampleReleaseSeconds * float(fSampleRate)); // retrigger
                if (!v.active && voice == nullptr)
                    voice = &v;
            }
            if (voice == nullptr) // steal the oldest
            {
                voice = &fVoices[0];
                for (SampleVoice& v : fVoices)
                    if (v.age < voice->age)
                        voice = &v;
            }
            voice->active = true;
            voice->note = note;
            voice->pos = 0.0;
            voice->step = std::pow(2.0, (int(note) - fClip->rootNote) / 12.0) * fClip->sampleRate / fSampleRate;
            voice->gain = e.data[2] / 127.f;
            voice->env = 1.f;
            voice->release = 0.f;
            voice->age = ++fVoiceCounter;
        }
        else if (noteOff)
        {
            for (SampleVoice& v : fVoices)
                if (v.active && v.note == e.data[1] && v.release == 0.f)
                    v.release = 1.f / (kSampleReleaseSeconds * float(fSampleRate));
        }
        return;
    }

    // Loop and MIDI clips: notes gate playback while the transport does not drive it.
    if (fSynced)
        return;
    if (noteOn)
    {
        ++fHeldNotes;
        fGate = true;
        if (kind == ClipKind::Loop)
        {
            fLoopRunning = true;
            fLoopPos = 0.0;
            fLoopFade = 1.f;
            fLoopFrames = double(fClip->frames) * fSampleRate / fClip->sampleRate;
        }
        else if (fClip->lengthBeats > 0.0)
        {
            releaseHeldNotes(e.frame, sink);
            fSeqRunning = true;
            fSeqPos = 0.0;
            fSeqIndex = 0;
            fSeqQnPerFrame = fClip->bpm / 60.0 / fSampleRate;
        }
    }
    else if (noteOff || allOff)
    {
        fHeldNotes = allOff ? 0 : std::max(0, fHeldNotes - 1);
        if (fHeldNotes == 0)
        {
            fGate = false;
            if (kind == ClipKind::Loop && fLoopRunning)
                fLoopFade = std::min(fLoopFade, 0.999f); // start the stop fade
            if (kind == ClipKind::Midi && fSeqRunning)
            {
                fSeqRunning = false;
                releaseHeldNotes(e.frame, sink);
                for (SynthVoice& v : fSynth)
                    v.released = true;
            }
        }
    }
}

void Engine::renderSpan(float* L, float* R, uint32_t from, uint32_t to, bool audition, MidiSink* sink) noexcept
{
    if (from >= to || fClip == nullptr)
        return;
    switch (fClip->kind)
    {
    case ClipKind::Sample: renderSamples(L, R, from, to); break;
    case ClipKind::Loop: renderLoop(L, R, from, to); break;
    case ClipKind::Midi: sequence(L, R, from, to, audition, sink); break;
    default: break;
    }
}

float Engine::readAudio(const float* data, double pos) const noexcept
{
    const uint32_t frames = fClip->frames;
    if (pos < 0.0 || pos >= frames)
        return 0.f;
    const uint32_t i = uint32_t(pos);
    const float frac = float(pos - i);
    const float a = data[i];
    if (frac == 0.f)
        return a; // exact: equal rates and no transposition play the samples as generated
    const float b = i + 1 < frames ? data[i + 1] : 0.f;
    return a + (b - a) * frac;
}

void Engine::renderSamples(float* L, float* R, uint32_t from, uint32_t to) noexcept
{
    const float* left = fClip->left.data();
    const float* right = fClip->right.data();
    for (SampleVoice& v : fVoices)
    {
        if (!v.active)
            continue;
        for (uint32_t f = from; f < to; ++f)
        {
            if (v.pos >= fClip->frames)
            {
                v.active = false;
                break;
            }
            const float g = v.gain * v.env;
            L[f] += readAudio(left, v.pos) * g;
            R[f] += readAudio(right, v.pos) * g;
            v.pos += v.step;
            if (v.release > 0.f)
            {
                v.env -= v.release;
                if (v.env <= 0.f)
                {
                    v.active = false;
                    break;
                }
            }
        }
    }
}

void Engine::renderLoop(float* L, float* R, uint32_t from, uint32_t to) noexcept
{
    if (!fLoopRunning || fLoopFrames <= 0.0)
        return;
    const float* left = fClip->left.data();
    const float* right = fClip->right.data();
    const double ratio = fClip->sampleRate / fSampleRate;
    const float fadeStep = 1.f / (kStopFadeSeconds * float(fSampleRate));
    for (uint32_t f = from; f < to; ++f)
    {
        const double pos = ratio == 1.0 ? fLoopPos : fLoopPos * ratio;
        if (fLoopFade >= 1.f)
        {
            L[f] += readAudio(left, pos);
            R[f] += readAudio(right, pos);
        }
        else
        {
            L[f] += readAudio(left, pos) * fLoopFade;
            R[f] += readAudio(right, pos) * fLoopFade;
            fLoopFade -= fadeStep;
            if (fLoopFade <= 0.f)
            {
                fLoopRunning = false;
                fLoopFade = 0.f;
                return;
            }
        }
        fLoopPos += 1.0;
        if (fLoopPos >= fLoopFrames)
            fLoopPos -= fLoopFrames;
    }
}

// ---------------------------------------------------------------------------------- MIDI mode

void Engine::sequence(float* L, float* R, uint32_t from, uint32_t to, bool audition, MidiSink* sink) noexcept
{
    if (!fSeqRunning || fSeqQnPerFrame <= 0.0)
    {
        renderSynth(L, R, from, to);
        return;
    }
    const auto& events = fClip->events;
    const size_t count = events.size();
    const double lengthQn = fClip->lengthBeats;
    uint32_t cursor = from;
    for (int guard = 0; guard < 100000; ++guard)
    {
        const bool wrap = fSeqIndex >= count || events[fSeqIndex].beat > lengthQn + 1e-9;
        const double target = wrap ? lengthQn : events[fSeqIndex].beat;
        // The event plays at the first frame whose position reaches its time.
        const double offset = std::max(0.0, std::ceil((target - fSeqPos) / fSeqQnPerFrame - kFrameEpsilon));
        if (double(cursor) + offset >= double(to))
            break;
        const uint32_t at = cursor + uint32_t(offset);
        renderSynth(L, R, cursor, at);
        fSeqPos += (at - cursor) * fSeqQnPerFrame;
        cursor = at;
        if (wrap)
        {
            releaseHeldNotes(at, sink);
            fSeqPos = std::max(0.0, fSeqPos - lengthQn);
            fSeqIndex = 0;
            continue;
        }
        emit(events[fSeqIndex], at, audition, sink);
        ++fSeqIndex;
    }
    renderSynth(L, R, cursor, to);
    fSeqPos += (to - cursor) * fSeqQnPerFrame;
}

void Engine::emit(const MidiClipEvent& e, uint32_t frame, bool audition, MidiSink* sink) noexcept
{
    const uint8_t channel = e.data[0] & 0x0f, note = e.data[1];
    if (e.isNoteOn())
    {
        if (fHeld[channel][note] && sink != nullptr)
        {
            // Overlapping notes of one pitch: end the first so note-ons and note-offs pair up.
            const uint8_t off[3] = {uint8_t(0x80 | channel), note, 0};
            sink->writeMidi(frame, off, 3);
        }
        fHeld[channel][note] = true;
        if (audition)
            synthNoteOn(channel, note, e.data[2]);
    }
    else if (e.isNoteOff())
    {
        if (!fHeld[channel][note])
            return; // already ended (overlap, or released at a jump)
        fHeld[channel][note] = false;
        if (audition)
            synthNoteOff(channel, note);
    }
    if (sink != nullptr)
        sink->writeMidi(frame, e.data, e.size);
}

void Engine::releaseHeldNotes(uint32_t frame, MidiSink* sink) noexcept
{
    for (uint8_t channel = 0; channel < 16; ++channel)
    {
        for (uint8_t note = 0; note < 128; ++note)
        {
            if (!fHeld[channel][note])
                continue;
            fHeld[channel][note] = false;
            if (sink != nullptr)
            {
                const uint8_t off[3] = {uint8_t(0x80 | channel), note, 0};
                sink->writeMidi(frame, off, 3);
            }
        }
    }
    for (SynthVoice& v : fSynth)
        v.released = true;
}

// ---------------------------------------------------------------------------------- audition synth

float Engine::nextNoise() noexcept
{
    fNoise ^= fNoise << 13;
    fNoise ^= fNoise >> 17;
    fNoise ^= fNoise << 5;
    return float(int32_t(fNoise)) / 2147483648.f;
}

void Engine::synthNoteOn(uint8_t channel, uint8_t note, uint8_t velocity) noexcept
{
    SynthVoice* voice = nullptr;
    for (SynthVoice& v : fSynth)
        if (!v.active)
        {
            voice = &v;
            break;
        }
    if (voice == nullptr)
    {
        voice = &fSynth[0];
        for (SynthVoice& v : fSynth)
            if (v.age < voice->age)
                voice = &v;
    }
    *voice = SynthVoice();
    voice->active = true;
    voice->channel = channel;
    voice->note = note;
    voice->velocity = velocity / 127.f;
    voice->age = ++fSynthCounter;
    voice->freq = 440.0 * std::pow(2.0, (int(note) - 69) / 12.0);
    if (channel == 9)
    {
        if (note == 35 || note == 36)
            voice->drum = 1;
        else if (note == 37 || note == 38 || note == 39 || note == 40)
            voice->drum = 2;
        else if (note == 42 || note == 44)
            voice->drum = 3;
        else if (note == 46 || note == 49 || note == 51 || note == 52 || note == 55 || note == 57 || note == 59)
            voice->drum = 4;
        else
            voice->drum = 5;
    }
}

void Engine::synthNoteOff(uint8_t channel, uint8_t note) noexcept
{
    for (SynthVoice& v : fSynth)
        if (v.active && v.channel == channel && v.note == note && v.drum == 0)
            v.released = true;
}

void Engine::renderSynth(float* L, float* R, uint32_t from, uint32_t to) noexcept
{
    const float sr = float(fSampleRate);
    for (SynthVoice& v : fSynth)
    {
        if (!v.active)
            continue;
        for (uint32_t f = from; f < to; ++f)
        {
            const float t = float(v.time++) / sr;
            float out = 0.f;
            switch (v.drum)
            {
            case 0: { // melodic: two sines under an attack/decay/sustain/release envelope
                if (v.released)
                    v.env *= 0.9995f;
                else if (t < 0.005f)
                    v.env = t / 0.005f;
                else
                    v.env = 0.6f + 0.4f * std::exp(-(t - 0.005f) / 0.15f);
                const float ph = float(v.phase);
                out = (std::sin(float(kTwoPi) * ph) + 0.3f * std::sin(2.f * float(kTwoPi) * ph)) * v.env;
                v.phase += v.freq / fSampleRate;
                if (v.phase >= 1.0)
                    v.phase -= 1.0;
                break;
            }
            case 1: { // kick: a falling sine
                v.env = std::exp(-t / 0.25f);
                const double freq = 45.0 + 75.0 * std::exp(-t / 0.03);
                out = std::sin(float(kTwoPi * v.phase)) * v.env * 1.5f;
                v.phase += freq / fSampleRate;
                if (v.phase >= 1.0)
                    v.phase -= 1.0;
                break;
            }
            case 2: { // snare: noise and a body tone
                v.env = std::exp(-t / 0.15f);
                out = (0.6f * nextNoise() + 0.5f * std::sin(float(kTwoPi * v.phase))) * v.env;
                v.phase += 180.0 / fSampleRate;
                if (v.phase >= 1.0)
                    v.phase -= 1.0;
                break;
            }
            default: { // hats and other percussion: high-passed noise
                const float tau = v.drum == 3 ? 0.04f : v.drum == 4 ? 0.3f : 0.1f;
                v.env = std::exp(-t / tau);
                const float n = nextNoise();
                out = (n - v.hp) * 0.5f * v.env;
                v.hp = n;
                break;
            }
            }
            const float s = out * v.velocity * kSynthGain;
            L[f] += s;
            R[f] += s;
            if ((v.released || v.drum != 0) && v.env < 1e-4f && t > 0.01f)
            {
                v.active = false;
                break;
            }
        }
    }
}

} // namespace promptdaw
