/*
 * promptdaw bridge: the worker thread (see Worker.hpp).
 */

#include "Worker.hpp"

#include <chrono>
#include <cstdio>
#include <cmath>
#include <random>

#include "Client.hpp"
#include "Files.hpp"

namespace promptdaw {

namespace {
constexpr double kIdleHeartbeatS = 2.0;
constexpr double kJobHeartbeatS = 1.0;
constexpr double kSilenceS = 3.5;          // no heartbeat answer for this long: the daemon is gone
constexpr double kConnectGraceS = 1.0;     // a fresh socket gets this long to connect
constexpr double kStartTimeoutS = 60.0;    // an auto-started daemon must answer within this
constexpr double kJobBackstopS = 1800.0;   // the daemon enforces timeout_s; this only guards us
constexpr int kPollMs = 20;
constexpr const char* kHeartbeatPrefix = "hb-";

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t randomSeed()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return int64_t(rng() % 2147483647ull);
}

/** "2" -> [1, 2), "2-3" -> [1, 3) (0-based, end exclusive, as regenerate-midi's from_bar/to_bar);
    "" -> the whole clip. False for anything else or a range outside 1..bars. */
bool parseBarRange(const std::string& text, int bars, int& from, int& to)
{
    if (text.empty())
    {
        from = 0;
        to = bars;
        return bars > 0;
    }
    int first = 0, last = 0;
    char dash = 0, extra = 0;
    const int n = std::sscanf(text.c_str(), "%d %c %d %c", &first, &dash, &last, &extra);
    if (n == 1)
        last = first;
    else if (n != 3 || dash != '-')
        return false;
    if (first < 1 || last < first || last > bars)
        return false;
    from = first - 1;
    to = last;
    return true;
}

bool parseSeed(const std::string& text, int64_t& seed)
{
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    seed = std::stoll(text);
    return true;
}
} // namespace

std::string Settings::resolvedEndpoint() const { return endpoint.empty() ? defaultEndpoint() : endpoint; }
std::string Settings::resolvedCommand() const { return daemonCommand.empty() ? kDefaultDaemonCommand : daemonCommand; }
std::string Settings::resolvedLibrary() const { return library.empty() ? defaultLibraryDir() : library; }

struct Worker::Job {
    ClipRequest clip;
    Request request;
    bool sent = false;
    bool cancelSent = false;
    bool needsTempo = false;     ///< a loop or MIDI clip that follows the host's tempo
    bool waitingForHost = false; ///< held until the audio thread ran a block (see addHostTempo)
    int64_t daemonPid = 0;
    double startedAt = 0.0;
};

// ---------------------------------------------------------------------------------- public side

Worker::Worker(std::function<void(std::shared_ptr<const ClipData>)> publish, const TransportMailbox& transport,
               std::function<Settings()> settings)
    : fPublish(std::move(publish)), fTransport(transport), fSettingsSource(std::move(settings))
{
}

Worker::~Worker() { stop(); }

void Worker::start()
{
    if (!fThread.joinable())
    {
        fStop = false;
        fThread = std::thread([this] { run(); });
    }
}

void Worker::stop()
{
    fStop = true;
    fQueueSignal.notify_all();
    if (fThread.joinable())
        fThread.join();
}

void Worker::push(Command command)
{
    {
        std::lock_guard<std::mutex> lock(fQueueMutex);
        fQueue.push_back(std::move(command));
    }
    fQueueSignal.notify_all();
}

void Worker::configure(const Settings& settings) { push({Command::Configure, settings, nullptr}); }
void Worker::generate(const Settings& settings) { push({Command::Generate, settings, nullptr}); }
void Worker::cancel() { push({Command::Cancel, Settings(), nullptr}); }

void Worker::regenerate(std::shared_ptr<const ClipData> clip, const Settings& settings)
{
    push({Command::Regenerate, settings, std::move(clip)});
}
void Worker::connect(const Settings& settings) { push({Command::Connect, settings, nullptr}); }

