/*
 * promptdaw bridge: dragging exported files out of the plugin window onto a DAW track.
 *
 * DPF 1.6's windowing layer (pugl) can receive drops but cannot start a drag, so the UI runs
 * the X11 drag-and-drop protocol (XDND, version 5) itself, on a private X connection with a
 * hidden window as the drag source: that window owns the XdndSelection and receives the
 * target's XdndStatus/XdndFinished. The pointer is followed through the UI's own motion
 * events (the button press that starts a drag gives the plugin window the pointer until the
 * release); the target is the XdndAware window under the pointer. The data is offered as
 * `text/uri-list` (file:// URIs, RFC 2483), which DAWs on Linux accept for audio and MIDI
 * files. UI thread only. On other systems start() says the drag is not available.
 */

#pragma once

#include <string>
#include <vector>

namespace promptdaw {

class FileDrag {
public:
    FileDrag();
    ~FileDrag();
    FileDrag(const FileDrag&) = delete;
    FileDrag& operator=(const FileDrag&) = delete;

    /** Starts dragging `paths` (absolute). False, with a reason, when X11 is not there. */
    bool start(const std::vector<std::string>& paths, std::string& error);
    /** The pointer moved while the button is held: finds the target, sends enter/position. */
    void motion();
    /** The button went up: drops on an accepting target, else cancels. */
    void release();
    /** Handles the X events of the drag (call often, e.g. from uiIdle). */
    void idle();

    /** A drag is under way (including the hand-over after the drop). */
    bool active() const noexcept;
    /** What happened last: "", "dropped", "no target", "refused", "timed out". */
    const std::string& outcome() const noexcept { return fOutcome; }

    /** `file://` URIs, percent-encoded, one per line with CRLF, as text/uri-list wants them. */
    static std::string uriList(const std::vector<std::string>& paths);

private:
    struct X11;
    X11* fX = nullptr;
    std::string fOutcome;
};

} // namespace promptdaw
