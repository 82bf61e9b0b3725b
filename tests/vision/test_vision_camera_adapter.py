"""The lane's camera adapter end to end: a real MJPEG server on loopback -> capture -> reads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from contract import IdentifierKind
from contract.tasks import cancel_and_wait
from drivers.barrier import PlcSettings
from edge.adapters.camera import CameraAdapter, CameraConfig, CameraView
from edge.config import LaneConfig
from edge.lane import Lane
from edge.observations import IdentifierRead, Observation
from vision.config import VisionConfig
from vision.synth import hazard_patch, render_container_scene, render_plate_scene

PLATE = render_plate_scene(np.random.default_rng(1), region="br")
EMPTY_LANE = np.full_like(PLATE.image, 120)


class SceneServer:
    """Serves whatever `image` is as an MJPEG stream, like an IP camera."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=f")
                self.end_headers()
                try:
                    while server.live:
                        _, jpeg = cv2.imencode(".jpg", server.image)
                        body = jpeg.tobytes()
                        head = f"--f\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}"
                        head += "\r\n\r\n"
                        self.wfile.write(head.encode() + body + b"\r\n")
                        time.sleep(0.04)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.live = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # the kernel's free port
        self.port = int(self.httpd.server_address[1])
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.live = False
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def camera_server() -> Iterator[SceneServer]:
    server = SceneServer(EMPTY_LANE)
    yield server
    server.close()


def adapter_for(
    server: SceneServer,
    trigger: str,
    seen: list[Observation],
    vision: VisionConfig | None = None,
) -> CameraAdapter:
    config = CameraConfig(
        name="lane1-cam",
        views=[CameraView(view="front", source=f"http://127.0.0.1:{server.port}/video.mjpg")],
        trigger=trigger,  # type: ignore[arg-type]
        burst_frames=2,
        burst_interval_s=0.05,
        vision=vision or VisionConfig(regions=["br"]),
    )
    return CameraAdapter(config, seen.append)


