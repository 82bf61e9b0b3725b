"""Reading fences from a GeoJSON FeatureCollection (RFC 7946), with clear errors.

Accepted geometries: Polygon and MultiPolygon (areas: controlled areas, logistic
nodes, stop zones, geofences) and LineString with a `buffer_m` property
(corridors). Positions are [lon, lat] or [lon, lat, alt] in WGS84 degrees; a
third value is ignored. Rings must be closed; their winding is ignored.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geofences.errors import InvalidGeoJSON

KINDS = ("node", "corridor", "stop_zone", "controlled_area", "geofence")
AREA_TYPES = ("Polygon", "MultiPolygon")
MAX_BUFFER_M = 50_000.0  # beyond this the local-frame distance is too coarse (docs/geofences.md)
MAX_CORRIDOR_LAT = 85.0  # metres per degree of longitude vanish at the poles


@dataclass(frozen=True)
class FenceFeature:
    """One feature as read: its id, properties, and coordinates as (n, 2) float64 arrays."""

    id: str
    properties: dict[str, Any]
    kind: str
    rings: list[np.ndarray] = field(default_factory=list)  # areas: every ring of every part
    line: np.ndarray | None = None  # corridors: the centre line
    buffer_m: float = 0.0

    @property
    def is_line(self) -> bool:
        return self.line is not None


def read_features(collection: object) -> list[FenceFeature]:
    """Check a FeatureCollection and read every feature; raise InvalidGeoJSON naming the fault."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidGeoJSON("expected a GeoJSON object with type 'FeatureCollection'")
    features = collection.get("features")
    if not isinstance(features, list):
        raise InvalidGeoJSON("a FeatureCollection needs a 'features' list")
    read = [_read_feature(i, raw) for i, raw in enumerate(features)]
    seen: dict[str, int] = {}
    for i, feature in enumerate(read):
        if feature.id in seen:
            raise InvalidGeoJSON(f"features {seen[feature.id]} and {i} share the id {feature.id!r}")
        seen[feature.id] = i
    return read


def _read_feature(index: int, raw: object) -> FenceFeature:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        raise InvalidGeoJSON(f"feature {index}: expected an object with type 'Feature'")
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidGeoJSON(f"feature {index}: 'properties' must be an object or null")
    fence_id = _fence_id(index, raw, properties)
    where = f"feature {index} ({fence_id!r})"
    geometry = raw.get("geometry")
    if not isinstance(geometry, dict):
        raise InvalidGeoJSON(f"{where}: has no geometry")
    geometry_type = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list | tuple):
        raise InvalidGeoJSON(f"{where}: geometry needs a 'coordinates' array")
    try:
        if geometry_type == "Polygon":
            rings = _polygon(coordinates)
        elif geometry_type == "MultiPolygon":
            rings = [ring for polygon in coordinates for ring in _polygon(polygon)]
        elif geometry_type == "LineString":
            return _corridor(fence_id, properties, coordinates)
        else:
            raise InvalidGeoJSON(
                f"geometry type {geometry_type!r} is not a fence; use Polygon, MultiPolygon, "
                "or LineString with properties.buffer_m"
            )
    except InvalidGeoJSON as err:
        raise InvalidGeoJSON(f"{where}: {err}") from err
    kind = _kind(where, properties, default="geofence")
    if kind == "corridor":
        raise InvalidGeoJSON(f"{where}: kind 'corridor' needs a LineString geometry")
    return FenceFeature(fence_id, properties, kind, rings=rings)


def _fence_id(index: int, raw: dict[str, Any], properties: dict[str, Any]) -> str:
    value = raw.get("id", properties.get("id"))
    if value is None:
        return f"#{index}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidGeoJSON(f"feature {index}: id must be a string or an integer")
    return str(value)


def _kind(where: str, properties: dict[str, Any], default: str) -> str:
    kind = properties.get("kind", default)
    if kind not in KINDS:
        raise InvalidGeoJSON(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return str(kind)


def _corridor(fence_id: str, properties: dict[str, Any], coordinates: object) -> FenceFeature:
    where = f"corridor {fence_id!r}"
    buffer_m = properties.get("buffer_m")
    if not _is_number(buffer_m):
        raise InvalidGeoJSON(f"{where}: a LineString fence needs properties.buffer_m (metres)")
    if not (0.0 < float(buffer_m) <= MAX_BUFFER_M):  # type: ignore[arg-type]
        raise InvalidGeoJSON(f"{where}: buffer_m must be > 0 and <= {MAX_BUFFER_M:g}")
    line = _positions(coordinates)
    if len(line) < 2:
        raise InvalidGeoJSON(f"{where}: a LineString needs at least 2 positions")
    if np.abs(line[:, 1]).max() > MAX_CORRIDOR_LAT:
        raise InvalidGeoJSON(
            f"{where}: corridors must stay within {MAX_CORRIDOR_LAT:g} deg of the equator"
        )
    kind = _kind(where, properties, default="corridor")
    if kind != "corridor":
        raise InvalidGeoJSON(f"{where}: a LineString fence must have kind 'corridor'")
    return FenceFeature(fence_id, properties, kind, line=line, buffer_m=float(buffer_m))  # type: ignore[arg-type]


def _polygon(coordinates: object) -> list[np.ndarray]:
    if not isinstance(coordinates, list | tuple):
        raise InvalidGeoJSON("a polygon is an array of rings")
    rings = [_positions(ring) for ring in coordinates]
    for number, ring in enumerate(rings):
        if len(ring) < 4:
            raise InvalidGeoJSON(f"ring {number} has {len(ring)} positions; a ring needs >= 4")
        if not np.array_equal(ring[0], ring[-1]):
            raise InvalidGeoJSON(f"ring {number} is not closed (first position != last)")
    return rings


def _positions(raw: object) -> np.ndarray:
    if not isinstance(raw, list | tuple):
        raise InvalidGeoJSON("positions must be an array of [lon, lat]")
    if not raw:
        return np.empty((0, 2), dtype=np.float64)
    for position in raw:
        if not isinstance(position, list | tuple) or len(position) not in (2, 3):
            raise InvalidGeoJSON(f"position {position!r} is not [lon, lat] or [lon, lat, alt]")
        for value in position:
            if not _is_number(value):
                raise InvalidGeoJSON(f"position {position!r} has a value that is not a number")
    xy = np.array([(p[0], p[1]) for p in raw], dtype=np.float64)
    if not np.isfinite(xy).all():
        raise InvalidGeoJSON("positions must be finite numbers")
    bad_lon = np.abs(xy[:, 0]) > 180.0
    bad_lat = np.abs(xy[:, 1]) > 90.0
    if bad_lon.any() or bad_lat.any():
        lon, lat = xy[np.argmax(bad_lon | bad_lat)]
        raise InvalidGeoJSON(f"position [{lon}, {lat}] is outside WGS84 lon/lat range")
    return xy


def _is_number(value: object) -> bool:
    # numbers.Real takes numpy scalars too; a bool is not a coordinate.
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
