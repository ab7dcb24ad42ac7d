/*
 * promptdaw bridge test executable: drives the plugin's C++ protocol module and DEALER client
 * (the very sources the plugin is built from) against a daemon, for tests/test_bridge_protocol.py.
 *
 *   protocol_client ENDPOINT ping [--audio FRAMES CHANNELS RATE]
 *   protocol_client ENDPOINT status
 *   protocol_client ENDPOINT request TYPE [--params JSON] [--tone SECONDS RATE]
 *                                         [--cancel-after SECONDS] [--silence-ms N] [--connect-ms N]
 *   protocol_client ENDPOINT raw HEADER [BINARY_FRAME_BYTES...]
 *   protocol_client - sign KEY FRAME...      (prints {"signature": hex, "sha256": hex of the first frame})
 *
 * Prints one JSON object per line: progress events, then the final outcome
 * {"event": "result"|"error"|"local_error", "code", "message", "result", "buffers", ...}.
 * Exit status: 0 result, 1 error reply, 2 local error (no daemon, time-out, bad reply), 3 usage.
 */

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../Client.hpp"
#include "../Protocol.hpp"

using namespace promptdaw;
using Clock = std::chrono::steady_clock;

namespace {

void print(const Json& j) { std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str()); std::fflush(stdout); }

Json describeBuffers(const Reply& reply)
{
    Json list = Json::array();
    for (const Buffer& b : reply.buffers)
    {
        Json d = {{"kind", b.kind == Buffer::Kind::Audio ? "audio" : "midi"}, {"bytes", b.bytes.size()}};
        if (b.kind == Buffer::Kind::Audio)
        {
            d["frames"] = b.frames;
            d["channels"] = b.channels;
            d["sample_rate"] = b.sampleRate;
        }
        list.push_back(d);
    }
    return list;
}

int finish(const CallOutcome& out, Clock::time_point start, const Json& extra = Json::object())
{
    Json j = extra;
    j["elapsed_s"] = std::chrono::duration<double>(Clock::now() - start).count();
    if (out.ok)
    {
        j["event"] = "result";
        j["id"] = out.reply.id;
        j["type"] = out.reply.type;
        j["result"] = out.reply.body;
        j["buffers"] = describeBuffers(out.reply);
        print(j);
        return 0;
    }
    const bool local = out.reply.body.is_null(); // no reply from the daemon at all
    j["event"] = local ? "local_error" : "error";
    j["code"] = out.code;
    j["message"] = out.message;
    if (!local)
    {
        j["id"] = out.reply.id.empty() ? Json(nullptr) : Json(out.reply.id);
        j["type"] = out.reply.type;
    }
    print(j);
    return local ? 2 : 1;
}

/** A 220 Hz tone switched on and off every second (something to transcribe). */
std::vector<float> tone(double seconds, uint32_t rate)
{
    const size_t n = size_t(seconds * rate);
    std::vector<float> samples(n);
    for (size_t i = 0; i < n; ++i)
    {
        const double t = double(i) / rate;
        samples[i] = std::fmod(t, 2.0) < 1.0 ? float(0.2 * std::sin(2 * M_PI * 220.0 * t)) : 0.f;
    }
    return samples;
}

