"""Frames from a camera: RTSP, HTTP MJPEG, a video file or a V4L2 device, via OpenCV.

    async with Camera(CameraSettings(source="http://10.0.0.9/video.mjpg")) as cam:
        frames = await cam.burst(5, 0.2)      # the lane's loop detector fired
        async for frame in cam.frames():      # or watch the stream
            ...

A background grabber keeps only the newest frame, so a burst taken when a trigger
fires shows the truck now, not what the stream buffered seconds ago. A stream that
drops is reopened with jittered exponential back-off; the loss is logged once when
it goes and once when it comes back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from contract.tasks import cancel_and_wait, within

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_STUCK_CONNECTIONS = 3


class CameraError(Exception):
    """Root of the camera driver's errors."""


class CameraUnavailable(CameraError):
    """No frame could be had within the time asked for."""


class CameraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        description="rtsp://..., http(s)://... (MJPEG), a video file path, /dev/videoN or N"
    )
    camera_id: str = Field(default="cam", description="View id carried by every frame.")
    open_timeout_s: float = Field(default=5.0, gt=0, description="Give up opening after this.")
    read_timeout_s: float = Field(
        default=5.0, gt=0, description="A silent stream is dead after this."
    )
    backoff_initial_s: float = Field(default=0.5, gt=0, description="First reconnect delay.")
    backoff_max_s: float = Field(default=30.0, gt=0, description="Longest reconnect delay.")
    file_fps: float = Field(
        default=0.0, ge=0, description="Pace for video files (0: the file's own frame rate)."
    )
    loop_file: bool = Field(
        default=False, description="Replay a video file from the start at its end."
    )


@dataclass(frozen=True)
class CameraFrame:
    image: np.ndarray  # BGR, uint8
    at: datetime  # UTC, when it was grabbed
    seq: int  # 1, 2, 3... over the camera's life, across reconnects
    camera_id: str


@dataclass
class CameraStats:
    frames: int = 0
    opens: int = 0
    failed_opens: int = 0
    read_failures: int = 0  # reads that ended a connection
    reconnects: int = 0  # connections reopened after a loss
    hung_calls: int = 0  # opens or reads given up on by the watchdog
    connected: bool = False


def source_kind(source: str) -> str:
    if source.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if source.startswith(("http://", "https://")):
        return "http"
    if source.isdigit() or source.startswith("/dev/video"):
        return "v4l2"
    return "file"


def open_capture(settings: CameraSettings) -> cv2.VideoCapture:
    """Open the source with the backend that fits it, or raise CameraError."""
    kind = source_kind(settings.source)
    timeouts = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(settings.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(settings.read_timeout_s * 1000),
    ]
    if kind == "file" and not Path(settings.source).exists():  # a file, or a pipe fed frames
        raise CameraError(f"no video file at {settings.source}")
    try:
        if kind == "v4l2":
            device = int(settings.source) if settings.source.isdigit() else settings.source
            cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        elif kind == "file":
            cap = cv2.VideoCapture(settings.source, cv2.CAP_FFMPEG)
        else:
            cap = cv2.VideoCapture(settings.source, cv2.CAP_FFMPEG, timeouts)
    except cv2.error as err:
        raise CameraError(f"cannot open {kind} source {settings.source}: {err}") from err
    if not cap.isOpened():
        cap.release()
        raise CameraError(f"cannot open {kind} source {settings.source}")
    return cap


