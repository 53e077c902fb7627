#!/usr/bin/python3
"""Move the pointer of an X display with the XTEST extension (libXtst), as a
user moving the mouse would: the client sends input after an idle period.
    DISPLAY=:71 x-pointer.py X,Y [X,Y...]"""
import ctypes
import sys
import time

x11 = ctypes.CDLL("libX11.so.6")
xtst = ctypes.CDLL("libXtst.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XFlush.argtypes = [ctypes.c_void_p]
x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_ulong]
dpy = x11.XOpenDisplay(None)
if not dpy:
    sys.exit("cannot open display")
for arg in sys.argv[1:]:
    x, y = (int(v) for v in arg.split(","))
    xtst.XTestFakeMotionEvent(dpy, -1, x, y, 0)
    x11.XFlush(dpy)
    time.sleep(0.2)
x11.XCloseDisplay(dpy)
