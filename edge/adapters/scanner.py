"""NII/X-ray scanner adapter: a scan linked to the passage, reported in `Passage.scan`.

`trigger: trip` (default): when the lane's loop trips, the adapter sends TRIGGER with
the id the passage will be published under (`Trip.passage_id`) and the lane id. An
accepted trigger is reported at once as `ScanInfo(scan_id, completed=False)`; the
trip then waits, at most until the lane stops collecting (`Trip.closes_by`: the read
window plus `trip_timeout_s`), for `scan_complete`, which is reported as
`completed=True`. A scan_complete that comes later cannot join a passage already
sent: it is logged and counted as late (`stats.late`) and goes nowhere else (its
observation would name the old passage, which no later passage accepts). Nothing is
lost by that: the scanner files the image under that passage id and scan id, central
already has the scan id from the passage, and what the exit gate waits for is the
image analyst's "scan validated", which reaches central through its API.

`trigger: external`: the scanner is started by its own sensors or its operator; the
adapter reports what it sees (scan_started, scan_complete) and the lane attributes it
by time, like any other read.

A refused trigger (busy, fault) leaves the passage without a scan; a scanner fault
marks the device unavailable until it clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from pydantic import Field

from contract import ScanInfo, utc_now
from drivers.probe import ProbeResult
from drivers.scanner import (
    NiiScanner,
    ScanAborted,
    ScanCompleted,
    ScannerError,
    ScannerEvent,
    ScannerFault,
    ScannerFaultCleared,
    ScannerLinkError,
    ScannerSettings,
    ScannerState,
    ScanStarted,
)
from edge.adapters.base import Adapter, AdapterConfig, ObservationSink, Trip
from edge.observations import ScanObservation

log = logging.getLogger(__name__)

KEEP_TRIPS_S = 600.0  # how long a triggered scan is remembered, to recognise a late completion


class ScannerConfig(AdapterConfig):
    type: Literal["scanner"] = "scanner"
    host: str = Field(description="scanner workstation address (NII-1 over TCP)")
    port: int = Field(default=7410, ge=1, le=65535, description="NII-1 TCP port")
    timeout_s: float = Field(default=2.0, gt=0, description="longest wait for one reply")
    heartbeat_timeout_s: float = Field(
        default=15.0, gt=0, description="no line for this long: the link is dead"
    )
    trigger: Literal["trip", "external"] = Field(
        default="trip",
        description="`trip`: trigger a scan, linked to the passage, when the loop trips; "
        "`external`: the scanner starts itself, its scans are attributed by time",
    )


@dataclass
class _TriggeredScan:
    trip: Trip
    scan_id: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ScannerAdapterStats:
    triggered: int = 0
    refused: int = 0
    completed: int = 0
    late: int = 0
    aborted: int = 0
    foreign: int = 0  # events for scans this box did not trigger (trigger: trip)


class ScannerAdapter(Adapter):
    config: ScannerConfig

    def __init__(self, config: ScannerConfig, sink: ObservationSink) -> None:
        super().__init__(config, sink)
        self.stats = ScannerAdapterStats()
        self._scanner: NiiScanner | None = None
        self._trips: dict[UUID, _TriggeredScan] = {}

    def _settings(self) -> ScannerSettings:
        c = self.config
        return ScannerSettings(
            host=c.host,
            port=c.port,
            timeout_s=c.timeout_s,
            heartbeat_timeout_s=c.heartbeat_timeout_s,
        )

    # ---------------------------------------------------------------- session

    async def session(self) -> None:
        async with NiiScanner(self._settings()) as scanner:
            status = await scanner.status()
            if status.state == ScannerState.FAULT:
                self.health.down(f"scanner fault {status.fault_code or '?'}")
            else:
                self.health.up()
            self._scanner = scanner
            try:
                async for event in scanner.readings():
                    self._on_event(event)
            finally:
                self._scanner = None

    def _report(self, scan_id: str, completed: bool, passage_id: UUID | None) -> None:
        self.sink(
            ScanObservation(
                scan=ScanInfo(scan_id=scan_id, completed=completed),
                at=utc_now(),
                passage_id=passage_id,
            )
        )

    def _on_event(self, event: ScannerEvent) -> None:
        if isinstance(event, ScannerFault):
            self.health.down(f"scanner fault {event.code}")
            return
        if isinstance(event, ScannerFaultCleared):
            self.health.up()
            return
        triggered = self._trips.get(event.passage_id)
        if triggered is None:
            self._not_ours(event)
            return
        if isinstance(event, ScanStarted):
            triggered.scan_id = event.scan_id
            return
        del self._trips[event.passage_id]
        triggered.done.set()
        if isinstance(event, ScanAborted):
            self.stats.aborted += 1
            log.warning(
                "%s: scan %s of passage %s aborted: %s",
                self.name,
                event.scan_id,
                event.passage_id,
                event.reason,
            )
            return
        if utc_now() > triggered.trip.closes_by:
            self.stats.late += 1
            log.info(
                "%s: scan %s of passage %s completed after the passage was sent; it stays with "
                "that passage (image %s), not reported again",
                self.name,
                event.scan_id,
                event.passage_id,
                event.image_ref,
            )
            return
        self.stats.completed += 1
        self._report(event.scan_id, True, event.passage_id)

    def _not_ours(self, event: ScanStarted | ScanCompleted | ScanAborted) -> None:
        if self.config.trigger == "external":
            if not isinstance(event, ScanAborted):
                self._report(event.scan_id, isinstance(event, ScanCompleted), None)
            return
        # Triggered by someone else (or so late it was forgotten): never guess its passage.
        self.stats.foreign += 1
        log.info(
            "%s: %s for scan %s of passage %s, which this box did not trigger: ignored",
            self.name,
            type(event).__name__,
            event.scan_id,
            event.passage_id,
        )

    # ---------------------------------------------------------------- trips

    def _forget_old(self) -> None:
        now = utc_now()
        for passage_id, triggered in list(self._trips.items()):
            if (now - triggered.trip.closes_by).total_seconds() > KEEP_TRIPS_S:
                del self._trips[passage_id]

    async def on_trip(self, trip: Trip) -> None:
        if self.config.trigger != "trip":
            return
        scanner = self._scanner
        if scanner is None:
            raise ScannerLinkError(f"no link to the scanner: passage {trip.passage_id} not scanned")
        self._forget_old()
        triggered = _TriggeredScan(trip)
        self._trips[trip.passage_id] = triggered  # before TRIGGER: events may overtake its reply
        try:
            outcome = await scanner.trigger(trip.passage_id, lane_id=trip.lane_id)
        except ScannerError:
            self._trips.pop(trip.passage_id, None)
            raise
        if not outcome.accepted or not outcome.scan_id:
            self._trips.pop(trip.passage_id, None)
            self.stats.refused += 1
            log.warning(
                "%s: scanner refused the scan of passage %s: %s",
                self.name,
                trip.passage_id,
                outcome.reason,
            )
            return
        self.stats.triggered += 1
        triggered.scan_id = outcome.scan_id
        if not triggered.done.is_set():
            self._report(outcome.scan_id, False, trip.passage_id)
        wait_s = (trip.closes_by - utc_now()).total_seconds()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, wait_s)):
                await triggered.done.wait()

    # ---------------------------------------------------------------- diagnose

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with NiiScanner(self._settings()) as scanner:
                result = await scanner.probe()
        except ScannerError as err:
            return ProbeResult(ok=False, detail=str(err))
        if result.round_trip_ms is None:
            return result
        rtt = round((time.perf_counter() - started) * 1000, 1)
        return ProbeResult(ok=result.ok, detail=result.detail, round_trip_ms=rtt)