class _Connection:
    """One connection to the source, on a thread of its own that opens, reads and releases.

    A thread per connection, so that a call that never returns takes only its own
    connection with it: the camera gives up on it and opens another. FFmpeg's timeouts
    do not cover every such call (a pipe whose writer stalls blocks in the kernel; a
    decoder can stick in a stream that still sends bytes). The thread is a daemon so
    that a stuck call cannot hold the process at exit.
    """

    def __init__(self, settings: CameraSettings) -> None:
        self.settings = settings
        self._cap: cv2.VideoCapture | None = None
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._released: asyncio.Future[None] | None = None
        self.thread = threading.Thread(
            target=self._serve, name=f"cam-{settings.camera_id}", daemon=True
        )
        self.thread.start()

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run `fn` on this connection's thread, after whatever was asked before it."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            # Runs even when the caller gave up waiting (a release must still happen);
            # once running, the caller's cancel no longer reaches `done`.
            wanted = done.set_running_or_notify_cancel()
            try:
                result = fn()
            except Exception as err:  # handed to whoever awaits the call
                if wanted:
                    done.set_exception(err)
                return
            if wanted:
                done.set_result(result)

        self._jobs.put(job)
        return asyncio.wrap_future(done)

    def close(self) -> asyncio.Future[None]:
        """Release the capture after any call still running, then end the thread."""
        if self._released is None:
            self._released = self.call(self._release)
            self._jobs.put(None)
        return self._released

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def open(self) -> float:
        """Open the source; its frame rate (0 where it does not say)."""
        self._cap = open_capture(self.settings)
        return float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        try:
            ok, image = self._cap.read()
        except cv2.error as err:  # a broken stream can make the decoder throw
            log.debug("camera %s: read failed: %s", self.settings.camera_id, err)
            return None
        return image if ok and image is not None else None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class _Hung(Exception):
    """A call on the connection's thread ran past its watchdog."""


