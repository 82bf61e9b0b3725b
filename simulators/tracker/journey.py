"""A unit's journey along a route, planned ahead: every fix the tracker will send, and when.

Planning is a pure function of the journey (route, speed profile, faults, seed),
so a journey is deterministic: the same seed gives the same fixes, to the bit.
Times are simulated seconds since departure; the runner maps them to wall time
with a time-scale factor, and to device (UTC) times from the journey's start.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from simulators.tracker.route import Route, destination

MOTION_STEP_S = 1.0  # motion is integrated at 1 s whatever the reporting interval
BASE_SIGMA_M = 2.5  # horizontal 1-sigma a good receiver reports in open sky
BASE_HDOP = 0.9


# --------------------------------------------------------------------------- faults


class _Fault(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at_s: float = Field(ge=0, description="journey seconds when the fault starts")
    duration_s: float = Field(gt=0, description="how long it lasts, seconds")

    def active(self, t: float) -> bool:
        return self.at_s <= t < self.at_s + self.duration_s

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s


class Deviation(_Fault):
    """The unit leaves the corridor by `offset_m` (e.g. a diversion to a local market)."""

    kind: Literal["deviation"] = "deviation"
    offset_m: float = Field(gt=0, description="distance from the route at the far point")
    side: Literal["left", "right"] = Field(default="left", description="side of the road")
    ramp_s: float = Field(default=60.0, ge=0, description="time to drive out (and back)")

    def offset_at(self, t: float) -> float:
        """Signed lateral offset in metres (left positive) at journey second `t`."""
        if not self.active(t):
            return 0.0
        ramp = min(self.ramp_s, self.duration_s / 2)
        into, left = t - self.at_s, self.end_s - t
        share = 1.0 if ramp == 0 else min(1.0, into / ramp, left / ramp)
        return share * self.offset_m * (1 if self.side == "left" else -1)


class LongStop(_Fault):
    """The unit stands still (an unauthorised stop, a breakdown, a border queue)."""

    kind: Literal["long_stop"] = "long_stop"


class Silence(_Fault):
    """No fixes at all (tracker off, jammed, no network, no store-and-forward)."""

    kind: Literal["silence"] = "silence"


class Jitter(_Fault):
    """GPS noise: Gaussian with `sigma_m`, and now and then an outlier `outlier_m` away."""

    kind: Literal["jitter"] = "jitter"
    at_s: float = Field(default=0.0, ge=0)
    duration_s: float = Field(default=math.inf, gt=0)
    sigma_m: float = Field(gt=0, description="1-sigma horizontal noise, metres")
    outlier_probability: float = Field(default=0.0, ge=0, le=1)
    outlier_m: float = Field(default=0.0, ge=0, description="how far an outlier lands")


class LateBurst(_Fault):
    """Fixes are withheld (stored on the device), then sent all at once, out of order,
    each with its original device time."""

    kind: Literal["late_burst"] = "late_burst"


Fault = Annotated[Deviation | LongStop | Silence | Jitter | LateBurst, Field(discriminator="kind")]
FAULTS: TypeAdapter[list[Fault]] = TypeAdapter(list[Fault])


# --------------------------------------------------------------------------- speed


@dataclass(frozen=True)
class SpeedProfile:
    """Cruise speed by distance along the route: (from_m, speed_mps), sorted by from_m."""

    breakpoints: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.breakpoints or self.breakpoints[0][0] != 0:
            raise ValueError("a speed profile starts at distance 0")
        if any(speed < 0 for _, speed in self.breakpoints):
            raise ValueError("speeds are not negative")
        if list(self.breakpoints) != sorted(self.breakpoints):
            raise ValueError("speed profile breakpoints must be sorted by distance")

    @classmethod
    def constant_kmh(cls, kmh: float) -> SpeedProfile:
        return cls(((0.0, kmh / 3.6),))

    @classmethod
    def parse(cls, text: str) -> SpeedProfile:
        """'60' (km/h everywhere) or 'KM:KMH,KM:KMH,...' e.g. '0:30,5:80,140:40'."""
        if ":" not in text:
            return cls.constant_kmh(float(text))
        points = []
        for item in text.split(","):
            km, kmh = item.split(":")
            points.append((float(km) * 1000.0, float(kmh) / 3.6))
        return cls(tuple(sorted(points)))

    def speed_at(self, distance_m: float) -> float:
        speed = self.breakpoints[0][1]
        for start, value in self.breakpoints:
            if distance_m >= start:
                speed = value
        return speed


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Journey:
    """One unit on one route."""

    device_id: str
    route: Route
    speed: SpeedProfile
    start: datetime  # device (UTC) time at departure
    interval_s: float = 30.0  # reporting interval
    faults: Sequence[Deviation | LongStop | Silence | Jitter | LateBurst] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("the reporting interval must be positive")
        if self.start.tzinfo is None:
            raise ValueError("the start time must be timezone-aware (UTC)")


@dataclass(frozen=True)
class TrackPoint:
    """One fix the tracker sends: what it reports, and the truth behind it."""

    seq: int
    device_s: float  # journey seconds when the fix was taken
    send_s: float  # journey seconds when the tracker sends it (later in a late burst)
    lat: float
    lon: float
    alt_m: float
    speed_mps: float
    course_deg: float
    hdop: float
    sigma_m: float  # reported 1-sigma horizontal accuracy
    distance_m: float  # truth: distance along the route
    offset_m: float  # truth: lateral distance from the route (deviation)
    stopped: bool  # truth: standing still

    def device_time(self, journey: Journey) -> datetime:
        return journey.start + timedelta(seconds=self.device_s)

    def send_time(self, journey: Journey) -> datetime:
        return journey.start + timedelta(seconds=self.send_s)


@dataclass
class Plan:
    journey: Journey
    points: list[TrackPoint]  # in sending order
    dropped: list[TrackPoint] = field(default_factory=list)  # taken during a silence
    arrival_s: float = 0.0


@dataclass
class _Motion:
    t: float = 0.0
    distance_m: float = 0.0
    course_deg: float = 0.0


def plan_track(journey: Journey) -> Plan:
    """Every fix of the journey, in the order the tracker sends them."""
    rng = random.Random(journey.seed)
    motion = _Motion(course_deg=journey.route.locate(0.0)[2])
    taken: list[TrackPoint] = []
    next_report = 0.0
    while True:
        arrived = motion.distance_m >= journey.route.length_m
        if motion.t >= next_report - 1e-9 or arrived:
            taken.append(_observe(journey, motion, len(taken), rng))
            next_report += journey.interval_s
        if arrived:
            break
        _advance(journey, motion)
    return _schedule(journey, taken, rng, arrival_s=motion.t)


def _advance(journey: Journey, motion: _Motion) -> None:
    stopped = any(isinstance(f, LongStop) and f.active(motion.t) for f in journey.faults)
    if not stopped:
        speed = journey.speed.speed_at(motion.distance_m)
        motion.distance_m = min(journey.route.length_m, motion.distance_m + speed * MOTION_STEP_S)
    motion.t += MOTION_STEP_S


def _observe(journey: Journey, motion: _Motion, seq: int, rng: random.Random) -> TrackPoint:
    t, faults = motion.t, journey.faults
    lat, lon, road_bearing = journey.route.locate(motion.distance_m)
    stopped = any(isinstance(f, LongStop) and f.active(t) for f in faults)
    arrived = motion.distance_m >= journey.route.length_m
    offset = sum(f.offset_at(t) for f in faults if isinstance(f, Deviation))
    if offset:
        lat, lon = destination(lat, lon, road_bearing + (-90 if offset > 0 else 90), abs(offset))
    if not stopped and not arrived:
        motion.course_deg = _course(journey, motion, road_bearing)
    speed = 0.0 if stopped or arrived else journey.speed.speed_at(motion.distance_m)
    sigma = BASE_SIGMA_M
    for jitter in (f for f in faults if isinstance(f, Jitter) and f.active(t)):
        lat, lon = _jitter(lat, lon, jitter, rng)
        sigma = max(sigma, jitter.sigma_m)
    return TrackPoint(
        seq=seq,
        device_s=t,
        send_s=t,
        lat=lat,
        lon=lon,
        alt_m=0.0,
        speed_mps=speed,
        course_deg=motion.course_deg % 360.0,
        hdop=round(max(BASE_HDOP, sigma / BASE_SIGMA_M * BASE_HDOP), 1),
        sigma_m=sigma,
        distance_m=motion.distance_m,
        offset_m=abs(offset),
        stopped=stopped or arrived,
    )


def _course(journey: Journey, motion: _Motion, road_bearing: float) -> float:
    """The direction of travel: along the road, bent while driving off it or back."""
    offsets = [f for f in journey.faults if isinstance(f, Deviation)]
    if not offsets:
        return road_bearing
    ahead = motion.t + MOTION_STEP_S
    speed = journey.speed.speed_at(motion.distance_m)
    lateral = sum(f.offset_at(ahead) - f.offset_at(motion.t) for f in offsets)
    along = speed * MOTION_STEP_S
    if along == 0 and lateral == 0:
        return motion.course_deg
    return (road_bearing - math.degrees(math.atan2(lateral, along))) % 360.0


def _jitter(lat: float, lon: float, jitter: Jitter, rng: random.Random) -> tuple[float, float]:
    north, east = rng.gauss(0.0, jitter.sigma_m), rng.gauss(0.0, jitter.sigma_m)
    if jitter.outlier_probability and rng.random() < jitter.outlier_probability:
        direction = rng.uniform(0.0, 2 * math.pi)
        north += jitter.outlier_m * math.cos(direction)
        east += jitter.outlier_m * math.sin(direction)
    distance = math.hypot(north, east)
    if distance == 0:
        return lat, lon
    return destination(lat, lon, math.degrees(math.atan2(east, north)), distance)


def _schedule(
    journey: Journey, taken: list[TrackPoint], rng: random.Random, *, arrival_s: float
) -> Plan:
    """Apply silences (fixes lost) and late bursts (fixes held back, then sent shuffled)."""
    silences = [f for f in journey.faults if isinstance(f, Silence)]
    bursts = [f for f in journey.faults if isinstance(f, LateBurst)]
    sent: list[TrackPoint] = []
    dropped: list[TrackPoint] = []
    for point in taken:
        if any(s.active(point.device_s) for s in silences):
            dropped.append(point)
            continue
        burst = next((b for b in bursts if b.active(point.device_s)), None)
        if burst is not None:
            point = _replace_send(point, burst.end_s)
        sent.append(point)
    # a burst goes out in random order, before the live fix taken as the device reconnects
    order = {p.seq: rng.random() if p.send_s != p.device_s else 1.0 for p in sent}
    sent.sort(key=lambda p: (p.send_s, order[p.seq]))
    return Plan(journey, sent, dropped, arrival_s)


def _replace_send(point: TrackPoint, send_s: float) -> TrackPoint:
    return replace(point, send_s=send_s)


def utc(text: str) -> datetime:
    """An ISO 8601 time as UTC (naive is taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = [
    "FAULTS",
    "Deviation",
    "Fault",
    "Jitter",
    "Journey",
    "LateBurst",
    "LongStop",
    "Plan",
    "Silence",
    "SpeedProfile",
    "TrackPoint",
    "plan_track",
    "utc",
]
