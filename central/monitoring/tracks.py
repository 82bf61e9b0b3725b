"""Recent positions of units in transit and of response units, and recent seal events,
held in memory for the live map, a unit's timeline and incident evidence.

The durable time series of positions belongs to the transit store; this is a
bounded window (the newest `per_device` fixes of each device).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.identifiers import normalise
from contract.messages import PositionFix, SealEvent


@dataclass(frozen=True)
class TrackPoint:
    at: datetime
    lat: float
    lon: float
    speed_mps: float | None
    course_deg: float | None

    def public(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "lat": self.lat,
            "lon": self.lon,
            "speed_mps": self.speed_mps,
            "course_deg": self.course_deg,
        }


class Tracks:
    def __init__(self, per_device: int = 720, max_devices: int = 50_000) -> None:
        self.per_device = per_device
        self.max_devices = max_devices
        self._points: dict[str, deque[TrackPoint]] = {}
        self._seals: dict[str, deque[SealEvent]] = {}
        self._changed: set[str] = set()

    def add_fix(self, fix: PositionFix) -> bool:
        """Keep a fix; False when it was refused (no fix, or the device table is full)."""
        if fix.mode < 2:
            return False
        points = self._points.get(fix.device_id)
        if points is None:
            if len(self._points) >= self.max_devices:
                return False
            points = self._points[fix.device_id] = deque(maxlen=self.per_device)
        if points and fix.fixed_at <= points[-1].at:
            return False  # late or repeated: the window keeps time order
        points.append(TrackPoint(fix.fixed_at, fix.lat, fix.lon, fix.speed_mps, fix.course_deg))
        self._changed.add(fix.device_id)
        return True

    def add_seal_event(self, event: SealEvent) -> None:
        self._seals.setdefault(normalise(event.seal_id), deque(maxlen=200)).append(event)

    def latest(self, device_id: str) -> TrackPoint | None:
        points = self._points.get(device_id)
        return points[-1] if points else None

    def all_latest(self) -> dict[str, TrackPoint]:
        return {device: points[-1] for device, points in self._points.items() if points}

    def take_changed(self) -> dict[str, TrackPoint]:
        """Latest points of the devices that moved since the last call."""
        changed, self._changed = self._changed, set()
        return {d: self._points[d][-1] for d in changed if self._points.get(d)}

    def excerpt(
        self, device_id: str, since: datetime | None = None, limit: int = 500
    ) -> list[TrackPoint]:
        points = [p for p in self._points.get(device_id, ()) if since is None or p.at >= since]
        return points[-limit:]

    def seal_events(self, seal_ids: set[str]) -> list[SealEvent]:
        events = [e for s in seal_ids for e in self._seals.get(normalise(s), ())]
        return sorted(events, key=lambda e: e.occurred_at)