class Camera:
    """One camera: a grabber task keeps its newest frame, read on the connection's thread."""

    def __init__(self, settings: CameraSettings) -> None:
        self.settings = settings
        self.stats = CameraStats()
        self._connection: _Connection | None = None
        self._stuck: list[_Connection] = []  # given up on, their call still running
        self._latest: CameraFrame | None = None
        self._new_frame = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._ended = False  # a file played to its end (and not looped)

    async def __aenter__(self) -> Camera:
        self._task = asyncio.create_task(
            self._grab_forever(), name=f"camera-{self.settings.camera_id}"
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._task is not None:
                await cancel_and_wait(self._task)
        finally:
            if self._connection is not None:
                await self._close(self._connection)

    async def _close(self, connection: _Connection) -> None:
        # The release waits behind any read the thread is still in. It is awaited so
        # that the stream is let go when the camera is closed, but only for as long as
        # a read may take: a stuck read is left to end on its own thread. Shielded, so
        # that a cancellation arriving now cannot stop the release from being queued.
        released = connection.close()
        try:
            await within(asyncio.shield(released), self.settings.read_timeout_s)
        except TimeoutError:
            log.warning(
                "camera %s: closed while a read is stuck; its stream is released when the "
                "read returns",
                self.settings.camera_id,
            )

    # -- the grabber ----------------------------------------------------------------

    async def _watched(self, connection: _Connection, fn: Callable[[], T], limit_s: float) -> T:
        """`fn`'s result on the connection's thread, or _Hung past `limit_s` (it runs on)."""
        try:
            return await within(connection.call(fn), limit_s)
        except TimeoutError:
            self.stats.hung_calls += 1
            self._stuck.append(connection)
            raise _Hung(f"no answer in {limit_s:.0f} s") from None

    def _file_interval_s(self, fps: float) -> float:
        if source_kind(self.settings.source) != "file":
            return 0.0
        fps = self.settings.file_fps or fps
        return 1.0 / fps if fps > 0 else 0.04

    async def _grab_forever(self) -> None:
        attempt = 0
        seq = 0
        was_lost = False
        while True:
            # Each stuck call holds a thread and a stream until it returns: a few at most.
            self._stuck = [c for c in self._stuck if c.thread.is_alive()]
            if len(self._stuck) >= MAX_STUCK_CONNECTIONS:
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                continue
            connection = self._connection = _Connection(self.settings)
            try:
                fps = await self._watched(connection, connection.open, self._open_limit_s)
            except (CameraError, _Hung) as err:
                connection.close()
                self.stats.failed_opens += 1
                if attempt == 0:
                    log.warning("camera %s unavailable: %s", self.settings.camera_id, err)
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                continue
            self.stats.opens += 1
            if was_lost:
                self.stats.reconnects += 1
                log.warning("camera %s is back", self.settings.camera_id)
            self.stats.connected = True
            attempt = 0
            seq, hung = await self._pump(connection, seq, fps)
            connection.close()
            self.stats.connected = False
            is_file = source_kind(self.settings.source) == "file"
            if is_file and not hung and not self.settings.loop_file:
                log.info("camera %s: end of file", self.settings.camera_id)
                async with self._new_frame:
                    self._ended = True
                    self._new_frame.notify_all()
                return
            if not is_file or hung:
                self.stats.read_failures += 1
                if not hung:
                    log.warning("camera %s lost its stream; reconnecting", self.settings.camera_id)
                was_lost = True

    async def _pump(self, connection: _Connection, seq: int, fps: float) -> tuple[int, bool]:
        """Publish the connection's frames until a read fails; the last seq, and whether
        the read that ended it hung."""
        interval = self._file_interval_s(fps)
        while True:
            started = time.monotonic()
            try:
                image = await self._watched(connection, connection.read, self._read_limit_s)
            except _Hung:
                log.warning(
                    "camera %s: a read has not returned in %.0f s; opening the source again",
                    self.settings.camera_id,
                    self._read_limit_s,
                )
                return seq, True
            if image is None:
                return seq, False
            seq += 1
            self.stats.frames += 1
            frame = CameraFrame(image, datetime.now(UTC), seq, self.settings.camera_id)
            async with self._new_frame:
                self._latest = frame
                self._new_frame.notify_all()
            if interval:
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    @property
    def _open_limit_s(self) -> float:
        # FFmpeg's own timeouts end most stuck calls; this catches the ones they miss.
        return 2 * self.settings.open_timeout_s + 1.0

    @property
    def _read_limit_s(self) -> float:
        return 2 * self.settings.read_timeout_s + 1.0

    def _backoff(self, attempt: int) -> float:
        # Jittered so that the cameras of a gate that lost power together do not
        # all knock at once when it comes back.
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_initial_s * 2**attempt)
        return ceiling * random.uniform(0.5, 1.0)

    # -- what users call ------------------------------------------------------------

    async def next_frame(self, after_seq: int = 0, timeout_s: float | None = None) -> CameraFrame:
        """The first frame newer than `after_seq`; CameraUnavailable if none comes in time."""
        timeout = timeout_s if timeout_s is not None else self.settings.read_timeout_s

        def ready() -> bool:
            return self._ended or (self._latest is not None and self._latest.seq > after_seq)

        async with self._new_frame:
            try:
                await within(self._new_frame.wait_for(ready), timeout)
            except TimeoutError as err:
                raise CameraUnavailable(
                    f"camera {self.settings.camera_id}: no frame in {timeout:.1f} s"
                ) from err
            if self._latest is None or self._latest.seq <= after_seq:
                raise CameraUnavailable(f"camera {self.settings.camera_id}: source ended")
            return self._latest

    async def frames(self) -> AsyncIterator[CameraFrame]:
        """Every new frame (the newest at each step: a slow consumer skips frames)."""
        seq = 0
        while True:
            try:
                frame = await self.next_frame(seq, timeout_s=3600.0)
            except CameraUnavailable:
                if self._ended:
                    return
                continue
            seq = frame.seq
            yield frame

    async def burst(
        self, n_frames: int, interval_s: float, timeout_s: float | None = None
    ) -> list[CameraFrame]:
        """`n_frames` fresh frames, `interval_s` apart: what a trigger asks for."""
        if n_frames < 1:
            raise CameraError("a burst needs at least one frame")
        frames: list[CameraFrame] = []
        seq = self._latest.seq if self._latest else 0
        for i in range(n_frames):
            frame = await self.next_frame(seq, timeout_s)
            frames.append(frame)
            seq = frame.seq
            if i < n_frames - 1:
                await asyncio.sleep(interval_s)
        return frames
