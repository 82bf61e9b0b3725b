"""Central's clock for the transit rules: UTC, or a manual clock for rehearsals.

Silence and overdue arrival are judged against this clock (a fix cannot say that
no fix came). A rehearsal runs journeys in scaled time; with a manual clock the
rehearsal moves central's time along with the simulated devices' time, so that
scheduling hiccups of a loaded machine cannot make a unit look silent.
"""

from __future__ import annotations

from datetime import datetime

from central.errors import CentralError
from central.transit.settings import ClockSettings
from contract.messages import utc_now


class ClockError(CentralError):
    """The clock cannot be set (it is the system clock, or the time would go back)."""


class TransitClock:
    def __init__(self, settings: ClockSettings) -> None:
        self.manual = settings.mode == "manual"
        self._now = settings.start or utc_now()

    def now(self) -> datetime:
        return self._now if self.manual else utc_now()

    def set(self, at: datetime) -> datetime:
        """Move a manual clock forward to `at` (never back: time judged stays judged)."""
        if not self.manual:
            raise ClockError("central's transit clock is the system clock; it cannot be set")
        if at < self._now:
            raise ClockError(f"the clock stands at {self._now.isoformat()}; it never goes back")
        self._now = at
        return self._now
