"""Streaming: one fix at a time, against what each unit was in last.

`FenceTracker.update` answers, for one position fix of one unit, which fences
contain it, which it entered and left since the unit's previous fix, which it
passed through in between (the straight path crossed a boundary although
neither fix is inside), and where it is along its assigned corridor.

Geometry only: no dwell times, no hysteresis, no alerts — central's transit
rules build those on top, with the fix times.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from geofences import kernels
from geofences.errors import InvalidQuery
from geofences.fenceset import FenceSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FenceChange:
    """What one fix means geometrically for its unit. Fence ids are in collection order."""

    unit: str
    inside: tuple[str, ...]  # fences containing this fix
    entered: tuple[str, ...]  # inside now, not at the unit's previous fix
    exited: tuple[str, ...]  # inside at the previous fix, not now
    passed: tuple[str, ...]  # boundary crossed on the way, but inside at neither fix
    corridor: str | None  # the unit's corridor, if it has one
    corridor_distance_m: float | None  # from the corridor's centre line
    chainage_m: float | None  # along the corridor to the nearest point
    remaining_m: float | None  # from there to the corridor's end
    stale: bool  # older than the unit's latest fix: reported, but the state is unchanged


@dataclass(slots=True)
class _UnitState:
    lon: float
    lat: float
    at_ms: int | None
    inside: tuple[int, ...]
    corridor: int | None


class FenceTracker:
    """Per-unit fence state over one `FenceSet`; not thread-safe (one per worker)."""

    def __init__(self, fences: FenceSet) -> None:
        self.fences = fences
        self.rejected_fixes = 0
        self._ids = fences.ids
        self._units: dict[str, _UnitState] = {}
        n = max(len(fences), 1)
        # Scratch reused by every call, so a fix allocates almost nothing.
        self._fix = np.empty(4)
        self._inside = np.empty(n, dtype=np.int64)
        self._crossed = np.empty(n, dtype=np.int64)
        self._seen = np.full(n, -1, dtype=np.int64)
        self._candidates = np.empty(n, dtype=np.int64)
        self._measures = np.empty(3)
        self._stamp = 0
        self._no_corridor = np.empty(0, dtype=np.int64)
        self._corridor_arrays = {f: np.array([f], dtype=np.int64) for f in fences.corridors}

    def __len__(self) -> int:
        return len(self._units)

    def assign_corridor(self, unit: str, corridor: str | int | None) -> None:
        """Measure this unit's later fixes along `corridor` (None: no corridor)."""
        f = None if corridor is None else self.fences.index(corridor)
        if f is not None and f not in self._corridor_arrays:
            raise InvalidQuery(f"fence {self._ids[f]!r} is not a corridor")
        state = self._units.get(unit)
        if state is None:
            state = self._units[unit] = _UnitState(math.nan, math.nan, None, (), f)
        state.corridor = f

    def inside(self, unit: str) -> tuple[str, ...]:
        """The fences the unit's latest fix was in (empty for an unknown unit)."""
        state = self._units.get(unit)
        return tuple(self._ids[f] for f in state.inside) if state else ()

    def forget(self, unit: str) -> None:
        """Drop a unit's state (its movement is over)."""
        self._units.pop(unit, None)

    def update(self, unit: str, lon: float, lat: float, at_ms: int | None = None) -> FenceChange:
        """Judge one fix. With `at_ms` (device time), a fix older than the unit's latest
        is reported but leaves the state alone, so late fixes cannot make fences flap.
        Raises InvalidQuery (and counts it) for a position that is not WGS84 lon/lat."""
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # NaN fails too
            self.rejected_fixes += 1
            log.warning(
                "unit %s: fix rejected, not a WGS84 position: lon=%r lat=%r", unit, lon, lat
            )
            raise InvalidQuery(f"not a WGS84 position: lon={lon!r}, lat={lat!r}")
        state = self._units.get(unit)
        stale = (
            state is not None
            and at_ms is not None
            and state.at_ms is not None
            and at_ms < state.at_ms
        )
        fix = self._fix
        fix[0] = lon
        fix[1] = lat
        fix[2] = state.lon if state is not None and not stale else math.nan
        fix[3] = state.lat if state is not None and not stale else math.nan
        corridor = state.corridor if state is not None else None
        self._stamp += 1
        n_inside, n_crossed = kernels.track_step(
            self.fences.packed,
            fix,
            self._no_corridor if corridor is None else self._corridor_arrays[corridor],
            self._inside,
            self._crossed,
            self._seen,
            self._candidates,
            self._stamp,
            self._measures,
        )
        inside = tuple(self._inside[:n_inside].tolist())
        before = state.inside if state is not None else ()
        entered: tuple[int, ...] = ()
        exited: tuple[int, ...] = ()
        passed: tuple[int, ...] = ()
        if not stale:
            if inside != before:
                entered = tuple(f for f in inside if f not in before)
                exited = tuple(f for f in before if f not in inside)
            if n_crossed:
                passed = tuple(
                    sorted(
                        f
                        for f in self._crossed[:n_crossed].tolist()
                        if f not in inside and f not in before
                    )
                )
            if state is None:
                self._units[unit] = _UnitState(lon, lat, at_ms, inside, None)
            else:
                state.lon, state.lat, state.inside = lon, lat, inside
                state.at_ms = at_ms if at_ms is not None else state.at_ms
        ids = self._ids
        measured = corridor is not None
        return FenceChange(
            unit=unit,
            inside=tuple(ids[f] for f in inside),
            entered=tuple(ids[f] for f in entered),
            exited=tuple(ids[f] for f in exited),
            passed=tuple(ids[f] for f in passed),
            corridor=ids[corridor] if corridor is not None else None,
            corridor_distance_m=float(self._measures[0]) if measured else None,
            chainage_m=float(self._measures[1]) if measured else None,
            remaining_m=float(self._measures[2]) if measured else None,
            stale=stale,
        )
