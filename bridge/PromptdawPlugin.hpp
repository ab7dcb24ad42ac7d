/*
 * promptdaw bridge: the plugin (DSP side).
 *
 * Threads:
 *   audio thread   run(): takes new clips from ClipExchange, reads the transport, renders
 *                  through Engine, writes MIDI out. No allocation, locks or waiting.
 *   host threads   setState()/getState()/parameters: settings under a mutex the audio
 *                  thread never takes; commands go to the worker's queue.
 *   worker thread  Worker: the daemon connection; publishes clips through ClipExchange.
 *   UI thread      reads status() and settings() (copies under the same non-RT mutexes).
 */

#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "DistrhoPlugin.hpp"

#include "Clip.hpp"
#include "Engine.hpp"
#include "Exchange.hpp"
#include "History.hpp"
#include "Worker.hpp"

START_NAMESPACE_DISTRHO

/** Where the history stands, for the UI and the status. */
struct HistoryInfo {
    int size = 0;
    int index = -1;        ///< 0-based; -1 when empty
    bool favourite = false; ///< the current result is kept
    int favourites = 0;
};

class PromptdawPlugin : public Plugin, private promptdaw::MidiSink {
public:
    PromptdawPlugin();
    ~PromptdawPlugin() override;

    /** For the UI: a copy of the worker's state (null-safe when the worker does not run). */
    promptdaw::WorkerStatus status() const;
    /** For the UI: changes whenever status() would return something new. */
    uint64_t statusVersion() const noexcept;
    /** For the UI and tests: the settings now in effect. */
    promptdaw::Settings settings() const;
    /** For the UI: where the history stands. */
    HistoryInfo historyInfo() const;
    /** The `status` state: JSON of connection, request, clip, history, transport. */
    std::string statusJson() const;

protected:
    // ------------------------------------------------------------------------------ information

    /** Plugin label (symbol-safe). */
    const char* getLabel() const override { return "promptdaw"; }
    /** One-line description shown by hosts. */
    const char* getDescription() const override
    {
        return "Type a prompt, get a sample, a loop or a MIDI clip from the local promptdaw daemon.";
    }
    /** Maker. */
    const char* getMaker() const override { return "promptdaw"; }
    /** Home page. */
    const char* getHomePage() const override { return "https://github.com/promptdaw/promptdaw"; }
    /** License. */
    const char* getLicense() const override { return "MIT"; }
    /** Version, 0.1.0. */
    uint32_t getVersion() const override { return d_version(0, 1, 0); }
    /** Unique id for formats that need one. */
    int64_t getUniqueId() const override { return d_cconst('P', 'd', 'B', 'r'); }

    // ------------------------------------------------------------------------------ init

    /** Parameters: gain, audition and generate in; connection, job, progress, clip kind, playhead, host tempo out. */
    void initParameter(uint32_t index, Parameter& parameter) override;
    /** States: settings, the clip, commands and the read-only status (see DistrhoPluginInfo.h). */
    void initState(uint32_t index, State& state) override;

    // ------------------------------------------------------------------------------ internal data

    /** Any thread, including the audio thread: atomics only. */
    float getParameterValue(uint32_t index) const override;
    /** Any thread, including the audio thread: atomics only. */
    void setParameterValue(uint32_t index, float value) override;
    /** Non-real-time threads: settings, the clip (cached text), "" for commands, status JSON. */
    String getState(const char* key) const override;
    /** Non-real-time threads: routes a setting, a saved clip or a command by its key's role. */
    void setState(const char* key, const char* value) override;

    // ------------------------------------------------------------------------------ processing

    /** Prepares the engine for the host's sample rate (audio stopped). */
    void activate() override;
    /** Audio thread. Real-time safe: see the class comment. */
    void run(const float** inputs, float** outputs, uint32_t frames, const MidiEvent* midiEvents,
             uint32_t midiEventCount) override;
    /** Called while deactivated. */
    void sampleRateChanged(double newSampleRate) override;

private:
    bool writeMidi(uint32_t frame, const uint8_t* data, uint8_t size) noexcept override;
    /** A setting (a States index): stored for getState(); a connection setting reconfigures
        the worker. A value that cannot be read (mode, bars) keeps the current one. */
    void applySetting(int index, const std::string& value);
    /** The `clip` state: decodes a saved clip and plays it, or reports why it cannot. */
    void restoreClip(const std::string& text);
    /** A command (a States index) for the worker, made from the settings now in effect.
        Nothing is stored: an empty value, what a restored session hands back, does nothing. */
    void runCommand(int index, const std::string& value);
    /** Hands `clip` to the audio thread; `text` is its state text when already known. A new
        result (from the daemon) also goes into the history. */
    void publishClip(std::shared_ptr<const promptdaw::ClipData> clip, std::string text, bool newResult);
    /** The `history` state: the saved results, restored without changing what plays. */
    void restoreHistory(const std::string& text);
    /** Plays the result `step` away in the history (-1 back, +1 forward). */
    void browseHistory(int step);
    /** The clip last published (a copy under fClipMutex). */
    std::shared_ptr<const promptdaw::ClipData> latestClip() const;

    static constexpr uint32_t kMaxMidiIn = 512;

    // audio thread
    promptdaw::Engine fEngine;
    promptdaw::ClipHandle* fCurrent = nullptr;
    promptdaw::MidiInEvent fMidiIn[kMaxMidiIn];
    uint32_t fGenerateRisesSeen = 0;
    bool fRanOnce = false;

    // lock-free hand-over
    promptdaw::ClipExchange fExchange;
    promptdaw::TransportMailbox fTransport;
    std::atomic<float> fGainDb{0.f}, fGain{1.f}, fAudition{1.f}, fGenerate{0.f};
    std::atomic<uint32_t> fGenerateRises{0}; ///< rising edges of the Generate parameter so far
    std::atomic<int> fClipKind{0};
    std::atomic<float> fPlayhead{0.f};
    std::atomic<float> fHostBpm{0.f}; ///< 0 until the host gives a tempo

    // non-real-time threads
    mutable std::mutex fSettingsMutex;
    promptdaw::Settings fSettings;
    mutable std::mutex fClipMutex;
    std::shared_ptr<const promptdaw::ClipData> fLatestClip;
    std::string fLatestClipState;
    promptdaw::History fHistory;  ///< under fClipMutex
    std::string fHistoryState;    ///< fHistory.toState(), made when it changes (saving is a copy)
    std::unique_ptr<promptdaw::Worker> fWorker;

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(PromptdawPlugin)
};

END_NAMESPACE_DISTRHO
