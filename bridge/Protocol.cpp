/*
 * promptdaw bridge: the wire protocol (see Protocol.hpp and docs/protocol.md).
 */

#include "Protocol.hpp"

#include <cstdlib>
#include <cstring>
#include <random>

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

} // namespace promptdaw
