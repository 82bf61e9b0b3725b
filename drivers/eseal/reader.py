"""The e-seal reader over a serial port (pyserial-asyncio-fast).

    async with EsealReader(EsealSettings(port="/dev/ttyUSB1"), keys=keyring) as reader:
        async for status in reader.readings():
            ...

Two error channels: a broken or silent link raises `EsealLinkError` (`EsealTimeout`);
what the seal or the reader says (not in the field, disarm refused, a log whose
chain breaks) comes back as a value. Bad bytes on the line and tag frames that do
not verify are dropped, counted in `stats` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import serial_asyncio_fast
from pydantic import BaseModel, ConfigDict, Field
from serial import SerialException

from contract.messages import SealState
from contract.tasks import cancel_and_wait, within
from drivers.eseal import air
from drivers.eseal.errors import EsealLinkError, EsealTimeout, FrameError, SignatureError
from drivers.eseal.link import (
    RESPONSE,
    Command,
    FrameDecoder,
    LinkFrame,
    LinkStats,
    ReaderStatus,
    encode,
)
from drivers.probe import ProbeResult

log = logging.getLogger(__name__)

IDLE_S = 0.05  # line silence after which a partial frame is abandoned
LOG_PAGE = 8


class EsealSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str = Field(description="serial device of the reader, e.g. /dev/ttyUSB1")
    baudrate: int = Field(default=115200, description="reader baud rate")
    timeout_s: float = Field(default=1.0, gt=0, description="max wait for one answer")
    poll_interval_s: float | None = Field(
        default=2.0, gt=0, description="inventory + status poll period; None: reports only"
    )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReaderInfo(_Frozen):
    node_id: str = Field(description="the logistic node the reader is installed at")
    model: str
    firmware: str


class SeenSeal(_Frozen):
    seal_id: str
    rssi_dbm: int


class SealStatusReading(_Frozen):
    """One status of one seal, as the tag signed it and the reader heard it."""

    seal_id: str
    state: SealState
    armed: bool
    battery_pct: int = Field(ge=0, le=100)
    battery_low: bool
    declaration_id: str | None
    tag_time: datetime = Field(description="the seal's own clock, UTC")
    frame_counter: int
    log_count: int
    log_head: bytes = Field(description="last link of the log's hash chain, as signed")
    rssi_dbm: int | None
    verified: bool = Field(description="MAC verified with the seal's key (False: no key held)")
    reader_node: str
    at: datetime = Field(description="when the reader's frame arrived, UTC")


class SealLog(_Frozen):
    """The seal's own event log, checked against the head in its signed status."""

    seal_id: str
    entries: tuple[air.LogEntry, ...]
    intact: bool = Field(description="the whole chain verifies and ends at the signed head")
    problem: str | None = None


class SealCommandOutcome(_Frozen):
    """What came of an arm or disarm: accepted, or why not."""

    seal_id: str
    accepted: bool
    reader_status: ReaderStatus
    tag_result: air.TagResult | None = Field(description="None when no tag answered")


@dataclass
class EsealStats:
    link: LinkStats = field(default_factory=LinkStats)
    bad_air_frames: int = 0
    bad_signatures: int = 0
    replayed: int = 0
    unexpected: int = 0


@dataclass(frozen=True, slots=True)
class _Reply:
    frame: LinkFrame
    status_reading: SealStatusReading | None  # for READ_STATUS answers, checked on arrival


