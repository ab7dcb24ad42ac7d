/*
 * promptdaw bridge test executable: a small scriptable CLAP host.
 *
 * pedalboard hosts VST3 only and gives plugins no transport and no MIDI output, so this host
 * covers the rest: it loads the built promptdaw.clap, sets states through the CLAP state
 * extension (DPF's key/value format), renders with or without a musical transport, records
 * audio and MIDI output, and can open the plugin UI in an X11 window (Xvfb in tests) and
 * save a screenshot.
 *
 *   clap_host PLUGIN.clap SCRIPT.json OUTDIR
 *
 * SCRIPT: {"sample_rate": 44100, "block": 256, "steps": [STEP, ...]} where STEP is one of
 *   {"state": {"key": "value", ...}}                    set states (in the order given)
 *   {"render": {"frames": N, "transport": T|null, "midi": [[frame, b0, b1, b2], ...],
 *               "params": [[frame, param_id, value], ...]}, "out": NAME}
 *        T = {"playing": true, "bpm": 120, "meter": [4, 4], "start_beats": 0.0}; the song
 *        position advances with the rendered frames. Writes OUTDIR/NAME.f32 (interleaved
 *        stereo float32) and OUTDIR/NAME.midi.json ([[frame, b0, b1, b2], ...]).
 *   {"wait": {"generated": true, "timeout_s": 60}}      until the last "generate" state set has been
 *                                                       handled and no request runs
 *   {"wait": {"connection": ["connected"], "timeout_s": 10}}
 *   {"sleep": SECONDS}
 *   {"save_state": PATH} / {"load_state": PATH}         raw DPF state bytes
 *   {"screenshot": {"path": PATH.ppm, "idle_ms": 1500, "clicks": [[x, y], ...], "drag": [[x0, y0], [x1, y1]]}}
 *        open the UI, let it draw, click (left button) where asked, drag with the left button
 *        held from one root point to another (real pointer events through XTest), capture it
 * Prints one JSON line per step (status snapshots, timings) and, when librtcheck.so is
 * preloaded, a final {"rtcheck": {...counts...}}.
 */

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <dlfcn.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>

#include "clap/entry.h"
#include "clap/events.h"
#include "clap/ext/gui.h"
#include "clap/ext/params.h"
#include "clap/ext/state.h"
#include "clap/ext/timer-support.h"
#include "clap/host.h"
#include "clap/plugin-factory.h"
#include "clap/plugin.h"
#include "clap/process.h"

#include <nlohmann/json.hpp>

using Json = nlohmann::ordered_json; // keeps "state" keys in script order (generate last)
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail(const std::string& message)
{
    std::fprintf(stderr, "clap_host: %s\n", message.c_str());
    std::exit(1);
}

void print(const Json& j)
{
    std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    std::fflush(stdout);
}

// ------------------------------------------------------------------------------------ host side

struct Timer {
    clap_id id;
    uint32_t periodMs;
};

std::vector<Timer> gTimers;
clap_id gNextTimer = 1;
Display* gDisplay = nullptr;
Window gParent = 0;

bool hostRegisterTimer(const clap_host_t*, uint32_t periodMs, clap_id* id)
{
    *id = gNextTimer++;
    gTimers.push_back({*id, periodMs});
    return true;
}

bool hostUnregisterTimer(const clap_host_t*, clap_id id)
{
    for (size_t i = 0; i < gTimers.size(); ++i)
        if (gTimers[i].id == id)
        {
            gTimers.erase(gTimers.begin() + long(i));
            return true;
        }
    return false;
}

void hostResizeHintsChanged(const clap_host_t*) {}
bool hostRequestResize(const clap_host_t*, uint32_t w, uint32_t h)
{
    if (gDisplay != nullptr && gParent != 0)
        XResizeWindow(gDisplay, gParent, w, h);
    return true;
}
bool hostRequestShow(const clap_host_t*) { return true; }
bool hostRequestHide(const clap_host_t*) { return true; }
void hostGuiClosed(const clap_host_t*, bool) {}

