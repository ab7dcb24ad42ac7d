/*
 * promptdaw bridge test executable: an X11 drop target (XDND version 5), standing in for a
 * DAW's track area in tests/test_bridge_ui.py.
 *
 *   xdnd_target X Y WIDTH HEIGHT TIMEOUT_S
 *
 * Maps an XdndAware window at (X, Y), accepts every drag that offers text/uri-list, asks the
 * source for the data on drop and prints one JSON object per line: "ready", "enter" (the
 * offered type), "drop" (the text/uri-list received). Exit status 0 after a drop, 1 on time-out.
 */

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

static void print_json_string(const char* s, unsigned long n)
{
    putchar('"');
    for (unsigned long i = 0; i < n; ++i)
    {
        const unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void send_message(Display* d, Window to, Atom type, long l0, long l1, long l2, long l3, long l4)
{
    XEvent e;
    memset(&e, 0, sizeof(e));
    e.xclient.type = ClientMessage;
    e.xclient.display = d;
    e.xclient.window = to;
    e.xclient.message_type = type;
    e.xclient.format = 32;
    e.xclient.data.l[0] = l0;
    e.xclient.data.l[1] = l1;
    e.xclient.data.l[2] = l2;
    e.xclient.data.l[3] = l3;
    e.xclient.data.l[4] = l4;
    XSendEvent(d, to, False, NoEventMask, &e);
    XFlush(d);
}

int main(int argc, char** argv)
{
    if (argc != 6)
    {
        fprintf(stderr, "usage: xdnd_target X Y WIDTH HEIGHT TIMEOUT_S\n");
        return 3;
    }
    Display* d = XOpenDisplay(NULL);
    if (d == NULL)
    {
        fprintf(stderr, "xdnd_target: cannot open the display\n");
        return 3;
    }
    const Window w = XCreateSimpleWindow(d, DefaultRootWindow(d), atoi(argv[1]), atoi(argv[2]), (unsigned)atoi(argv[3]),
                                         (unsigned)atoi(argv[4]), 0, 0, 0x3060a0);
    const Atom aware = XInternAtom(d, "XdndAware", False), enter = XInternAtom(d, "XdndEnter", False);
    const Atom position = XInternAtom(d, "XdndPosition", False), status = XInternAtom(d, "XdndStatus", False);
    const Atom drop = XInternAtom(d, "XdndDrop", False), finished = XInternAtom(d, "XdndFinished", False);
    const Atom selection = XInternAtom(d, "XdndSelection", False), copy = XInternAtom(d, "XdndActionCopy", False);
    const Atom uri_list = XInternAtom(d, "text/uri-list", False), into = XInternAtom(d, "PROMPTDAW_DROP", False);
    const long version = 5;
    XChangeProperty(d, w, aware, XA_ATOM, 32, PropModeReplace, (const unsigned char*)&version, 1);
    XMapWindow(d, w);
    XSync(d, False);
    printf("{\"event\": \"ready\", \"window\": %lu}\n", (unsigned long)w);
    fflush(stdout);

    Window source = 0;
    const time_t deadline = time(NULL) + atoi(argv[5]);
    while (time(NULL) < deadline)
    {
        if (XPending(d) == 0)
        {
            fd_set fds;
            FD_ZERO(&fds);
            FD_SET(ConnectionNumber(d), &fds);
            struct timeval tv = {0, 100000};
            select(ConnectionNumber(d) + 1, &fds, NULL, NULL, &tv);
            continue;
        }
        XEvent e;
        XNextEvent(d, &e);
        if (e.type == ClientMessage && e.xclient.message_type == enter)
        {
            source = (Window)e.xclient.data.l[0];
            char* type = XGetAtomName(d, (Atom)e.xclient.data.l[2]);
            printf("{\"event\": \"enter\", \"version\": %ld, \"type\": ", (e.xclient.data.l[1] >> 24) & 0xff);
            print_json_string(type, strlen(type));
            printf("}\n");
            fflush(stdout);
            XFree(type);
        }
        else if (e.type == ClientMessage && e.xclient.message_type == position)
            send_message(d, (Window)e.xclient.data.l[0], status, (long)w, 1, 0, 0, (long)copy);
        else if (e.type == ClientMessage && e.xclient.message_type == drop)
            XConvertSelection(d, selection, uri_list, into, w, (Time)e.xclient.data.l[2]);
        else if (e.type == SelectionNotify && e.xselection.property == into)
        {
            Atom type = None;
            int format = 0;
            unsigned long count = 0, after = 0;
            unsigned char* data = NULL;
            XGetWindowProperty(d, w, into, 0, 1 << 20, True, AnyPropertyType, &type, &format, &count, &after, &data);
            printf("{\"event\": \"drop\", \"data\": ");
            print_json_string((const char*)data, data != NULL ? count : 0);
            printf("}\n");
            fflush(stdout);
            if (data != NULL)
                XFree(data);
            send_message(d, source, finished, (long)w, 1, (long)copy, 0, 0);
            XCloseDisplay(d);
            return 0;
        }
        else if (e.type == SelectionNotify)
        {
            printf("{\"event\": \"drop\", \"data\": null}\n");
            fflush(stdout);
        }
    }
    printf("{\"event\": \"timeout\"}\n");
    XCloseDisplay(d);
    return 1;
}
