"""The gate box's own position: its GNSS receiver, and whether the box is at its node.

A gate box is installed at one logistic node (a fence of a geofences site). The
monitor reads the box's receiver — NMEA 0183 on a serial line or gpsd — keeps the
latest fix with a position and checks it against the node's fence:

- the fix's uncertainty is a disc: radius gpsd's `eph` (about 95 %), else 2 x the
  receiver's own 1-sigma horizontal error (GST), else 2 x hdop x `uere_m`, else
  `unknown_error_m`;
- **surely outside**: the centre is outside the fence and the whole disc is too (the
  distance to the fence boundary exceeds the radius); **surely inside** likewise;
- `at_node` is False after a surely-outside fix and True again after a surely-inside
  one; a fix that is neither (a large error near the fence edge) keeps the last sure
  answer, or True when there is none yet: the box is not *known* to be away, so an
  unsure fix never raises the alarm and never clears one;
- None when there is no fix with a position younger than `stale_after_s`.

A change of `at_node` is logged once (a warning when the box is surely away: a stolen
or misplaced portable box, a lane box moved; once more when it is back) and calls
`on_change`, so the agent publishes its status at once. This is reporting only: the
barrier never depends on it.

The receiver reconnects with jittered back-off; its availability (a fix of any mode
within `stale_after_s`) is logged once on drop-out and once on return
(`edge.health.DeviceHealth`). Garbage lines are counted by the drivers, never fatal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.bus import backoff_s
from contract.messages import GatePosition
from contract.tasks import raise_if_cancelling
from drivers.gnss import Fix, FixMode, GnssError, GpsdClient, NmeaSerialReceiver
from drivers.probe import ProbeResult
from edge.health import DeviceHealth
from edge.metrics import EdgeMetrics
from geofences import FenceSet, FenceTracker, GeofenceError, sites
from geofences.geojson import read_features

log = logging.getLogger(__name__)

SIGMAS = 2.0  # the uncertainty disc is 2 x the 1-sigma horizontal error (about 95 %)
_UNIT = "gate-box"  # the tracker's only unit


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NmeaReceiverConfig(_Strict):
    type: Literal["nmea"] = "nmea"
    port: str = Field(description="serial device of the receiver (NMEA 0183)")
    baudrate: int = Field(default=9600, gt=0, description="baud rate")


class GpsdReceiverConfig(_Strict):
    type: Literal["gpsd"] = "gpsd"
    host: str = Field(default="127.0.0.1", description="gpsd host")
    port: int = Field(default=2947, gt=0, lt=65536, description="gpsd TCP port")


ReceiverConfig = Annotated[NmeaReceiverConfig | GpsdReceiverConfig, Field(discriminator="type")]


class GnssConfig(_Strict):
    name: str = Field(
        default="gnss", description="device id of the receiver in GateStatus.devices and metrics"
    )
    receiver: ReceiverConfig = Field(description="the box's GNSS receiver: nmea or gpsd")
    site: str = Field(
        description="geofences site: a shipped site name (e.g. bari) or a GeoJSON file path"
    )
    node: str = Field(description="id of the logistic node fence the box is installed at")
    uere_m: float = Field(
        default=5.0, gt=0, description="1-sigma range error per unit of hdop, metres"
    )
    unknown_error_m: float = Field(
        default=50.0,
        ge=0,
        description="uncertainty radius of a fix that reports neither eph, GST nor hdop, metres",
    )
    stale_after_s: float = Field(
        default=30.0, gt=0, description="no fix this long: at_node unknown, receiver down"
    )

    @model_validator(mode="after")
    def _node_in_site(self) -> GnssConfig:
        collection = load_site(self.site)
        try:
            features = {f.id: f for f in read_features(collection)}
        except GeofenceError as err:
            raise ValueError(f"site {self.site!r}: {err}") from err
        feature = features.get(self.node)
        if feature is None:
            areas = sorted(i for i, f in features.items() if not f.is_line)
            raise ValueError(
                f"node {self.node!r} is no fence of site {self.site!r}; its areas: "
                + ", ".join(areas)
            )
        if feature.is_line:
            raise ValueError(f"fence {self.node!r} is a corridor, not a node area")
        return self


def load_site(site: str) -> dict[str, Any]:
    """A shipped site's FeatureCollection by name, else a GeoJSON file's."""
    if site in sites.names():
        return sites.load(site)
    try:
        loaded = json.loads(Path(site).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(
            f"site {site!r} is neither a shipped site ({', '.join(sites.names())}) "
            f"nor a readable GeoJSON file: {err}"
        ) from err
    if not isinstance(loaded, dict):
        raise ValueError(f"{site}: not a GeoJSON object")
    return loaded


def error_radius_m(fix: Fix, *, uere_m: float, unknown_error_m: float) -> float:
    """Radius of the fix's uncertainty disc, metres: gpsd's eph (already ~95 %), else
    2 x the receiver's own 1-sigma estimate (GST), else 2 x hdop x uere_m."""
    if fix.eph_m is not None:
        return fix.eph_m
    sigma = fix.horizontal_error_m
    if sigma is None and fix.hdop is not None:
        sigma = fix.hdop * uere_m
    return unknown_error_m if sigma is None else SIGMAS * sigma


