/*
 * promptdaw bridge: the DEALER client (see Client.hpp).
 */

#include "Client.hpp"

#include <chrono>

#include <sys/stat.h>
#include <zmq.h>

namespace promptdaw {

namespace {
using Clock = std::chrono::steady_clock;

int msSince(Clock::time_point start)
{
    return int(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

std::string zmqError(const char* what)
{
    return std::string(what) + ": " + zmq_strerror(zmq_errno());
}
} // namespace

Client::Client(std::string endpoint, CurveKeys keys) : fEndpoint(std::move(endpoint)), fKeys(std::move(keys)) {}

Client::~Client() { close(); }

const std::string& Client::key()
{
    if (!fGivenKey.empty())
        return fGivenKey;
    const std::string path = connectionFilePath(fEndpoint);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
    {
        fFileKey.clear();
        fFileStamp = -1;
        fKeyError = "no connection file " + path + " (the daemon is not running, or runs as another user)";
        return fFileKey;
    }
    const long long stamp = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec + st.st_size;
    if (stamp != fFileStamp)
    {
        fFileStamp = stamp;
        fFileKey.clear();
        if (!readConnectionFile(path, fFileKey, fKeyError))
            fFileKey.clear();
    }
    return fFileKey;
}

bool Client::open(std::string& error)
{
    close();
    fContext = zmq_ctx_new();
    if (fContext == nullptr)
    {
        error = zmqError("zmq_ctx_new");
        return false;
    }
    fSocket = zmq_socket(fContext, ZMQ_DEALER);
    if (fSocket == nullptr)
    {
        error = zmqError("zmq_socket");
        close();
        return false;
    }
    const int zero = 0, one = 1, reconnectMs = 100, reconnectMaxMs = 1000;
    zmq_setsockopt(fSocket, ZMQ_LINGER, &zero, sizeof(zero));
    // Queue messages only on completed connections: a missing daemon is then a send time-out
    // instead of a request silently waiting in a queue for a daemon that may never come.
    zmq_setsockopt(fSocket, ZMQ_IMMEDIATE, &one, sizeof(one));
    zmq_setsockopt(fSocket, ZMQ_RECONNECT_IVL, &reconnectMs, sizeof(reconnectMs));
    zmq_setsockopt(fSocket, ZMQ_RECONNECT_IVL_MAX, &reconnectMaxMs, sizeof(reconnectMaxMs));
    if (fKeys.empty() && !isLoopbackEndpoint(fEndpoint))
    {
        error = fEndpoint + " is not a loopback address: the daemon needs CurveZMQ there (set "
                "PROMPTDAW_SERVER_KEY and PROMPTDAW_CLIENT_KEY to keys from `promptdaw keys DIR`)";
        close();
        return false;
    }
    if (!fKeys.empty())
    {
        // Z85 text keys go in with their terminating NUL (41 bytes), as zmq_setsockopt asks.
        const bool set = zmq_setsockopt(fSocket, ZMQ_CURVE_SERVERKEY, fKeys.serverPublic.c_str(), 41) == 0
                         && zmq_setsockopt(fSocket, ZMQ_CURVE_PUBLICKEY, fKeys.clientPublic.c_str(), 41) == 0
                         && zmq_setsockopt(fSocket, ZMQ_CURVE_SECRETKEY, fKeys.clientSecret.c_str(), 41) == 0;
        if (!set)
        {
            error = zmqError("CurveZMQ keys refused (is libzmq built with CURVE?)");
            close();
            return false;
        }
    }
    if (zmq_connect(fSocket, fEndpoint.c_str()) != 0)
    {
        error = zmqError(("cannot connect to " + fEndpoint).c_str());
        close();
        return false;
    }
    return true;
}

void Client::close() noexcept
{
    if (fSocket != nullptr)
        zmq_close(fSocket);
    if (fContext != nullptr)
        zmq_ctx_term(fContext);
    fSocket = nullptr;
    fContext = nullptr;
}

Client::Status Client::send(const Frames& body, int waitMs, std::string& error)
{
    if (fSocket == nullptr && !open(error))
        return Status::Failed;
    zmq_pollitem_t item = {fSocket, 0, ZMQ_POLLOUT, 0};
    const int ready = zmq_poll(&item, 1, waitMs);
    if (ready < 0)
    {
        error = zmqError("zmq_poll");
        return Status::Failed;
    }
    if (ready == 0 || (item.revents & ZMQ_POLLOUT) == 0)
    {
        error = "no daemon answers at " + fEndpoint;
        return Status::Timeout;
    }
    // Read after the connection is up: a daemon writes its connection file as soon as it listens.
    const std::string& signingKey = key();
    if (signingKey.empty())
    {
        // Nothing would answer an unsigned message: report it as the daemon not being there (yet).
        error = "no daemon answers at " + fEndpoint + ": " + fKeyError;
        return Status::Timeout;
    }
    const Frames frames = sign(signingKey, body);
    for (size_t i = 0; i < frames.size(); ++i)
    {
        const int flags = ZMQ_DONTWAIT | (i + 1 < frames.size() ? ZMQ_SNDMORE : 0);
        if (zmq_send(fSocket, frames[i].data(), frames[i].size(), flags) < 0)
        {
            // Once the first frame is in, libzmq delivers the rest atomically: EAGAIN can only
            // happen on the first one.
            const bool again = zmq_errno() == EAGAIN;
            error = again ? "no daemon answers at " + fEndpoint : zmqError("zmq_send");
            return again ? Status::Timeout : Status::Failed;
        }
    }
    return Status::Ok;
}

Client::Status Client::send(const Request& request, int waitMs, std::string& error)
{
    return send(encodeRequest(request), waitMs, error);
}

Client::Status Client::receive(Reply& reply, int timeoutMs, std::string& error)
{
    if (fSocket == nullptr && !open(error))
        return Status::Failed;
    zmq_pollitem_t item = {fSocket, 0, ZMQ_POLLIN, 0};
    const int ready = zmq_poll(&item, 1, timeoutMs);
    if (ready < 0)
    {
        error = zmqError("zmq_poll");
        return Status::Failed;
    }
    if (ready == 0)
        return Status::Timeout;
    Frames frames;
    for (int more = 1; more != 0;)
    {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, fSocket, ZMQ_DONTWAIT) < 0)
        {
            zmq_msg_close(&msg);
            error = zmqError("zmq_msg_recv");
            return Status::Failed;
        }
        frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
        more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    if (!verify(key(), frames))
        return Status::Timeout; // not from our daemon (or not signed): dropped, as the daemon does
    if (!decodeReply(std::move(frames), reply, error))
        return Status::Failed;
    return Status::Ok;
}

CallOutcome call(Client& client, const Request& request, const CallOptions& options)
{
    CallOutcome out;
    std::string error;
    const Client::Status sent = client.send(request, options.connectMs, error);
    if (sent != Client::Status::Ok)
    {
        out.code = sent == Client::Status::Timeout ? local_error::kUnreachable : local_error::kSocket;
        out.message = error;
        return out;
    }
    bool cancelSent = false;
    Clock::time_point lastHeard = Clock::now();
    for (;;)
    {
        if (!cancelSent && options.cancelRequested && options.cancelRequested())
        {
            Request cancel{newRequestId(), "cancel", {{"request_id", request.id}}, {}};
            cancelSent = client.send(cancel, options.connectMs, error) == Client::Status::Ok;
        }
        Reply reply;
        const Client::Status got = client.receive(reply, 20, error);
        if (got == Client::Status::Failed)
        {
            out.code = error.rfind("zmq", 0) == 0 ? local_error::kSocket : local_error::kBadReply;
            out.message = error;
            return out;
        }
        if (got == Client::Status::Timeout)
        {
            if (msSince(lastHeard) > options.silenceMs)
            {
                out.code = local_error::kNoReply;
                out.message = "the daemon at " + client.endpoint() + " sent nothing for "
                            + std::to_string(options.silenceMs / 1000.0).substr(0, 4) + " s";
                return out;
            }
            continue;
        }
        // Errors about unreadable requests carry no id; they can only be ours when this is
        // the only request in flight, which is how call() is used.
        if (reply.id != request.id && !(reply.id.empty() && reply.event == Event::Error))
            continue;
        lastHeard = Clock::now();
        if (reply.event == Event::Progress)
        {
            if (options.onProgress)
                options.onProgress(reply.fraction(), reply.stage());
            continue;
        }
        out.ok = reply.event == Event::Result;
        if (!out.ok)
        {
            out.code = reply.errorCode();
            out.message = reply.errorMessage();
        }
        out.reply = std::move(reply);
        return out;
    }
}

} // namespace promptdaw
