/*
 * promptdaw bridge: C++ unit tests of the pieces below the plugin (no host, no daemon):
 * base64, note names, the SMF reader, clip state, the lock-free exchange, the protocol
 * decoder and the playback engine. Run by tests/test_bridge_formats.py; exit status 0 = pass.
 */

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../Base64.hpp"
#include "../Clip.hpp"
#include "../Curve.hpp"
#include "../Engine.hpp"
#include "../Exchange.hpp"
#include "../Files.hpp"
#include "../History.hpp"
#include "../Protocol.hpp"
#include "../Smf.hpp"

using namespace promptdaw;

static int gFailures = 0;
static int gChecks = 0;

#define CHECK(cond, message)                                                                     \
    do {                                                                                         \
        ++gChecks;                                                                               \
        if (!(cond)) {                                                                           \
            ++gFailures;                                                                         \
            std::fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, message, #cond);   \
        }                                                                                        \
    } while (0)

namespace {

struct Recorder : MidiSink {
    std::vector<std::vector<int>> events; // frame, b0, b1, b2
    bool writeMidi(uint32_t frame, const uint8_t* data, uint8_t size) noexcept override
    {
        events.push_back({int(frame), data[0], size > 1 ? data[1] : 0, size > 2 ? data[2] : 0});
        return true;
    }
};

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

/** A type-0 SMF at 480 ticks/quarter: tempo 100 BPM, 3/4, two notes (running status). */
std::string smallSmf()
{
    std::string track;
    track += std::string("\x00\xff\x51\x03\x09\x27\xc0", 7); // 600000 us = 100 BPM
    track += std::string("\x00\xff\x58\x04\x03\x02\x18\x08", 8);
    track += std::string("\x00\x90\x3c\x64", 4);            // C4 on at 0
    track += std::string("\x83\x60\x3c\x00", 4);            // 480 ticks later: C4 off (running status)
    track += std::string("\x00\x99\x24\x7f", 4);            // kick on channel 10
    track += std::string("\x81\x70\x89\x24\x00", 5);        // 240 ticks later: kick off
    track += std::string("\x00\xff\x2f\x00", 4);
    return std::string("MThd", 4) + be32(6) + std::string("\x00\x00\x00\x01\x01\xe0", 6) + "MTrk" + be32(uint32_t(track.size()))
         + track;
}

std::shared_ptr<ClipData> audioClip(ClipKind kind, uint32_t frames, uint32_t rate, double bpm, int bars)
{
    auto clip = std::make_shared<ClipData>();
    clip->kind = kind;
    clip->sampleRate = rate;
    clip->channels = 2;
    clip->frames = frames;
    clip->left.resize(frames);
    clip->right.resize(frames);
    for (uint32_t i = 0; i < frames; ++i)
    {
        clip->left[i] = float(std::sin(0.01 * i)) * 0.5f;
        clip->right[i] = float(std::cos(0.013 * i)) * 0.25f;
    }
    clip->bpm = bpm;
    clip->bars = bars;
    clip->rootNote = 60;
    std::string problem;
    finishClip(*clip, problem);
    return clip;
}

void testBase64()
{
    CHECK(base64Encode("hello") == "aGVsbG8=", "base64 of hello");
    std::string bytes;
    for (int i = 0; i < 1000; ++i)
        bytes += char(i * 7919 % 256);
    std::string back;
    CHECK(base64Decode(base64Encode(bytes), back) && back == bytes, "base64 round trip");
    CHECK(!base64Decode("ab$d", back), "base64 rejects junk");
}

void testCurve()
{
    CHECK(isLoopbackEndpoint("tcp://127.0.0.1:7467"), "IPv4 loopback");
    CHECK(isLoopbackEndpoint("tcp://localhost:7467"), "localhost");
    CHECK(isLoopbackEndpoint("tcp://[::1]:7467"), "IPv6 loopback");
    CHECK(isLoopbackEndpoint("ipc:///tmp/promptdaw.sock"), "ipc");
    CHECK(!isLoopbackEndpoint("tcp://0.0.0.0:7467"), "every interface is wide");
    CHECK(!isLoopbackEndpoint("tcp://*:7467"), "* is wide");
    CHECK(!isLoopbackEndpoint("tcp://192.168.1.20:7467"), "a LAN address is wide");
    CHECK(!isLoopbackEndpoint("tcp://127.example.com:7467"), "a host name that starts with 127. is not loopback");

    const std::string dir = "/tmp/promptdaw-unit-curve";
    std::string error;
    CHECK(makeDirs(dir, error), "temporary folder");
    const std::string pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const std::string sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    writeFile(dir + "/server.key", "#   ZeroMQ CURVE Public Certificate\nmetadata\ncurve\n    public-key = \"" + pub + "\"\n", error);
    writeFile(dir + "/client.key_secret", "metadata\ncurve\n    public-key = \"" + pub + "\"\n    secret-key = \"" + sec + "\"\n", error);
    writeFile(dir + "/broken.key", "public-key = \"short\"\n", error);
    CurveKeys keys;
    CHECK(loadCurveKeys(dir + "/server.key", dir + "/client.key_secret", keys, error), "certificates load");
    CHECK(keys.serverPublic == pub && keys.clientPublic == pub && keys.clientSecret == sec, "keys read back");
    CHECK(!loadCurveKeys(dir + "/server.key", dir + "/server.key", keys, error) && error.find("no secret") != std::string::npos,
          "a public certificate is not a client secret");
    CHECK(!loadCurveKeys(dir + "/broken.key", dir + "/client.key_secret", keys, error), "a malformed key is refused");
    CHECK(!loadCurveKeys(dir + "/missing.key", dir + "/client.key_secret", keys, error)
          && error.find("cannot read") != std::string::npos, "a missing file is refused");
}

void testNoteNames()
{
    CHECK(parseNoteName("C4") == 60, "C4 is middle C");
    CHECK(parseNoteName("C3") == 48, "C3");
    CHECK(parseNoteName("F#1") == 30, "F#1");
    CHECK(parseNoteName("Bb3") == 58, "Bb3");
    CHECK(parseNoteName("C-1") == 0, "C-1");
    CHECK(parseNoteName("H2") == -1 && parseNoteName("") == -1, "bad names");
}

void testSmf()
{
    SmfInfo info;
    std::string problem;
    CHECK(parseSmf(smallSmf(), info, problem), problem.c_str());
    CHECK(std::fabs(info.bpm - 100.0) < 1e-9, "tempo meta");
    CHECK(info.meterNumerator == 3 && info.meterDenominator == 4, "time signature meta");
    CHECK(info.events.size() == 4, "four channel events");
    if (info.events.size() == 4)
    {
        CHECK(info.events[0].beat == 0.0 && info.events[0].isNoteOn(), "C4 on at 0");
        CHECK(info.events[1].beat == 1.0 && info.events[1].isNoteOff(), "running-status note-off (velocity 0) at beat 1");
        CHECK(info.events[2].beat == 1.0 && info.events[2].isNoteOn() && (info.events[2].data[0] & 0x0f) == 9,
              "at equal times note-offs come first: kick on at beat 1 on channel 10");
        CHECK(info.events[3].beat == 1.5 && info.events[3].isNoteOff(), "kick off at 1.5");
    }
    CHECK(!parseSmf("MThd", info, problem), "truncated file refused");
}

void testClipState()
{
    auto clip = audioClip(ClipKind::Loop, 4410, 44100, 120.0, 1);
    clip->smf = smallSmf();
    clip->prompt = "state test";
    clip->seed = 42;
    std::string problem;
    CHECK(finishClip(*clip, problem), problem.c_str());
    ClipData back;
    CHECK(clipFromState(clipToState(*clip), back, problem), problem.c_str());
    CHECK(back.kind == ClipKind::Loop && back.frames == clip->frames && back.left == clip->left && back.right == clip->right,
          "audio survives the state bit for bit");
    CHECK(back.smf == clip->smf && back.events.size() == 4, "MIDI survives the state");
    CHECK(back.prompt == "state test" && back.seed == 42 && back.bars == 1, "metadata survives the state");
    CHECK(!clipFromState("{\"format\":\"other\"}", back, problem), "foreign state refused");
}

void testHistory()
{
    History history;
    std::string problem;
    CHECK(history.current() == nullptr && history.index() == -1 && !history.move(-1), "an empty history");
    CHECK(history.toState().empty() && !history.setFavourite(true), "nothing to save or keep");
    std::vector<std::shared_ptr<const ClipData>> clips;
    for (int i = 0; i < 3; ++i)
    {
        auto clip = audioClip(ClipKind::Sample, 100 + i, 44100, 120.0, 0);
        clip->seed = i;
        clips.push_back(clip);
        history.add(clip, clipToState(*clip));
    }
    CHECK(history.size() == 3 && history.index() == 2 && history.current()->clip == clips[2], "a new result is current");
    CHECK(history.move(-1) && history.move(-1) && !history.move(-1) && history.index() == 0, "back to the first, no further");
    CHECK(history.setFavourite(true) && history.favourites() == 1, "the first is kept");
    CHECK(history.move(+1) && history.current()->clip == clips[1], "forward");
    // many more results: the kept one stays, the oldest others go
    for (int i = 3; i < 3 + int(History::kMaxRecent) + 2; ++i)
    {
        auto clip = audioClip(ClipKind::Sample, 100 + i, 44100, 120.0, 0);
        clip->seed = i;
        history.add(clip, clipToState(*clip));
    }
    CHECK(history.size() == History::kMaxRecent + 1, "recent results are bounded, favourites aside");
    CHECK(history.move(-int(history.size()) + 1) && history.index() == 0 && history.current()->favourite
              && history.current()->clip->seed == 0,
          "the favourite survived, first in line");
    CHECK(!history.move(-1) && history.move(+1) && history.current()->clip->seed == 5, "the oldest others were dropped (1..4)");

    History back;
    CHECK(back.fromState(history.toState(), problem), problem.c_str());
    CHECK(back.size() == history.size() && back.index() == history.index() && back.favourites() == 1, "the state round trip");
    CHECK(back.current()->clip->seed == 5 && back.current()->clip->frames == 105, "clips survive the state");
    CHECK(!back.fromState("{\"format\": \"other\"}", problem) && back.size() == history.size(),
          "a foreign history is refused, the current one kept");
    CHECK(back.fromState("", problem) && back.size() == 0 && back.index() == -1, "an empty state is an empty history");
}

void testClipParts()
{
    ClipData clip;
    clip.result = Json::parse(R"({"tracks": [{"role": "drums"}, {"role": "bass"}, {"role": "chords"}]})");
    const std::vector<ClipPart> parts = clipParts(clip);
    CHECK(parts.size() == 3 && parts[0].role == "drums" && parts[0].channel == 9 && parts[0].pitchedIndex == -1,
          "drums on channel 10");
    CHECK(parts[1].channel == 0 && parts[1].pitchedIndex == 0 && parts[2].channel == 1 && parts[2].pitchedIndex == 1,
          "the other parts on channels 1, 2 in track order");
    clip.result = Json::parse(R"({"spec": {"parts": [{"role": "lead"}]}})");
    CHECK(clipParts(clip).size() == 1 && clipParts(clip)[0].role == "lead", "from the spec when there are no tracks");
    clip.result = Json::object();
    CHECK(clipParts(clip).empty(), "no parts named");
}

void testExchange()
{
    ClipExchange exchange;
    ClipHandle* current = exchange.take(nullptr);
    CHECK(current == nullptr, "nothing published yet");
    exchange.publish(new ClipHandle{audioClip(ClipKind::Sample, 100, 44100, 120, 0)});
    exchange.publish(new ClipHandle{audioClip(ClipKind::Sample, 200, 44100, 120, 0)}); // replaces the first
    current = exchange.take(current);
    CHECK(current != nullptr && current->data->frames == 200, "the newest clip wins");
    exchange.publish(new ClipHandle{audioClip(ClipKind::Sample, 300, 44100, 120, 0)});
    ClipHandle* next = exchange.take(current);
    CHECK(next != current && next->data->frames == 300, "swap to the next clip");
    exchange.publish(new ClipHandle{audioClip(ClipKind::Sample, 400, 44100, 120, 0)}); // frees the retired one
    ClipHandle* after = exchange.take(next);
    CHECK(after->data->frames == 400, "third swap");
    exchange.collectGarbage();
    delete after;
}

void testProtocol()
{
    Request r{"abc", "ping", {{"x", 1}}, {}};
    const float samples[4] = {0.5f, -0.5f, 0.25f, -0.25f};
    r.buffers.push_back(Buffer::audio(samples, 2, 2, 48000));
    Frames frames = encodeRequest(r);
    CHECK(frames.size() == 2 && frames[1].size() == 16, "one header and one buffer frame");
    const Json header = Json::parse(frames[0]);
    CHECK(header["protocol"] == kProtocolVersion && header["id"] == "abc" && header["buffers"][0]["shape"] == Json({2, 2}),
          "request header");
    Reply reply;
    std::string problem;
    Frames good = {R"({"protocol":2,"id":"abc","type":"ping","event":"result","result":{},"buffers":[{"kind":"audio","encoding":"f32le","shape":[2,2],"sample_rate":48000}]})",
                   frames[1]};
    CHECK(decodeReply(good, reply, problem) && reply.buffers.size() == 1 && reply.buffers[0].sample(1, 1) == -0.25f,
          "reply with an audio buffer");
    Frames short_ = {good[0], std::string(12, '\0')};
    CHECK(!decodeReply(short_, reply, problem), "wrong buffer size refused");
    Frames missing = {good[0]};
    CHECK(!decodeReply(missing, reply, problem), "missing buffer refused");
    CHECK(!decodeReply({"[1,2]"}, reply, problem), "non-object header refused");
    CHECK(decodeReply({R"({"protocol":2,"id":null,"type":null,"event":"error","error":{"code":"malformed","message":"m"}})"}, reply, problem)
              && reply.id.empty() && reply.errorCode() == "malformed",
          "error with a null id");
}

void testEngineSample()
{
    auto clip = audioClip(ClipKind::Sample, 1000, 48000, 120, 0);
    Engine engine;
    engine.prepare(48000);
    engine.setClip(clip.get());
    std::vector<float> L(512), R(512);
    MidiInEvent on{};
    on.frame = 10;
    on.size = 3;
    on.data[0] = 0x90;
    on.data[1] = 60; // the root
    on.data[2] = 127;
    TransportInfo stopped;
    engine.process(L.data(), R.data(), 512, &on, 1, stopped, 1.f, true, nullptr);
    bool exact = L[9] == 0.f;
    for (int i = 10; i < 512; ++i)
        exact = exact && L[i] == clip->left[i - 10] && R[i] == clip->right[i - 10];
    CHECK(exact, "the root note plays the sample unchanged");

    engine.setClip(clip.get());
    on.frame = 0;
    on.data[1] = 72; // an octave up: every other sample
    engine.process(L.data(), R.data(), 256, &on, 1, stopped, 1.f, true, nullptr);
    exact = true;
    for (int i = 0; i < 256; ++i)
        exact = exact && L[i] == clip->left[2 * i];
    CHECK(exact, "an octave up reads every second sample");
}

void testEngineLoop()
{
    const uint32_t rate = 48000;
    auto clip = audioClip(ClipKind::Loop, 2 * rate, rate, 120.0, 1); // 1 bar of 4/4 at 120 BPM = 2 s
    Engine engine;
    engine.prepare(rate);
    engine.setClip(clip.get());
    std::vector<float> L(1024), R(1024);
    // transport at bar 1, beat 3: 1 s into the loop
    TransportInfo t;
    t.playing = true;
    t.bbtValid = true;
    t.bpm = 120.0;
    t.bar = 1;
    t.beat = 3;
    t.tick = 0;
    engine.process(L.data(), R.data(), 1024, nullptr, 0, t, 1.f, true, nullptr);
    bool exact = true;
    for (int i = 0; i < 1024; ++i)
        exact = exact && L[i] == clip->left[rate + i];
    CHECK(exact, "transport sync starts at the song position");
    // bar 2 beat 1 wraps to the loop start
    t.bar = 2;
    t.beat = 1;
    engine.process(L.data(), R.data(), 1024, nullptr, 0, t, 1.f, true, nullptr);
    exact = true;
    for (int i = 0; i < 1024; ++i)
        exact = exact && L[i] == clip->left[i];
    CHECK(exact, "the next bar plays the loop from its start");
    // gain
    engine.process(L.data(), R.data(), 1024, nullptr, 0, t, 0.5f, true, nullptr);
    CHECK(L[7] == clip->left[7] * 0.5f, "gain");
}

void testEngineMidi()
{
    const uint32_t rate = 48000;
    auto clip = std::make_shared<ClipData>();
    clip->kind = ClipKind::Midi;
    clip->smf = smallSmf(); // 100 BPM, 3/4
    clip->bpm = 0.0;           // unresolved: from the file
    clip->meterNumerator = 0;  // unresolved: from the file
    clip->bars = 1;
    std::string problem;
    CHECK(finishClip(*clip, problem), problem.c_str());
    CHECK(clip->lengthBeats == 3.0 && clip->bpm == 100.0, "MIDI clip length and tempo from the file");
    Engine engine;
    engine.prepare(rate);
    engine.setClip(clip.get());
    Recorder out;
    TransportInfo t;
    t.playing = true;
    t.bbtValid = true;
    t.bpm = 100.0;
    t.beatsPerBar = 3;
    t.beatType = 4;
    std::vector<float> L(rate * 4), R(rate * 4);
    // 3.6 s = 6 beats at 100 BPM: two loops of one bar
    const uint32_t frames = uint32_t(rate * 3.6);
    for (uint32_t done = 0; done < frames; done += 256)
    {
        const uint32_t n = std::min<uint32_t>(256, frames - done);
        const double beats = done * 100.0 / 60.0 / rate;
        t.bar = int32_t(beats / 3) + 1;
        t.beat = int32_t(std::fmod(beats, 3.0)) + 1;
        t.tick = std::fmod(beats, 1.0) * t.ticksPerBeat;
        Recorder block;
        engine.process(L.data() + done, R.data() + done, n, nullptr, 0, t, 1.f, true, &block);
        for (auto e : block.events)
        {
            e[0] += int(done);
            out.events.push_back(e);
        }
    }
    const int beat = int(rate * 60 / 100); // 28800 frames
    const std::vector<std::vector<int>> expected = {
        {0, 0x90, 60, 100}, {beat, 0x90, 60, 0}, {beat, 0x99, 36, 127}, {beat * 3 / 2, 0x89, 36, 0},
        {3 * beat, 0x90, 60, 100}, {4 * beat, 0x90, 60, 0}, {4 * beat, 0x99, 36, 127}, {9 * beat / 2, 0x89, 36, 0},
    };
    CHECK(out.events == expected, "MIDI out follows the transport, loop by loop");
    float peak = 0.f;
    for (float v : L)
        peak = std::max(peak, std::fabs(v));
    CHECK(peak > 0.01f, "the built-in sound auditions the clip");
}

} // namespace

int main()
{
    testBase64();
    testCurve();
    testNoteNames();
    testSmf();
    testClipState();
    testHistory();
    testClipParts();
    testExchange();
    testProtocol();
    testEngineSample();
    testEngineLoop();
    testEngineMidi();
    std::printf("%d checks, %d failures\n", gChecks, gFailures);
    return gFailures == 0 ? 0 : 1;
}