@dataclass(frozen=True, slots=True)
class NodeCheck:
    """One fix against the node fence."""

    centre_inside: bool  # the fix itself is in the fence (the boundary counts)
    boundary_m: float  # from the fix to the fence boundary
    error_m: float  # radius of the uncertainty disc
    fences: tuple[str, ...]  # every fence of the site containing the fix

    @property
    def surely(self) -> bool | None:
        """True: the whole disc is inside; False: the whole disc is outside; None: unsure."""
        return self.centre_inside if self.boundary_m > self.error_m else None


class NodeFence:
    """The node's fence within its site: containment (streaming) and distance to the edge."""

    def __init__(self, collection: dict[str, Any], node: str) -> None:
        self.node = node
        self.fences = FenceSet.from_geojson(collection)
        feature = next(f for f in read_features(collection) if f.id == node)
        if feature.is_line:
            raise GeofenceError(f"fence {node!r} is a corridor, not a node area")
        self.fences.index(node)  # UnknownFence if absent
        # The node's rings as centre lines: their distance is the distance to the boundary.
        rings = [
            {
                "type": "Feature",
                "properties": {"id": f"ring-{i}", "buffer_m": 1.0},
                "geometry": {"type": "LineString", "coordinates": ring.tolist()},
            }
            for i, ring in enumerate(feature.rings)
        ]
        self.boundary = FenceSet.from_geojson({"type": "FeatureCollection", "features": rings})
        self.tracker = FenceTracker(self.fences)

    @classmethod
    def load(cls, site: str, node: str) -> NodeFence:
        """Load and warm (the first query compiles the kernels on a cold numba cache)."""
        fence = cls(load_site(site), node)
        ring = fence.boundary.packed
        fence.check(float(ring.xs[0]), float(ring.ys[0]), 0.0)
        fence.tracker.forget(_UNIT)
        return fence

    def check(self, lon: float, lat: float, error_m: float) -> NodeCheck:
        """Raises InvalidQuery (a GeofenceError) for a position that is not WGS84."""
        change = self.tracker.update(_UNIT, lon, lat)
        _, distance = self.boundary.nearest_corridor(np.array([lon]), np.array([lat]))
        return NodeCheck(
            centre_inside=self.node in change.inside,
            boundary_m=float(distance[0]),
            error_m=error_m,
            fences=change.inside,
        )


def open_receiver(
    receiver: NmeaReceiverConfig | GpsdReceiverConfig,
) -> NmeaSerialReceiver | GpsdClient:
    """The driver for a configured receiver (not yet open: use `async with`)."""
    if isinstance(receiver, NmeaReceiverConfig):
        return NmeaSerialReceiver(receiver.port, receiver.baudrate)
    return GpsdClient(receiver.host, receiver.port)