void hostParamsRescan(const clap_host_t*, clap_param_rescan_flags) {}
void hostParamsClear(const clap_host_t*, clap_id, clap_param_clear_flags) {}
void hostParamsRequestFlush(const clap_host_t*) {}

void hostMarkDirty(const clap_host_t*) {}

const clap_host_timer_support_t kHostTimer = {hostRegisterTimer, hostUnregisterTimer};
const clap_host_gui_t kHostGui = {hostResizeHintsChanged, hostRequestResize, hostRequestShow, hostRequestHide,
                                  hostGuiClosed};
const clap_host_params_t kHostParams = {hostParamsRescan, hostParamsClear, hostParamsRequestFlush};
const clap_host_state_t kHostState = {hostMarkDirty};

const void* hostGetExtension(const clap_host_t*, const char* id)
{
    if (std::strcmp(id, CLAP_EXT_TIMER_SUPPORT) == 0)
        return &kHostTimer;
    if (std::strcmp(id, CLAP_EXT_GUI) == 0)
        return &kHostGui;
    if (std::strcmp(id, CLAP_EXT_PARAMS) == 0)
        return &kHostParams;
    if (std::strcmp(id, CLAP_EXT_STATE) == 0)
        return &kHostState;
    return nullptr;
}
void hostRequestRestart(const clap_host_t*) {}
void hostRequestProcess(const clap_host_t*) {}
void hostRequestCallback(const clap_host_t*) {}

const clap_host_t kHost = {CLAP_VERSION_INIT, nullptr, "promptdaw test host", "promptdaw", "", "0.1.0",
                           hostGetExtension, hostRequestRestart, hostRequestProcess, hostRequestCallback};

// ------------------------------------------------------------------------------------ events

/** One input event of either kind this host sends. */
union InputEvent {
    clap_event_header_t header;
    clap_event_midi_t midi;
    clap_event_param_value_t param;
};

struct InputEvents {
    std::vector<InputEvent> events;
    static uint32_t size(const clap_input_events_t* list)
    {
        return uint32_t(static_cast<const InputEvents*>(list->ctx)->events.size());
    }
    static const clap_event_header_t* get(const clap_input_events_t* list, uint32_t index)
    {
        return &static_cast<const InputEvents*>(list->ctx)->events[index].header;
    }
};

struct OutputEvents {
    // Preallocated: try_push must not allocate on the audio thread (the real-time check
    // counts everything that happens inside the plugin's run(), including this callback).
    std::vector<std::array<uint8_t, 4>> events; // frame is kept apart
    std::vector<uint32_t> frames;
    size_t count = 0;
    OutputEvents() : events(65536), frames(65536) {}
    static bool tryPush(const clap_output_events_t* list, const clap_event_header_t* event)
    {
        auto* self = static_cast<OutputEvents*>(list->ctx);
        if (event->space_id != CLAP_CORE_EVENT_SPACE_ID || self->count >= self->events.size())
            return false;
        if (event->type == CLAP_EVENT_MIDI)
        {
            const auto* midi = reinterpret_cast<const clap_event_midi_t*>(event);
            self->events[self->count] = {midi->data[0], midi->data[1], midi->data[2], 3};
            self->frames[self->count] = event->time;
            ++self->count;
        }
        else if (event->type == CLAP_EVENT_NOTE_ON || event->type == CLAP_EVENT_NOTE_OFF)
        {
            const auto* note = reinterpret_cast<const clap_event_note_t*>(event);
            const uint8_t status = uint8_t((event->type == CLAP_EVENT_NOTE_ON ? 0x90 : 0x80) | (note->channel & 15));
            self->events[self->count] = {status, uint8_t(note->key), uint8_t(std::lround(note->velocity * 127)), 3};
            self->frames[self->count] = event->time;
            ++self->count;
        }
        return true;
    }
};

// ------------------------------------------------------------------------------------ state streams

struct ReadStream {
    const std::string* data;
    size_t pos = 0;
    static int64_t read(const clap_istream_t* s, void* buffer, uint64_t size)
    {
        auto* self = static_cast<ReadStream*>(s->ctx);
        const size_t n = std::min<size_t>(size, self->data->size() - self->pos);
        std::memcpy(buffer, self->data->data() + self->pos, n);
        self->pos += n;
        return int64_t(n);
    }
};

