/*
 * promptdaw bridge: a ZeroMQ DEALER connection to the daemon.
 *
 * Owned by exactly one thread (the plugin's worker, or a test executable); not thread-safe.
 * Nothing blocks longer than the time-out it is given, and nothing throws.
 *
 * Every message is signed with the daemon's key (docs/protocol.md, "Signatures"): the key given
 * with setKey() (a remote daemon's, kept in the plugin's state), else the one in the connection
 * file the daemon writes for its endpoint (connectionFilePath()), re-read whenever that file
 * changes, so a restarted daemon's new key is picked up. Replies not signed with it are dropped.
 */

#pragma once

#include <functional>
#include <string>

#include "Curve.hpp"
#include "Protocol.hpp"

namespace promptdaw {

/** Error codes the client itself reports (the daemon's codes are in docs/protocol.md). */
namespace local_error {
constexpr const char* kUnreachable = "unreachable"; ///< no daemon accepted a connection in time
constexpr const char* kNoReply = "no_reply";        ///< the daemon fell silent past the time-out
constexpr const char* kBadReply = "bad_reply";      ///< a reply broke the protocol
constexpr const char* kSocket = "socket";           ///< ZeroMQ itself failed
} // namespace local_error

class Client {
public:
    enum class Status { Ok, Timeout, Failed };

    /** With `keys`, the connection is a CurveZMQ client of the daemon; without, a non-loopback
        endpoint is refused by open() (the daemon would refuse it anyway, silently). */
    explicit Client(std::string endpoint, CurveKeys keys = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const std::string& endpoint() const noexcept { return fEndpoint; }
    bool isOpen() const noexcept { return fSocket != nullptr; }

    /** Creates the socket and starts connecting (ZeroMQ connects in the background). */
    bool open(std::string& error);
    /** Closes the socket; pending messages are dropped (linger 0). */
    void close() noexcept;

    /** Signs with `key` (a remote daemon's, from its connection file) instead of the local
        connection file's; empty goes back to the file. */
    void setKey(std::string key) { fGivenKey = std::move(key); }

    /** Signs and sends one message (header and buffers), waiting at most `waitMs` for a connection
        to the daemon. The socket only queues messages for a connected daemon, so "no daemon" is a
        Timeout here, as is a daemon without a connection file (not started yet: no key to sign with). */
    Status send(const Frames& frames, int waitMs, std::string& error);
    Status send(const Request& request, int waitMs, std::string& error);

    /** Waits at most `timeoutMs` for one message. A message that breaks the protocol is Failed; one
        not signed with our key is dropped (Timeout, as if none came). */
    Status receive(Reply& reply, int timeoutMs, std::string& error);

private:
    /** The key to sign with: the given one, else the connection file's (re-read when it changed). */
    const std::string& key();

    std::string fEndpoint;
    CurveKeys fKeys;
    std::string fGivenKey;
    std::string fFileKey;
    long long fFileStamp = -1; ///< the connection file's mtime (ns) and size when fFileKey was read
    std::string fKeyError;
    void* fContext = nullptr;
    void* fSocket = nullptr;
};

/** How a blocking call() behaves. */
struct CallOptions {
    int connectMs = 1000;   ///< how long to wait for a connection before `unreachable`
    int silenceMs = 30000;  ///< longest silence from the daemon (progress resets it) before `no_reply`
    std::function<void(double fraction, const std::string& stage)> onProgress;
    /** Polled while waiting; once it returns true a `cancel` request is sent (once). */
    std::function<bool()> cancelRequested;
};

/** The final answer to a call: the daemon's result or error, or a local error. */
struct CallOutcome {
    bool ok = false;        ///< a `result` arrived
    Reply reply;            ///< the final reply, when one arrived
    std::string code;       ///< error code: the daemon's, or one of local_error
    std::string message;
};

/** Sends `request` and waits for its final reply, forwarding progress events. */
CallOutcome call(Client& client, const Request& request, const CallOptions& options);

} // namespace promptdaw