class PositionMonitor:
    """Use `await monitor.run()` (until cancelled); read `at_node`, `report()` any time."""

    def __init__(
        self,
        config: GnssConfig,
        *,
        metrics: EdgeMetrics | None = None,
        on_change: Callable[[], None] | None = None,
        fence: NodeFence | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.on_change = on_change
        self.fence = fence
        self.health = DeviceHealth(config.name)
        self.fix: Fix | None = None  # the latest fix with a position
        self.check: NodeCheck | None = None  # ... against the node fence
        self.at_node: bool | None = None
        self.fixes = 0  # fixes of any mode received
        self.rejected_fixes = 0  # positions the fence check refused
        self.ready = asyncio.Event()  # the fence is loaded
        self._sure: bool | None = None  # the last sure answer
        self._away = False  # "surely outside" logged, "back" not yet
        self._fix_at: float | None = None  # monotonic time of self.fix
        self._heard_at: float | None = None  # of the latest fix of any mode, or the open
        self._rejected_lines = 0  # by receivers already closed
        self._source: NmeaSerialReceiver | GpsdClient | None = None
        if metrics is not None:
            metrics.gnss_fix_age.set_function(self.fix_age_s)
            metrics.at_node.set(math.nan)

    # ---------------------------------------------------------------- reading

    def availability(self) -> dict[str, bool]:
        return {self.config.name: bool(self.health.available)}

    def fix_age_s(self) -> float:
        """Seconds since the latest fix with a position arrived (NaN: none yet)."""
        return math.nan if self._fix_at is None else time.monotonic() - self._fix_at

    @property
    def connected(self) -> bool:
        """The receiver (serial line or gpsd) is open."""
        return self._source is not None

    def rejected_lines(self) -> int:
        """Lines the receiver sent that were no usable NMEA sentence / gpsd report."""
        return self._rejected_lines + self._source_rejected()

    def report(self) -> GatePosition | None:
        """The latest fix with a position (its fix_time tells its age)."""
        fix, check = self.fix, self.check
        if fix is None or fix.lat is None or fix.lon is None:
            return None
        return GatePosition(
            lat=fix.lat,
            lon=fix.lon,
            fix_time=fix.time,
            mode=3 if fix.mode == FixMode.THREE_D else 2,
            error_m=round(check.error_m, 1) if check else None,
        )

    # ---------------------------------------------------------------- running

    async def run(self) -> None:
        if self.fence is None:
            # Off the event loop: packing and (on a cold cache) compiling take a while.
            self.fence = await asyncio.to_thread(NodeFence.load, self.config.site, self.config.node)
        self.ready.set()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._receive(), name="gnss-receiver")
            tasks.create_task(self._watch(), name="gnss-watchdog")

    async def _receive(self) -> None:
        attempt = 0
        while True:
            source = open_receiver(self.config.receiver)
            try:
                async with source:
                    self._source = source
                    self._heard_at = time.monotonic()
                    async for fix in source.fixes():
                        attempt = 0
                        self.on_fix(fix)
            except GnssError as err:
                self._down(str(err))
            finally:
                self._rejected_lines += self._source_rejected()
                self._source = None
            raise_if_cancelling()  # a lost stop is never a reason to reopen the receiver
            attempt += 1
            await asyncio.sleep(backoff_s(min(attempt, 6), cap_s=10.0))

    def _source_rejected(self) -> int:
        source = self._source
        if isinstance(source, NmeaSerialReceiver):
            return sum(source.stats.rejected.values())
        if isinstance(source, GpsdClient):
            return source.stats.bad_lines
        return 0

    async def _watch(self) -> None:
        """Wake when the latest fix goes stale: at_node unknown, the receiver down."""
        stale = self.config.stale_after_s
        while True:
            now = time.monotonic()
            due = [t + stale for t in (self._fix_at, self._heard_at) if t is not None]
            due = [t for t in due if t > now]
            await asyncio.sleep(min(due) - now + 0.01 if due else stale)
            if self._heard_at is not None and time.monotonic() - self._heard_at > stale:
                self._down(f"no fix for {stale:g} s")
            self._evaluate()

    def on_fix(self, fix: Fix) -> None:
        """One fix from the receiver (any mode)."""
        self.fixes += 1
        self._heard_at = time.monotonic()
        self._up()
        if not fix.has_position or fix.lat is None or fix.lon is None or self.fence is None:
            self._evaluate()
            return
        error = error_radius_m(
            fix, uere_m=self.config.uere_m, unknown_error_m=self.config.unknown_error_m
        )
        try:
            check = self.fence.check(fix.lon, fix.lat, error)
        except GeofenceError as err:
            self.rejected_fixes += 1
            log.warning("%s: fix not checked against the node: %s", self.config.name, err)
            return
        self.fix, self.check, self._fix_at = fix, check, self._heard_at
        if check.surely is not None:
            self._sure = check.surely
        self._evaluate()

    def _evaluate(self) -> None:
        fresh = (
            self._fix_at is not None
            and time.monotonic() - self._fix_at <= self.config.stale_after_s
        )
        at_node = (True if self._sure is None else self._sure) if fresh else None
        if self.metrics is not None:
            self.metrics.at_node.set(math.nan if at_node is None else float(at_node))
        if at_node == self.at_node:
            return
        self.at_node = at_node
        node, check = self.config.node, self.check
        if at_node is False and not self._away and check is not None:
            self._away = True
            log.warning(
                "gate box is away from its node %s: fix %.6f, %.6f is %.0f m outside the "
                "fence (uncertainty %.0f m)",
                node,
                self.fix.lat if self.fix else math.nan,
                self.fix.lon if self.fix else math.nan,
                check.boundary_m,
                check.error_m,
            )
        elif at_node is True and self._away:
            self._away = False
            log.warning("gate box is back at its node %s", node)
        elif at_node is None:
            log.info("no position fix for %g s: at_node unknown", self.config.stale_after_s)
        if self.on_change is not None:
            self.on_change()

    def _up(self) -> None:
        was = self.health.available
        self.health.up()
        if self.metrics is not None:
            self.metrics.device_up.labels(self.config.name).set(1)
        if was is not True and self.on_change is not None:
            self.on_change()

    def _down(self, reason: str) -> None:
        was = self.health.available
        self.health.down(reason)
        if self.metrics is not None:
            self.metrics.device_up.labels(self.config.name).set(0)
        if was is not False and self.on_change is not None:
            self.on_change()


