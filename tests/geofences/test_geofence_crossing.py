"""Segment crossing: does the straight path between two fixes meet a fence's boundary
(area) or centre line (corridor)? Checked against shapely, touches included."""

from __future__ import annotations

import numpy as np
import shapely
from geofence_support import collection, polygonal
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

from geofences import FenceSet

grid_point = st.tuples(st.integers(0, 10), st.integers(0, 10))


def expected_crossings(geometries: list[object], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # A zero-length path is its point (shapely finds nothing on a degenerate LineString).
    still = (a == b).all(axis=1)
    paths = np.where(still, shapely.points(a), shapely.linestrings(np.stack([a, b], axis=1)))
    out = []
    for geometry in geometries:
        target = geometry if geometry.geom_type == "LineString" else geometry.boundary
        out.append(shapely.intersects(paths, target))
    return np.array(out)


@settings(max_examples=120, deadline=None)
@given(
    rings=st.lists(st.lists(grid_point, min_size=3, max_size=8), min_size=1, max_size=3),
    line=st.lists(grid_point, min_size=2, max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_crossings_match_shapely(
    rings: list[list[tuple[int, int]]], line: list[tuple[int, int]], seed: int
) -> None:
    geometries: list[object] = []
    for ring in rings:
        area = polygonal(shapely.make_valid(Polygon(ring)))
        if area is not None:
            geometries.append(area)
    centre = LineString(line)
    if centre.length > 0:
        geometries.append(centre)
    if not geometries:
        return
    rng = np.random.default_rng(seed)
    # Segments between grid points (touching vertices, running along edges) and random ones;
    # a few of zero length.
    a = np.vstack([rng.integers(0, 11, size=(300, 2)), rng.uniform(-1, 11, size=(300, 2))]).astype(
        float
    )
    b = np.vstack([rng.integers(0, 11, size=(300, 2)), rng.uniform(-1, 11, size=(300, 2))]).astype(
        float
    )
    b[:20] = a[:20]
    a, b = a / 100 + [36.0, -1.0], b / 100 + [36.0, -1.0]
    geometries = [
        shapely.affinity.affine_transform(g, [0.01, 0, 0, 0.01, 36.0, -1.0]) for g in geometries
    ]
    buffers = {len(geometries) - 1: 10.0} if geometries[-1].geom_type == "LineString" else None
    fences = FenceSet.from_geojson(collection(*geometries, buffers=buffers))
    got = fences.crosses(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert (got == expected_crossings(geometries, a, b)).all()


def test_a_long_path_across_many_fences() -> None:
    areas = [box(36 + i * 0.1, -1.0, 36.05 + i * 0.1, -0.95) for i in range(40)]
    fences = FenceSet.from_geojson(collection(*areas))
    got = fences.crosses(
        [35.9, 35.9, 36.01], [-0.975, -0.5, -0.99], [40.1, 40.1, 36.02], [-0.975, -0.5, -0.96]
    )
    assert got[:, 0].all()  # through every box
    assert not got[:, 1].any()  # far north of them all
    assert not got[:, 2].any()  # inside the first box, never reaching its boundary
    assert not fences.crosses([np.nan], [0.0], [36.0], [-1.0]).any()
