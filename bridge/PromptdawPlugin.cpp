/*
 * promptdaw bridge: the plugin (DSP side). See PromptdawPlugin.hpp for the threads.
 */

#include "PromptdawPlugin.hpp"

#include <cmath>
#include <cstring>

#include "Files.hpp"

// Real-time checker hooks. Undefined (null) in normal hosts; tests preload librtcheck.so,
// which defines them to count allocations and lock calls made inside run().
extern "C" {
__attribute__((weak, visibility("default"))) void promptdaw_rtcheck_enter(void);
__attribute__((weak, visibility("default"))) void promptdaw_rtcheck_leave(void);
__attribute__((weak, visibility("default"))) void promptdaw_rtcheck_pause(void);
__attribute__((weak, visibility("default"))) void promptdaw_rtcheck_resume(void);
}

START_NAMESPACE_DISTRHO

using promptdaw::ClipData;
using promptdaw::ClipHandle;
using promptdaw::ClipKind;
using promptdaw::Json;

namespace {

const char* connectionName(int c)
{
    switch (c)
    {
    case kConnConnected: return "connected";
    case kConnUnreachable: return "unreachable";
    case kConnStarting: return "starting";
    default: return "unknown";
    }
}

const char* jobName(int j)
{
    switch (j)
    {
    case kJobRunning: return "running";
    case kJobDone: return "done";
    case kJobFailed: return "failed";
    case kJobCancelled: return "cancelled";
    default: return "idle";
    }
}

/** What a state key is; setState() routes each key by it. */
enum StateRole {
    kSetting,  ///< a field of promptdaw::Settings: stored here, saved by the host through getState()
    kClip,     ///< the generated clip: saved by the host too, decoded and played when restored
    kHistory,  ///< the session's last results: saved by the host too, restored without playing any
    kCommand,  ///< one-shot (its description says "Trigger"): acts, is never stored, saves as "";
               ///< host-writable, so LV2 hosts can send it (patch:Set) like the settings
    kReadOnly, ///< made by getState(); a value set is ignored
};

struct StateInfo {
    const char* key;
    const char* label;
    const char* defaultValue;
    uint32_t hints;
    const char* description;
    StateRole role;
};

// Indexed by the States enum. Saved sessions store values under these keys, and hosts and scripts
// set them (docs/bridge.md lists them): renaming one loses that setting in every project saved
// before and breaks those scripts.
const StateInfo kStates[kStateCount] = {
    {"prompt", "Prompt", "", kStateIsHostWritable, "What to generate, in words", kSetting},
    {"mode", "Mode", "loop", kStateIsHostWritable, "sample, loop or midi", kSetting},
    {"bars", "Bars", "4", kStateIsHostWritable, "Length of loops and MIDI clips in bars (1..32)", kSetting},
    {"seed", "Seed", "", kStateIsHostWritable, "Empty for a new random seed per request, else an integer", kSetting},
    {"note", "Root note", "C3", kStateIsHostWritable, "Sample mode: the note the sample is generated at", kSetting},
    {"key", "Key", "", kStateIsHostWritable, "Optional key, e.g. A minor", kSetting},
    {"endpoint", "Daemon endpoint", "", kStateIsHostWritable, "Empty for $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467",
     kSetting},
    {"daemon_command", "Daemon command", "", kStateIsHostWritable,
     "Command that starts a daemon ({endpoint} is replaced); empty for: promptdaw serve --endpoint {endpoint}", kSetting},
    {"autostart", "Start daemon", "1", kStateIsHostWritable, "1: start the daemon when none answers", kSetting},
    {"library", "Library folder", "", kStateIsHostWritable, "Export folder; empty for ~/.local/share/promptdaw/library",
     kSetting},
    {"host_tempo", "Follow host tempo", "1", kStateIsHostWritable,
     "1: requests carry the host's tempo and meter (loops fit the project); 0: the prompt decides", kSetting},
    {"regen_part", "Part to regenerate", "all", kStateIsHostWritable,
     "Regenerate: a part's role (drums, bass, chords, ...), or all", kSetting},
    {"regen_bars", "Bars to regenerate", "", kStateIsHostWritable,
     "Regenerate: a bar (2) or a range (2-3), 1-based; empty for the whole clip", kSetting},
    {"daemon_key", "Daemon key", "", kStateIsHostWritable,
     "A remote daemon's signing key (the key in its connection file); empty: read this machine's file", kSetting},
    {"clip", "Clip", "", kStateIsOnlyForDSP, "The generated clip (JSON with base64 audio and MIDI)", kClip},
    {"history", "History", "", kStateIsOnlyForDSP, "The last results and favourites (JSON)", kHistory},
    {"generate", "Generate", "", kStateIsHostWritable, "Trigger: any non-empty value sends a request", kCommand},
    {"cancel", "Cancel", "", kStateIsHostWritable, "Trigger: cancel the running request", kCommand},
    {"export", "Export", "", kStateIsHostWritable, "Trigger: write the clip into the library folder", kCommand},
    {"connect", "Connect", "", kStateIsHostWritable, "Trigger: check the daemon now, starting it if configured", kCommand},
    {"regenerate", "Regenerate", "", kStateIsHostWritable,
     "Trigger: regenerate the part and bars set above of the MIDI clip", kCommand},
    {"history_back", "Previous result", "", kStateIsHostWritable, "Trigger: play the previous result", kCommand},
    {"history_forward", "Next result", "", kStateIsHostWritable, "Trigger: play the next result", kCommand},
    {"favourite", "Keep", "", kStateIsHostWritable, "1: keep the current result in the history; 0: unmark it",
     kCommand},
    {"status", "Status", "", kStateIsOnlyForDSP, "Read-only JSON status", kReadOnly},
};

int stateIndex(const char* key)
{
    for (int i = 0; i < kStateCount; ++i)
        if (std::strcmp(kStates[i].key, key) == 0)
            return i;
    return -1;
}

} // namespace