async def probe(config: GnssConfig, timeout_s: float) -> ProbeResult:
    """For `corridor edge diagnose`: a fix with a position within `timeout_s`, and where it
    is against the node fence. Surely outside the node fails the check."""
    try:
        fence = await asyncio.to_thread(NodeFence.load, config.site, config.node)
    except (GeofenceError, ValueError) as err:
        return ProbeResult(ok=False, detail=f"site {config.site}: {err}")
    monitor = PositionMonitor(config, fence=fence)
    source = open_receiver(config.receiver)
    started = time.perf_counter()
    try:
        # gpsd's first fix may come before its first SKY report (no hdop): wait for one
        # that says how accurate it is, or take what there is at the timeout.
        async with asyncio.timeout(timeout_s), source:
            async for received in source.fixes():
                monitor.on_fix(received)
                if monitor.check is not None and (
                    received.eph_m is not None
                    or received.hdop is not None
                    or received.horizontal_error_m is not None
                ):
                    break
    except TimeoutError:
        if monitor.check is None:
            heard = f"{monitor.fixes} fix(es), none with a position" if monitor.fixes else "no fix"
            return ProbeResult(ok=False, detail=f"{heard} in {timeout_s:g} s")
    except GnssError as err:
        return ProbeResult(ok=False, detail=str(err))
    ms = round((time.perf_counter() - started) * 1000, 1)
    fix, check, node = monitor.fix, monitor.check, config.node
    assert fix is not None and check is not None
    where = f"{int(fix.mode)}D fix {fix.lat:.6f}, {fix.lon:.6f} (+/- {check.error_m:.0f} m)"
    if check.surely is False:
        return ProbeResult(
            ok=False,
            detail=f"{where}: surely OUTSIDE node {node}, {check.boundary_m:.0f} m from its fence",
            round_trip_ms=ms,
        )
    if check.surely is True:
        verdict = f"inside node {node}"
    else:
        side = "inside" if check.centre_inside else "outside"
        verdict = (
            f"{check.boundary_m:.0f} m {side} the edge of node {node}: "
            "neither surely inside nor outside"
        )
    return ProbeResult(ok=True, detail=f"{where}: {verdict}", round_trip_ms=ms)
