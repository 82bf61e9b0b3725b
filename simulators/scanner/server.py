"""A simulated NII/X-ray scanner: the NII-1 line protocol on a real TCP port.

It answers PING, STATUS, TRIGGER and ABORT, runs each scan for `scan_s`
(scan_started, then scan_complete with an image reference) and sends a
heartbeat every `heartbeat_s`. Faults: a scanner fault (refuses triggers,
aborts the running scan), an aborted or hung scan, garbage lines, bad
checksums, a silent scanner, dropped connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from contract.tasks import cancel_and_wait
from drivers.scanner.errors import LineError
from drivers.scanner.protocol import MAX_LINE, Line, decode, encode, utc_text

log = logging.getLogger(__name__)


@dataclass
class ScanRecord:
    scan_id: str
    passage_id: str
    lane_id: str
    container: str | None
    state: str = "scanning"  # scanning, complete, aborted


class NiiScannerSim:
    """Use as `async with NiiScannerSim() as sim:`; the driver connects to sim.host:sim.port."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        scanner_id: str = "NII-1",
        scan_s: float = 0.3,
        heartbeat_s: float = 5.0,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.scanner_id = scanner_id
        self.scan_s = scan_s
        self.heartbeat_s = heartbeat_s
        self.scans: list[ScanRecord] = []
        self.fault_code: str | None = None
        self.silent = False  # reads everything, answers nothing, no heartbeat
        self.bad_lines = 0
        self._one_shot: deque[str] = deque()
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random(seed)
        self._counter = 0

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> str:
        if self.fault_code:
            return "fault"
        return "scanning" if self._running() else "ready"

    def _running(self) -> ScanRecord | None:
        return next((s for s in self.scans if s.state == "scanning"), None)

    # ------------------------------------------------------------------ faults

    def fault(self, code: str = "xray_interlock_open") -> None:
        """A scanner fault: the running scan is aborted, triggers are refused."""
        self.fault_code = code
        running = self._running()
        if running:
            self._finish(running, "aborted", reason=code)
        self._event(type="fault", code=code)

    def clear_fault(self) -> None:
        self.fault_code = None
        self._event(type="fault_cleared")

    def abort_next_scan(self) -> None:
        self._one_shot.append("abort")

    def hang_next_scan(self) -> None:
        """The next scan starts and never completes (a stuck conveyor with no fault)."""
        self._one_shot.append("hang")

    def garbage_next(self) -> None:
        self._one_shot.append("garbage")

    def bad_checksum_next(self) -> None:
        self._one_shot.append("bad_checksum")

    async def drop_clients(self) -> None:
        """Every connection is cut (a switch port flaps, the scanner PC reboots)."""
        for writer in list(self._clients):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._clients.clear()

    # ------------------------------------------------------------------ server

    async def __aenter__(self) -> NiiScannerSim:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_LINE * 2
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._heartbeat(), "nii-sim-heartbeat")
        log.info("NII scanner simulator %s on %s:%d", self.scanner_id, self.host, self.port)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            await cancel_and_wait(task)
        await self.drop_clients()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    self.bad_lines += 1
                    await reader.readexactly(MAX_LINE)
                    continue
                try:
                    line = decode(raw)
                except LineError as err:
                    self.bad_lines += 1
                    log.info("NII scanner simulator: bad line: %s", err)
                    continue
                if not self.silent:
                    self._write(writer, self._answer(line))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        fault = (
            self._one_shot.popleft()
            if self._one_shot
            and self._one_shot[0]
            in (
                "garbage",
                "bad_checksum",
            )
            else None
        )
        if fault == "garbage":
            noise = bytes(self._rng.randrange(32, 127) for _ in range(20))
            data = noise + b"\r\n" + data
        elif fault == "bad_checksum":
            data = data[:-4] + (b"00" if data[-4:-2] != b"00" else b"11") + b"\r\n"
        if not writer.is_closing():
            writer.write(data)

    def _event(self, **fields: str) -> None:
        if self.silent:
            return
        line = encode(0, "EVT", **fields, at=utc_text(datetime.now(UTC)))
        for writer in list(self._clients):
            self._write(writer, line)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if not self.silent:
                for writer in list(self._clients):
                    self._write(writer, encode(0, "EVT", type="heartbeat", state=self.state))

    # ------------------------------------------------------------------ commands

    def _answer(self, line: Line) -> bytes:
        if line.verb == "PING":
            return encode(line.seq, "PONG", state=self.state)
        if line.verb == "STATUS":
            source = "on" if self.state == "scanning" else "off"
            return encode(
                line.seq, "STATUS", state=self.state, source=source, fault=self.fault_code or ""
            )
        if line.verb == "TRIGGER":
            return self._trigger(line)
        if line.verb == "ABORT":
            scan = next((s for s in self.scans if s.scan_id == line.fields.get("scan")), None)
            if scan is None or scan.state != "scanning":
                return encode(line.seq, "NAK", reason="unknown_scan")
            self._finish(scan, "aborted", reason="operator_abort")
            return encode(line.seq, "ACK", scan=scan.scan_id)
        return encode(line.seq, "NAK", reason="unknown_verb")

    def _trigger(self, line: Line) -> bytes:
        if self.state != "ready":
            return encode(line.seq, "NAK", reason="fault" if self.fault_code else "busy")
        try:
            passage, lane = line.get("passage"), line.get("lane")
        except LineError:
            return encode(line.seq, "NAK", reason="bad_request")
        self._counter += 1
        scan_id = f"SC-{datetime.now(UTC):%Y%m%d}-{self._counter:06d}"
        scan = ScanRecord(scan_id, passage, lane, line.fields.get("container"))
        self.scans.append(scan)
        plan = ""
        if self._one_shot and self._one_shot[0] in ("abort", "hang"):
            plan = self._one_shot.popleft()
        self._spawn(self._run_scan(scan, plan), f"nii-sim-scan-{scan_id}")
        return encode(line.seq, "ACK", scan=scan_id)

    async def _run_scan(self, scan: ScanRecord, plan: str) -> None:
        await asyncio.sleep(0)  # the ACK goes out before the first event
        self._event(type="scan_started", scan=scan.scan_id, passage=scan.passage_id)
        if plan == "hang":
            return
        await asyncio.sleep(self.scan_s / 2 if plan == "abort" else self.scan_s)
        if scan.state != "scanning":
            return
        if plan == "abort":
            self._finish(scan, "aborted", reason="vehicle_moved")
        else:
            self._finish(scan, "complete")

    def _finish(self, scan: ScanRecord, state: str, *, reason: str = "") -> None:
        scan.state = state
        if state == "aborted":
            self._event(
                type="scan_aborted", scan=scan.scan_id, passage=scan.passage_id, reason=reason
            )
            return
        self._event(
            type="scan_complete",
            scan=scan.scan_id,
            passage=scan.passage_id,
            image=f"nii://{self.scanner_id}/{scan.scan_id}.dcm",
            duration_ms=str(int(self.scan_s * 1000)),
        )