void Worker::exportClip(std::shared_ptr<const ClipData> clip, const Settings& settings)
{
    push({Command::Export, settings, std::move(clip)});
}

void Worker::clipChanged(std::shared_ptr<const ClipData> clip, const std::string& problem)
{
    update([&](WorkerStatus& s) {
        s.clip = std::move(clip);
        if (!problem.empty())
        {
            s.errorCode = "bad_state";
            s.errorMessage = problem;
        }
    });
}

WorkerStatus Worker::status() const
{
    std::lock_guard<std::mutex> lock(fStatusMutex);
    return fStatus;
}

template <typename F> void Worker::update(F&& change)
{
    std::lock_guard<std::mutex> lock(fStatusMutex);
    change(fStatus);
    fConnection.store(fStatus.connection, std::memory_order_relaxed);
    fJob.store(fStatus.job, std::memory_order_relaxed);
    fProgress.store(float(fStatus.progress), std::memory_order_relaxed);
    fStatus.version = fVersion.fetch_add(1, std::memory_order_acq_rel) + 1;
}

// ---------------------------------------------------------------------------------- worker thread

void Worker::run()
{
    std::string error;
    connect();
    update([&](WorkerStatus& s) { s.endpoint = fClient->endpoint(); });

    while (!fStop.load())
    {
        std::deque<Command> commands;
        {
            std::lock_guard<std::mutex> lock(fQueueMutex);
            commands.swap(fQueue);
        }
        for (Command& c : commands)
            handle(c);
        if (fGenerateRequested.exchange(false, std::memory_order_acq_rel) && fSettingsSource)
        {
            Command c{Command::Generate, fSettingsSource(), nullptr};
            handle(c);
        }

        heartbeat();

        if (fStarting && now() > fStartDeadline)
        {
            fStarting = false;
            const std::string message = "started the daemon with `" + fSettings.resolvedCommand()
                                      + "` but nothing answered at " + fClient->endpoint() + " within 60 s (see "
                                      + stateDir() + "/plugin-daemon.log)";
            setConnection(kConnUnreachable);
            if (fJobState && !fJobState->sent)
                finishJob(kJobFailed, local_error::kUnreachable, message);
            else
                update([&](WorkerStatus& s) {
                    s.errorCode = local_error::kUnreachable;
                    s.errorMessage = message;
                });
        }
        if (fStartIfMissing && fConnection.load() == kConnUnreachable && !fStarting)
        {
            fStartIfMissing = false;
            startDaemon();
        }
        if (fJobState && !fJobState->sent && fJobState->waitingForHost && addHostTempo(*fJobState))
        {
            fJobState->waitingForHost = false;
            update([&](WorkerStatus& s) {
                s.requestParams = fJobState->request.params;
                s.stage = "connecting";
            });
        }
        if (fJobState && !fJobState->sent && !fJobState->waitingForHost)
        {
            const ConnectionState c = fConnection.load();
            if (c == kConnConnected)
                sendJob();
            else if (c == kConnUnreachable && !fStarting)
            {
                if (fSettings.autostart)
                    startDaemon();
                else
                    finishJob(kJobFailed, local_error::kUnreachable,
                              "no daemon answers at " + fClient->endpoint()
                                  + ": start one with `promptdaw serve`, or turn on autostart");
            }
        }
        if (fJobState && fJobState->sent)
        {
            if (fConnection.load() == kConnUnreachable)
                finishJob(kJobFailed, local_error::kNoReply,
                          "the daemon stopped answering during " + fJobState->request.type + "; the last clip is kept");
            else if (now() - fJobState->startedAt > kJobBackstopS)
                finishJob(kJobFailed, local_error::kNoReply, fJobState->request.type + " got no answer in 30 minutes");
        }

        Reply reply;
        for (int timeout = kPollMs; !fStop.load(); timeout = 0)
        {
            const Client::Status got = fClient->receive(reply, timeout, error);
            if (got == Client::Status::Timeout)
                break;
            if (got == Client::Status::Failed)
            {
                if (fJobState && fJobState->sent)
                    finishJob(kJobFailed, local_error::kBadReply, error);
                break;
            }
            onReply(reply);
        }
    }
    fClient.reset();
}

