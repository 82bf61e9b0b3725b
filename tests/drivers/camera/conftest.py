"""Real camera stand-ins on loopback: an MJPEG-over-HTTP server and GStreamer's RTSP server,
both of which can be unplugged and plugged back."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from corridor.broker import free_port

WIDTH, HEIGHT = 320, 240
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi (scripts/ensure-system-deps)


def scene(index: int, vehicle: bool) -> np.ndarray:
    """A still lane; the frame number is stamped top left (see `stamp_of`); a vehicle if asked."""
    image = np.full((HEIGHT, WIDTH, 3), 150, np.uint8)
    cv2.rectangle(image, (0, 180), (WIDTH, HEIGHT), (60, 60, 60), -1)  # road
    if vehicle:
        cv2.rectangle(image, (60, 60), (260, 200), (30, 30, 220), -1)
    image[:16, :16] = (index % 30) * 8  # a flat 16 px block survives JPEG
    return image


def stamp_of(image: np.ndarray) -> int:
    return round(float(image[4:12, 4:12].mean()) / 8)


class MjpegCamera:
    """multipart/x-mixed-replace JPEG stream, as IP cameras serve it."""

    def __init__(self, fps: float = 25.0) -> None:
        self.fps = fps
        self.vehicle = False
        self.garbage = False  # send broken JPEG parts, as a failing encoder does
        self.port = free_port()  # kept across stop and start
        self._server: ThreadingHTTPServer | None = None
        self._live = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> None:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                index = 0
                try:
                    while camera._live.is_set():
                        _, jpeg = cv2.imencode(".jpg", scene(index, camera.vehicle))
                        body = jpeg.tobytes()
                        if camera.garbage:
                            body = body[:20] + bytes(range(256)) * 4
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(body)).encode()
                            + b"\r\n\r\n"
                            + body
                            + b"\r\n"
                        )
                        index += 1
                        time.sleep(1 / camera.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._live.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Unplug: stop accepting and end every open stream."""
        self._live.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def mjpeg_camera() -> Iterator[MjpegCamera]:
    camera = MjpegCamera()
    camera.start()
    yield camera
    camera.stop()


class RtspCamera:
    """GStreamer's RTSP server (Debian packages, run by the system Python) on loopback."""

    SCRIPT = Path(__file__).with_name("rtsp_server.py")

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/lane"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [SYSTEM_PYTHON, str(self.SCRIPT), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def rtsp_camera() -> Iterator[RtspCamera]:
    camera = RtspCamera()
    camera.start()
    yield camera
    camera.stop()