// ---------------------------------------------------------------------------------- lifetime

PromptdawPlugin::PromptdawPlugin() : Plugin(kParamCount, 0, kStateCount)
{
    // Metadata-only instances (created by hosts and the LV2 turtle generator) stay inert.
    if (isDummyInstance())
        return;
    fWorker = std::make_unique<promptdaw::Worker>(
        [this](std::shared_ptr<const ClipData> clip) { publishClip(std::move(clip), std::string(), true); }, fTransport,
        [this] { return settings(); });
    fWorker->setSampleRate(getSampleRate());
    fWorker->start();
    fEngine.prepare(getSampleRate());
}

PromptdawPlugin::~PromptdawPlugin()
{
    if (fWorker)
        fWorker->stop(); // first: it may still publish
    fWorker.reset();
    delete fCurrent;     // the audio thread has stopped
}

// ---------------------------------------------------------------------------------- init

void PromptdawPlugin::initParameter(uint32_t index, Parameter& parameter)
{
    switch (index)
    {
    case kParamGain:
        parameter.hints = kParameterIsAutomatable;
        parameter.name = "Gain";
        parameter.symbol = "gain";
        parameter.unit = "dB";
        parameter.ranges.min = -60.f;
        parameter.ranges.max = 12.f;
        parameter.ranges.def = 0.f;
        break;
    case kParamAudition:
        parameter.hints = kParameterIsAutomatable | kParameterIsBoolean | kParameterIsInteger;
        parameter.name = "Audition MIDI";
        parameter.symbol = "audition";
        parameter.ranges.min = 0.f;
        parameter.ranges.max = 1.f;
        parameter.ranges.def = 1.f;
        break;
    case kParamGenerate:
        // Not kParameterIsTrigger: DPF 1.6's VST3 wrapper never passes a trigger's value to the
        // plugin. A plain boolean works alike in every format; run() acts on its rising edge.
        parameter.hints = kParameterIsAutomatable | kParameterIsBoolean | kParameterIsInteger;
        parameter.name = "Generate";
        parameter.symbol = "generate";
        parameter.description = "Momentary: going from 0 to 1 sends a request with the current settings "
                                "(set it back to 0 before the next)";
        parameter.ranges.min = 0.f;
        parameter.ranges.max = 1.f;
        parameter.ranges.def = 0.f;
        break;
    case kParamConnection:
        parameter.hints = kParameterIsOutput | kParameterIsInteger;
        parameter.name = "Daemon connection";
        parameter.symbol = "connection";
        parameter.ranges.max = 3.f;
        break;
    case kParamJob:
        parameter.hints = kParameterIsOutput | kParameterIsInteger;
        parameter.name = "Request state";
        parameter.symbol = "job";
        parameter.ranges.max = 4.f;
        break;
    case kParamProgress:
        parameter.hints = kParameterIsOutput;
        parameter.name = "Progress";
        parameter.symbol = "progress";
        parameter.ranges.max = 1.f;
        break;
    case kParamClipKind:
        parameter.hints = kParameterIsOutput | kParameterIsInteger;
        parameter.name = "Clip kind";
        parameter.symbol = "clip_kind";
        parameter.ranges.max = 3.f;
        break;
    case kParamPlayhead:
        parameter.hints = kParameterIsOutput;
        parameter.name = "Playhead";
        parameter.symbol = "playhead";
        parameter.ranges.max = 1.f;
        break;
    case kParamHostBpm:
        // What a request would carry, so that a host, a user and a test can see the plugin follows
        // the project before pressing Generate (hosts that send the tempo only when it changes included).
        parameter.hints = kParameterIsOutput;
        parameter.name = "Host tempo";
        parameter.symbol = "host_bpm";
        parameter.unit = "BPM";
        parameter.ranges.max = 999.f;
        break;
    }
}