struct WriteStream {
    std::string data;
    static int64_t write(const clap_ostream_t* s, const void* buffer, uint64_t size)
    {
        static_cast<WriteStream*>(s->ctx)->data.append(static_cast<const char*>(buffer), size);
        return int64_t(size);
    }
};

/** DPF's state blob with only the given keys (see hosting-facts: key\0value\0 pairs). */
std::string dpfState(const std::vector<std::pair<std::string, std::string>>& states)
{
    std::string blob("__dpf_state_begin__", 19);
    blob += '\0';
    for (const auto& [key, value] : states)
    {
        blob += key;
        blob += '\0';
        blob += value;
        blob += '\0';
    }
    blob += "__dpf_state_end__";
    blob += '\0';
    blob += '\xfe';
    blob += '\0';
    return blob;
}

/** The value of `key` in a saved DPF state blob. */
std::string dpfStateValue(const std::string& blob, const std::string& key)
{
    size_t pos = 0;
    std::vector<std::string> parts;
    while (pos < blob.size())
    {
        const size_t end = blob.find('\0', pos);
        if (end == std::string::npos)
            break;
        parts.push_back(blob.substr(pos, end - pos));
        pos = end + 1;
    }
    bool inStates = false;
    for (size_t i = 0; i < parts.size(); ++i)
    {
        if (parts[i] == "__dpf_state_begin__")
        {
            inStates = true;
            continue;
        }
        if (parts[i] == "__dpf_state_end__")
            break;
        if (inStates && parts[i] == key && i + 1 < parts.size())
            return parts[i + 1];
        if (inStates)
            ++i; // skip the value
    }
    return std::string();
}

// ------------------------------------------------------------------------------------ the host

struct Host {
    const clap_plugin_t* plugin = nullptr;
    const clap_plugin_state_t* state = nullptr;
    const clap_plugin_gui_t* gui = nullptr;
    const clap_plugin_timer_support_t* timer = nullptr;
    double sampleRate = 44100.0;
    uint32_t block = 256;
    int64_t steadyTime = 0;
    bool active = false;

    std::string saveState()
    {
        WriteStream w;
        clap_ostream_t stream = {&w, WriteStream::write};
        if (!state->save(plugin, &stream))
            fail("state save failed");
        return w.data;
    }

    void loadState(const std::string& blob)
    {
        ReadStream r{&blob};
        clap_istream_t stream = {&r, ReadStream::read};
        if (!state->load(plugin, &stream))
            fail("state load failed");
    }

    Json status()
    {
        const Json j = Json::parse(dpfStateValue(saveState(), "status"), nullptr, false);
        return j.is_discarded() ? Json::object() : j;
    }

    void ensureActive()
    {
        if (active)
            return;
        if (!plugin->activate(plugin, sampleRate, 1, block))
            fail("activate failed");
        if (!plugin->start_processing(plugin))
            fail("start_processing failed");
        active = true;
    }

