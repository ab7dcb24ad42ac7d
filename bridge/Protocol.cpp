/*
 * promptdaw bridge: the wire protocol (see Protocol.hpp and docs/protocol.md).
 */

#include "Protocol.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace promptdaw {

static_assert(sizeof(float) == 4, "f32le needs 32-bit floats");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
# error "f32le buffers are copied as they are: port the byte swapping for big-endian hosts"
#endif

// ---------------------------------------------------------------------------------- buffers

Buffer Buffer::audio(const float* interleaved, uint32_t frames, uint32_t channels, uint32_t sampleRate)
{
    Buffer b;
    b.kind = Kind::Audio;
    b.frames = frames;
    b.channels = channels;
    b.sampleRate = sampleRate;
    b.bytes.assign(reinterpret_cast<const char*>(interleaved), size_t(frames) * channels * sizeof(float));
    return b;
}

Buffer Buffer::midi(std::string smf)
{
    Buffer b;
    b.kind = Kind::Midi;
    b.bytes = std::move(smf);
    return b;
}

float Buffer::sample(uint32_t frame, uint32_t channel) const noexcept
{
    float v;
    std::memcpy(&v, bytes.data() + (size_t(frame) * channels + channel) * sizeof(float), sizeof(float));
    return v;
}

static Json describe(const Buffer& b)
{
    if (b.kind == Buffer::Kind::Midi)
        return {{"kind", "midi"}, {"encoding", "smf"}};
    return {{"kind", "audio"},
            {"encoding", "f32le"},
            {"shape", {b.frames, b.channels}},
            {"sample_rate", b.sampleRate}};
}

static bool parseBuffer(const Json& spec, std::string&& frame, size_t index, Buffer& out, std::string& problem)
{
    const std::string where = "buffers[" + std::to_string(index) + "]";
    if (!spec.is_object())
    {
        problem = where + " must be an object";
        return false;
    }
    const std::string kind = spec.value("kind", "");
    if (kind == "midi")
    {
        if (frame.compare(0, 4, "MThd") != 0)
        {
            problem = where + " is not a Standard MIDI File (no MThd)";
            return false;
        }
        out = Buffer::midi(std::move(frame));
        return true;
    }
    if (kind != "audio")
    {
        problem = where + ".kind must be audio or midi, got '" + kind + "'";
        return false;
    }
    if (spec.value("encoding", "") != "f32le")
    {
        problem = where + ".encoding must be f32le";
        return false;
    }
    const Json& shape = spec.contains("shape") ? spec["shape"] : Json();
    if (!shape.is_array() || shape.size() != 2 || !shape[0].is_number_unsigned() || !shape[1].is_number_unsigned())
    {
        problem = where + ".shape must be [frames, channels]";
        return false;
    }
    const Json& rate = spec.contains("sample_rate") ? spec["sample_rate"] : Json();
    if (!rate.is_number_unsigned() || rate.get<uint64_t>() == 0 || rate.get<uint64_t>() > 768000)
    {
        problem = where + ".sample_rate must be an integer in 1..768000";
        return false;
    }
    const uint64_t frames = shape[0].get<uint64_t>(), channels = shape[1].get<uint64_t>();
    if (frames > UINT32_MAX || channels > 64 || frame.size() != frames * channels * sizeof(float))
    {
        problem = where + " holds " + std::to_string(frame.size()) + " bytes, which does not match its shape";
        return false;
    }
    out.kind = Buffer::Kind::Audio;
    out.frames = uint32_t(frames);
    out.channels = uint32_t(channels);
    out.sampleRate = rate.get<uint32_t>();
    out.bytes = std::move(frame);
    return true;
}

// ---------------------------------------------------------------------------------- messages

Frames encodeRequest(const Request& request)
{
    Json header = {{"protocol", kProtocolVersion}, {"id", request.id}, {"type", request.type}};
    if (!request.params.empty())
        header["params"] = request.params;
    Frames frames;
    frames.reserve(1 + request.buffers.size());
    if (!request.buffers.empty())
    {
        Json specs = Json::array();
        for (const Buffer& b : request.buffers)
            specs.push_back(describe(b));
        header["buffers"] = specs;
    }
    // Invalid UTF-8 in a prompt is replaced rather than thrown about.
    frames.push_back(header.dump(-1, ' ', false, Json::error_handler_t::replace));
    for (const Buffer& b : request.buffers)
        frames.push_back(b.bytes);
    return frames;
}