void Worker::connect()
{
    std::string error;
    CurveKeys keys;
    if (!curveKeysFromEnvironment(keys, error))
        update([&](WorkerStatus& s) {
            s.errorCode = local_error::kSocket;
            s.errorMessage = error;
        });
    fClient = std::make_unique<Client>(fSettings.resolvedEndpoint(), keys);
    fClient->setKey(fSettings.daemonKey);
    // A failed open (e.g. a wide endpoint without keys) is retried, and reported, by the first send.
    fClient->open(error);
    fOpenedAt = now();
}

void Worker::handle(Command& command)
{
    switch (command.kind)
    {
    case Command::Configure: {
        const bool moved = command.settings.resolvedEndpoint() != fSettings.resolvedEndpoint()
                           || command.settings.daemonKey != fSettings.daemonKey;
        fSettings = command.settings;
        if (moved)
        {
            if (fJobState)
                finishJob(kJobFailed, "cancelled", "the endpoint changed while a request ran");
            connect();
            fLastHeard = -1.0;
            fNextHeartbeat = 0.0;
            fStarting = false;
            update([&](WorkerStatus& s) {
                s.endpoint = fClient->endpoint();
                s.connection = kConnUnknown;
                s.daemonVersion.clear();
                s.daemonPid = 0;
            });
        }
        break;
    }
    case Command::Generate:
        fSettings = command.settings;
        if (fJobState)
            update([](WorkerStatus& s) { s.message = "a request is already running: cancel it first"; });
        else
            startJob(command.settings);
        update([](WorkerStatus& s) { ++s.generations; });
        break;
    case Command::Regenerate:
        fSettings = command.settings;
        if (fJobState)
            update([](WorkerStatus& s) { s.message = "a request is already running: cancel it first"; });
        else if (command.clip == nullptr || !command.clip->hasMidi())
            refuse("nothing_to_regenerate", "regenerate needs a MIDI clip: generate one in MIDI mode first");
        else
            startRegenerate(*command.clip, command.settings);
        update([](WorkerStatus& s) { ++s.generations; });
        break;
    case Command::Cancel:
        if (!fJobState)
            break;
        if (!fJobState->sent)
        {
            finishJob(kJobCancelled, "cancelled", "cancelled before the daemon got the request");
        }
        else if (!fJobState->cancelSent)
        {
            std::string error;
            Request cancel{newRequestId(), "cancel", {{"request_id", fJobState->request.id}}, {}};
            fJobState->cancelSent = fClient->send(cancel, 500, error) == Client::Status::Ok;
            update([](WorkerStatus& s) { s.stage = "cancelling"; });
        }
        break;
    case Command::Export: {
        std::vector<std::string> paths;
        std::string error;
        if (command.clip == nullptr || command.clip->kind == ClipKind::None)
        {
            update([](WorkerStatus& s) {
                s.errorCode = "nothing_to_export";
                s.errorMessage = "nothing to export yet: generate a clip first";
            });
        }
        else if (promptdaw::exportClip(*command.clip, command.settings.resolvedLibrary(), paths, error))
        {
            update([&](WorkerStatus& s) {
                s.exported = paths;
                s.message = "exported " + paths.front() + (paths.size() > 1 ? " (+ " + std::to_string(paths.size() - 1) + " more)" : "");
            });
        }
        else
        {
            update([&](WorkerStatus& s) {
                s.errorCode = "export_failed";
                s.errorMessage = error;
            });
        }
        break;
    }
    case Command::Connect:
        fSettings.daemonCommand = command.settings.daemonCommand;
        fSettings.autostart = command.settings.autostart;
        fNextHeartbeat = 0.0; // check now
        // Start one only when none answers (the heartbeats decide). An explicit request
        // starts it even with autostart off: autostart is about Generate doing it unasked.
        fStartIfMissing = fConnection.load() != kConnConnected && !fStarting;
        break;
    }
}

