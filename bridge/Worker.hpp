/*
 * promptdaw bridge: the worker thread.
 *
 * One per plugin instance. It alone owns the ZeroMQ socket (through Client), sends requests,
 * follows progress, watches the daemon with heartbeats, starts a daemon when configured to,
 * turns results into clips and exports clips to the library. Other threads talk to it only
 * through its command queue (a mutex held for a push or a pop, never by the audio thread)
 * and read its state through status() (a copy taken under another mutex) or through atomics.
 */

#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "Clip.hpp"
#include "Exchange.hpp"
#include "DistrhoPluginInfo.h"

namespace promptdaw {

/** What the user set: everything a request or the daemon connection is made from. */
struct Settings {
    std::string prompt;
    ClipKind mode = ClipKind::Loop;
    int bars = 4;
    std::string seed;           ///< "" = random per request
    std::string note = "C3";    ///< Sample mode root
    std::string key;            ///< "" = let the prompt decide
    std::string endpoint;       ///< "" = defaultEndpoint()
    std::string daemonCommand;  ///< "" = kDefaultDaemonCommand
    bool autostart = true;
    std::string library;        ///< "" = defaultLibraryDir()
    bool hostTempo = true;      ///< send the host's tempo and meter with requests
    std::string regenPart;      ///< Regenerate: a part's role, "" or "all" = every part
    std::string regenBars;      ///< Regenerate: "2" or "2-3" (1-based, inclusive), "" = the whole clip
    std::string daemonKey;      ///< a remote daemon's signing key; "" = its connection file on this machine

    std::string resolvedEndpoint() const;
    std::string resolvedCommand() const;
    std::string resolvedLibrary() const;
};

/** Started when no daemon answers and autostart is on; "{endpoint}" is replaced. */
constexpr const char* kDefaultDaemonCommand = "promptdaw serve --endpoint {endpoint}";

/** A copy of the worker's state, for the UI and the `status` state. */
struct WorkerStatus {
    uint64_t version = 0;
    ConnectionState connection = kConnUnknown;
    std::string endpoint;
    std::string daemonVersion;
    int64_t daemonPid = 0;
    bool daemonStartedHere = false;

    JobState job = kJobIdle;
    uint64_t generations = 0;  ///< generate commands handled so far (tests wait on this)
    std::string requestType;
    std::string requestId;
    Json requestParams = Json::object(); ///< the params sent (tests replay them)
    double progress = 0.0;
    std::string stage;

    std::string errorCode;     ///< the last failure ("" after a success)
    std::string errorMessage;
    std::string message;       ///< the last success, e.g. where an export went
    std::vector<std::string> exported;

    std::shared_ptr<const ClipData> clip; ///< the clip now published (for the preview)
};

class Worker {
public:
    /** `publish` gets each new clip (on the worker thread); `transport` is read when a
        request is built; `settings` gives the settings now in effect (called on the worker
        thread, for requests the audio thread asks for). */
    Worker(std::function<void(std::shared_ptr<const ClipData>)> publish, const TransportMailbox& transport,
           std::function<Settings()> settings);
    ~Worker();

    void start();
    void stop();

    /** Endpoint, daemon command or library changed (a new endpoint reconnects). */
    void configure(const Settings& settings);
    /** Sends a generate-* request made from `settings` (refused while one runs). */
    void generate(const Settings& settings);
    /** Audio thread (the Generate parameter rose): like generate() with the settings then in
        effect, taken by the worker within one poll. Wait-free: one atomic store. */
    void requestGenerate() noexcept { fGenerateRequested.store(true, std::memory_order_release); }
    /** Sends `regenerate-midi` for `clip` (a MIDI clip): the part and bars of `settings` new, the
        rest kept (refused while a request runs; a clip without MIDI is an error to show). */
    void regenerate(std::shared_ptr<const ClipData> clip, const Settings& settings);
    /** Cancels the running request (the last clip stays). */
    void cancel();
    /** Writes `clip` into the library folder of `settings`. */
    void exportClip(std::shared_ptr<const ClipData> clip, const Settings& settings);
    /** Checks the daemon now; starts it when none answers and autostart is on. */
    void connect(const Settings& settings);
    /** The host's sample rate: audio is requested at this rate, so it plays sample-exact. */
    void setSampleRate(double sampleRate) noexcept { fHostRate.store(sampleRate, std::memory_order_relaxed); }
    /** The clip now playing changed outside the worker (restored from state). */
    void clipChanged(std::shared_ptr<const ClipData> clip, const std::string& problem);

    WorkerStatus status() const;
    uint64_t statusVersion() const noexcept { return fVersion.load(std::memory_order_acquire); }
    ConnectionState connection() const noexcept { return fConnection.load(std::memory_order_relaxed); }
    JobState job() const noexcept { return fJob.load(std::memory_order_relaxed); }
    float progress() const noexcept { return fProgress.load(std::memory_order_relaxed); }

private:
    struct Command {
        enum Kind { Configure, Generate, Regenerate, Cancel, Export, Connect } kind;
        Settings settings;
        std::shared_ptr<const ClipData> clip;
    };
    struct Job;

    void push(Command command);
    void run();
    /** (Re)creates the client for the configured endpoint, with CurveZMQ keys from the environment. */
    void connect();
    void handle(Command& command);
    void startJob(const Settings& settings);
    void startRegenerate(const ClipData& clip, const Settings& settings);
    /** Makes `job` the running request and sends it when it can go now. */
    void beginJob(std::unique_ptr<Job> job);
    /** Ends a command that could not start a request with `code` and `message` (nothing is sent). */
    void refuse(const std::string& code, const std::string& message);
    /** Adds the host's tempo and meter to the job's request when it needs them; false while the
        audio thread has run no block yet (then the request waits). */
    bool addHostTempo(Job& job);
    void sendJob();
    void finishJob(JobState state, const std::string& code, const std::string& message);
    void onReply(Reply& reply);
    void heartbeat();
    void setConnection(ConnectionState state);
    void startDaemon();
    template <typename F> void update(F&& change);

    std::function<void(std::shared_ptr<const ClipData>)> fPublish;
    const TransportMailbox& fTransport;
    std::function<Settings()> fSettingsSource;
    std::atomic<bool> fGenerateRequested{false};

    std::thread fThread;
    std::atomic<bool> fStop{false};
    std::mutex fQueueMutex;
    std::condition_variable fQueueSignal;
    std::deque<Command> fQueue;

    mutable std::mutex fStatusMutex;
    WorkerStatus fStatus;
    std::atomic<uint64_t> fVersion{1};
    std::atomic<ConnectionState> fConnection{kConnUnknown};
    std::atomic<JobState> fJob{kJobIdle};
    std::atomic<float> fProgress{0.f};
    std::atomic<double> fHostRate{0.0};

    // worker-thread only
    Settings fSettings;
    std::unique_ptr<class Client> fClient;
    std::unique_ptr<Job> fJobState;
    std::string fHeartbeatId;
    double fOpenedAt = 0.0, fLastHeard = -1.0, fNextHeartbeat = 0.0, fStartDeadline = 0.0;
    bool fStarting = false;
    bool fStartIfMissing = false;
    int64_t fDaemonPid = 0;
    std::string fSocketError;
};

} // namespace promptdaw