bool decodeReply(Frames frames, Reply& reply, std::string& problem) noexcept
{
    try
    {
        reply = Reply();
        if (frames.empty())
        {
            problem = "empty message";
            return false;
        }
        if (frames[0].size() > kMaxHeaderBytes)
        {
            problem = "header frame is over 1 MiB";
            return false;
        }
        const Json header = Json::parse(frames[0], nullptr, false);
        if (header.is_discarded() || !header.is_object())
        {
            problem = "header frame is not a JSON object";
            return false;
        }
        if (header.value("protocol", 0) != kProtocolVersion)
        {
            problem = "the daemon speaks another protocol version";
            return false;
        }
        const std::string event = header.value("event", "");
        if (event == "result")
            reply.event = Event::Result;
        else if (event == "progress")
            reply.event = Event::Progress;
        else if (event == "error")
            reply.event = Event::Error;
        else
        {
            problem = "reply event must be result, progress or error, got '" + event + "'";
            return false;
        }
        reply.id = header.contains("id") && header["id"].is_string() ? header["id"].get<std::string>() : "";
        reply.type = header.contains("type") && header["type"].is_string() ? header["type"].get<std::string>() : "";
        reply.body = header.contains(event) ? header[event] : Json::object();
        const Json specs = header.contains("buffers") ? header["buffers"] : Json::array();
        if (!specs.is_array() || specs.size() != frames.size() - 1)
        {
            problem = "header describes " + std::to_string(specs.is_array() ? specs.size() : 0) + " buffers but "
                    + std::to_string(frames.size() - 1) + " binary frames followed";
            return false;
        }
        for (size_t i = 0; i < specs.size(); ++i)
        {
            Buffer b;
            if (!parseBuffer(specs[i], std::move(frames[i + 1]), i, b, problem))
                return false;
            reply.buffers.push_back(std::move(b));
        }
        return true;
    }
    catch (const std::exception& e)
    {
        problem = std::string("unreadable reply: ") + e.what();
        return false;
    }
}