void Worker::startJob(const Settings& settings)
{
    auto job = std::make_unique<Job>();
    job->startedAt = now();
    job->clip.kind = settings.mode;
    job->clip.prompt = settings.prompt;
    if (!parseSeed(settings.seed, job->clip.seed))
        job->clip.seed = randomSeed();
    job->clip.rootNote = parseNoteName(settings.note.empty() ? "C3" : settings.note);
    if (job->clip.rootNote < 0)
        job->clip.rootNote = 48;

    std::string problem;
    if (settings.prompt.find_first_not_of(" \t\r\n") == std::string::npos)
        problem = "type a prompt first";
    else if (settings.mode == ClipKind::None)
        problem = "pick Sample, Loop or MIDI";
    if (!problem.empty())
    {
        refuse("invalid_params", problem);
        return;
    }

    Json params = {{"prompt", settings.prompt}, {"seed", job->clip.seed}};
    if (settings.mode == ClipKind::Sample)
    {
        params["note"] = settings.note.empty() ? std::string("C3") : settings.note;
    }
    else
    {
        job->clip.bars = settings.bars;
        params["bars"] = settings.bars;
        if (!settings.key.empty())
            params["key"] = settings.key;
    }
    const double hostRate = fHostRate.load(std::memory_order_relaxed);
    if (settings.mode != ClipKind::Midi && hostRate >= 8000.0 && hostRate <= 192000.0)
        params["sample_rate"] = int64_t(std::lround(hostRate)); // audio at the host's rate plays exactly
    job->request = Request{newRequestId(), requestTypeFor(settings.mode), params, {}};
    job->needsTempo = settings.hostTempo && settings.mode != ClipKind::Sample;
    job->waitingForHost = !addHostTempo(*job);
    beginJob(std::move(job));
}

void Worker::refuse(const std::string& code, const std::string& message)
{
    update([&](WorkerStatus& s) {
        s.job = kJobFailed;
        s.errorCode = code;
        s.errorMessage = message;
    });
}

void Worker::startRegenerate(const ClipData& clip, const Settings& settings)
{
    // The clip's own spec (tempo, meter, key, parts, bars) goes back with it: only the chosen
    // part and bars change. A new take each time: a fresh seed unless one is set.
    const Json spec = clip.result.contains("spec") ? clip.result["spec"] : Json();
    const int bars = spec.is_object() && spec.value("bars", 0) > 0 ? spec.value("bars", 0) : clip.bars;
    int from = 0, to = 0;
    if (!parseBarRange(settings.regenBars, bars, from, to))
    {
        refuse("invalid_params", "bars to regenerate: '" + settings.regenBars + "' is not a bar or a range of bars in 1.."
                                     + std::to_string(bars) + " (e.g. 2 or 2-3)");
        return;
    }
    auto job = std::make_unique<Job>();
    job->startedAt = now();
    job->clip.kind = ClipKind::Midi;
    job->clip.prompt = clip.prompt;
    if (!parseSeed(settings.seed, job->clip.seed))
        job->clip.seed = randomSeed();
    job->clip.bars = bars;
    job->clip.bpm = clip.bpm;
    job->clip.meterNumerator = clip.meterNumerator;
    job->clip.meterDenominator = clip.meterDenominator;
    Json params = {{"seed", job->clip.seed}, {"part", settings.regenPart.empty() ? std::string("all") : settings.regenPart},
                   {"from_bar", from}, {"to_bar", to}};
    if (spec.is_object())
        params["spec"] = spec;
    else
    {
        params["prompt"] = clip.prompt;
        params["bars"] = bars;
        params["bpm"] = clip.bpm;
        params["meter"] = std::to_string(clip.meterNumerator) + "/" + std::to_string(clip.meterDenominator);
    }
    job->request = Request{newRequestId(), "regenerate-midi", params, {Buffer::midi(clip.smf)}};
    beginJob(std::move(job));
}