int usage()
{
    std::fprintf(stderr, "usage: protocol_client ENDPOINT ping|status|request|raw ... (see the source)\n");
    return 3;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
        return usage();
    const std::string endpoint = argv[1], command = argv[2];
    if (command == "sign" && argc >= 4)
    {
        const Frames frames(argv + 4, argv + argc);
        const std::string digest = sha256(frames.empty() ? std::string() : frames[0]);
        std::string hex;
        for (const char c : digest)
        {
            static const char digits[] = "0123456789abcdef";
            hex += digits[(uint8_t(c) >> 4) & 15];
            hex += digits[uint8_t(c) & 15];
        }
        print({{"signature", signature(argv[3], frames)}, {"sha256", hex}});
        return 0;
    }
    std::string error;
    CurveKeys keys;  // $PROMPTDAW_SERVER_KEY / $PROMPTDAW_CLIENT_KEY, as the plugin reads them
    if (!curveKeysFromEnvironment(keys, error))
    {
        print({{"event", "local_error"}, {"code", local_error::kSocket}, {"message", error}});
        return 2;
    }
    Client client(endpoint, keys);
    if (!client.open(error))
    {
        print({{"event", "local_error"}, {"code", local_error::kSocket}, {"message", error}});
        return 2;
    }
    CallOptions options;
    options.onProgress = [](double fraction, const std::string& stage) {
        print({{"event", "progress"}, {"fraction", fraction}, {"stage", stage}});
    };
    const Clock::time_point start = Clock::now();

    if (command == "ping")
    {
        Request request{newRequestId(), "ping", Json::object(), {}};
        std::vector<float> sent;
        if (argc >= 7 && std::strcmp(argv[3], "--audio") == 0)
        {
            const uint32_t frames = uint32_t(std::stoul(argv[4])), channels = uint32_t(std::stoul(argv[5])),
                           rate = uint32_t(std::stoul(argv[6]));
            sent.resize(size_t(frames) * channels);
            for (size_t i = 0; i < sent.size(); ++i)
                sent[i] = float(std::sin(0.001 * double(i)) * 0.5);
            request.buffers.push_back(Buffer::audio(sent.data(), frames, channels, rate));
            request.buffers.push_back(Buffer::midi(std::string("MThd\0\0\0\6\0\0\0\1\0\x60", 14)));
        }
        const CallOutcome out = call(client, request, options);
        Json extra = Json::object();
        if (out.ok && !sent.empty())
        {
            // The daemon echoes the buffers: they must come back bit for bit.
            const Buffer* audio = out.reply.firstBuffer(Buffer::Kind::Audio);
            const Buffer* midi = out.reply.firstBuffer(Buffer::Kind::Midi);
            extra["echo_ok"] = audio != nullptr && midi != nullptr && audio->bytes == request.buffers[0].bytes
                            && audio->frames == request.buffers[0].frames && audio->channels == request.buffers[0].channels
                            && audio->sampleRate == request.buffers[0].sampleRate && midi->bytes == request.buffers[1].bytes;
        }
        extra["request_id"] = request.id;
        return finish(out, start, extra);
    }
    if (command == "status")
        return finish(call(client, Request{newRequestId(), "status", Json::object(), {}}, options), start);

    if (command == "request")
    {
        if (argc < 4)
            return usage();
        Request request{newRequestId(), argv[3], Json::object(), {}};
        double cancelAfter = -1.0;
        for (int i = 4; i < argc; ++i)
        {
            const std::string a = argv[i];
            if (a == "--params" && i + 1 < argc)
            {
                request.params = Json::parse(argv[++i], nullptr, false);
                if (request.params.is_discarded())
                    return usage();
            }
            else if (a == "--tone" && i + 2 < argc)
            {
                const double seconds = std::stod(argv[++i]);
                const uint32_t rate = uint32_t(std::stoul(argv[++i]));
                const std::vector<float> samples = tone(seconds, rate);
                request.buffers.push_back(Buffer::audio(samples.data(), uint32_t(samples.size()), 1, rate));
            }
            else if (a == "--cancel-after" && i + 1 < argc)
                cancelAfter = std::stod(argv[++i]);
            else if (a == "--silence-ms" && i + 1 < argc)
                options.silenceMs = std::stoi(argv[++i]);
            else if (a == "--connect-ms" && i + 1 < argc)
                options.connectMs = std::stoi(argv[++i]);
            else
                return usage();
        }
        if (cancelAfter >= 0.0)
            options.cancelRequested = [start, cancelAfter] {
                return std::chrono::duration<double>(Clock::now() - start).count() >= cancelAfter;
            };
        return finish(call(client, request, options), start, {{"request_id", request.id}});
    }
    if (command == "raw")
    {
        if (argc < 4)
            return usage();
        Frames frames{argv[3]};
        for (int i = 4; i < argc; ++i)
            frames.emplace_back(size_t(std::stoul(argv[i])), '\0');
        if (client.send(frames, options.connectMs, error) != Client::Status::Ok)
        {
            print({{"event", "local_error"}, {"code", local_error::kUnreachable}, {"message", error}});
            return 2;
        }
        Reply reply;
        for (;;)
        {
            const Client::Status got = client.receive(reply, 5000, error);
            if (got != Client::Status::Ok)
            {
                print({{"event", "local_error"},
                       {"code", got == Client::Status::Timeout ? local_error::kNoReply : local_error::kBadReply},
                       {"message", error}});
                return 2;
            }
            if (reply.final())
                break;
            options.onProgress(reply.fraction(), reply.stage());
        }
        CallOutcome out;
        out.ok = reply.event == Event::Result;
        out.code = out.ok ? "" : reply.errorCode();
        out.message = out.ok ? "" : reply.errorMessage();
        out.reply = std::move(reply);
        return finish(out, start);
    }
    return usage();
}