double Reply::fraction() const
{
    const auto it = body.find("fraction");
    return it != body.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Reply::stage() const
{
    const auto it = body.find("stage");
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Reply::errorCode() const
{
    const auto it = body.find("code");
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string("internal");
}

std::string Reply::errorMessage() const
{
    const auto it = body.find("message");
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const Buffer* Reply::firstBuffer(Buffer::Kind kind) const noexcept
{
    for (const Buffer& b : buffers)
        if (b.kind == kind)
            return &b;
    return nullptr;
}

std::string newRequestId()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (size_t i = 0; i < id.size(); i += 16)
    {
        uint64_t v = rng();
        for (size_t j = 0; j < 16; ++j, v >>= 4)
            id[i + j] = hex[v & 15];
    }
    return id;
}

std::string defaultEndpoint()
{
    const char* env = std::getenv("PROMPTDAW_ENDPOINT");
    return env != nullptr && env[0] != '\0' ? std::string(env) : std::string(kDefaultEndpoint);
}

// ---------------------------------------------------------------------------------- signatures
// A small SHA-256 (FIPS 180-4) so the plugin needs no crypto library; tests/test_bridge_protocol.py
// checks it against Python's hmac through the daemon, which verifies every message we sign.

namespace {

constexpr uint32_t kSha256K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/** Incremental SHA-256: update() any number of times, then digest() once. */
class Sha256 {
public:
    void update(const void* data, size_t size)
    {
        const auto* p = static_cast<const uint8_t*>(data);
        fLength += size;
        while (size > 0)
        {
            const size_t take = std::min(size, sizeof(fBlock) - fFill);
            std::memcpy(fBlock + fFill, p, take);
            fFill += take;
            p += take;
            size -= take;
            if (fFill == sizeof(fBlock))
            {
                compress();
                fFill = 0;
            }
        }
    }

    std::string digest()
    {
        const uint64_t bits = fLength * 8;
        const uint8_t pad = 0x80, zero = 0;
        update(&pad, 1);
        while (fFill != 56)
            update(&zero, 1);
        uint8_t length[8];
        for (int i = 0; i < 8; ++i)
            length[i] = uint8_t(bits >> (56 - 8 * i));
        update(length, 8);
        std::string out(32, '\0');
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 4; ++j)
                out[size_t(4 * i + j)] = char(fState[i] >> (24 - 8 * j));
        return out;
    }

private:
    void compress()
    {
        uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = uint32_t(fBlock[4 * i]) << 24 | uint32_t(fBlock[4 * i + 1]) << 16 | uint32_t(fBlock[4 * i + 2]) << 8
                 | uint32_t(fBlock[4 * i + 3]);
        for (int i = 16; i < 64; ++i)
        {
            const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = fState[0], b = fState[1], c = fState[2], d = fState[3];
        uint32_t e = fState[4], f = fState[5], g = fState[6], h = fState[7];
        for (int i = 0; i < 64; ++i)
        {
            const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kSha256K[i] + w[i];
            const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        fState[0] += a;
        fState[1] += b;
        fState[2] += c;
        fState[3] += d;
        fState[4] += e;
        fState[5] += f;
        fState[6] += g;
        fState[7] += h;
    }

    uint32_t fState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t fBlock[64] = {};
    size_t fFill = 0;
    uint64_t fLength = 0;
};

/** HMAC's inner hash, left open so the message can be fed in pieces. */
struct Hmac {
    Sha256 inner, outer;

    explicit Hmac(std::string key)
    {
        if (key.size() > 64)
            key = sha256(key);
        key.resize(64, '\0');
        std::string ipad(key), opad(key);
        for (size_t i = 0; i < 64; ++i)
        {
            ipad[i] = char(ipad[i] ^ 0x36);
            opad[i] = char(opad[i] ^ 0x5c);
        }
        inner.update(ipad.data(), ipad.size());
        outer.update(opad.data(), opad.size());
    }

    std::string digest()
    {
        const std::string innerDigest = inner.digest();
        outer.update(innerDigest.data(), innerDigest.size());
        return outer.digest();
    }
};

std::string toHex(const std::string& bytes)
{
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes)
    {
        out += hex[(uint8_t(c) >> 4) & 15];
        out += hex[uint8_t(c) & 15];
    }
    return out;
}

std::string envOr(const char* name, const std::string& fallback)
{
    const char* v = std::getenv(name);
    return v != nullptr && v[0] != '\0' ? std::string(v) : fallback;
}

} // namespace

std::string sha256(const std::string& data)
{
    Sha256 h;
    h.update(data.data(), data.size());
    return h.digest();
}

std::string hmacSha256(const std::string& key, const std::string& message)
{
    Hmac mac(key);
    mac.inner.update(message.data(), message.size());
    return mac.digest();
}

static std::string signatureOf(const std::string& key, Frames::const_iterator begin, Frames::const_iterator end)
{
    Hmac mac(key);
    for (auto it = begin; it != end; ++it)
    {
        const std::string& frame = *it;
        uint8_t length[8];
        for (int i = 0; i < 8; ++i)
            length[i] = uint8_t(uint64_t(frame.size()) >> (8 * i));
        mac.inner.update(length, sizeof(length));
        mac.inner.update(frame.data(), frame.size());
    }
    return toHex(mac.digest());
}

std::string signature(const std::string& key, const Frames& frames)
{
    return signatureOf(key, frames.begin(), frames.end());
}

Frames sign(const std::string& key, Frames frames)
{
    frames.insert(frames.begin(), key.empty() ? std::string() : signature(key, frames));
    return frames;
}

bool verify(const std::string& key, Frames& frames) noexcept
{
    try
    {
        if (key.empty() || frames.size() < 2 || frames[0].size() != 64)
            return false;
        const std::string expected = signatureOf(key, frames.begin() + 1, frames.end());
        uint8_t diff = 0; // compare every byte: the time taken says nothing about where they differ
        for (size_t i = 0; i < 64; ++i)
            diff |= uint8_t(expected[i] ^ frames[0][i]);
        if (diff != 0)
            return false;
        frames.erase(frames.begin());
        return true;
    }
    catch (...)
    {
        return false;
    }
}

// ---------------------------------------------------------------------------------- connection files

std::string daemonStateDir()
{
    if (const char* dir = std::getenv("PROMPTDAW_STATE_DIR"); dir != nullptr && dir[0] != '\0')
        return dir;
    const char* xdg = std::getenv("XDG_STATE_HOME");
    if (xdg != nullptr && xdg[0] == '/')
        return std::string(xdg) + "/promptdaw";
    return envOr("HOME", "/tmp") + "/.local/state/promptdaw";
}

std::string connectionFilePath(const std::string& endpoint)
{
    if (const char* file = std::getenv("PROMPTDAW_CONNECTION_FILE"); file != nullptr && file[0] != '\0')
        return file;
    // As security.connection_file: one file per TCP port whatever the host, so a daemon bound to
    // 0.0.0.0 is found from 127.0.0.1; ipc paths become a name of letters, digits, '.', '_' and '-'.
    std::string slug;
    const size_t sep = endpoint.find("://");
    const std::string scheme = sep == std::string::npos ? std::string() : endpoint.substr(0, sep);
    if (scheme == "tcp")
        slug = "tcp-" + endpoint.substr(endpoint.rfind(':') + 1);
    else
    {
        bool dash = false;
        for (const char c : endpoint)
        {
            const bool keep = std::isalnum(uint8_t(c)) || c == '.' || c == '_';
            if (keep)
                slug += c;
            else if (!dash)
                slug += '-';
            dash = !keep;
        }
        while (!slug.empty() && slug.back() == '-')
            slug.pop_back();
        while (!slug.empty() && slug.front() == '-')
            slug.erase(slug.begin());
    }
    return daemonStateDir() + "/connections/daemon-" + slug + ".json";
}

bool readConnectionFile(const std::string& path, std::string& key, std::string& error)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
        error = "no connection file " + path + " (is the daemon running as this user?)";
        return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    const Json info = Json::parse(text.str(), nullptr, false);
    if (info.is_discarded() || !info.is_object() || !info.contains("key") || !info["key"].is_string()
        || info.value("signature_scheme", "") != "hmac-sha256")
    {
        error = path + " is not a promptdaw connection file (a JSON object with an hmac-sha256 key)";
        return false;
    }
    key = info["key"].get<std::string>();
    return true;
}

} // namespace promptdaw
