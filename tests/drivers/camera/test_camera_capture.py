"""Camera capture against a real MJPEG HTTP server on loopback and real video files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEIGHT, WIDTH, MjpegCamera, RtspCamera, scene, stamp_of

from drivers.camera import (
    MAX_STUCK_CONNECTIONS,
    Camera,
    CameraSettings,
    CameraUnavailable,
    MotionDetector,
    motion_bursts,
    source_kind,
)

FAST = {
    "open_timeout_s": 2.0,
    "read_timeout_s": 2.0,
    "backoff_initial_s": 0.05,
    "backoff_max_s": 0.3,
}


def test_source_kinds() -> None:
    assert source_kind("rtsp://10.0.0.9/stream1") == "rtsp"
    assert source_kind("http://10.0.0.9/video.mjpg") == "http"
    assert source_kind("/dev/video0") == "v4l2"
    assert source_kind("0") == "v4l2"
    assert source_kind("/var/recordings/lane1.avi") == "file"


async def test_burst_from_mjpeg_stream(mjpeg_camera: MjpegCamera) -> None:
    settings = CameraSettings(source=mjpeg_camera.url, camera_id="lane1-front", **FAST)
    async with Camera(settings) as cam:
        frames = await cam.burst(3, 0.05)
    assert [f.seq for f in frames] == sorted({f.seq for f in frames})
    assert all(f.image.shape == (HEIGHT, WIDTH, 3) for f in frames)
    assert all(f.camera_id == "lane1-front" and f.at.tzinfo == UTC for f in frames)
    # Frames are fresh and distinct: the server numbers them.
    stamps = [stamp_of(f.image) for f in frames]
    assert len(set(stamps)) == 3


async def test_reconnects_when_the_camera_comes_back(mjpeg_camera: MjpegCamera) -> None:
    settings = CameraSettings(source=mjpeg_camera.url, **FAST)
    async with Camera(settings) as cam:
        await cam.burst(2, 0.02)
        mjpeg_camera.stop()
        for _ in range(100):
            if not cam.stats.connected:
                break
            await asyncio.sleep(0.05)
        assert not cam.stats.connected
        assert cam.stats.read_failures >= 1
        with pytest.raises(CameraUnavailable):
            await cam.burst(1, 0, timeout_s=0.5)
        mjpeg_camera.start()
        frames = await cam.burst(2, 0.02, timeout_s=5.0)
        assert len(frames) == 2
        assert cam.stats.reconnects >= 1
        assert cam.stats.connected


async def test_dead_stream_gives_a_clear_error() -> None:
    nobody = MjpegCamera()  # a free port with no server behind it
    settings = CameraSettings(source=nobody.url, **FAST)
    async with Camera(settings) as cam:
        with pytest.raises(CameraUnavailable, match="no frame in"):
            await cam.next_frame(timeout_s=0.6)
        assert cam.stats.failed_opens >= 1
        assert cam.stats.frames == 0


def write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 25.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(scene(i, vehicle=i >= frames // 2))
    writer.release()


async def test_video_file_plays_to_its_end(tmp_path: Path) -> None:
    video = tmp_path / "lane.avi"
    write_video(video, 12)
    settings = CameraSettings(source=str(video), file_fps=200.0, **FAST)
    async with Camera(settings) as cam:
        seen = [frame async for frame in cam.frames()]
    # A slow consumer may skip frames, never repeat them; the last one always arrives.
    assert 1 <= len(seen) <= 12
    assert seen[-1].seq == 12
    assert cam.stats.frames == 12


async def test_missing_file_is_retried_until_it_appears(tmp_path: Path) -> None:
    video = tmp_path / "later.avi"
    settings = CameraSettings(source=str(video), file_fps=100.0, **FAST)
    async with Camera(settings) as cam:
        await asyncio.sleep(0.3)
        assert cam.stats.failed_opens >= 1
        write_video(video, 5)
        frame = await cam.next_frame(timeout_s=5.0)
    assert frame.image.shape == (HEIGHT, WIDTH, 3)


def test_motion_detector_sees_a_vehicle_arrive() -> None:
    detector = MotionDetector()
    still = [detector.update(scene(i, vehicle=False)) for i in range(3)]
    arrived = detector.update(scene(3, vehicle=True))
    standing = detector.update(scene(4, vehicle=True))
    assert still == [False, False, False]
    assert arrived is True
    assert standing is False


def test_motion_detector_ignores_sensor_noise() -> None:
    rng = np.random.default_rng(0)
    detector = MotionDetector()
    base = scene(0, vehicle=False).astype(np.int16)
    noisy = [
        np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8) for _ in range(5)
    ]
    assert not any(detector.update(img) for img in noisy)


async def test_motion_starts_a_burst(mjpeg_camera: MjpegCamera) -> None:
    settings = CameraSettings(source=mjpeg_camera.url, **FAST)
    async with Camera(settings) as cam:
        bursts = motion_bursts(cam, MotionDetector(), n_frames=3, interval_s=0.02)
        await cam.burst(3, 0.02)  # the lane is quiet
        mjpeg_camera.vehicle = True
        burst = await asyncio.wait_for(anext(bursts), timeout=5.0)
        await bursts.aclose()
    assert len(burst) == 3
    assert all(f.image[100, 150, 2] > 150 for f in burst)  # the red truck is in view


async def test_rtsp_stream_and_reconnect(rtsp_camera: RtspCamera) -> None:
    settings = CameraSettings(source=rtsp_camera.url, camera_id="lane1-top", **FAST)
    async with Camera(settings) as cam:
        frames = await cam.burst(3, 0.05, timeout_s=10.0)
        assert [f.image.shape for f in frames] == [(HEIGHT, WIDTH, 3)] * 3
        rtsp_camera.stop()
        for _ in range(200):
            if not cam.stats.connected:
                break
            await asyncio.sleep(0.05)
        assert not cam.stats.connected
        rtsp_camera.start()
        again = await cam.burst(2, 0.05, timeout_s=15.0)
    assert len(again) == 2 and again[0].seq > frames[-1].seq
    assert cam.stats.reconnects >= 1


async def test_broken_frames_in_the_stream_do_not_stop_the_camera(
    mjpeg_camera: MjpegCamera,
) -> None:
    settings = CameraSettings(source=mjpeg_camera.url, **FAST)
    async with Camera(settings) as cam:
        await cam.burst(2, 0.02)
        mjpeg_camera.garbage = True
        await asyncio.sleep(0.5)
        mjpeg_camera.garbage = False
        frames = await cam.burst(3, 0.05, timeout_s=10.0)
    assert all(f.image.shape == (HEIGHT, WIDTH, 3) for f in frames)
    assert [f.seq for f in frames] == sorted(f.seq for f in frames)


def grabber_threads(camera_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"cam-{camera_id}")]


async def until_no_grabber(camera_id: str) -> None:
    await until(lambda: not grabber_threads(camera_id), f"{camera_id}'s grabber threads end")


@pytest.mark.parametrize("cancels", [1, 2])
async def test_a_cancelled_user_ends_the_camera_and_stays_cancelled(
    mjpeg_camera: MjpegCamera, cancels: int
) -> None:
    # A lane shutting down cancels the task that holds the camera, sometimes twice (a
    # supervisor's own timeout): the task ends cancelled and the grabber thread ends
    # with its stream released, though closing no longer waits on the thread.
    # (That a cancellation during the close is never swallowed: tests/contract/test_tasks.py.)
    settings = CameraSettings(source=mjpeg_camera.url, camera_id=f"closing{cancels}", **FAST)
    watching = asyncio.Event()

    async def lane() -> None:
        async with Camera(settings) as cam:
            await cam.next_frame()
            watching.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(lane())
    await asyncio.wait_for(watching.wait(), 10)
    assert grabber_threads(settings.camera_id)
    for _ in range(cancels):
        task.cancel()
        await asyncio.sleep(0)  # the second lands while the camera is closing
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    await until_no_grabber(settings.camera_id)


class StallingPipe:
    """A pipe fed JPEG frames by a writer that can stall with the pipe still open, as a
    hung encoder does. FFmpeg's read then blocks in the kernel, where its timeouts do not
    reach: the read never returns until the writer goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.stalled = threading.Event()
        self.gone = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # waits for the camera to open the pipe
        # The camera may close its end first (a test that failed early): nothing to do.
        with contextlib.suppress(BrokenPipeError):
            index = 0
            while not self.stalled.is_set():
                os.write(fd, cv2.imencode(".jpg", scene(index, vehicle=False))[1].tobytes())
                index += 1
            self.gone.wait(60)
        os.close(fd)

    def unblocked(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """`condition`, asked after letting go any reader that opens the pipe meanwhile (a
        pipe's open waits for a writer, and FFmpeg opens it again when its read fails)."""

        def poked() -> bool:
            with contextlib.suppress(OSError):  # ENXIO: nobody is opening it
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            return condition()

        return poked


async def test_a_read_that_never_returns_is_given_up_and_does_not_hold_the_close(
    tmp_path: Path,
) -> None:
    pipe = StallingPipe(tmp_path / "lane.mjpeg")
    quick = FAST | {"open_timeout_s": 0.5, "read_timeout_s": 0.5}
    settings = CameraSettings(source=str(pipe.path), camera_id="stalled", file_fps=100, **quick)

    async def watch() -> None:
        async with Camera(settings) as cam:
            await cam.next_frame(timeout_s=10.0)
            pipe.stalled.set()
            await until(lambda: cam.stats.hung_calls >= 1)
            assert not cam.stats.connected  # the stuck read was given up on...
            assert cam.stats.read_failures >= 1  # ...as a lost stream, not a file's end
            assert not cam._ended
            # Reopening hangs too (the pipe is silent): a few stuck threads, no more.
            await until(lambda: cam.stats.hung_calls >= MAX_STUCK_CONNECTIONS)
            await asyncio.sleep(1.0)
            assert cam.stats.hung_calls == MAX_STUCK_CONNECTIONS
            assert len(grabber_threads("stalled")) == MAX_STUCK_CONNECTIONS

    # The close does not wait on a stuck read for ever (it used to).
    await asyncio.wait_for(watch(), 60)
    assert grabber_threads("stalled")  # still in their reads...
    pipe.gone.set()
    await until(pipe.unblocked(lambda: not grabber_threads("stalled")))  # ...until it goes


async def until(condition: Callable[[], bool], what: str = "the condition") -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
