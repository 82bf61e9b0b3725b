"""A small synthetic transit site and a way to make placed fixes, for the rule tests.

The road runs east along latitude 1 degree south from a port (controlled area) to a
depot (the destination node), 55 km; a rest stop (allowed stop zone) sits on it at
km 27.8, a market (a fence that alerts on entry) 5 km north of it at km 33-35.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from central.transit.geometry import TransitSite
from central.transit.model import Fix, MovementContext, Raised, SealChange, Tick, TransitState
from central.transit.rules import judge
from central.transit.settings import Tolerances
from contract.messages import PositionFix

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
LAT = -1.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT))
M_PER_DEG_LAT = 110_574.0


def lon_at(km: float) -> float:
    return 36.0 + km * 1000 / M_PER_DEG_LON


def lat_north(north_m: float) -> float:
    return LAT + north_m / M_PER_DEG_LAT


def box(
    fence_id: str,
    kind: str,
    west_km: float,
    east_km: float,
    south_m: float,
    north_m: float,
    **properties: Any,
) -> dict[str, Any]:
    w, e, s, n = lon_at(west_km), lon_at(east_km), lat_north(south_m), lat_north(north_m)
    return {
        "type": "Feature",
        "id": fence_id,
        "properties": {"kind": kind, "name": fence_id, **properties},
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
    }


def collection(**road_properties: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "test-road",
                "properties": {"kind": "corridor", "buffer_m": 500.0, **road_properties},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lon_at(0), LAT], [lon_at(55), LAT]],
                },
            },
            box("port", "controlled_area", -1.5, 1.0, -1000, 1000, name="Test port"),
            box("depot", "node", 54.0, 56.0, -500, 500, name="Inland depot"),
            box("rest-stop", "stop_zone", 27.6, 28.0, -150, 150),
            box(
                "market",
                "geofence",
                33.0,
                35.0,
                4000,
                6000,
                alert="enter",
                severity="critical",
                name="Roadside market",
            ),
        ],
    }


SITE = TransitSite(collection())


def at(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


def position(
    device: str,
    t_s: float,
    km: float,
    north_m: float = 0.0,
    *,
    speed_mps: float | None = 16.7,
    accuracy_m: float | None = 3.0,
    **fields: Any,
) -> PositionFix:
    """The wire message of a fix at device second t_s, km along the test road."""
    return PositionFix(
        device_id=device,
        fixed_at=at(t_s),
        sent_at=at(t_s),
        lat=lat_north(north_m),
        lon=lon_at(km),
        speed_mps=speed_mps,
        accuracy_m=accuracy_m,
        **fields,
    )


@dataclass
class Movement:
    """One movement's state, driven by events the way the pipeline drives it."""

    site: TransitSite = SITE
    cleared: bool = True
    tolerances: Tolerances = field(default_factory=Tolerances)
    nodes: tuple[str, ...] = ("depot",)
    corridor: str | None = "test-road"
    state: TransitState = field(default_factory=TransitState)
    raised: list[Raised] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    iot_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def context(self) -> MovementContext:
        return MovementContext(
            iot_id=self.iot_id,
            corridor=self.corridor,
            nodes=self.nodes,
            cleared=self.cleared,
            tolerances=self.tolerances,
            site=self.site,
        )

    def fix(
        self,
        t_s: float,
        km: float,
        north_m: float = 0.0,
        *,
        speed_mps: float | None = 16.7,
        accuracy_m: float = 3.0,
        received_s: float | None = None,
    ) -> list[Raised]:
        """A fix at device second t_s, `km` along the road and `north_m` off it."""
        lon, lat = lon_at(km), lat_north(north_m)
        radius = self.tolerances.accuracy_sigmas * accuracy_m
        event = Fix(
            context=self.context,
            device_id="trk-1",
            at=at(t_s),
            received_at=at(t_s if received_s is None else received_s),
            lon=lon,
            lat=lat,
            speed_mps=speed_mps,
            uncertainty_m=radius,
            placement=self.site.place(lon, lat, radius),
            corridor=self.site.measure(self.corridor, lon, lat) if self.corridor else None,
        )
        return self._judge(event)

    def tick(self, now_s: float) -> list[Raised]:
        return self._judge(Tick(self.context, at(now_s)))

    def seal(
        self, t_s: float, event: str, state: str | None = None, seal_id: str = "S1"
    ) -> list[Raised]:
        states = {"opened": "opened", "tampered": "tampered"}
        return self._judge(
            SealChange(self.context, seal_id, at(t_s), event, state or states.get(event, "sealed"))
        )

    def _judge(self, event: Fix | Tick | SealChange) -> list[Raised]:
        self.state, found = judge(
            self.state, event, lambda rule, err: self.failures.append(rule.__name__)
        )
        self.raised += found
        return found

    def rules(self) -> list[str]:
        return [r.rule for r in self.raised]

    def drive(
        self,
        t0_s: float,
        km0: float,
        km1: float,
        *,
        interval_s: float = 60,
        kmh: float = 60.0,
        **kwargs: Any,
    ) -> float:
        """Fixes every interval_s from km0 to km1 at kmh; returns the device second after."""
        t, km = t0_s, km0
        step_km = kmh / 3600 * interval_s
        while km < km1:
            self.fix(t, km, speed_mps=kmh / 3.6, **kwargs)
            t += interval_s
            km = min(km1, km + step_km)
        self.fix(t, km1, speed_mps=kmh / 3.6, **kwargs)
        return t + interval_s

    def stand(
        self,
        t0_s: float,
        km: float,
        duration_s: float,
        *,
        interval_s: float = 60,
        north_m: float = 0.0,
        **kwargs: Any,
    ) -> float:
        t = t0_s
        while t <= t0_s + duration_s:
            self.fix(t, km, north_m, speed_mps=0.0, **kwargs)
            t += interval_s
        return t
