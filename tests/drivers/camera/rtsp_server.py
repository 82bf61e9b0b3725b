"""A real RTSP server (GStreamer's, from Debian) streaming a live test pattern as MJPEG/RTP.

Run with the system Python, which has the GObject bindings:
    /usr/bin/python3 rtsp_server.py PORT
Prints "ready" once it listens on rtsp://127.0.0.1:PORT/lane.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(sys.argv[1])
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball"
    " ! video/x-raw,format=I420,width=320,height=240,framerate=25/1"
    " ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"  # RTP/JPEG needs 4:2:0
)
factory.set_shared(True)
server.get_mount_points().add_factory("/lane", factory)
server.attach(None)
print("ready", flush=True)
GLib.MainLoop().run()
