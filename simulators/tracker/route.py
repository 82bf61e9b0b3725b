"""A route a unit drives: a GeoJSON LineString, with distances along it in metres."""

from __future__ import annotations

import bisect
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EARTH_RADIUS_M = 6_371_008.8  # mean radius; metres-scale accuracy is plenty for a simulator
MAX_JOIN_GAP_M = 100.0  # roads joined into one route must meet (within this)


class RouteError(ValueError):
    """A route file that holds no usable LineString."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial true bearing from point 1 to point 2, 0..360."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def destination(lat: float, lon: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point `distance_m` from (lat, lon) on `bearing` (great circle)."""
    delta = distance_m / EARTH_RADIUS_M
    theta, p1, l1 = math.radians(bearing), math.radians(lat), math.radians(lon)
    p2 = math.asin(
        math.sin(p1) * math.cos(delta) + math.cos(p1) * math.sin(delta) * math.cos(theta)
    )
    l2 = l1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(p1),
        math.cos(delta) - math.sin(p1) * math.sin(p2),
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


@dataclass(frozen=True)
class Route:
    """Vertices as (lon, lat) like GeoJSON, and the distance of each from the start."""

    name: str
    vertices: tuple[tuple[float, float], ...]
    cumulative_m: tuple[float, ...]

    @classmethod
    def from_coordinates(cls, name: str, coordinates: list[list[float]]) -> Route:
        vertices = tuple((float(c[0]), float(c[1])) for c in coordinates)
        if len(vertices) < 2:
            raise RouteError(f"route {name!r} needs at least two points")
        for lon, lat in vertices:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise RouteError(f"route {name!r} has a point off the Earth: {lon}, {lat}")
        cumulative = [0.0]
        for (lon1, lat1), (lon2, lat2) in itertools.pairwise(vertices):
            cumulative.append(cumulative[-1] + haversine_m(lat1, lon1, lat2, lon2))
        if cumulative[-1] <= 0:
            raise RouteError(f"route {name!r} has zero length")
        return cls(name, vertices, tuple(cumulative))

    @property
    def length_m(self) -> float:
        return self.cumulative_m[-1]

    def locate(self, distance_m: float) -> tuple[float, float, float]:
        """(lat, lon, bearing of the road) at `distance_m` along the route (clamped)."""
        d = min(max(distance_m, 0.0), self.length_m)
        i = min(bisect.bisect_right(self.cumulative_m, d) - 1, len(self.vertices) - 2)
        (lon1, lat1), (lon2, lat2) = self.vertices[i], self.vertices[i + 1]
        span = self.cumulative_m[i + 1] - self.cumulative_m[i]
        f = (d - self.cumulative_m[i]) / span if span > 0 else 0.0
        # linear in degrees: segments of a road geometry are short enough for this
        heading = bearing_deg(lat1, lon1, lat2, lon2)
        return lat1 + f * (lat2 - lat1), lon1 + f * (lon2 - lon1), heading


def load_route(path: str | Path, name: str | None = None) -> Route:
    """The route in a GeoJSON file: a LineString geometry, a Feature, or a
    FeatureCollection: the feature whose `name` or `id` is `name` (several joined
    with '+', driven one after the other, e.g. port roads), else the first
    `kind: corridor` LineString, else the first LineString."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise RouteError(f"cannot read route file {path}: {err}") from err
    return route_from_geojson(document, name=name, default_name=Path(path).stem)


def route_from_geojson(
    document: Any, *, name: str | None = None, default_name: str = "route"
) -> Route:
    features = _features(document)
    lines = [f for f in features if (f.get("geometry") or {}).get("type") == "LineString"]
    if name is not None:
        return _joined(lines, name.split("+"))
    corridors = [f for f in lines if _props(f).get("kind") == "corridor"]
    if not (corridors or lines):
        raise RouteError("no LineString in the route document")
    chosen = (corridors or lines)[0]
    return Route.from_coordinates(
        _feature_name(chosen) or default_name, chosen["geometry"]["coordinates"]
    )


def _joined(lines: list[dict[str, Any]], names: list[str]) -> Route:
    coordinates: list[list[float]] = []
    for wanted in names:
        found = [f for f in lines if wanted in _feature_names(f)]
        if not found:
            raise RouteError(f"no LineString named {wanted!r} in the route document")
        part = found[0]["geometry"]["coordinates"]
        if coordinates and part:
            (lon1, lat1), (lon2, lat2) = coordinates[-1][:2], part[0][:2]
            if haversine_m(lat1, lon1, lat2, lon2) > MAX_JOIN_GAP_M:
                raise RouteError(f"{wanted!r} does not start where the road before it ends")
            if part[0] == coordinates[-1]:
                part = part[1:]  # the shared junction, driven once
        coordinates += part
    return Route.from_coordinates("+".join(names), coordinates)


def _features(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise RouteError("a route document must be a GeoJSON object")
    match document.get("type"):
        case "FeatureCollection":
            return [f for f in document.get("features", []) if isinstance(f, dict)]
        case "Feature":
            return [document]
        case "LineString":
            return [{"type": "Feature", "properties": {}, "geometry": document}]
    raise RouteError(f"not a GeoJSON route: type {document.get('type')!r}")


def _props(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties")
    return props if isinstance(props, dict) else {}


def _feature_names(feature: dict[str, Any]) -> set[str]:
    props = _props(feature)
    return {
        str(v) for v in (props.get("id"), props.get("name"), feature.get("id")) if v is not None
    }


def _feature_name(feature: dict[str, Any]) -> str | None:
    """A short name for logs: the id if there is one, else the name."""
    props = _props(feature)
    value = props.get("id", feature.get("id", props.get("name")))
    return str(value) if value is not None else None
