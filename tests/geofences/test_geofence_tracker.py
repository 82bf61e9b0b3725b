"""Streaming: one fix at a time against each unit's last state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geofence_support import collection
from shapely.geometry import LineString, box

from geofences import FenceSet, FenceTracker, InvalidQuery


@pytest.fixture()
def tracker() -> FenceTracker:
    gate_a = box(36.00, -1.00, 36.01, -0.99)
    gate_b = box(36.02, -1.00, 36.03, -0.99)
    yard = box(36.00, -1.00, 36.05, -0.95)
    road = LineString([(35.99, -0.995), (36.06, -0.995)])
    fences = FenceSet.from_geojson(collection(gate_a, gate_b, yard, road, buffers={3: 300.0}))
    return FenceTracker(fences)


def test_enter_exit_pass_and_corridor_measures(tracker: FenceTracker) -> None:
    tracker.assign_corridor("truck", "#3")
    first = tracker.update("truck", 35.995, -0.995, at_ms=1_000)
    assert first.inside == ("#3",) and first.entered == ("#3",) and first.exited == ()
    assert first.corridor == "#3" and first.corridor_distance_m == pytest.approx(0.0, abs=1e-6)
    assert first.chainage_m is not None and first.remaining_m is not None
    assert first.chainage_m + first.remaining_m == pytest.approx(tracker.fences.length_m("#3"))
    second = tracker.update("truck", 36.005, -0.995, at_ms=2_000)
    assert second.entered == ("#0", "#2") and second.exited == ()
    assert second.inside == ("#0", "#2", "#3")
    third = tracker.update("truck", 36.04, -0.995, at_ms=3_000)
    assert third.exited == ("#0",) and third.entered == () and third.passed == ("#1",)
    assert third.chainage_m is not None and second.chainage_m is not None
    assert third.chainage_m > second.chainage_m
    off_road = tracker.update("truck", 36.04, -0.97, at_ms=4_000)
    assert off_road.exited == ("#3",) and off_road.corridor_distance_m is not None
    assert off_road.corridor_distance_m > 300.0
    assert tracker.inside("truck") == ("#2",)


def test_a_late_fix_is_reported_but_changes_nothing(tracker: FenceTracker) -> None:
    tracker.update("truck", 36.005, -0.995, at_ms=10_000)
    late = tracker.update("truck", 36.1, -0.9, at_ms=5_000)
    assert (
        late.stale
        and late.inside == ()
        and late.entered == ()
        and late.exited == ()
        and late.passed == ()
    )
    assert tracker.inside("truck") == ("#0", "#2", "#3")
    on_time = tracker.update("truck", 36.025, -0.995, at_ms=11_000)
    assert on_time.exited == ("#0",) and on_time.entered == ("#1",)


def test_bad_fixes_are_refused_counted_and_change_nothing(tracker: FenceTracker) -> None:
    tracker.update("truck", 36.005, -0.995)
    for lon, lat in ((math.nan, 0.0), (200.0, 0.0), (36.0, -95.0), (math.inf, math.inf)):
        with pytest.raises(InvalidQuery, match="WGS84"):
            tracker.update("truck", lon, lat)
    assert tracker.rejected_fixes == 4
    assert tracker.inside("truck") == ("#0", "#2", "#3")
    with pytest.raises(InvalidQuery, match="not a corridor"):
        tracker.assign_corridor("truck", "#2")


def test_streaming_agrees_with_bulk_on_random_walks() -> None:
    rng = np.random.default_rng(11)
    areas = [
        box(x, y, x + 0.004, y + 0.003)
        for x, y in rng.uniform([36.0, -1.0], [36.1, -0.9], size=(300, 2))
    ]
    fences = FenceSet.from_geojson(collection(*areas))
    tracker = FenceTracker(fences)
    walks = np.cumsum(rng.normal(0, 0.002, size=(5, 400, 2)), axis=1) + np.array([36.05, -0.95])
    for unit, walk in enumerate(walks):
        x, y = walk[:, 0].copy(), walk[:, 1].copy()
        memberships = fences.contains(x, y)
        crossings = fences.crosses(x[:-1], y[:-1], x[1:], y[1:])
        before: set[str] = set()
        for i in range(len(x)):
            change = tracker.update(f"unit-{unit}", float(x[i]), float(y[i]))
            now = {fences.ids[f] for f in np.flatnonzero(memberships[:, i])}
            assert set(change.inside) == now
            assert set(change.entered) == now - before and set(change.exited) == before - now
            if i:
                crossed = {fences.ids[f] for f in np.flatnonzero(crossings[:, i - 1])}
                assert set(change.passed) == crossed - now - before
            before = now
    assert len(tracker) == 5
    tracker.forget("unit-0")
    assert len(tracker) == 4 and tracker.inside("unit-0") == ()
