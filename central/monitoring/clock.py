"""Central's clock for the response clock and retries, injectable for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from contract.messages import utc_now


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utc_now()


class ManualClock:
    """A clock that moves only when told: `advance(minutes=61)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utc_now()

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now
