"""Corridors: distance to the centre line in metres, membership, chainage, nearest.

Distances are checked against geodesics on the WGS84 ellipsoid (geographiclib)
to the documented bound: |error| <= d**2 * (|tan(lat)| + 1) / 6.3e6 metres.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from geofences import FenceSet, InvalidQuery

WGS84 = Geodesic.WGS84


def corridor(
    points: list[tuple[float, float]], buffer_m: float, fence_id: str = "road"
) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": fence_id,
        "properties": {"kind": "corridor", "buffer_m": buffer_m},
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in points]},
    }


def fences(*features: dict[str, object]) -> FenceSet:
    return FenceSet.from_geojson({"type": "FeatureCollection", "features": list(features)})


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"])


def reference_distance_m(
    a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]
) -> float:
    """Shortest geodesic from p to the segment a-b (straight in lon/lat, as GeoJSON says)."""

    def at(t: float) -> float:
        return geodesic_m(p[0], p[1], a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))

    ts = np.linspace(0.0, 1.0, 201)
    i = int(np.argmin([at(t) for t in ts]))
    lo, hi = ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)]
    for _ in range(40):  # the distance is unimodal near its minimum
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (lo, m2) if at(m1) < at(m2) else (m1, hi)
    return min(at(0.0), at(1.0), at((lo + hi) / 2))


@settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(-70, 70),
    length_m=st.floats(50, 20_000),
    heading=st.floats(0, 2 * math.pi),
    offset_m=st.floats(0, 20_000),
    bearing=st.floats(0, 2 * math.pi),
    t=st.floats(-0.3, 1.3),
)
def test_distance_is_within_the_documented_bound_of_the_geodesic(
    lat: float, length_m: float, heading: float, offset_m: float, bearing: float, t: float
) -> None:
    kx, ky = 111_320 * math.cos(math.radians(lat)), 110_574
    a = (10.0, lat)
    b = (a[0] + length_m * math.cos(heading) / kx, a[1] + length_m * math.sin(heading) / ky)
    p = (
        a[0] + t * (b[0] - a[0]) + offset_m * math.cos(bearing) / kx,
        a[1] + t * (b[1] - a[1]) + offset_m * math.sin(bearing) / ky,
    )
    got = fences(corridor([a, b], 100.0)).measure("road", [p[0]], [p[1]]).distance_m[0]
    expected = reference_distance_m(a, b, p)
    bound = expected**2 * (abs(math.tan(math.radians(p[1]))) + 1) / 6.3e6
    assert abs(got - expected) <= bound + 1e-3


def zigzag(rng: np.random.Generator, n: int, lat: float) -> list[tuple[float, float]]:
    steps = rng.normal(0, 0.01, size=(n, 2)) + np.array([0.01, 0.0])
    return [(36.0 + float(x), lat + float(y)) for x, y in np.cumsum(steps, axis=0)]


@pytest.mark.parametrize("lat", [-4.0, 0.5, 41.1, 62.0])
def test_contains_a_corridor_is_distance_within_buffer(lat: float) -> None:
    rng = np.random.default_rng(int(lat * 10) + 100)
    line = zigzag(rng, 60, lat)
    buffer_m = 750.0
    road = fences(corridor(line, buffer_m))
    xy = np.array(line)
    # Points spread around the line, many of them within metres of the buffer's edge.
    base = xy[rng.integers(0, len(xy) - 1, 20_000)]
    near = base + rng.normal(0, 0.008, size=base.shape)
    x, y = near[:, 0].copy(), near[:, 1].copy()
    distance = road.measure("road", x, y).distance_m
    inside = road.contains(x, y)[0]
    assert (inside == (distance <= buffer_m)).all()
    assert inside.sum() > 1000 and (~inside).sum() > 1000
    close_to_edge = np.abs(distance - buffer_m) < 5.0
    assert close_to_edge.sum() > 50


def test_chainage_and_remaining_along_a_corridor() -> None:
    line = [(36.8, -1.3), (36.9, -1.3), (36.9, -1.2), (37.0, -1.1)]
    road = fences(corridor(line, 500.0))
    geodesic_length = sum(geodesic_m(*line[i], *line[i + 1]) for i in range(len(line) - 1))
    assert road.length_m("road") == pytest.approx(geodesic_length, rel=1e-5)
    x = np.array([36.8, 36.85, 36.9, 36.9, 37.0, 36.85])
    y = np.array([-1.3, -1.3, -1.3, -1.25, -1.1, -1.3001])
    measured = road.measure("road", x, y)
    first = geodesic_m(*line[0], *line[1])
    assert_allclose(measured.chainage_m[:3], [0.0, first / 2, first], rtol=1e-5, atol=1e-6)
    assert measured.chainage_m[3] == pytest.approx(
        first + geodesic_m(*line[1], *line[2]) / 2, rel=1e-5
    )
    assert measured.remaining_m[4] == pytest.approx(0.0, abs=1e-6)
    assert_allclose(measured.chainage_m + measured.remaining_m, road.length_m("road"))
    assert measured.distance_m[5] == pytest.approx(
        geodesic_m(36.85, -1.3001, 36.85, -1.3), rel=1e-4
    )
    along = np.linspace(0, 1, 200)
    walk = road.measure("road", 36.8 + 0.1 * along, np.full(200, -1.3)).chainage_m
    assert (np.diff(walk) > 0).all()


def test_nearest_corridor_and_non_finite_points() -> None:
    north = corridor([(36.0, 1.0), (37.0, 1.0)], 200.0, "north")
    south = corridor([(36.0, -1.0), (37.0, -1.0)], 200.0, "south")
    area = {
        "type": "Feature",
        "id": "yard",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[36, 0], [37, 0], [37, 0.1], [36, 0]]]},
    }
    set_ = fences(north, area, south)
    which, distance = set_.nearest_corridor(
        np.array([36.5, 36.5, 36.5, np.nan]), np.array([0.9, -0.2, 5.0, 0.0])
    )
    assert which.tolist() == [0, 2, 0, -1]
    assert distance[0] == pytest.approx(geodesic_m(36.5, 0.9, 36.5, 1.0), rel=1e-4)
    assert math.isnan(distance[3])
    assert set_.corridors == (0, 2)
    with pytest.raises(InvalidQuery, match="not a corridor"):
        set_.measure("yard", [36.5], [0.0])
    only_areas = fences(area)
    which, distance = only_areas.nearest_corridor(np.array([36.5]), np.array([0.0]))
    assert which.tolist() == [-1] and distance.tolist() == [math.inf]
