"""Which fences hold a fix, given how accurate the fix is: the middle of three layers.

`geofences` answers exact geometric questions about a point; the rules decide what an
exit means. Between them, `TransitSite.place` asks about the disc of GPS uncertainty
around a fix, not its centre alone: a fence holds the fix *surely* when the whole disc
is inside it, *maybe* when the disc straddles its boundary. Rules change their mind
only on sure evidence, so a unit driving along a fence edge with a 15 m error cannot
make that fence flap (hysteresis as wide as the uncertainty).

The disc is probed at its centre and eight points on its rim: for fences much larger
than the disc (ports, nodes, stop zones, markets) that is exact enough; a fence smaller
than the disc is never sure, only maybe.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from central.errors import ConfigError
from geofences import FenceSet, GeofenceError, sites

METRES_PER_DEGREE_LAT = 111_320.0
ROAD_FACTOR = 1.3  # road distance per straight-line distance, where no corridor measures it
ALLOWED_STOP_KINDS = ("stop_zone", "node", "controlled_area")
_RIM = [(math.cos(a), math.sin(a)) for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]


@dataclass(frozen=True, slots=True)
class Placement:
    """Area fences around one fix: `inside` surely, `near` maybe (the disc straddles)."""

    inside: frozenset[str]
    near: frozenset[str]

    def touches(self, fences: set[str] | frozenset[str]) -> bool:
        return bool(fences & self.inside) or bool(fences & self.near)


@dataclass(frozen=True, slots=True)
class CorridorPosition:
    distance_m: float  # from the centre line
    chainage_m: float  # along the line to the nearest point
    remaining_m: float  # from there to the line's end


@contextmanager
def _one_thread() -> Iterator[None]:
    # One fix at a time: numba's parallel regions cost more in thread wake-ups
    # (~200 us on a loaded 2-core box) than they save on nine points.
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


class TransitSite:
    """Fences for transit, and what the rules need of them (kinds, centroids, chainages)."""

    def __init__(self, collection: dict[str, Any]) -> None:
        try:
            self.fences = FenceSet.from_geojson(collection)
        except GeofenceError as err:
            raise ConfigError(f"transit fences: {err}") from err
        self.kind = dict(zip(self.fences.ids, self.fences.kinds, strict=True))
        self.properties: dict[str, Mapping[str, Any]] = dict(
            zip(self.fences.ids, self.fences.properties, strict=True)
        )
        self.corridors = frozenset(i for i, k in self.kind.items() if k == "corridor")
        self.allowed_stops = frozenset(i for i, k in self.kind.items() if k in ALLOWED_STOP_KINDS)
        self.controlled_areas = frozenset(i for i, k in self.kind.items() if k == "controlled_area")
        # where a leg to the next node starts from: leaving all of them starts its clock
        self.stations = frozenset(
            i for i, k in self.kind.items() if k in ("node", "controlled_area")
        )
        self.centroid = _centroids(self.fences.ids, collection["features"])
        self._chainage: dict[tuple[str, str], float | None] = {}

    @classmethod
    def empty(cls) -> TransitSite:
        return cls({"type": "FeatureCollection", "features": []})

    @classmethod
    def load(cls, sources: Sequence[str], base: Path | None = None) -> TransitSite:
        """Merge fence sources in order: `site:NAME` (geofences.sites) or a GeoJSON file."""
        features: list[Any] = []
        for source in sources:
            features += _read_source(source, base)["features"]
        return cls({"type": "FeatureCollection", "features": features})

    def __contains__(self, fence_id: str) -> bool:
        return fence_id in self.kind

    def warm_up(self) -> None:
        """Run every query once, so numba compiles (or loads from its cache) now, at
        start, not on the first fix while the ingest waits."""
        if self.centroid:
            lon, lat = next(iter(self.centroid.values()))
            self.place(lon, lat, 10.0)
        for corridor in self.corridors:
            self.measure(corridor, 0.0, 0.0)

    # ----------------------------------------------------------------- queries

    def place(self, lon: float, lat: float, radius_m: float) -> Placement:
        """Area fences that surely / maybe hold a fix with this uncertainty radius."""
        if not self.kind:
            return Placement(frozenset(), frozenset())
        dlat = radius_m / METRES_PER_DEGREE_LAT
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        xs = np.array([lon, *(lon + dlon * c for c, _ in _RIM)])
        ys = np.clip(np.array([lat, *(lat + dlat * s for _, s in _RIM)]), -90.0, 90.0)
        with _one_thread():
            found = self.fences.locate(xs, ys)
        ids = self.fences.ids
        counts: dict[str, int] = {}
        for f in found.features.tolist():
            fence_id = ids[f]
            if fence_id not in self.corridors:
                counts[fence_id] = counts.get(fence_id, 0) + 1
        inside = frozenset(f for f, n in counts.items() if n == len(xs))
        return Placement(inside, frozenset(counts) - inside)

    def measure(self, corridor: str, lon: float, lat: float) -> CorridorPosition:
        with _one_thread():
            m = self.fences.measure(corridor, np.array([lon]), np.array([lat]))
        return CorridorPosition(
            float(m.distance_m[0]), float(m.chainage_m[0]), float(m.remaining_m[0])
        )

    def buffer_m(self, corridor: str) -> float:
        return self.fences.buffer_m(corridor)

    def chainage(self, corridor: str, fence_id: str) -> float | None:
        """Chainage of a fence's centroid along a corridor, or None when the fence lies
        farther from the corridor than its buffer (then it is not on that road)."""
        key = (corridor, fence_id)
        if key not in self._chainage:
            centre = self.centroid.get(fence_id)
            value = None
            if centre is not None:
                at = self.measure(corridor, *centre)
                value = at.chainage_m if at.distance_m <= self.buffer_m(corridor) else None
            self._chainage[key] = value
        return self._chainage[key]

    def straight_m(self, lon: float, lat: float, fence_id: str) -> float | None:
        """Road distance estimate from a point to a fence's centroid, where no corridor helps."""
        centre = self.centroid.get(fence_id)
        if centre is None:
            return None
        return haversine_m(lon, lat, *centre) * ROAD_FACTOR


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def _read_source(source: str, base: Path | None) -> dict[str, Any]:
    if source.startswith("site:"):
        try:
            return sites.load(source.removeprefix("site:"))
        except GeofenceError as err:
            raise ConfigError(f"transit fences: {err}") from err
    path = Path(source)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"transit fences: cannot read {path}: {err}") from err
    if not isinstance(collection, dict) or not isinstance(collection.get("features"), list):
        raise ConfigError(f"transit fences: {path} is not a GeoJSON FeatureCollection")
    return collection


def _centroids(ids: Sequence[str], features: list[Any]) -> dict[str, tuple[float, float]]:
    """Vertex mean of each area's first outer ring: good enough for nodes a few km across."""
    centres = {}
    for fence_id, feature in zip(ids, features, strict=True):
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            ring = geometry["coordinates"][0]
        elif geometry["type"] == "MultiPolygon":
            ring = geometry["coordinates"][0][0]
        else:
            continue
        points = ring[:-1]
        centres[fence_id] = (
            sum(p[0] for p in points) / len(points),
            sum(p[1] for p in points) / len(points),
        )
    return centres