    void render(const Json& spec, const std::string& outDir, const std::string& name)
    {
        ensureActive();
        const uint64_t frames = spec.value("frames", uint64_t(0));
        const Json transport = spec.contains("transport") ? spec["transport"] : Json();
        std::vector<std::array<int64_t, 4>> midi;
        if (spec.contains("midi"))
            for (const Json& e : spec["midi"])
                midi.push_back({e[0].get<int64_t>(), e[1].get<int64_t>(), e[2].get<int64_t>(), e.size() > 3 ? e[3].get<int64_t>() : 0});
        std::sort(midi.begin(), midi.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
        std::vector<std::tuple<int64_t, uint32_t, double>> params; // frame, param id, value
        if (spec.contains("params"))
            for (const Json& p : spec["params"])
                params.emplace_back(p[0].get<int64_t>(), p[1].get<uint32_t>(), p[2].get<double>());
        std::stable_sort(params.begin(), params.end(),
                         [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });

        std::vector<float> left(block), right(block), interleaved;
        interleaved.reserve(size_t(frames) * 2);
        float* channels[2] = {left.data(), right.data()};
        clap_audio_buffer_t output = {};
        output.data32 = channels;
        output.channel_count = 2;
        InputEvents in;
        in.events.reserve(1024);
        clap_input_events_t inEvents = {&in, InputEvents::size, InputEvents::get};
        OutputEvents out;
        clap_output_events_t outEvents = {&out, OutputEvents::tryPush};
        Json midiOut = Json::array();

        const bool hasTransport = transport.is_object();
        const double bpm = hasTransport ? transport.value("bpm", 120.0) : 120.0;
        const int num = hasTransport && transport.contains("meter") ? transport["meter"][0].get<int>() : 4;
        const int den = hasTransport && transport.contains("meter") ? transport["meter"][1].get<int>() : 4;
        const double startBeats = hasTransport ? transport.value("start_beats", 0.0) : 0.0;
        const bool playing = hasTransport && transport.value("playing", true);

        size_t nextMidi = 0, nextParam = 0;
        for (uint64_t done = 0; done < frames;)
        {
            const uint32_t n = uint32_t(std::min<uint64_t>(block, frames - done));
            in.events.clear();
            while (nextParam < params.size() && uint64_t(std::get<0>(params[nextParam])) < done + n)
            {
                InputEvent ev = {};
                clap_event_param_value_t& e = ev.param;
                e.header.size = sizeof(e);
                e.header.time = uint32_t(std::max<int64_t>(0, std::get<0>(params[nextParam]) - int64_t(done)));
                e.header.space_id = CLAP_CORE_EVENT_SPACE_ID;
                e.header.type = CLAP_EVENT_PARAM_VALUE;
                e.param_id = std::get<1>(params[nextParam]);
                e.note_id = -1;
                e.port_index = -1;
                e.channel = -1;
                e.key = -1;
                e.value = std::get<2>(params[nextParam]);
                in.events.push_back(ev);
                ++nextParam;
            }
            while (nextMidi < midi.size() && uint64_t(midi[nextMidi][0]) < done + n)
            {
                InputEvent ev = {};
                clap_event_midi_t& e = ev.midi;
                e.header.size = sizeof(e);
                e.header.time = uint32_t(std::max<int64_t>(0, midi[nextMidi][0] - int64_t(done)));
                e.header.space_id = CLAP_CORE_EVENT_SPACE_ID;
                e.header.type = CLAP_EVENT_MIDI;
                e.port_index = 0;
                e.data[0] = uint8_t(midi[nextMidi][1]);
                e.data[1] = uint8_t(midi[nextMidi][2]);
                e.data[2] = uint8_t(midi[nextMidi][3]);
                in.events.push_back(ev);
                ++nextMidi;
            }
            // CLAP wants the events of a block in time order
            std::stable_sort(in.events.begin(), in.events.end(),
                             [](const InputEvent& a, const InputEvent& b) { return a.header.time < b.header.time; });
            clap_event_transport_t t = {};
            if (hasTransport)
            {
                const double beats = startBeats + double(done) * bpm / 60.0 / sampleRate;
                t.header.size = sizeof(t);
                t.header.space_id = CLAP_CORE_EVENT_SPACE_ID;
                t.header.type = CLAP_EVENT_TRANSPORT;
                t.flags = CLAP_TRANSPORT_HAS_TEMPO | CLAP_TRANSPORT_HAS_BEATS_TIMELINE | CLAP_TRANSPORT_HAS_TIME_SIGNATURE
                        | (playing ? CLAP_TRANSPORT_IS_PLAYING : 0);
                t.song_pos_beats = clap_beattime(std::llround(beats * double(CLAP_BEATTIME_FACTOR)));
                const double beatsPerBar = num * 4.0 / den;
                t.bar_start = clap_beattime(std::llround(std::floor(beats / beatsPerBar) * beatsPerBar * double(CLAP_BEATTIME_FACTOR)));
                t.bar_number = int32_t(std::floor(beats / beatsPerBar));
                t.tempo = bpm;
                t.tsig_num = uint16_t(num);
                t.tsig_denom = uint16_t(den);
            }
            clap_process_t process = {};
            process.steady_time = steadyTime;
            process.frames_count = n;
            process.transport = hasTransport ? &t : nullptr;
            process.audio_outputs = &output;
            process.audio_outputs_count = 1;
            process.in_events = &inEvents;
            process.out_events = &outEvents;
            out.count = 0;
            plugin->process(plugin, &process);
            for (size_t i = 0; i < out.count; ++i)
                midiOut.push_back({done + out.frames[i], out.events[i][0], out.events[i][1], out.events[i][2]});
            for (uint32_t i = 0; i < n; ++i)
            {
                interleaved.push_back(left[i]);
                interleaved.push_back(right[i]);
            }
            done += n;
            steadyTime += n;
        }
        if (!name.empty())
        {
            std::ofstream(outDir + "/" + name + ".f32", std::ios::binary)
                .write(reinterpret_cast<const char*>(interleaved.data()), std::streamsize(interleaved.size() * sizeof(float)));
            std::ofstream(outDir + "/" + name + ".midi.json") << midiOut.dump();
        }
        print({{"step", "render"}, {"out", name}, {"frames", frames}, {"midi_out", midiOut.size()}});
    }

    void pumpUi(int ms)
    {
        const Clock::time_point end = Clock::now() + std::chrono::milliseconds(ms);
        while (Clock::now() < end)
        {
            for (const Timer& t : std::vector<Timer>(gTimers))
                if (timer != nullptr)
                    timer->on_timer(plugin, t.id);
            while (gDisplay != nullptr && XPending(gDisplay) > 0)
            {
                XEvent event;
                XNextEvent(gDisplay, &event);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(16));
        }
    }

    /** Clicks at UI coordinates: a button press and release sent to the window under them. */
    void click(int x, int y)
    {
        // the deepest window under the point (the plugin's own window)
        Window child = gParent;
        int cx = x, cy = y;
        for (;;)
        {
            Window next = 0;
            int nx = 0, ny = 0;
            if (!XTranslateCoordinates(gDisplay, gParent, child, x, y, &nx, &ny, &next))
                break;
            cx = nx;
            cy = ny;
            if (next == 0 || next == child)
                break;
            child = next;
        }
        std::fprintf(stderr, "clap_host: click %d,%d -> window 0x%lx at %d,%d\n", x, y, child, cx, cy);
        for (const int type : {ButtonPress, ButtonRelease})
        {
            XEvent event = {};
            event.xbutton.type = type;
            event.xbutton.display = gDisplay;
            event.xbutton.window = child;
            event.xbutton.root = DefaultRootWindow(gDisplay);
            event.xbutton.x = cx;
            event.xbutton.y = cy;
            event.xbutton.x_root = x;
            event.xbutton.y_root = y;
            event.xbutton.button = Button1;
            event.xbutton.same_screen = True;
            event.xbutton.time = CurrentTime;
            XSendEvent(gDisplay, child, True, type == ButtonPress ? ButtonPressMask : ButtonReleaseMask, &event);
            XFlush(gDisplay);
            pumpUi(60);
        }
    }

    /** A real drag: the pointer moves, the button goes down, moves in steps, goes up (XTest). */
    void drag(int x0, int y0, int x1, int y1)
    {
        int eventBase = 0, errorBase = 0, major = 0, minor = 0;
        if (!XTestQueryExtension(gDisplay, &eventBase, &errorBase, &major, &minor))
            fail("the X server has no XTEST extension");
        XTestFakeMotionEvent(gDisplay, -1, x0, y0, CurrentTime);
        XFlush(gDisplay);
        pumpUi(100);
        XTestFakeButtonEvent(gDisplay, Button1, True, CurrentTime);
        XFlush(gDisplay);
        pumpUi(100);
        constexpr int kSteps = 12;
        for (int i = 1; i <= kSteps; ++i)
        {
            XTestFakeMotionEvent(gDisplay, -1, x0 + (x1 - x0) * i / kSteps, y0 + (y1 - y0) * i / kSteps, CurrentTime);
            XFlush(gDisplay);
            pumpUi(50);
        }
        pumpUi(300);
        XTestFakeButtonEvent(gDisplay, Button1, False, CurrentTime);
        XFlush(gDisplay);
        std::fprintf(stderr, "clap_host: dragged %d,%d -> %d,%d\n", x0, y0, x1, y1);
    }

    void screenshot(const Json& spec)
    {
        if (gui == nullptr)
            fail("the plugin has no GUI extension");
        gDisplay = XOpenDisplay(nullptr);
        if (gDisplay == nullptr)
            fail("cannot open the X display (is DISPLAY set?)");
        if (!gui->is_api_supported(plugin, CLAP_WINDOW_API_X11, false) || !gui->create(plugin, CLAP_WINDOW_API_X11, false))
            fail("the plugin cannot embed an X11 UI");
        gui->set_scale(plugin, 1.0);
        uint32_t w = 0, h = 0;
        gui->get_size(plugin, &w, &h);
        gParent = XCreateSimpleWindow(gDisplay, DefaultRootWindow(gDisplay), 0, 0, w, h, 0, 0, 0);
        XMapWindow(gDisplay, gParent);
        XSync(gDisplay, False);
        clap_window_t window = {};
        window.api = CLAP_WINDOW_API_X11;
        window.x11 = gParent;
        if (!gui->set_parent(plugin, &window) || !gui->show(plugin))
            fail("the plugin UI did not open");
        pumpUi(spec.value("idle_ms", 1500));
        if (spec.contains("clicks"))
            for (const Json& c : spec["clicks"])
                click(c[0].get<int>(), c[1].get<int>());
        if (spec.contains("drag"))
            drag(spec["drag"][0][0].get<int>(), spec["drag"][0][1].get<int>(), spec["drag"][1][0].get<int>(),
                 spec["drag"][1][1].get<int>());
        pumpUi(spec.contains("drag") ? 1500 : spec.contains("clicks") ? 500 : 0);
        XSync(gDisplay, False);
        XImage* image = XGetImage(gDisplay, DefaultRootWindow(gDisplay), 0, 0, w, h, AllPlanes, ZPixmap);
        if (image == nullptr)
            fail("XGetImage failed");
        const std::string path = spec.value("path", "ui.ppm");
        std::ofstream f(path, std::ios::binary);
        f << "P6\n" << w << " " << h << "\n255\n";
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x)
            {
                const unsigned long p = XGetPixel(image, int(x), int(y));
                const char rgb[3] = {char((p >> 16) & 0xff), char((p >> 8) & 0xff), char(p & 0xff)};
                f.write(rgb, 3);
            }
        XDestroyImage(image);
        gui->hide(plugin);
        gui->destroy(plugin);
        XDestroyWindow(gDisplay, gParent);
        XCloseDisplay(gDisplay);
        gDisplay = nullptr;
        gParent = 0;
        print({{"step", "screenshot"}, {"path", path}, {"width", w}, {"height", h}});
    }
};