void PromptdawPlugin::initState(uint32_t index, State& state)
{
    if (index >= kStateCount)
        return;
    const StateInfo& info = kStates[index];
    state.key = info.key;
    state.label = info.label;
    state.defaultValue = info.defaultValue;
    state.hints = info.hints;
    state.description = info.description;
}

// ---------------------------------------------------------------------------------- parameters

float PromptdawPlugin::getParameterValue(uint32_t index) const
{
    switch (index)
    {
    case kParamGain: return fGainDb.load(std::memory_order_relaxed);
    case kParamAudition: return fAudition.load(std::memory_order_relaxed);
    case kParamGenerate: return fGenerate.load(std::memory_order_relaxed);
    case kParamConnection: return fWorker ? float(fWorker->connection()) : 0.f;
    case kParamJob: return fWorker ? float(fWorker->job()) : 0.f;
    case kParamProgress: return fWorker ? fWorker->progress() : 0.f;
    case kParamClipKind: return float(fClipKind.load(std::memory_order_relaxed));
    case kParamPlayhead: return fPlayhead.load(std::memory_order_relaxed);
    case kParamHostBpm: return fHostBpm.load(std::memory_order_relaxed);
    default: return 0.f;
    }
}

void PromptdawPlugin::setParameterValue(uint32_t index, float value)
{
    switch (index)
    {
    case kParamGain:
        fGainDb.store(value, std::memory_order_relaxed);
        fGain.store(value <= -60.f ? 0.f : std::pow(10.f, value / 20.f), std::memory_order_relaxed);
        break;
    case kParamAudition:
        fAudition.store(value >= 0.5f ? 1.f : 0.f, std::memory_order_relaxed);
        break;
    case kParamGenerate: {
        // Counted here, not only compared in run(): a 0-1-0 pulse shorter than a block still counts.
        const float before = fGenerate.exchange(value >= 0.5f ? 1.f : 0.f, std::memory_order_relaxed);
        if (value >= 0.5f && before < 0.5f)
            fGenerateRises.fetch_add(1, std::memory_order_release);
        break;
    }
    }
}

// ---------------------------------------------------------------------------------- states

String PromptdawPlugin::getState(const char* key) const
{
    const promptdaw::Settings s = settings();
    switch (stateIndex(key))
    {
    case kStatePrompt: return String(s.prompt.c_str());
    case kStateMode: return String(promptdaw::clipKindName(s.mode));
    case kStateBars: return String(std::to_string(s.bars).c_str());
    case kStateSeed: return String(s.seed.c_str());
    case kStateNote: return String(s.note.c_str());
    case kStateKey: return String(s.key.c_str());
    case kStateEndpoint: return String(s.endpoint.c_str());
    case kStateDaemonCommand: return String(s.daemonCommand.c_str());
    case kStateAutostart: return String(s.autostart ? "1" : "0");
    case kStateLibrary: return String(s.library.c_str());
    case kStateHostTempo: return String(s.hostTempo ? "1" : "0");
    case kStateRegenPart: return String(s.regenPart.empty() ? "all" : s.regenPart.c_str());
    case kStateRegenBars: return String(s.regenBars.c_str());
    case kStateDaemonKey: return String(s.daemonKey.c_str());
    case kStateHistory: {
        std::lock_guard<std::mutex> lock(fClipMutex);
        return String(fHistoryState.c_str());
    }
    case kStateClip: {
        std::lock_guard<std::mutex> lock(fClipMutex);
        return String(fLatestClipState.c_str());
    }
    case kStateStatus: return String(statusJson().c_str());
    default: return String(); // commands are never saved
    }
}

