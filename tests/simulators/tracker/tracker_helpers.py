"""Shared bits of the tracker tests: the test route, journeys, distance to a route."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from drivers.gnss.geodesy import distance_m
from simulators.tracker import Fault, Journey, Route, SpeedProfile, load_route

ROUTES = Path(__file__).parent / "routes"
START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def route() -> Route:
    return load_route(ROUTES / "mombasa_voi.geojson")


def journey(
    faults: list[Fault] | None = None,
    *,
    kmh: float = 72.0,
    interval_s: float = 30.0,
    seed: int = 7,
    device_id: str = "truck-7",
) -> Journey:
    return Journey(
        device_id=device_id,
        route=route(),
        speed=SpeedProfile.constant_kmh(kmh),
        start=START,
        interval_s=interval_s,
        faults=faults or [],
        seed=seed,
    )


def off_route_m(r: Route, lat: float, lon: float) -> float:
    """Distance from a point to the route polyline (local flat projection, metres)."""
    best = math.inf
    scale = math.cos(math.radians(lat))
    for (lon1, lat1), (lon2, lat2) in zip(r.vertices, r.vertices[1:], strict=False):
        ax, ay = (lon1 - lon) * scale, lat1 - lat
        bx, by = (lon2 - lon) * scale, lat2 - lat
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
        px, py = ax + t * dx, ay + t * dy
        best = min(best, math.hypot(px, py) * 111_195.0)
    return best


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return distance_m(lat1, lon1, lat2, lon2)
