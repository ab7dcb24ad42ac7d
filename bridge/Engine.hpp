/*
 * promptdaw bridge: the real-time playback engine.
 *
 * Runs on the audio thread only. It never allocates, locks, blocks or throws: all state is
 * fixed-size members, and the clip it plays is read-only data owned elsewhere (the plugin
 * swaps clips in through ClipExchange and frees them off the audio thread).
 *
 *   Sample: MIDI notes play the one-shot chromatically (the clip's root note = original pitch).
 *   Loop:   with the host transport playing, the loop plays bar-aligned to the song position;
 *           otherwise a held MIDI note plays it from its start.
 *   MIDI:   the clip's events go to the MIDI output, bar-aligned to the transport (or from a
 *           held note's start), and are auditioned through a small built-in synth.
 */

#pragma once

#include <cstdint>

#include "Clip.hpp"

namespace promptdaw {

/** The host's transport at the start of a block. */
struct TransportInfo {
    bool playing = false;
    bool bbtValid = false;      ///< bar/beat/tick and tempo are meaningful
    bool tempoKnown = false;    ///< TransportMailbox::read(): bpm and meter are the host's, from
                                ///< this block or the last one that had them
    double bpm = 120.0;         ///< quarter notes per minute
    double beatsPerBar = 4.0;   ///< time signature numerator
    double beatType = 4.0;      ///< time signature denominator
    int32_t bar = 1;            ///< 1-based
    int32_t beat = 1;           ///< 1-based, in beatType units
    double tick = 0.0;
    double ticksPerBeat = 1920.0;
    uint64_t frame = 0;         ///< song position in samples (used when bbt is not valid)

    /** Song position in quarter notes. */
    double quarterNotes(double sampleRate) const noexcept;
};

struct MidiInEvent {
    uint32_t frame = 0;
    uint8_t data[3] = {0, 0, 0};
    uint8_t size = 0;
};

/** Where the engine writes MIDI output (the plugin forwards to the host). */
class MidiSink {
public:
    virtual ~MidiSink() = default;
    virtual bool writeMidi(uint32_t frame, const uint8_t* data, uint8_t size) noexcept = 0;
};

class Engine {
public:
    static constexpr int kMaxVoices = 16;

    /** Sets the host sample rate and silences everything. Not called during process(). */
    void prepare(double sampleRate) noexcept;

    /** Switches to `clip` (may be null). Stops all voices; held output notes are released
        on the next process(). Real-time safe. */
    void setClip(const ClipData* clip) noexcept;
    const ClipData* clip() const noexcept { return fClip; }

    /** Renders `frames` frames (outputs are overwritten). Real-time safe. */
    void process(float* outL, float* outR, uint32_t frames, const MidiInEvent* midi, uint32_t midiCount,
                 const TransportInfo& transport, float gain, bool audition, MidiSink* sink) noexcept;

    /** 0..1 position inside the clip (for the UI). */
    float playhead() const noexcept { return fPlayhead; }

private:
    struct SampleVoice {
        bool active = false;
        uint8_t note = 0;
        double pos = 0.0, step = 1.0;
        float gain = 0.f, env = 1.f, release = 0.f;
        uint32_t age = 0;
    };
    struct SynthVoice {
        bool active = false;
        uint8_t channel = 0, note = 0;
        int drum = 0; // 0 melodic, 1 kick, 2 snare, 3 closed hat, 4 open hat, 5 other percussion
        double phase = 0.0, freq = 0.0;
        float velocity = 0.f, env = 0.f, level = 0.f;
        bool released = false;
        float hp = 0.f; // one-pole state for hats
        uint32_t age = 0, time = 0;
    };

    void handleInput(const MidiInEvent& e, MidiSink* sink) noexcept;
    void renderSpan(float* L, float* R, uint32_t from, uint32_t to, bool audition, MidiSink* sink) noexcept;
    void renderSamples(float* L, float* R, uint32_t from, uint32_t to) noexcept;
    void renderLoop(float* L, float* R, uint32_t from, uint32_t to) noexcept;
    void renderSynth(float* L, float* R, uint32_t from, uint32_t to) noexcept;
    void sequence(float* L, float* R, uint32_t from, uint32_t to, bool audition, MidiSink* sink) noexcept;
    void emit(const MidiClipEvent& e, uint32_t frame, bool audition, MidiSink* sink) noexcept;
    void releaseHeldNotes(uint32_t frame, MidiSink* sink) noexcept;
    void synthNoteOn(uint8_t channel, uint8_t note, uint8_t velocity) noexcept;
    void synthNoteOff(uint8_t channel, uint8_t note) noexcept;
    void syncToTransport(const TransportInfo& t, MidiSink* sink) noexcept;
    float nextNoise() noexcept;
    float readAudio(const float* data, double pos) const noexcept;

    double fSampleRate = 48000.0;
    const ClipData* fClip = nullptr;
    bool fClipChanged = false;

    // Sample mode
    SampleVoice fVoices[kMaxVoices];
    uint32_t fVoiceCounter = 0;

    // Loop and MIDI modes: gated by held notes when the transport does not play
    int fHeldNotes = 0;
    bool fGate = false;
    bool fTransportPlaying = false;
    bool fSynced = false;      // position follows the transport in this block
    double fLoopPos = 0.0;     // Loop: host frames into the loop
    double fLoopFrames = 0.0;  // Loop: loop length in host frames
    float fLoopFade = 0.f;     // Loop: 1 playing, ramps to 0 when stopping
    bool fLoopRunning = false;

    // MIDI mode sequencer
    bool fSeqRunning = false;
    double fSeqPos = 0.0;         // quarter notes into the clip
    double fSeqQnPerFrame = 0.0;
    size_t fSeqIndex = 0;
    bool fHeld[16][128] = {};     // notes sent to the MIDI output and not yet released
    SynthVoice fSynth[kMaxVoices];
    uint32_t fSynthCounter = 0;
    uint32_t fNoise = 0x12345678u;

    float fPlayhead = 0.f;
};

} // namespace promptdaw