void PromptdawPlugin::setState(const char* key, const char* value)
{
    // No exception may reach the host.
    try
    {
        const int index = stateIndex(key);
        if (index < 0)
            return;
        const std::string v = value != nullptr ? value : "";
        switch (kStates[index].role)
        {
        case kSetting: applySetting(index, v); break;
        case kClip: restoreClip(v); break;
        case kHistory: restoreHistory(v); break;
        case kCommand: runCommand(index, v); break;
        case kReadOnly: break;
        }
    }
    catch (const std::exception& e)
    {
        d_stderr2("promptdaw: setState(%s) failed: %s", key, e.what());
    }
}

void PromptdawPlugin::applySetting(int index, const std::string& v)
{
    promptdaw::Settings snapshot;
    bool reconfigure = false;
    {
        std::lock_guard<std::mutex> lock(fSettingsMutex);
        promptdaw::Settings& s = fSettings;
        switch (index)
        {
        case kStatePrompt: s.prompt = v; break;
        case kStateMode: {
            ClipKind kind;
            if (promptdaw::clipKindFromName(v, kind)) // else the current mode stays
                s.mode = kind;
            break;
        }
        case kStateBars: {
            const int bars = std::atoi(v.c_str());
            if (bars >= 1 && bars <= 32) // else the current length stays
                s.bars = bars;
            break;
        }
        case kStateSeed: s.seed = v; break;
        case kStateNote: s.note = v; break;
        case kStateKey: s.key = v; break;
        case kStateEndpoint: s.endpoint = v; reconfigure = true; break;
        case kStateDaemonCommand: s.daemonCommand = v; reconfigure = true; break;
        case kStateAutostart: s.autostart = v != "0" && v != "false"; reconfigure = true; break;
        case kStateLibrary: s.library = v; reconfigure = true; break;
        case kStateHostTempo: s.hostTempo = v != "0" && v != "false"; break;
        case kStateRegenPart: s.regenPart = v == "all" ? std::string() : v; break;
        case kStateRegenBars: s.regenBars = v; break;
        case kStateDaemonKey: s.daemonKey = v; reconfigure = true; break;
        }
        if (reconfigure)
            snapshot = s;
    }
    // The worker keeps its own copy of what its connection is made from; the other settings
    // travel with each command.
    if (reconfigure && fWorker)
        fWorker->configure(snapshot);
}

void PromptdawPlugin::restoreClip(const std::string& text)
{
    if (!fWorker)
        return; // a metadata-only instance plays nothing
    {
        std::lock_guard<std::mutex> lock(fClipMutex);
        if (text == fLatestClipState)
            return; // the host handing back what it just saved
    }
    auto clip = std::make_shared<ClipData>();
    std::string problem;
    if (!promptdaw::clipFromState(text, *clip, problem))
    {
        fWorker->clipChanged(latestClip(), "the saved clip could not be read: " + problem);
        return;
    }
    std::shared_ptr<const ClipData> published;
    if (clip->kind != ClipKind::None)
        published = clip;
    publishClip(published, published ? text : std::string(), false); // the text is already the state
    fWorker->clipChanged(published, std::string());
}

void PromptdawPlugin::runCommand(int index, const std::string& v)
{
    // Commands save as "", so a restored session hands back "": only a value is a press.
    if (v.empty() || !fWorker)
        return;
    switch (index)
    {
    case kStateGenerate: fWorker->generate(settings()); break;
    case kStateCancel: fWorker->cancel(); break;
    case kStateExport: fWorker->exportClip(latestClip(), settings()); break;
    case kStateConnect: fWorker->connect(settings()); break;
    case kStateRegenerate: fWorker->regenerate(latestClip(), settings()); break;
    case kStateHistoryBack: browseHistory(-1); break;
    case kStateHistoryForward: browseHistory(+1); break;
    case kStateFavourite: {
        std::lock_guard<std::mutex> lock(fClipMutex);
        if (fHistory.setFavourite(v != "0" && v != "false"))
            fHistoryState = fHistory.toState();
        break;
    }
    }
}

