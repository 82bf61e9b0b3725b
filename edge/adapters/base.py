"""What every lane device adapter provides."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contract.bus import backoff_s
from contract.tasks import raise_if_cancelling
from drivers.probe import ProbeResult
from edge.health import DeviceHealth
from edge.observations import Observation

ObservationSink = Callable[[Observation], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trip:
    """The lane's loop detector tripped: a passage has begun.

    `passage_id` is the id the passage will be published with, so a device that is
    triggered (a scanner) can link what it takes to it; `closes_by` is the latest the
    lane collects reads for it (its read window plus `trip_timeout_s`).
    """

    passage_id: UUID
    lane_id: str
    at: datetime
    closes_by: datetime


class AdapterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="device id, used as the read's source")


class Adapter(ABC):
    """Runs one device for one lane."""

    def __init__(self, config: Any, sink: ObservationSink) -> None:
        self.config = config
        self.sink = sink
        self.health = DeviceHealth(config.name)

    @property
    def name(self) -> str:
        return str(self.config.name)

    @abstractmethod
    async def session(self) -> None:
        """Connect and report until the link fails (raise) or the task is cancelled."""

    @abstractmethod
    async def probe(self) -> ProbeResult:
        """A quick check for field diagnostics."""

    async def on_trip(self, trip: Trip) -> None:
        """The lane's loop detector tripped. Devices that read on a trigger (cameras,
        scanners) read now; devices that report continuously (RFID) have nothing to do."""
        return None

    async def run(self) -> None:
        """Keep a session going forever, with jittered back-off between attempts."""
        attempt = 0
        while True:
            try:
                await self.session()
                reason = "session ended"
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a device failure must never stop the lane
                reason = str(err) or type(err).__name__
            # A driver library's wait_for may have lost the lane's one stop: end, not retry.
            raise_if_cancelling()
            self.health.down(reason)
            attempt = 0 if self.health.available else attempt + 1
            await asyncio.sleep(backoff_s(min(attempt, 5), base_s=0.5, cap_s=10.0))
