#!/usr/bin/python3
"""Ask every top-level window of an X display to close, as a user clicking
the window's close button does through a window manager: a ClientMessage
WM_PROTOCOLS / WM_DELETE_WINDOW (ICCCM) sent to each window that lists
WM_DELETE_WINDOW in its WM_PROTOCOLS.
    DISPLAY=:71 x-close.py"""
import ctypes
import sys

x11 = ctypes.CDLL("libX11.so.6")
c_p = ctypes.c_void_p
x11.XOpenDisplay.restype = c_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XDefaultRootWindow.restype = ctypes.c_ulong
x11.XDefaultRootWindow.argtypes = [c_p]
x11.XInternAtom.restype = ctypes.c_ulong
x11.XInternAtom.argtypes = [c_p, ctypes.c_char_p, ctypes.c_int]
x11.XQueryTree.argtypes = [c_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                           ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)), ctypes.POINTER(ctypes.c_uint)]
x11.XGetWMProtocols.argtypes = [c_p, ctypes.c_ulong, ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)), ctypes.POINTER(ctypes.c_int)]
x11.XSendEvent.argtypes = [c_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, c_p]
x11.XFlush.argtypes = [c_p]
x11.XCloseDisplay.argtypes = [c_p]


class XClientMessageEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", c_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("l", ctypes.c_long * 5)]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", XClientMessageEvent), ("pad", ctypes.c_long * 24)]


CLIENT_MESSAGE = 33
dpy = x11.XOpenDisplay(None)
if not dpy:
    sys.exit("cannot open display")
wm_protocols = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
wm_delete = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
root, parent = ctypes.c_ulong(), ctypes.c_ulong()
children, n = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
x11.XQueryTree(dpy, x11.XDefaultRootWindow(dpy), ctypes.byref(root), ctypes.byref(parent),
               ctypes.byref(children), ctypes.byref(n))
sent = 0
for i in range(n.value):
    w = children[i]
    protos, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_int()
    if not x11.XGetWMProtocols(dpy, w, ctypes.byref(protos), ctypes.byref(count)):
        continue
    if wm_delete not in [protos[j] for j in range(count.value)]:
        continue
    ev = XEvent()
    ev.xclient.type = CLIENT_MESSAGE
    ev.xclient.window = w
    ev.xclient.message_type = wm_protocols
    ev.xclient.format = 32
    ev.xclient.l[0] = wm_delete
    x11.XSendEvent(dpy, w, 0, 0, ctypes.byref(ev))
    sent += 1
x11.XFlush(dpy)
x11.XCloseDisplay(dpy)
print(f"WM_DELETE_WINDOW sent to {sent} window(s)")