void printRtcheck()
{
    using CountFn = long (*)(int);
    using NamesFn = int (*)();
    using NameFn = const char* (*)(int);
    auto count = reinterpret_cast<CountFn>(dlsym(RTLD_DEFAULT, "promptdaw_rtcheck_count"));
    auto names = reinterpret_cast<NamesFn>(dlsym(RTLD_DEFAULT, "promptdaw_rtcheck_count_names"));
    auto name = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "promptdaw_rtcheck_name"));
    if (count == nullptr || names == nullptr || name == nullptr)
        return;
    Json counts = Json::object();
    for (int i = 0; i < names(); ++i)
        counts[name(i)] = count(i);
    print({{"rtcheck", counts}});
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4)
    {
        std::fprintf(stderr, "usage: clap_host PLUGIN.clap SCRIPT.json OUTDIR\n");
        return 2;
    }
    const std::string pluginPath = argv[1], outDir = argv[3];
    std::ifstream scriptFile(argv[2]);
    const Json script = Json::parse(scriptFile, nullptr, false);
    if (script.is_discarded())
        fail("the script is not JSON");

    void* library = dlopen(pluginPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
        fail(std::string("dlopen: ") + dlerror());
    const auto* entry = static_cast<const clap_plugin_entry_t*>(dlsym(library, "clap_entry"));
    if (entry == nullptr || !entry->init(pluginPath.c_str()))
        fail("clap_entry missing or init failed");
    const auto* factory = static_cast<const clap_plugin_factory_t*>(entry->get_factory(CLAP_PLUGIN_FACTORY_ID));
    if (factory == nullptr || factory->get_plugin_count(factory) < 1)
        fail("no plugin factory");
    const clap_plugin_descriptor_t* descriptor = factory->get_plugin_descriptor(factory, 0);

    Host host;
    host.sampleRate = script.value("sample_rate", 44100.0);
    host.block = script.value("block", 256u);
    host.plugin = factory->create_plugin(factory, &kHost, descriptor->id);
    if (host.plugin == nullptr || !host.plugin->init(host.plugin))
        fail("create_plugin/init failed");
    host.state = static_cast<const clap_plugin_state_t*>(host.plugin->get_extension(host.plugin, CLAP_EXT_STATE));
    host.gui = static_cast<const clap_plugin_gui_t*>(host.plugin->get_extension(host.plugin, CLAP_EXT_GUI));
    host.timer = static_cast<const clap_plugin_timer_support_t*>(host.plugin->get_extension(host.plugin, CLAP_EXT_TIMER_SUPPORT));
    if (host.state == nullptr)
        fail("no state extension");
    print({{"step", "loaded"}, {"id", descriptor->id}, {"name", descriptor->name}});

    uint64_t generationsBefore = 0; // status "generations" when the last generate was set
    for (const Json& step : script.value("steps", Json::array()))
    {
        const Clock::time_point start = Clock::now();
        if (step.contains("state"))
        {
            std::vector<std::pair<std::string, std::string>> states;
            for (const auto& [key, value] : step["state"].items())
                states.emplace_back(key, value.get<std::string>());
            if (step["state"].contains("generate"))
                generationsBefore = host.status().value("generations", uint64_t(0));
            host.loadState(dpfState(states));
        }
        else if (step.contains("render"))
        {
            host.render(step["render"], outDir, step.value("out", ""));
        }
        else if (step.contains("wait"))
        {
            const Json& wait = step["wait"];
            const double timeout = wait.value("timeout_s", 60.0);
            const uint64_t before = generationsBefore;
            Json status;
            bool ok = false;
            while (std::chrono::duration<double>(Clock::now() - start).count() < timeout)
            {
                status = host.status();
                if (wait.contains("connection"))
                    for (const Json& c : wait["connection"])
                        ok = ok || status.value("connection", "") == c.get<std::string>();
                if (wait.value("generated", false))
                    ok = status.value("generations", uint64_t(0)) > before && status.value("job", "") != "running";
                if (ok)
                    break;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            print({{"step", "wait"}, {"ok", ok}, {"status", status},
                   {"elapsed_s", std::chrono::duration<double>(Clock::now() - start).count()}});
        }
        else if (step.contains("sleep"))
        {
            std::this_thread::sleep_for(std::chrono::duration<double>(step["sleep"].get<double>()));
        }
        else if (step.contains("save_state"))
        {
            std::ofstream(step["save_state"].get<std::string>(), std::ios::binary) << host.saveState();
            print({{"step", "save_state"}});
        }
        else if (step.contains("load_state"))
        {
            std::ifstream f(step["load_state"].get<std::string>(), std::ios::binary);
            host.loadState(std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()));
            print({{"step", "load_state"}});
        }
        else if (step.contains("status"))
        {
            print({{"step", "status"}, {"status", host.status()}});
        }
        else if (step.contains("screenshot"))
        {
            host.screenshot(step["screenshot"]);
        }
        else
            fail("unknown step: " + step.dump());
    }

    if (host.active)
    {
        host.plugin->stop_processing(host.plugin);
        host.plugin->deactivate(host.plugin);
    }
    printRtcheck();
    host.plugin->destroy(host.plugin);
    entry->deinit();
    return 0;
}