void PromptdawPlugin::restoreHistory(const std::string& text)
{
    if (!fWorker)
        return;
    std::string problem;
    bool read = false;
    {
        std::lock_guard<std::mutex> lock(fClipMutex);
        if (text == fHistoryState)
            return; // the host handing back what it just saved
        try
        {
            read = fHistory.fromState(text, problem);
        }
        catch (const std::exception& e) // a field of the wrong type
        {
            problem = e.what();
        }
        if (read)
            fHistoryState = fHistory.toState();
    }
    // Restoring a history plays nothing: the `clip` state says what plays.
    if (!read)
        fWorker->clipChanged(latestClip(), "the saved history could not be read: " + problem);
}

void PromptdawPlugin::browseHistory(int step)
{
    std::shared_ptr<const ClipData> clip;
    std::string text;
    {
        std::lock_guard<std::mutex> lock(fClipMutex);
        if (!fHistory.move(step))
            return;
        clip = fHistory.current()->clip;
        text = fHistory.current()->text;
        fHistoryState = fHistory.toState();
    }
    publishClip(clip, std::move(text), false);
    if (fWorker)
        fWorker->clipChanged(clip, std::string());
}

HistoryInfo PromptdawPlugin::historyInfo() const
{
    std::lock_guard<std::mutex> lock(fClipMutex);
    const promptdaw::History::Entry* current = fHistory.current();
    return {int(fHistory.size()), fHistory.index(), current != nullptr && current->favourite, int(fHistory.favourites())};
}

void PromptdawPlugin::publishClip(std::shared_ptr<const ClipData> clip, std::string text, bool newResult)
{
    // Serialized once here (off the audio thread) so that saving a project is a copy.
    if (clip && text.empty())
        text = promptdaw::clipToState(*clip);
    std::lock_guard<std::mutex> lock(fClipMutex);
    if (newResult && clip)
    {
        fHistory.add(clip, text);
        fHistoryState = fHistory.toState();
    }
    fLatestClip = clip;
    fLatestClipState = std::move(text);
    fExchange.publish(new ClipHandle{std::move(clip)});
}

std::shared_ptr<const ClipData> PromptdawPlugin::latestClip() const
{
    std::lock_guard<std::mutex> lock(fClipMutex);
    return fLatestClip;
}

// ---------------------------------------------------------------------------------- for the UI

promptdaw::WorkerStatus PromptdawPlugin::status() const
{
    return fWorker ? fWorker->status() : promptdaw::WorkerStatus();
}

uint64_t PromptdawPlugin::statusVersion() const noexcept { return fWorker ? fWorker->statusVersion() : 0; }

promptdaw::Settings PromptdawPlugin::settings() const
{
    std::lock_guard<std::mutex> lock(fSettingsMutex);
    return fSettings;
}

