/*
 * promptdaw bridge: the wire protocol, version 2 (docs/protocol.md is authoritative).
 *
 * The only code of the plugin that builds or parses frames. A message is a ZeroMQ multipart
 * message: a signature frame (HMAC-SHA256 with the daemon's key, see sign()), one UTF-8 JSON
 * header frame, then binary frames described in order by the header's `buffers` list (`audio`:
 * f32le [frames, channels] interleaved; `midi`: a Standard MIDI File). The key comes from the
 * daemon's connection file (readConnectionFile()). Nothing here touches a socket (see
 * Client.hpp) and nothing throws.
 */

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptdaw {

using Json = nlohmann::json;

/** Bumped by the daemon on incompatible changes; independent of the package version. */
constexpr int kProtocolVersion = 2;
constexpr const char* kDefaultEndpoint = "tcp://127.0.0.1:7467";
/** The daemon refuses larger header frames. */
constexpr size_t kMaxHeaderBytes = 1024 * 1024;

/** One binary frame and its descriptor. `bytes` holds the frame as received or to be sent. */
struct Buffer {
    enum class Kind { Audio, Midi } kind = Kind::Midi;
    uint32_t frames = 0;      ///< audio only
    uint32_t channels = 0;    ///< audio only
    uint32_t sampleRate = 0;  ///< audio only
    std::string bytes;

    /** An audio buffer from interleaved float samples (frame-major: L0 R0 L1 R1 ...). */
    static Buffer audio(const float* interleaved, uint32_t frames, uint32_t channels, uint32_t sampleRate);
    /** A MIDI buffer from the bytes of a Standard MIDI File. */
    static Buffer midi(std::string smf);
    /** Audio sample `frame` of `channel` (no bounds check). */
    float sample(uint32_t frame, uint32_t channel) const noexcept;
};

struct Request {
    std::string id;    ///< use newRequestId(); echoed in every reply
    std::string type;  ///< "ping", "status", "generate-loop", ...
    Json params = Json::object();
    std::vector<Buffer> buffers;
};

enum class Event { Result, Progress, Error };

struct Reply {
    std::string id;       ///< "" when the daemon could not read the request's header (id null)
    std::string type;
    Event event = Event::Error;
    Json body;            ///< the `result`, `progress` or `error` object
    std::vector<Buffer> buffers;

    bool final() const noexcept { return event != Event::Progress; }
    double fraction() const;          ///< progress fraction 0..1
    std::string stage() const;        ///< progress stage
    std::string errorCode() const;    ///< error.code ("unknown_type", "cancelled", ...)
    std::string errorMessage() const; ///< error.message
    /** The first buffer of `kind`, or nullptr. */
    const Buffer* firstBuffer(Buffer::Kind kind) const noexcept;
};

using Frames = std::vector<std::string>;

/** Frames a DEALER client sends for `request`. */
Frames encodeRequest(const Request& request);

/** Parses the frames of one reply (moved from, to avoid copying audio); on failure returns false
    and says why in `problem`. */
bool decodeReply(Frames frames, Reply& reply, std::string& problem) noexcept;

/** A fresh request id: 32 random hex digits. */
std::string newRequestId();

/** `$PROMPTDAW_ENDPOINT`, else the default loopback endpoint. */
std::string defaultEndpoint();

// ---------------------------------------------------------------------------------- signatures

/** SHA-256 of `data` (32 raw bytes). */
std::string sha256(const std::string& data);

/** HMAC-SHA256 (RFC 2104) of `message` with `key` (32 raw bytes). */
std::string hmacSha256(const std::string& key, const std::string& message);

/** The signature of `frames` (header and buffers): HMAC-SHA256 with `key` over each frame preceded
    by its length as a little-endian uint64, as 64 lower-case hex digits. */
std::string signature(const std::string& key, const Frames& frames);

/** `frames` with the signature frame in front (an empty one without a key: the daemon drops it). */
Frames sign(const std::string& key, Frames frames);

/** Checks and removes the signature frame of a received message; false (frames untouched) when it is
    missing or wrong. Constant-time comparison. */
bool verify(const std::string& key, Frames& frames) noexcept;

// ---------------------------------------------------------------------------------- connection files

/** `$PROMPTDAW_STATE_DIR`, else `$XDG_STATE_HOME/promptdaw`, else `~/.local/state/promptdaw`: where the
    daemon writes its connection file (the Python side's `core.paths.state_dir`). */
std::string daemonStateDir();

/** `$PROMPTDAW_CONNECTION_FILE` (a copy of a remote daemon's), else
    `<daemonStateDir()>/connections/daemon-tcp-<port>.json` (`daemon-<scheme>-<address>.json` for ipc):
    the file the daemon serving `endpoint` writes. */
std::string connectionFilePath(const std::string& endpoint);

/** Reads the signing `key` of a connection file; false with `error` when it is missing or not one. */
bool readConnectionFile(const std::string& path, std::string& key, std::string& error);

} // namespace promptdaw
