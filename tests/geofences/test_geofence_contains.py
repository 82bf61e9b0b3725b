"""FenceSet.contains against shapely 2, on random and adversarial data.

The rule: a point on an area's boundary is contained (shapely's intersects_xy);
off the boundary the answer is shapely's contains_xy.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geofence_support import collection, polygonal, probe_points
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from shapely.geometry import MultiPolygon, Polygon, box

from geofences import FenceSet
from geofences.kernels import orient2d

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_matches_shapely(geometries: list[object], x: np.ndarray, y: np.ndarray) -> None:
    got = FenceSet.from_geojson(collection(*geometries)).contains(x, y)
    assert got.shape == (len(geometries), len(x))
    for row, geometry in zip(got, geometries, strict=True):
        covers = shapely.intersects_xy(geometry, x, y)
        strictly = shapely.contains_xy(geometry, x, y)
        assert_array_equal(row, covers)  # boundary counts
        off_boundary = covers == strictly
        assert_array_equal(row[off_boundary], strictly[off_boundary])


# --- strategies ------------------------------------------------------------------

grid_point = st.tuples(st.integers(0, 8), st.integers(0, 8))


@st.composite
def messy_areas(draw: st.DrawFn) -> list[object]:
    """Polygons from random rings on a coarse grid, made valid: holes, multipolygons,
    touching parts, collinear edges, slivers; placed at a lon/lat like the port of Bari."""
    scale = draw(st.sampled_from([0.25, 0.001, 1e-7]))
    areas = []
    for _ in range(draw(st.integers(1, 4))):
        ring = draw(st.lists(grid_point, min_size=3, max_size=9))
        made = polygonal(shapely.make_valid(Polygon(ring)))
        if made is not None:
            areas.append(
                shapely.affinity.affine_transform(made, [scale, 0, 0, scale, 16.85, 41.13])
            )
    if not areas:
        areas.append(box(16.85, 41.13, 16.85 + 2 * scale, 41.13 + scale))
    return areas


def star(rng: np.random.Generator, cx: float, cy: float, radius: float, n: int) -> Polygon:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.3, 1.0, n)
    return Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)])


# --- properties ----------------------------------------------------------------


@SETTINGS
@given(areas=messy_areas(), seed=st.integers(0, 2**32 - 1))
def test_messy_areas_match_shapely(areas: list[object], seed: int) -> None:
    x, y = probe_points(areas, np.random.default_rng(seed), n_random=200)
    # Grid points hit vertices, edges and shared edges exactly.
    lo = np.min([shapely.bounds(a)[:2] for a in areas], axis=0)
    hi = np.max([shapely.bounds(a)[2:] for a in areas], axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 33), np.linspace(lo[1], hi[1], 33))
    assert_matches_shapely(areas, np.r_[x, gx.ravel()], np.r_[y, gy.ravel()])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_stars_with_holes_and_parts_match_shapely(seed: int) -> None:
    rng = np.random.default_rng(seed)
    areas: list[object] = []
    for _ in range(12):
        cx, cy, r = rng.uniform(30, 40), rng.uniform(-5, 5), rng.uniform(0.05, 2.0)
        shell = star(rng, cx, cy, r, int(rng.integers(5, 300)))
        kind = rng.integers(3)
        if kind == 1:
            hole = shapely.affinity.scale(box(cx - r / 5, cy - r / 5, cx + r / 5, cy + r / 5), 1, 1)
            shell = Polygon(shell.exterior, [hole.exterior]) if shell.contains(hole) else shell
        elif kind == 2:
            far = star(rng, cx + 3 * r, cy, r / 2, 20)
            shell = MultiPolygon([shell, far]) if not far.intersects(shell) else shell
        areas.append(shell)
    areas = [a for a in areas if a.is_valid]  # a random star can touch itself
    assert len(areas) >= 6
    x, y = probe_points(areas, rng, n_random=5000)
    assert_matches_shapely(areas, x, y)


# Exact for any degree values whose products do not underflow; a coordinate below
# 1e-9 degrees (0.1 mm) other than zero is noise, and the test leaves it out.
degree = st.floats(-180, 180).filter(lambda v: v == 0 or abs(v) > 1e-9)


@SETTINGS
@given(a=st.tuples(degree, degree), b=st.tuples(degree, degree), t=st.floats(0, 1))
def test_orientation_is_exact(a: tuple[float, float], b: tuple[float, float], t: float) -> None:
    from fractions import Fraction

    # A point on the segment, rounded: the hard case for floating point.
    c = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    exact = (Fraction(b[0]) - Fraction(a[0])) * (Fraction(c[1]) - Fraction(a[1])) - (
        Fraction(b[1]) - Fraction(a[1])
    ) * (Fraction(c[0]) - Fraction(a[0]))
    expected = (exact > 0) - (exact < 0)
    assert orient2d(a[0], a[1], b[0], b[1], c[0], c[1]) == expected


# --- adversarial cases by hand ---------------------------------------------------


def test_boundary_rule_on_shell_hole_vertices_and_edges() -> None:
    square = Polygon(
        [(10, 10), (14, 10), (14, 14), (10, 14)], [[(11, 11), (12, 11), (12, 12), (11, 12)]]
    )
    fences = FenceSet.from_geojson(collection(square))
    on_boundary = np.array([[10, 10], [12, 10], [14, 13], [11, 11], [11.5, 11], [12, 11.5]], float)
    inside = np.array([[10.5, 10.5], [13, 13], [12.5, 11.5]], float)
    in_hole = np.array([[11.5, 11.5], [11.25, 11.75]], float)
    outside = np.array([[9.99, 10], [15, 12], [np.nextafter(10, 0), 12]], float)
    for points, expected in (
        (on_boundary, True),
        (inside, True),
        (in_hole, False),
        (outside, False),
    ):
        got = fences.contains(points[:, 0], points[:, 1])[0]
        assert got.tolist() == [expected] * len(points), (points, got)
    just_in = np.nextafter(10.0, 11.0)
    assert fences.contains([just_in], [12.0])[0, 0]
    assert not fences.contains([np.nextafter(11.0, 12.0)], [11.5])[0, 0]  # in the hole


def test_a_point_on_a_shared_edge_is_in_both_fences() -> None:
    left, right = box(20, 0, 21, 1), box(21, 0, 22, 1)
    triangle_a = Polygon([(20, 2), (22, 2), (22, 3)])
    triangle_b = Polygon([(20, 2), (22, 3), (20, 3)])  # shares the diagonal with a
    fences = FenceSet.from_geojson(collection(left, right, triangle_a, triangle_b))
    got = fences.contains(
        np.array([21.0, 21.0, 21.0, 20.5, 21.5]), np.array([0.5, 0.0, 2.5, 0.5, 2.75])
    )
    assert got[:, 0].tolist() == [True, True, False, False]
    assert got[:, 1].tolist() == [True, True, False, False]
    assert got[:, 2].tolist() == [False, False, True, True]  # on the shared diagonal
    assert got[:, 3].tolist() == [True, False, False, False]
    assert got[:, 4].tolist() == [False, False, True, True]


def test_thin_sliver_and_points_a_hair_away() -> None:
    sliver = Polygon([(16.0, 41.0), (16.5, 41.0 + 1e-9), (16.5, 41.0 + 2e-9), (16.0, 41.0)])
    assert sliver.is_valid and sliver.area > 0
    x = np.linspace(16.0, 16.5, 2001)
    y = 41.0 + (x - 16.0) * 3e-9
    x, y = np.r_[x, x, x], np.r_[y, np.nextafter(y, 42), np.nextafter(y, 40)]
    assert_matches_shapely([sliver], x, y)


def test_polygons_across_many_grid_cells_and_points_outside_the_index() -> None:
    rng = np.random.default_rng(7)
    big = star(rng, 36.0, -1.0, 3.0, 400)
    small = [
        box(36 + i * 0.01, -1 + i * 0.01, 36.001 + i * 0.01, -0.999 + i * 0.01) for i in range(50)
    ]
    areas = [big, *small]
    x, y = probe_points(areas, rng, n_random=20000)
    far = np.array([-179.9, 179.9, 0.0, 36.0, np.nan, np.inf, 36.0])
    far_y = np.array([0.0, 0.0, -89.0, 89.0, -1.0, -1.0, np.nan])
    assert_matches_shapely(areas, np.r_[x, far], np.r_[y, far_y])
    got = FenceSet.from_geojson(collection(*areas)).contains(far, far_y)
    assert not got.any()


def test_empty_collection_and_empty_geometry() -> None:
    empty = FenceSet.from_geojson({"type": "FeatureCollection", "features": []})
    assert len(empty) == 0
    assert empty.contains(np.array([1.0, 2.0]), np.array([1.0, 2.0])).shape == (0, 2)
    assert empty.locate(np.array([1.0]), np.array([1.0])).features.size == 0
    fences = FenceSet.from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": None,
                    "geometry": {"type": "Polygon", "coordinates": []},
                },
                {"type": "Feature", "properties": None, "geometry": mapping_of(box(0, 0, 1, 1))},
            ],
        }
    )
    got = fences.contains(np.array([0.0, 0.5, 0.0]), np.array([0.0, 0.5, 0.0]))
    assert got.tolist() == [[False, False, False], [True, True, True]]


def mapping_of(geometry: object) -> dict[str, object]:
    from shapely.geometry import mapping

    return dict(mapping(geometry))


def test_locate_is_the_sparse_form_of_contains() -> None:
    rng = np.random.default_rng(3)
    areas = [star(rng, rng.uniform(0, 2), rng.uniform(0, 2), 0.5, 40) for _ in range(30)]
    fences = FenceSet.from_geojson(collection(*areas))
    x, y = rng.uniform(-0.5, 2.5, 3000), rng.uniform(-0.5, 2.5, 3000)
    dense = fences.contains(x, y)
    sparse = fences.locate(x, y)
    for i in range(len(x)):
        row = sparse.features[sparse.offsets[i] : sparse.offsets[i + 1]]
        assert row.tolist() == np.flatnonzero(dense[:, i]).tolist()


@pytest.mark.parametrize(
    "lon",
    [
        np.array([36.5, 37.0], dtype=np.float32),
        [36.5, 37.0],
        np.array([[36.5, 0.0], [37.0, 0.0]])[:, 0],  # not contiguous
    ],
)
def test_any_numeric_input_uses_the_one_float64_specialisation(lon: object) -> None:
    from geofences import kernels

    fences = FenceSet.from_geojson(collection(box(36, -1, 37, 0)))
    got = fences.contains(lon, np.array([-0.5, -0.5]))  # type: ignore[arg-type]
    assert got.tolist() == [[True, True]]
    assert len(kernels.contains_dense.signatures) == 1