void Worker::beginJob(std::unique_ptr<Job> job)
{
    fJobState = std::move(job);
    update([&](WorkerStatus& s) {
        s.job = kJobRunning;
        s.requestType = fJobState->request.type;
        s.requestId = fJobState->request.id;
        s.requestParams = fJobState->request.params;
        s.progress = 0.0;
        s.stage = fJobState->waitingForHost ? "waiting for the host's tempo" : "connecting";
        s.errorCode.clear();
        s.errorMessage.clear();
        s.message.clear();
    });
    if (!fJobState->waitingForHost && fConnection.load() == kConnConnected)
        sendJob();
}

bool Worker::addHostTempo(Job& job)
{
    TransportInfo t;
    double sampleRate = 0.0;
    // Before the host's first block (a request made while a session loads, or by the host before
    // it starts processing) the tempo is not known yet, and the prompt's genre tempo would not fit
    // the project: such a request waits for that block.
    if (!fTransport.read(t, sampleRate))
        return !job.needsTempo;
    Json& params = job.request.params;
    // The last tempo and meter the host gave (this block or an earlier one: some hosts give
    // them only while playing); a host that never gave any (e.g. pedalboard) lets the prompt decide.
    if (job.needsTempo && t.tempoKnown && t.bpm > 0.0)
    {
        job.clip.bpm = std::round(t.bpm * 1000.0) / 1000.0;
        job.clip.meterNumerator = int(t.beatsPerBar);
        job.clip.meterDenominator = int(t.beatType);
        params["bpm"] = job.clip.bpm;
        params["meter"] = std::to_string(job.clip.meterNumerator) + "/" + std::to_string(job.clip.meterDenominator);
    }
    Json host = {{"playing", t.playing}};
    if (t.bbtValid)
    {
        host["bar"] = t.bar;
        host["beat"] = t.beat;
    }
    params["host"] = host;
    return true;
}

void Worker::sendJob()
{
    std::string error;
    const Client::Status sent = fClient->send(fJobState->request, 1000, error);
    if (sent != Client::Status::Ok)
    {
        finishJob(kJobFailed, sent == Client::Status::Timeout ? local_error::kUnreachable : local_error::kSocket, error);
        return;
    }
    fJobState->sent = true;
    fJobState->daemonPid = fDaemonPid;
    update([](WorkerStatus& s) { s.stage = "sent"; });
    fNextHeartbeat = now() + kJobHeartbeatS;
}

void Worker::finishJob(JobState state, const std::string& code, const std::string& message)
{
    fJobState.reset();
    update([&](WorkerStatus& s) {
        s.job = state;
        if (state == kJobDone)
        {
            s.progress = 1.0;
            s.stage = "done";
            s.errorCode.clear();
            s.errorMessage.clear();
            s.message = message;
        }
        else
        {
            s.stage = state == kJobCancelled ? "cancelled" : "failed";
            s.errorCode = code;
            s.errorMessage = message;
        }
    });
}

