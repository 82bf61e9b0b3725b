"""Camera adapter: the lane's own cameras, read by `vision` (plates, container codes).

Each trigger takes a burst from every view of the lane at once; the frames go to
`vision.LaneVision.read_burst` (plates voted across frames, codes fused across
views) and every read becomes an `IdentifierRead` with its JPEG crop as evidence.
The trigger is motion in the first view, or `capture()` called by the lane when
its loop detector trips. Needs the `vision` extra; imported only when it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contract import IdentifierKind, utc_now
from drivers.camera import Camera, CameraError, CameraSettings, MotionDetector
from drivers.probe import ProbeResult
from edge.adapters.base import Adapter, AdapterConfig, ObservationSink, Trip
from edge.observations import IdentifierRead
from vision.area import Area, area_box, area_view, checked_area
from vision.config import VisionConfig  # light: formats and settings, no models

if TYPE_CHECKING:
    from vision.reader import LaneVision


class CameraView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    view: str = Field(description="view id, e.g. front, top, left-back")
    source: str = Field(description="rtsp://, http(s):// MJPEG, a file, or /dev/videoN")
    read_area: tuple[float, float, float, float] | None = Field(
        default=None,
        description="read and watch for motion only this part of the frame: x1, y1, x2, y2 as "
        "fractions of its width and height (the lane, not the next lane, a sign or the "
        "timestamp overlay); omit: the whole frame",
    )

    @field_validator("read_area")
    @classmethod
    def _read_area(cls, value: Area | None) -> Area | None:
        return None if value is None else checked_area(value)


class CameraConfig(AdapterConfig):
    type: Literal["camera"] = "camera"
    views: list[CameraView] = Field(min_length=1, description="the lane's camera views")
    trigger: Literal["motion", "external"] = Field(
        default="motion",
        description="motion in the first view starts a burst; `external`: only capture()",
    )
    burst_frames: int = Field(default=3, ge=1, description="frames per view per burst")
    burst_interval_s: float = Field(default=0.2, ge=0, description="time between burst frames")
    cooldown_s: float = Field(default=5.0, ge=0, description="least time between motion bursts")
    min_confidence: float = Field(default=0.3, ge=0, le=1, description="weaker reads ignored")
    vision: VisionConfig = Field(
        default_factory=VisionConfig, description="what to read and how (regions, patterns...)"
    )


class CameraAdapter(Adapter):
    config: CameraConfig

    def __init__(self, config: CameraConfig, sink: ObservationSink) -> None:
        super().__init__(config, sink)
        self._cameras: list[Camera] = []
        self._vision: LaneVision | None = None
        self._busy = asyncio.Lock()
        self._areas = {v.view: v.read_area for v in config.views}  # by view (camera_id)
        # Told of each burst read: seconds its reading took, reads reported (the lane's metrics).
        self.on_burst: Callable[[float, int], None] | None = None

    def vision(self) -> LaneVision:
        if self._vision is None:
            from vision.reader import LaneVision  # loads the OCR models

            self._vision = LaneVision(self.config.vision)
        return self._vision

    def settings(self, view: CameraView) -> CameraSettings:
        return CameraSettings(source=view.source, camera_id=view.view)

    async def capture(self) -> int:
        """Take one burst from every view, read it, report the reads; returns their count."""
        async with self._busy:  # one passage at a time: bursts must not interleave
            bursts = await asyncio.gather(
                *(
                    c.burst(self.config.burst_frames, self.config.burst_interval_s)
                    for c in self._cameras
                )
            )
            from vision.reader import ContainerRead, Frame, HazardRead

            frames = [
                Frame(f.image, f.camera_id, self._areas.get(f.camera_id))
                for burst in bursts
                for f in burst
            ]
            at = min(f.at for burst in bursts for f in burst)
            started = time.perf_counter()
            reads = await asyncio.to_thread(self.vision().read_burst, frames)
            reading_s = time.perf_counter() - started
            reported = 0
            for read in reads:
                if read.confidence < self.config.min_confidence:
                    continue
                if isinstance(read, ContainerRead):
                    kind, value = IdentifierKind.CONTAINER, read.code
                    detail = {"size_type": read.size_type or "", "views": ",".join(read.views)}
                elif isinstance(read, HazardRead):
                    kind, value = IdentifierKind.HAZARD, read.code
                    detail = {"views": ",".join(read.views), "frames": str(read.frames)}
                else:
                    kind, value = IdentifierKind.PLATE, read.text
                    detail = {"region": read.region, "frames": str(read.frames)}
                self.sink(
                    IdentifierRead(
                        kind=kind,
                        value=value,
                        confidence=read.confidence,
                        source=f"{self.name}:{read.view}",
                        at=at,
                        detail={k: v for k, v in detail.items() if v},
                        crop_jpeg=read.crop_jpeg or None,
                    )
                )
                reported += 1
            if self.on_burst is not None:
                self.on_burst(reading_s, reported)
            return reported

    async def on_trip(self, trip: Trip) -> None:
        if self.config.trigger == "external" and self._cameras:
            await self.capture()

    async def session(self) -> None:
        await asyncio.to_thread(self.vision)  # load the models before the first truck
        async with contextlib.AsyncExitStack() as stack:
            self._cameras = [
                await stack.enter_async_context(Camera(self.settings(v))) for v in self.config.views
            ]
            await self._cameras[0].next_frame()  # raises CameraUnavailable: the run loop retries
            self.health.up()
            if self.config.trigger == "external":
                await asyncio.Event().wait()  # capture() is called by the lane
            detector = MotionDetector()
            watched = self.config.views[0].read_area  # motion beside the lane starts nothing
            quiet_until = 0.0
            async for frame in self._cameras[0].frames():
                moving = detector.update(area_view(frame.image, watched))
                if moving and time.monotonic() >= quiet_until:
                    quiet_until = time.monotonic() + self.config.cooldown_s
                    await self.capture()

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        view = self.config.views[0]
        try:
            async with Camera(self.settings(view)) as camera:
                frame = await camera.next_frame(timeout_s=5.0)
        except CameraError as err:
            return ProbeResult(ok=False, detail=f"{view.view}: {err}")
        rtt = round((time.perf_counter() - started) * 1000, 1)
        h, w = frame.image.shape[:2]
        detail = f"{view.view}: {w}x{h} frame at {utc_now():%H:%M:%S}"
        if view.read_area is not None:
            x1, y1, x2, y2 = area_box(frame.image.shape, view.read_area)
            detail += f", read area {x2 - x1}x{y2 - y1} at ({x1}, {y1})"
        return ProbeResult(ok=True, detail=detail, round_trip_ms=rtt)
