"""The NII/X-ray scanner over TCP (NII-1 line protocol).

    async with NiiScanner(ScannerSettings(host="10.0.0.7")) as scanner:
        ticket = await scanner.trigger(passage_id, lane_id="L1", container="MSCU1234565")
        async for event in scanner.readings():
            if isinstance(event, ScanCompleted) and event.scan_id == ticket.scan_id: ...

Two error channels: a lost link, a silent scanner or a stopped heartbeat raise
`ScannerLinkError` (`ScannerTimeout`); a refused trigger, an aborted scan or a
scanner fault come back as values. Bad lines are dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contract.tasks import cancel_and_wait, within
from drivers.probe import ProbeResult
from drivers.scanner.errors import LineError, ScannerLinkError, ScannerTimeout
from drivers.scanner.protocol import MAX_LINE, Line, decode, encode, parse_utc

log = logging.getLogger(__name__)


class ScannerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="scanner control address")
    port: int = Field(default=7410, ge=1, le=65535, description="NII-1 TCP port")
    timeout_s: float = Field(default=2.0, gt=0, description="max wait for one reply")
    heartbeat_timeout_s: float = Field(
        default=15.0, gt=0, description="no line at all for this long: the link is dead"
    )


class ScannerState(StrEnum):
    READY = "ready"
    SCANNING = "scanning"
    WARMUP = "warmup"
    FAULT = "fault"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TriggerOutcome(_Frozen):
    accepted: bool
    passage_id: UUID
    scan_id: str | None = Field(description="the scanner's id for this scan, linked to the passage")
    reason: str | None = Field(default=None, description="why the scanner refused (busy, fault)")


class ScannerStatus(_Frozen):
    state: ScannerState
    source_on: bool = Field(description="X-ray source energised")
    fault_code: str | None
    at: datetime


class ScanStarted(_Frozen):
    scan_id: str
    passage_id: UUID
    at: datetime


class ScanCompleted(_Frozen):
    """The image is taken; validation by the image analyst comes later, via central."""

    scan_id: str
    passage_id: UUID
    image_ref: str = Field(description="where the scanner stored the image")
    duration_ms: int = Field(ge=0)
    at: datetime


class ScanAborted(_Frozen):
    scan_id: str
    passage_id: UUID
    reason: str
    at: datetime


class ScannerFault(_Frozen):
    code: str = Field(description="e.g. xray_interlock_open, conveyor_stopped, detector_fault")
    at: datetime


class ScannerFaultCleared(_Frozen):
    at: datetime


ScannerEvent = ScanStarted | ScanCompleted | ScanAborted | ScannerFault | ScannerFaultCleared


@dataclass
class ScannerStats:
    lines: int = 0
    bad_lines: int = 0
    unexpected: int = 0
    problems: dict[str, int] = field(default_factory=dict)


class NiiScanner:
    """One NII scanner's control link. Use as `async with`."""

    def __init__(self, settings: ScannerSettings) -> None:
        self.settings = settings
        self.stats = ScannerStats()
        self.last_heard = 0.0  # time.monotonic() of the last valid line
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Line]] = {}
        self._events: asyncio.Queue[ScannerEvent] = asyncio.Queue()
        self._seq = 0
        self._broken: str | None = None

    async def __aenter__(self) -> NiiScanner:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        s = self.settings
        try:
            self._reader, self._writer = await within(
                asyncio.open_connection(s.host, s.port, limit=MAX_LINE * 2), s.timeout_s
            )
        except (OSError, TimeoutError) as err:
            raise ScannerLinkError(f"cannot connect to scanner {s.host}:{s.port}: {err}") from err
        self._broken = None
        self.last_heard = time.monotonic()
        self._pump = asyncio.create_task(self._receive(), name="scanner-receive")

    async def close(self) -> None:
        if self._pump:
            await cancel_and_wait(self._pump)
            self._pump = None
        if self._writer:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None

    # ---------------------------------------------------------------- receiving

    async def _receive(self) -> None:
        assert self._reader is not None
        while True:
            try:
                raw = await self._reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                await self._skip_long_line()
                continue
            except asyncio.IncompleteReadError:
                self._fail("scanner closed the connection")
                return
            except OSError as err:
                self._fail(f"scanner link failed: {err}")
                return
            self._take(raw)

    async def _skip_long_line(self) -> None:
        assert self._reader is not None
        self._bad("line longer than the protocol allows")
        with contextlib.suppress(asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            await self._reader.readexactly(MAX_LINE)

    def _fail(self, why: str) -> None:
        log.warning("scanner %s: %s", self.settings.host, why)
        self._broken = why
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ScannerLinkError(why))

    def _bad(self, why: str) -> None:
        self.stats.bad_lines += 1
        self.stats.problems[why] = self.stats.problems.get(why, 0) + 1
        log.warning("scanner %s: dropped a line: %s", self.settings.host, why)

    def _take(self, raw: bytes) -> None:
        try:
            line = decode(raw)
            self.last_heard = time.monotonic()
            self.stats.lines += 1
            if line.seq:
                self._answer(line)
            elif line.verb == "EVT":
                event = _event(line)
                if event is not None:
                    self._events.put_nowait(event)
            else:
                self.stats.unexpected += 1
        except LineError as err:
            self._bad(str(err))

    def _answer(self, line: Line) -> None:
        future = self._pending.get(line.seq)
        if future is None or future.done():
            self.stats.unexpected += 1
            return
        future.set_result(line)

    # ---------------------------------------------------------------- requests

    async def _request(self, verb: str, **fields: str) -> Line:
        if self._writer is None or self._broken:
            raise ScannerLinkError(self._broken or "not connected")
        self._seq = self._seq % 0xFFFF + 1
        seq = self._seq
        future: asyncio.Future[Line] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            return await within(
                self._send(encode(seq, verb, **fields), future), self.settings.timeout_s
            )
        except TimeoutError as err:
            raise ScannerTimeout(
                f"scanner did not answer {verb} within {self.settings.timeout_s} s"
            ) from err
        except OSError as err:
            raise ScannerLinkError(f"cannot send {verb}: {err}") from err
        finally:
            self._pending.pop(seq, None)

    async def _send(self, line: bytes, answer: asyncio.Future[Line]) -> Line:
        """Write, drain and wait for the answer: all of it under the request timeout."""
        assert self._writer is not None
        self._writer.write(line)
        await self._writer.drain()
        return await answer

    async def trigger(
        self, passage_id: UUID, *, lane_id: str, container: str | None = None
    ) -> TriggerOutcome:
        """Ask for a scan of the unit in front of the scanner, linked to `passage_id`."""
        fields = {"passage": str(passage_id), "lane": lane_id}
        if container:
            fields["container"] = container
        reply = await self._request("TRIGGER", **fields)
        if reply.verb == "ACK":
            return TriggerOutcome(accepted=True, passage_id=passage_id, scan_id=reply.get("scan"))
        if reply.verb == "NAK":
            return TriggerOutcome(
                accepted=False, passage_id=passage_id, scan_id=None, reason=reply.get("reason")
            )
        raise LineError(f"TRIGGER answered with {reply.verb}")

    async def abort(self, scan_id: str) -> bool:
        reply = await self._request("ABORT", scan=scan_id)
        return reply.verb == "ACK"

    async def status(self) -> ScannerStatus:
        reply = await self._request("STATUS")
        if reply.verb != "STATUS":
            raise LineError(f"STATUS answered with {reply.verb}")
        try:
            state = ScannerState(reply.get("state"))
        except ValueError as err:
            raise LineError(f"unknown scanner state {reply.fields['state']!r}") from err
        fault = reply.fields.get("fault") or None
        return ScannerStatus(
            state=state, source_on=reply.get("source") == "on", fault_code=fault, at=_now()
        )

    # ---------------------------------------------------------------- streams

    async def readings(self) -> AsyncGenerator[ScannerEvent, None]:
        """Scan and fault events as they come. Ends only by raising ScannerLinkError:
        the scanner sends a heartbeat, so silence past `heartbeat_timeout_s` is a dead link."""
        while True:
            if self._broken:
                raise ScannerLinkError(self._broken)
            silent_for = time.monotonic() - self.last_heard
            if silent_for > self.settings.heartbeat_timeout_s:
                raise ScannerTimeout(f"no line from the scanner for {silent_for:.1f} s")
            try:
                event = await within(self._events.get(), 0.2)
            except TimeoutError:
                continue
            yield event

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            status = await self.status()
        except (ScannerLinkError, LineError) as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = (time.perf_counter() - started) * 1000
        detail = f"state {status.state}, source {'on' if status.source_on else 'off'}"
        if status.fault_code:
            detail += f", fault {status.fault_code}"
        return ProbeResult(
            ok=status.state != ScannerState.FAULT, detail=detail, round_trip_ms=round(rtt, 1)
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _passage(line: Line) -> UUID:
    try:
        return UUID(line.get("passage"))
    except ValueError as err:
        raise LineError(f"passage {line.fields['passage']!r} is not a UUID") from err


def _event(line: Line) -> ScannerEvent | None:
    kind = line.get("type")
    if kind == "heartbeat":
        return None
    at = parse_utc(line.get("at"))
    if kind == "scan_started":
        return ScanStarted(scan_id=line.get("scan"), passage_id=_passage(line), at=at)
    if kind == "scan_complete":
        duration = line.get("duration_ms")
        if not duration.isdigit():
            raise LineError(f"duration_ms {duration!r} is not a whole number")
        return ScanCompleted(
            scan_id=line.get("scan"),
            passage_id=_passage(line),
            image_ref=line.get("image"),
            duration_ms=int(duration),
            at=at,
        )
    if kind == "scan_aborted":
        return ScanAborted(
            scan_id=line.get("scan"), passage_id=_passage(line), reason=line.get("reason"), at=at
        )
    if kind == "fault":
        return ScannerFault(code=line.get("code"), at=at)
    if kind == "fault_cleared":
        return ScannerFaultCleared(at=at)
    raise LineError(f"unknown event type {kind!r}")