class EsealReader:
    """One e-seal reader. Use as `async with`."""

    def __init__(self, settings: EsealSettings, *, keys: Mapping[str, bytes]) -> None:
        self.settings = settings
        self.keys = keys
        self.decoder = FrameDecoder()
        self.stats = EsealStats(link=self.decoder.stats)
        self.info: ReaderInfo | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[_Reply]] = {}
        self._reports: asyncio.Queue[SealStatusReading] = asyncio.Queue()
        self._last_counter: dict[str, int] = {}
        self._seq = 0
        self._lock = asyncio.Lock()
        self._broken: str | None = None

    # ---------------------------------------------------------------- link

    async def __aenter__(self) -> EsealReader:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the port and ask the reader who it is (its node id)."""
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.settings.port, baudrate=self.settings.baudrate
            )
        except (SerialException, OSError) as err:
            raise EsealLinkError(f"cannot open {self.settings.port}: {err}") from err
        self._broken = None
        self._pump = asyncio.create_task(self._receive(), name="eseal-receive")
        try:
            self.info = await self.read_info()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._pump:
            await cancel_and_wait(self._pump)
            self._pump = None
        if self._writer:
            self._writer.close()
            self._writer = None

    async def _receive(self) -> None:
        assert self._reader is not None
        while True:
            try:
                chunk = await within(self._reader.read(1024), IDLE_S)
            except TimeoutError:
                self._dispatch(self.decoder.on_idle())
                continue
            except (SerialException, OSError) as err:
                self._fail(f"port {self.settings.port} failed: {err}")
                return
            if not chunk:
                self._fail(f"port {self.settings.port} closed")
                return
            self._dispatch(self.decoder.feed(chunk))

    def _fail(self, why: str) -> None:
        log.warning("e-seal reader link lost: %s", why)
        self._broken = why
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EsealLinkError(why))

    def _dispatch(self, frames: list[LinkFrame]) -> None:
        for frame in frames:
            if frame.is_report:
                self._take_report(frame.data)
            elif frame.is_response and frame.seq in self._pending:
                future = self._pending[frame.seq]
                if not future.done():
                    future.set_result(_Reply(frame, self._answered_status(frame)))
            else:
                self.stats.unexpected += 1
                log.info("e-seal reader: unexpected frame seq %d cmd 0x%02x", frame.seq, frame.cmd)

    def _answered_status(self, frame: LinkFrame) -> SealStatusReading | None:
        """A status answer is verified as it arrives, in line order with pushed reports:
        the frame counter check (replays) is only sound in the order the tag signed."""
        data = frame.data
        if frame.cmd != Command.READ_STATUS | RESPONSE or len(data) < 3 or data[0] != 0:
            return None
        return self._status_reading(data[2:], struct.unpack(">b", data[1:2])[0])

    async def _request(self, command: Command, data: bytes = b"") -> tuple[ReaderStatus, bytes]:
        status, reply, _ = await self._exchange(command, data)
        return status, reply

    async def _exchange(
        self, command: Command, data: bytes = b""
    ) -> tuple[ReaderStatus, bytes, SealStatusReading | None]:
        async with self._lock:
            if self._writer is None or self._broken:
                raise EsealLinkError(self._broken or f"port {self.settings.port} is not open")
            self._seq = self._seq % 255 + 1  # 0 is for unsolicited reports
            seq = self._seq
            future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
            self._pending[seq] = future
            try:
                # drain() is inside the timeout too: a line that stops taking bytes is a
                # dead link, never a hang.
                reply = await within(
                    self._send(encode(seq, command, data), future), self.settings.timeout_s
                )
            except TimeoutError as err:
                raise EsealTimeout(
                    f"reader did not answer {command.name} within {self.settings.timeout_s} s"
                ) from err
            except (SerialException, OSError) as err:
                raise EsealLinkError(f"cannot write to {self.settings.port}: {err}") from err
            finally:
                self._pending.pop(seq, None)
        frame = reply.frame
        if frame.cmd != command | RESPONSE or not frame.data:
            self.stats.unexpected += 1
            raise FrameError(f"answer to {command.name} has cmd 0x{frame.cmd:02x}")
        try:
            status = ReaderStatus(frame.data[0])
        except ValueError as err:
            raise FrameError(f"unknown reader status {frame.data[0]}") from err
        return status, frame.data[1:], reply.status_reading

    async def _send(self, frame: bytes, answer: asyncio.Future[_Reply]) -> _Reply:
        assert self._writer is not None
        self._writer.write(frame)
        await self._writer.drain()
        return await answer

    # ---------------------------------------------------------------- status frames

    def _take_report(self, data: bytes) -> None:
        if len(data) < 2:
            self.stats.bad_air_frames += 1
            log.warning("e-seal reader: seal report of %d byte(s)", len(data))
            return
        rssi = struct.unpack(">b", data[:1])[0]
        reading = self._status_reading(data[1:], rssi)
        if reading is not None:
            self._reports.put_nowait(reading)

    def _status_reading(self, frame: bytes, rssi_dbm: int | None) -> SealStatusReading | None:
        """Decode and verify a tag status frame; None (counted, logged) when it is bad."""
        try:
            seal_id = air.status_seal_id(frame)
            key = self.keys.get(seal_id)
            status = air.parse_status(frame, key)
        except SignatureError as err:
            self.stats.bad_signatures += 1
            log.warning("e-seal: dropped a forged or corrupted status frame: %s", err)
            return None
        except FrameError as err:
            self.stats.bad_air_frames += 1
            log.warning("e-seal: unreadable status frame: %s", err)
            return None
        if key is not None and not self._fresh(status):
            return None
        return SealStatusReading(
            seal_id=status.seal_id,
            state=status.state,
            armed=status.armed,
            battery_pct=status.battery_pct,
            battery_low=status.battery_low,
            declaration_id=status.declaration_id,
            tag_time=status.tag_time,
            frame_counter=status.frame_counter,
            log_count=status.log_count,
            log_head=status.log_head,
            rssi_dbm=rssi_dbm,
            verified=key is not None,
            reader_node=self.info.node_id if self.info else "",
            at=datetime.now(UTC),
        )

    def _fresh(self, status: air.TagStatus) -> bool:
        """A verified frame must be newer than the last one: a recorded frame replayed
        by a relay could otherwise hide an opened seal behind an old 'sealed'."""
        last = self._last_counter.get(status.seal_id, -1)
        if status.frame_counter <= last:
            self.stats.replayed += 1
            log.warning(
                "e-seal %s: frame counter %d not above %d: replayed frame dropped",
                status.seal_id,
                status.frame_counter,
                last,
            )
            return False
        self._last_counter[status.seal_id] = status.frame_counter
        return True

    # ---------------------------------------------------------------- commands

    async def read_info(self) -> ReaderInfo:
        status, data = await self._request(Command.INFO)
        if status != ReaderStatus.OK:
            raise FrameError(f"reader answered INFO with {status.name}")
        cur = air.Cursor(data)
        info = ReaderInfo(node_id=cur.text(), model=cur.text(), firmware=cur.text())
        cur.end()
        return info

    async def inventory(self) -> list[SeenSeal]:
        """The seals in the reader's field now."""
        status, data = await self._request(Command.INVENTORY)
        if status != ReaderStatus.OK:
            raise FrameError(f"reader answered INVENTORY with {status.name}")
        cur = air.Cursor(data)
        seen = []
        for _ in range(cur.u8()):
            seal_id = cur.text()
            seen.append(SeenSeal(seal_id=seal_id, rssi_dbm=struct.unpack(">b", cur.take(1))[0]))
        cur.end()
        return seen

    async def read_status(self, seal_id: str) -> SealStatusReading | None:
        """The seal's signed status; None when it is not in the field or its frame is bad."""
        status, _, reading = await self._exchange(Command.READ_STATUS, air.lp(seal_id))
        if status != ReaderStatus.OK:
            return None
        if reading is not None and reading.seal_id != seal_id:
            self.stats.unexpected += 1
            return None
        return reading

    async def read_log(self, seal_id: str) -> SealLog | None:
        """The seal's whole event log, its hash chain checked; None when not in the field."""
        current = await self.read_status(seal_id)
        if current is None:
            return None
        key = self.keys.get(seal_id)
        entries: list[air.LogEntry] = []
        bodies: list[bytes] = []
        while len(entries) < current.log_count:
            status, data = await self._request(
                Command.READ_LOG, air.lp(seal_id) + struct.pack(">HB", len(entries), LOG_PAGE)
            )
            if status != ReaderStatus.OK:
                return None
            page = air.parse_log_page(data)
            if page.start != len(entries) or not page.entries:
                return _broken_log(seal_id, entries, "the tag sent a page out of order")
            entries.extend(page.entries)
            bodies.extend(page.bodies)
        return self._checked_log(seal_id, key, current, entries, bodies)

    def _checked_log(
        self,
        seal_id: str,
        key: bytes | None,
        current: SealStatusReading,
        entries: list[air.LogEntry],
        bodies: list[bytes],
    ) -> SealLog:
        entries, bodies = entries[: current.log_count], bodies[: current.log_count]
        if key is None:
            return _broken_log(seal_id, entries, "no key for this seal: log not verified")
        good = air.verify_chain(key, seal_id, entries, bodies)
        if good < len(entries):
            return _broken_log(seal_id, entries[:good], f"hash chain breaks at entry {good}")
        head = entries[-1].link if entries else air.GENESIS
        if len(entries) < current.log_count or head != current.log_head:
            return _broken_log(seal_id, entries, "log does not end at the signed head")
        return SealLog(seal_id=seal_id, entries=tuple(entries), intact=True)

    async def arm(
        self, seal_id: str, declaration_id: str, authorised_nodes: Sequence[str], token: bytes
    ) -> SealCommandOutcome:
        """Arm the seal for a declaration; it may be disarmed only at `authorised_nodes`."""
        data = air.lp(seal_id) + air.lp(declaration_id) + bytes((len(authorised_nodes),))
        data += b"".join(air.lp(node) for node in authorised_nodes) + token
        return await self._seal_command(Command.ARM, seal_id, data, token)

    async def disarm(self, seal_id: str, declaration_id: str, token: bytes) -> SealCommandOutcome:
        """Disarm at this reader's node; the reader adds its node id, the tag decides."""
        data = air.lp(seal_id) + air.lp(declaration_id) + token
        return await self._seal_command(Command.DISARM, seal_id, data, token)

    async def _seal_command(
        self, command: Command, seal_id: str, data: bytes, token: bytes
    ) -> SealCommandOutcome:
        if len(token) != air.TOKEN_LEN:
            raise FrameError(f"a token has {air.TOKEN_LEN} bytes, not {len(token)}")
        status, reply = await self._request(command, data)
        if status != ReaderStatus.OK:
            return SealCommandOutcome(
                seal_id=seal_id, accepted=False, reader_status=status, tag_result=None
            )
        try:
            result = air.parse_result(reply, self.keys.get(seal_id), token)
        except SignatureError:
            self.stats.bad_signatures += 1
            raise
        if result.seal_id != seal_id:
            raise FrameError(f"seal {result.seal_id} answered a command for {seal_id}")
        return SealCommandOutcome(
            seal_id=seal_id,
            accepted=result.result == air.TagResult.OK,
            reader_status=status,
            tag_result=result.result,
        )

    # ---------------------------------------------------------------- streams

    async def readings(self) -> AsyncGenerator[SealStatusReading, None]:
        """Seal statuses: pushed reports as they come, and a poll of the field every
        `poll_interval_s`. Ends only by raising EsealLinkError."""
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        while True:
            if self._broken:
                raise EsealLinkError(self._broken)
            interval = self.settings.poll_interval_s
            if interval is not None and loop.time() >= next_poll:
                next_poll = loop.time() + interval
                for seen in await self.inventory():
                    reading = await self.read_status(seen.seal_id)
                    if reading is not None:
                        yield reading
            wait = max(0.0, next_poll - loop.time()) if interval is not None else IDLE_S * 4
            try:
                report = await within(self._reports.get(), wait)
            except TimeoutError:
                continue
            yield report

    async def probe(self) -> ProbeResult:
        """Is the reader there and sane? For field diagnostics."""
        started = time.perf_counter()
        try:
            info = await self.read_info()
            seen = await self.inventory()
        except (EsealLinkError, FrameError) as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = (time.perf_counter() - started) * 1000
        detail = (
            f"node {info.node_id}, {info.model} fw {info.firmware}, "
            f"{len(seen)} seal(s) in field, {self.stats.link.bad_crc} bad CRC so far"
        )
        return ProbeResult(ok=True, detail=detail, round_trip_ms=round(rtt, 1))


def _broken_log(seal_id: str, entries: list[air.LogEntry], problem: str) -> SealLog:
    log.warning("e-seal %s: event log not intact: %s", seal_id, problem)
    return SealLog(seal_id=seal_id, entries=tuple(entries), intact=False, problem=problem)