std::string PromptdawPlugin::statusJson() const
{
    const promptdaw::WorkerStatus s = status();
    Json j = {
        {"connection", connectionName(s.connection)},
        {"endpoint", s.endpoint},
        {"daemon_version", s.daemonVersion},
        {"daemon_pid", s.daemonPid},
        {"daemon_started_here", s.daemonStartedHere},
        {"job", jobName(s.job)},
        {"generations", s.generations},
        {"request_type", s.requestType},
        {"request_id", s.requestId},
        {"request_params", s.requestParams},
        {"progress", s.progress},
        {"stage", s.stage},
        {"message", s.message},
        {"exported", s.exported},
        {"version", s.version},
    };
    j["error"] = s.errorCode.empty() ? Json(nullptr) : Json{{"code", s.errorCode}, {"message", s.errorMessage}};
    const std::shared_ptr<const ClipData> clip = latestClip();
    if (clip)
    {
        j["clip"] = {
            {"kind", promptdaw::clipKindName(clip->kind)},
            {"prompt", clip->prompt},
            {"seed", clip->seed},
            {"request_id", clip->requestId},
            {"sample_rate", clip->sampleRate},
            {"channels", clip->channels},
            {"frames", clip->frames},
            {"bpm", clip->bpm},
            {"meter", std::to_string(clip->meterNumerator) + "/" + std::to_string(clip->meterDenominator)},
            {"bars", clip->bars},
            {"length_beats", clip->lengthBeats},
            {"root_note", clip->rootNote},
            {"midi_events", clip->events.size()},
        };
        Json stems = Json::array();
        for (const promptdaw::Stem& stem : clip->stems)
            stems.push_back(stem.name);
        j["clip"]["stems"] = stems;
    }
    else
        j["clip"] = nullptr;
    const HistoryInfo h = historyInfo();
    j["history"] = {{"size", h.size}, {"index", h.index}, {"favourite", h.favourite}, {"favourites", h.favourites}};
    promptdaw::TransportInfo t;
    double sampleRate = 0.0;
    if (fTransport.read(t, sampleRate))
        j["transport"] = {{"playing", t.playing}, {"bbt_valid", t.bbtValid}, {"tempo_known", t.tempoKnown}, {"bpm", t.bpm},
                          {"meter", std::to_string(int(t.beatsPerBar)) + "/" + std::to_string(int(t.beatType))},
                          {"sample_rate", sampleRate}};
    else
        j["transport"] = nullptr;
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------- processing

void PromptdawPlugin::activate()
{
    fEngine.prepare(getSampleRate());
    if (fWorker)
        fWorker->setSampleRate(getSampleRate());
}

void PromptdawPlugin::sampleRateChanged(double newSampleRate)
{
    fEngine.prepare(newSampleRate);
    if (fWorker)
        fWorker->setSampleRate(newSampleRate);
}

bool PromptdawPlugin::writeMidi(uint32_t frame, const uint8_t* data, uint8_t size) noexcept
{
    MidiEvent event;
    event.frame = frame;
    event.size = size;
    std::memcpy(event.data, data, size);
    event.dataExt = nullptr;
    // The host's event list is the host's code: the real-time checker does not count it.
    if (promptdaw_rtcheck_pause != nullptr)
        promptdaw_rtcheck_pause();
    const bool written = writeMidiEvent(event);
    if (promptdaw_rtcheck_resume != nullptr)
        promptdaw_rtcheck_resume();
    return written;
}

void PromptdawPlugin::run(const float**, float** outputs, uint32_t frames, const MidiEvent* midiEvents,
                          uint32_t midiEventCount)
{
    if (promptdaw_rtcheck_enter != nullptr)
        promptdaw_rtcheck_enter();

    ClipHandle* next = fExchange.take(fCurrent);
    if (next != fCurrent)
    {
        fCurrent = next;
        fEngine.setClip(fCurrent != nullptr ? fCurrent->data.get() : nullptr);
    }

    const TimePosition& pos = getTimePosition();
    promptdaw::TransportInfo t;
    t.playing = pos.playing;
    t.frame = pos.frame;
    t.bbtValid = pos.bbt.valid;
    if (pos.bbt.valid)
    {
        t.bpm = pos.bbt.beatsPerMinute;
        t.beatsPerBar = pos.bbt.beatsPerBar;
        t.beatType = pos.bbt.beatType;
        t.bar = pos.bbt.bar;
        t.beat = pos.bbt.beat;
        t.tick = pos.bbt.tick;
        t.ticksPerBeat = pos.bbt.ticksPerBeat;
        if (pos.bbt.beatsPerMinute > 0.0)
            fHostBpm.store(float(pos.bbt.beatsPerMinute), std::memory_order_relaxed);
    }
    fTransport.write(t, getSampleRate());

    // The Generate parameter: a rise since the last block asks the worker for a request (one
    // atomic store). Rises before the first block are a restored session's saved value, not a press.
    const uint32_t rises = fGenerateRises.load(std::memory_order_acquire);
    if (rises != fGenerateRisesSeen && fRanOnce && fWorker)
        fWorker->requestGenerate();
    fGenerateRisesSeen = rises;
    fRanOnce = true;

    uint32_t count = 0;
    for (uint32_t i = 0; i < midiEventCount && count < kMaxMidiIn; ++i)
    {
        if (midiEvents[i].size > 3)
            continue; // sysex: not for us
        promptdaw::MidiInEvent& e = fMidiIn[count++];
        e.frame = midiEvents[i].frame;
        e.size = uint8_t(midiEvents[i].size);
        std::memcpy(e.data, midiEvents[i].data, 3);
    }

    fEngine.process(outputs[0], outputs[1], frames, fMidiIn, count, t, fGain.load(std::memory_order_relaxed),
                    fAudition.load(std::memory_order_relaxed) >= 0.5f, this);

    const ClipData* clip = fEngine.clip();
    fClipKind.store(clip != nullptr ? int(clip->kind) : 0, std::memory_order_relaxed);
    fPlayhead.store(fEngine.playhead(), std::memory_order_relaxed);

    if (promptdaw_rtcheck_leave != nullptr)
        promptdaw_rtcheck_leave();
}

// ---------------------------------------------------------------------------------- entry point

Plugin* createPlugin() { return new PromptdawPlugin(); }

END_NAMESPACE_DISTRHO
