/*
 * promptdaw bridge: XDND drag source (see FileDrag.hpp). Protocol reference: the XDND
 * specification, version 5 (freedesktop.org).
 */

#include "FileDrag.hpp"

#include <chrono>

#if defined(__linux__) && defined(HAVE_X11)
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#define PROMPTDAW_XDND 1
#endif

namespace promptdaw {

std::string FileDrag::uriList(const std::vector<std::string>& paths)
{
    static const char* const hex = "0123456789ABCDEF";
    std::string out;
    for (const std::string& path : paths)
    {
        out += "file://";
        for (const unsigned char c : path)
        {
            const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                               || c == '/' || c == '-' || c == '_' || c == '.' || c == '~';
            if (plain)
                out += char(c);
            else
            {
                out += '%';
                out += hex[c >> 4];
                out += hex[c & 15];
            }
        }
        out += "\r\n";
    }
    return out;
}

#ifdef PROMPTDAW_XDND

namespace {
constexpr long kVersion = 5;
constexpr double kFinishTimeoutS = 5.0;

double seconds()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
} // namespace

struct FileDrag::X11 {
    Display* display = nullptr;
    Window source = 0;
    Atom aware, selection, enter, position, status, leave, drop, finished, actionCopy, uriList, typeList;
    std::string data;          // the text/uri-list offered
    Window target = 0;         // the XdndAware window under the pointer, 0 if none
    long targetVersion = 0;
    bool accepted = false;     // the target's last XdndStatus said yes
    bool awaitingStatus = false;
    bool dragging = false;     // between start() and release()
    bool dropped = false;      // XdndDrop sent, waiting for XdndFinished
    double dropTime = 0.0;

    void message(Window to, Atom type, long l0, long l1, long l2, long l3, long l4)
    {
        XEvent e = {};
        e.xclient.type = ClientMessage;
        e.xclient.display = display;
        e.xclient.window = to;
        e.xclient.message_type = type;
        e.xclient.format = 32;
        e.xclient.data.l[0] = l0;
        e.xclient.data.l[1] = l1;
        e.xclient.data.l[2] = l2;
        e.xclient.data.l[3] = l3;
        e.xclient.data.l[4] = l4;
        XSendEvent(display, to, False, NoEventMask, &e);
    }

    long xdndVersion(Window w)
    {
        Atom type = None;
        int format = 0;
        unsigned long count = 0, after = 0;
        unsigned char* value = nullptr;
        long version = 0;
        if (XGetWindowProperty(display, w, aware, 0, 1, False, AnyPropertyType, &type, &format, &count, &after, &value)
                == Success
            && value != nullptr && count == 1 && format == 32)
            version = *reinterpret_cast<long*>(value);
        if (value != nullptr)
            XFree(value);
        return version;
    }

    /** The deepest XdndAware window under the root point (x, y) other than our own. */
    Window findTarget(int x, int y, long& version)
    {
        const Window root = DefaultRootWindow(display);
        Window w = root, found = 0;
        version = 0;
        for (int depth = 0; depth < 32; ++depth)
        {
            Window child = 0;
            int cx = 0, cy = 0;
            if (!XTranslateCoordinates(display, root, w, x, y, &cx, &cy, &child) || child == 0)
                break;
            w = child;
            if (const long v = xdndVersion(w); v >= 3 && w != source)
            {
                found = w;
                version = v;
            }
        }
        return found;
    }