void Worker::onReply(Reply& reply)
{
    const double t = now();
    if (reply.id.rfind(kHeartbeatPrefix, 0) == 0)
    {
        fLastHeard = t;
        fStarting = false;
        int64_t pid = 0;
        std::string version;
        if (reply.event == Event::Result)
        {
            pid = reply.body.value("pid", int64_t(0));
            version = reply.body.value("version", std::string());
        }
        if (fJobState && fJobState->sent && fJobState->daemonPid != 0 && pid != 0 && pid != fJobState->daemonPid)
            finishJob(kJobFailed, local_error::kNoReply, "the daemon restarted during the request; the last clip is kept");
        fDaemonPid = pid;
        update([&](WorkerStatus& s) {
            s.connection = kConnConnected;
            s.daemonPid = pid;
            s.daemonVersion = version;
        });
        return;
    }
    if (!fJobState || !fJobState->sent)
        return;
    const bool ours = reply.id == fJobState->request.id;
    // An error about an unreadable request carries no id: only ours can be in flight.
    if (!ours && !(reply.id.empty() && reply.event == Event::Error))
        return;
    fLastHeard = t;
    if (reply.event == Event::Progress)
    {
        const double fraction = reply.fraction();
        const std::string stage = reply.stage();
        update([&](WorkerStatus& s) {
            s.progress = std::max(s.progress, fraction);
            s.stage = stage;
        });
        return;
    }
    if (reply.event == Event::Error)
    {
        const std::string code = reply.errorCode();
        std::string message = reply.errorMessage();
        if (code == "unknown_type")
            message = "this daemon cannot " + fJobState->request.type + " yet (unknown_type): " + message;
        finishJob(code == "cancelled" ? kJobCancelled : kJobFailed, code, message);
        return;
    }
    auto clip = std::make_shared<ClipData>();
    std::string problem;
    if (!clipFromReply(fJobState->clip, reply, *clip, problem))
    {
        finishJob(kJobFailed, local_error::kBadReply, problem);
        return;
    }
    std::shared_ptr<const ClipData> published = clip;
    fPublish(published);
    const std::string summary = std::string(clipKindName(clip->kind)) + " generated (seed " + std::to_string(clip->seed) + ")";
    update([&](WorkerStatus& s) { s.clip = published; });
    finishJob(kJobDone, std::string(), summary);
}

void Worker::heartbeat()
{
    const double t = now();
    if (fConnection.load() == kConnConnected && fLastHeard >= 0.0 && t - fLastHeard > kSilenceS)
    {
        setConnection(kConnUnreachable);
        fLastHeard = -1.0;
    }
    if (t < fNextHeartbeat)
        return;
    fNextHeartbeat = t + (fJobState ? kJobHeartbeatS : kIdleHeartbeatS);
    fHeartbeatId = kHeartbeatPrefix + newRequestId();
    std::string error;
    const Client::Status sent = fClient->send(Request{fHeartbeatId, "status", Json::object(), {}}, 0, error);
    if (sent == Client::Status::Ok)
    {
        if (fLastHeard < 0.0)
            fLastHeard = t; // the answer starts the silence clock
        return;
    }
    // A broken endpoint (e.g. a typo) is an error to show, once.
    if (sent == Client::Status::Failed && error != fSocketError)
    {
        fSocketError = error;
        update([&](WorkerStatus& s) {
            s.errorCode = local_error::kSocket;
            s.errorMessage = error;
        });
    }
    // No connection: once the socket had its chance, say so (an auto-start keeps "starting").
    if (!fStarting && t - fOpenedAt > kConnectGraceS)
        setConnection(kConnUnreachable);
    if (fStarting)
        fNextHeartbeat = t + 0.2;
}

void Worker::setConnection(ConnectionState state)
{
    if (fConnection.load() == state)
        return;
    if (state != kConnConnected)
        fDaemonPid = 0;
    update([&](WorkerStatus& s) {
        s.connection = state;
        if (state != kConnConnected)
        {
            s.daemonPid = 0;
            s.daemonVersion.clear();
        }
    });
}

void Worker::startDaemon()
{
    std::string error;
    const std::string dir = stateDir();
    const std::string log = dir + "/plugin-daemon.log";
    if (!makeDirs(dir, error) || !spawnDetached(fSettings.resolvedCommand(), fClient->endpoint(), log, error))
    {
        if (fJobState)
            finishJob(kJobFailed, "daemon_start_failed", error);
        else
            update([&](WorkerStatus& s) {
                s.errorCode = "daemon_start_failed";
                s.errorMessage = error;
            });
        return;
    }
    fStarting = true;
    fStartDeadline = now() + kStartTimeoutS;
    fNextHeartbeat = 0.0;
    update([&](WorkerStatus& s) {
        s.connection = kConnStarting;
        s.daemonStartedHere = true;
        s.stage = fJobState ? "starting the daemon" : s.stage;
        s.message = "starting the daemon: " + fSettings.resolvedCommand();
    });
}

} // namespace promptdaw