async def wait_until(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_capture_reports_plate_reads_with_crops(camera_server: SceneServer) -> None:
    seen: list[Observation] = []
    adapter = adapter_for(camera_server, "external", seen)
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        camera_server.image = PLATE.image
        await asyncio.sleep(0.3)  # the newest frame shows the truck now
        count = await adapter.capture()
    finally:
        await cancel_and_wait(task)
    reads = [o for o in seen if isinstance(o, IdentifierRead)]
    assert count == len(reads) >= 1
    plate = next(r for r in reads if r.value == PLATE.objects[0].text)
    assert plate.kind == IdentifierKind.PLATE
    assert plate.source == "lane1-cam:front"
    assert plate.detail["frames"] == "2"
    assert plate.crop_jpeg is not None and plate.crop_jpeg.startswith(b"\xff\xd8")


async def test_a_container_camera_reports_the_code_its_boxes_show(
    camera_server: SceneServer,
) -> None:
    side = render_container_scene(np.random.default_rng(12), vertical=False)
    seen: list[Observation] = []
    adapter = adapter_for(camera_server, "external", seen, VisionConfig(read_plates=False))
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        camera_server.image = side.image
        await asyncio.sleep(0.3)  # the newest frame shows the container now
        await adapter.capture()
        stats = adapter.vision().stats
    finally:
        await cancel_and_wait(task)
    reads = [o for o in seen if isinstance(o, IdentifierRead)]
    assert [(r.kind, r.value) for r in reads] == [(IdentifierKind.CONTAINER, side.objects[0].text)]
    assert reads[0].detail["views"] == "front" and stats["code_boxes"] >= 1


async def test_motion_starts_a_capture(camera_server: SceneServer) -> None:
    seen: list[Observation] = []
    adapter = adapter_for(camera_server, "motion", seen)
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        await asyncio.sleep(0.3)
        assert seen == []  # an empty, still lane reads nothing
        camera_server.image = PLATE.image  # the truck pulls up
        await wait_until(
            lambda: any(getattr(o, "value", "") == PLATE.objects[0].text for o in seen)
        )
    finally:
        await cancel_and_wait(task)


async def test_probe_says_whether_the_camera_answers(camera_server: SceneServer) -> None:
    ok = await adapter_for(camera_server, "external", []).probe()
    assert ok.ok and "front: 800x600 frame" in ok.detail and "read area" not in ok.detail
    lane_only = adapter_for(camera_server, "external", [])
    lane_only.config.views[0] = CameraView(
        view="front", source=lane_only.config.views[0].source, read_area=(0.25, 0.5, 1.0, 1.0)
    )
    area = await lane_only.probe()
    assert area.ok and "read area 600x300 at (200, 300)" in area.detail
    camera_server.close()
    dead = await adapter_for(camera_server, "external", []).probe()
    assert not dead.ok


# The truck in the left half of a wide frame, the right half an empty lane.
NEXT_LANE_TRUCK = np.hstack([PLATE.image, EMPTY_LANE])
WIDE_EMPTY = np.hstack([EMPTY_LANE, EMPTY_LANE])


async def test_a_view_reads_only_its_read_area(camera_server: SceneServer) -> None:
    camera_server.image = NEXT_LANE_TRUCK
    seen: list[Observation] = []
    source = f"http://127.0.0.1:{camera_server.port}/video.mjpg"
    config = CameraConfig(
        name="lane1-cam",
        views=[
            CameraView(view="lane", source=source, read_area=(0.5, 0.0, 1.0, 1.0)),
            CameraView(view="whole", source=source),
        ],
        trigger="external",
        burst_frames=1,
        vision=VisionConfig(regions=["br"]),
    )
    adapter = CameraAdapter(config, seen.append)
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        await adapter.capture()
    finally:
        await cancel_and_wait(task)
    plates = [o for o in seen if isinstance(o, IdentifierRead) and o.kind == IdentifierKind.PLATE]
    assert [(p.value, p.source) for p in plates] == [(PLATE.objects[0].text, "lane1-cam:whole")]


async def test_motion_outside_the_read_area_starts_nothing(camera_server: SceneServer) -> None:
    camera_server.image = WIDE_EMPTY
    seen: list[Observation] = []
    config = CameraConfig(
        name="lane1-cam",
        views=[
            CameraView(
                view="front",
                source=f"http://127.0.0.1:{camera_server.port}/video.mjpg",
                read_area=(0.5, 0.0, 1.0, 1.0),
            )
        ],
        trigger="motion",
        burst_frames=1,
        cooldown_s=0.0,
        vision=VisionConfig(regions=["br"]),
    )
    adapter = CameraAdapter(config, seen.append)
    captures: list[int] = []
    capture = adapter.capture

    async def counted() -> int:
        captures.append(await capture())
        return captures[-1]

    adapter.capture = counted  # type: ignore[method-assign]
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        camera_server.image = NEXT_LANE_TRUCK  # a truck pulls up in the next lane
        await asyncio.sleep(1.0)
        assert captures == []
        camera_server.image = np.hstack([EMPTY_LANE, PLATE.image])  # and now in this one
        await wait_until(
            lambda: any(getattr(o, "value", "") == PLATE.objects[0].text for o in seen)
        )
    finally:
        await cancel_and_wait(task)
    assert captures and captures[0] >= 1


def test_a_read_area_must_be_a_part_of_the_frame() -> None:
    for bad in [
        (0.5, 0.0, 0.2, 1.0),
        (0.0, 0.0, 1.5, 1.0),
        (-0.1, 0.0, 1.0, 1.0),
        (0.2, 0.3, 0.2, 0.9),
    ]:
        with pytest.raises(ValidationError, match="read area"):
            CameraView(view="front", source="cam.mp4", read_area=bad)
    assert CameraView(view="front", source="cam.mp4", read_area=(0, 0.25, 1, 1)).read_area == (
        0.0,
        0.25,
        1.0,
        1.0,
    )


async def test_a_lane_counts_its_camera_bursts_and_their_reading_time(
    camera_server: SceneServer,
) -> None:
    camera = adapter_for(camera_server, "external", []).config
    lane = Lane(
        "gate-x",
        LaneConfig(lane_id="lane-1", plc=PlcSettings(), devices=[camera]),
        emit=lambda _message: None,
        central_keys={},
        seen_decisions=set(),
        remember_decision=lambda _id: None,
        signing=None,
        clock_skew=timedelta(seconds=5),
    )
    (device,) = lane.devices
    assert isinstance(device, CameraAdapter)
    task = asyncio.create_task(device.session())
    try:
        await wait_until(lambda: device.health.available)
        await device.capture()  # the empty lane: nothing read
        camera_server.image = PLATE.image
        await asyncio.sleep(0.3)  # the newest frame shows the truck now
        assert await device.capture() >= 1
    finally:
        await cancel_and_wait(task)
    sample = lane.metrics.registry.get_sample_value
    labels = {"device": "lane1-cam"}
    assert sample("corridor_edge_camera_bursts_total", {**labels, "outcome": "nothing"}) == 1
    assert sample("corridor_edge_camera_bursts_total", {**labels, "outcome": "read"}) == 1
    assert sample("corridor_edge_camera_read_seconds_count", labels) == 2
    assert 0 < (sample("corridor_edge_camera_read_seconds_sum", labels) or 0) < 60


async def test_an_orange_plate_is_reported_as_a_hazard_read(camera_server: SceneServer) -> None:
    tanker = PLATE.image.copy()
    orange = hazard_patch("33", "1203", 96)
    tanker[60 : 60 + orange.shape[0], 80 : 80 + orange.shape[1]] = orange
    camera_server.image = tanker
    seen: list[Observation] = []
    adapter = adapter_for(camera_server, "external", seen)
    task = asyncio.create_task(adapter.session())
    try:
        await wait_until(lambda: adapter.health.available)
        await asyncio.sleep(0.3)  # the newest frame shows the tanker
        await adapter.capture()
    finally:
        await cancel_and_wait(task)
    reads = {(r.kind, r.value): r for r in seen if isinstance(r, IdentifierRead)}
    hazard = reads[(IdentifierKind.HAZARD, "33/1203")]
    assert hazard.detail == {"views": "front", "frames": "2"}
    assert hazard.crop_jpeg is not None and hazard.crop_jpeg.startswith(b"\xff\xd8")
    assert (IdentifierKind.PLATE, PLATE.objects[0].text) in reads