    void leaveTarget()
    {
        if (target != 0)
            message(target, leave, long(source), 0, 0, 0, 0);
        target = 0;
        accepted = awaitingStatus = false;
    }
};

FileDrag::FileDrag() = default;

FileDrag::~FileDrag()
{
    if (fX == nullptr)
        return;
    if (fX->dragging)
        fX->leaveTarget();
    XDestroyWindow(fX->display, fX->source);
    XCloseDisplay(fX->display);
    delete fX;
}

bool FileDrag::start(const std::vector<std::string>& paths, std::string& error)
{
    if (paths.empty())
    {
        error = "nothing to drag: export the clip first";
        return false;
    }
    if (fX == nullptr)
    {
        Display* display = XOpenDisplay(nullptr);
        if (display == nullptr)
        {
            error = "cannot open the X display for dragging";
            return false;
        }
        fX = new X11();
        fX->display = display;
        fX->source = XCreateSimpleWindow(display, DefaultRootWindow(display), -10, -10, 1, 1, 0, 0, 0);
        XSelectInput(display, fX->source, PropertyChangeMask);
        fX->aware = XInternAtom(display, "XdndAware", False);
        fX->selection = XInternAtom(display, "XdndSelection", False);
        fX->enter = XInternAtom(display, "XdndEnter", False);
        fX->position = XInternAtom(display, "XdndPosition", False);
        fX->status = XInternAtom(display, "XdndStatus", False);
        fX->leave = XInternAtom(display, "XdndLeave", False);
        fX->drop = XInternAtom(display, "XdndDrop", False);
        fX->finished = XInternAtom(display, "XdndFinished", False);
        fX->actionCopy = XInternAtom(display, "XdndActionCopy", False);
        fX->uriList = XInternAtom(display, "text/uri-list", False);
        fX->typeList = XInternAtom(display, "XdndTypeList", False);
        const long version = kVersion;
        XChangeProperty(display, fX->source, fX->aware, XA_ATOM, 32, PropModeReplace,
                        reinterpret_cast<const unsigned char*>(&version), 1);
    }
    if (fX->dragging || fX->dropped)
        fX->leaveTarget();
    fX->data = uriList(paths);
    fX->dragging = true;
    fX->dropped = false;
    fOutcome.clear();
    XSetSelectionOwner(fX->display, fX->selection, fX->source, CurrentTime);
    XFlush(fX->display);
    motion();
    return true;
}

void FileDrag::motion()
{
    if (fX == nullptr || !fX->dragging)
        return;
    Window rootReturn = 0, childReturn = 0;
    int x = 0, y = 0, wx = 0, wy = 0;
    unsigned mask = 0;
    if (!XQueryPointer(fX->display, DefaultRootWindow(fX->display), &rootReturn, &childReturn, &x, &y, &wx, &wy, &mask))
        return;
    long version = 0;
    const Window target = fX->findTarget(x, y, version);
    if (target != fX->target)
    {
        fX->leaveTarget();
        fX->target = target;
        fX->targetVersion = version < kVersion ? version : kVersion;
        if (target != 0)
            fX->message(target, fX->enter, long(fX->source), fX->targetVersion << 24, long(fX->uriList), 0, 0);
    }
    if (fX->target != 0 && !fX->awaitingStatus)
    {
        fX->message(fX->target, fX->position, long(fX->source), 0, (long(x) << 16) | (long(y) & 0xffff), CurrentTime,
                    long(fX->actionCopy));
        fX->awaitingStatus = true;
    }
    XFlush(fX->display);
}

void FileDrag::release()
{
    if (fX == nullptr || !fX->dragging)
        return;
    // The last position may still be unanswered: give the target a moment to say yes or no.
    for (const double until = seconds() + 0.5; fX->awaitingStatus && seconds() < until;)
        idle();
    fX->dragging = false;
    if (fX->target == 0)
    {
        fOutcome = "no target";
    }
    else if (!fX->accepted)
    {
        fX->leaveTarget();
        fOutcome = "refused";
    }
    else
    {
        fX->message(fX->target, fX->drop, long(fX->source), 0, CurrentTime, 0, 0);
        fX->dropped = true;
        fX->dropTime = seconds();
    }
    XFlush(fX->display);
}

void FileDrag::idle()
{
    if (fX == nullptr)
        return;
    while (XPending(fX->display) > 0)
    {
        XEvent e;
        XNextEvent(fX->display, &e);
        if (e.type == ClientMessage && e.xclient.message_type == fX->status
            && Window(e.xclient.data.l[0]) == fX->target)
        {
            fX->awaitingStatus = false;
            fX->accepted = (e.xclient.data.l[1] & 1) != 0;
        }
        else if (e.type == ClientMessage && e.xclient.message_type == fX->finished && fX->dropped)
        {
            fX->dropped = false;
            fX->target = 0;
            fOutcome = "dropped";
        }
        else if (e.type == SelectionRequest)
        {
            // The target asks for the data: text/uri-list (or the list of types on offer).
            const XSelectionRequestEvent& r = e.xselectionrequest;
            XEvent reply = {};
            reply.xselection.type = SelectionNotify;
            reply.xselection.display = r.display;
            reply.xselection.requestor = r.requestor;
            reply.xselection.selection = r.selection;
            reply.xselection.target = r.target;
            reply.xselection.time = r.time;
            reply.xselection.property = None;
            const Atom property = r.property != None ? r.property : r.target;
            if (r.target == fX->uriList)
            {
                XChangeProperty(fX->display, r.requestor, property, fX->uriList, 8, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(fX->data.data()), int(fX->data.size()));
                reply.xselection.property = property;
            }
            else if (r.target == fX->typeList)
            {
                XChangeProperty(fX->display, r.requestor, property, XA_ATOM, 32, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(&fX->uriList), 1);
                reply.xselection.property = property;
            }
            XSendEvent(fX->display, r.requestor, False, NoEventMask, &reply);
        }
    }
    if (fX->dropped && seconds() - fX->dropTime > kFinishTimeoutS)
    {
        fX->dropped = false;
        fX->target = 0;
        fOutcome = "timed out";
    }
    XFlush(fX->display);
}

bool FileDrag::active() const noexcept { return fX != nullptr && (fX->dragging || fX->dropped); }

#else // no X11: the path shown in the UI is the way in

struct FileDrag::X11 {};
FileDrag::FileDrag() = default;
FileDrag::~FileDrag() = default;
bool FileDrag::start(const std::vector<std::string>&, std::string& error)
{
    error = "dragging files needs X11 on this system; the exported path is shown instead";
    return false;
}
void FileDrag::motion() {}
void FileDrag::release() {}
void FileDrag::idle() {}
bool FileDrag::active() const noexcept { return false; }

#endif

} // namespace promptdaw
