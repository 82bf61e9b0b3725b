"""A simulated e-seal reader on a pseudo-terminal, with real tag firmware in its field.

The driver opens `sim.port` as it would open /dev/ttyUSB1 and speaks ESR-1 (see
drivers/eseal/link.py). Each seal in the field is the e-seal tag firmware
(firmware/eseal_tag) running on its CPython HAL, so the frames the driver
verifies are the ones the tag itself builds. The simulator plays the reader and
the radio between them: it turns ESR-1 commands into air frames, stamps its
node id into disarm commands, and pushes a report whenever a tag beacons.

Faults: a silent reader, garbage between frames, corrupted CRCs, truncated
frames, a pulled cable; on the seals: cut shackle, opened case, low battery, a
cloned seal (same id, another key), a replayed old status frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import random
import select
import struct
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from contract.tasks import cancel_and_wait
from drivers.eseal.errors import FrameError
from drivers.eseal.link import RESPONSE, Command, FrameDecoder, LinkFrame, ReaderStatus, encode
from firmware.eseal_tag import air
from firmware.eseal_tag.hal_cpython import SimulatedTagHardware
from firmware.eseal_tag.tag import EsealTag

log = logging.getLogger(__name__)


@dataclass
class SealInField:
    hardware: SimulatedTagHardware
    tag: EsealTag
    rssi_dbm: int
    last_status: bytes = b""


class EsealReaderSim:
    """Use as `async with EsealReaderSim(node_id=...) as sim:`; the driver opens `sim.port`."""

    def __init__(
        self,
        *,
        node_id: str = "GATE-1",
        model: str = "ESR-433 (simulated)",
        firmware: str = "1.4.2",
        tick_s: float = 0.05,
        beacon_s: float = 30.0,
        seed: int = 0,
    ) -> None:
        self.node_id = node_id
        self.model = model
        self.firmware = firmware
        self.tick_s = tick_s
        self.beacon_s = beacon_s
        self.seals: dict[str, SealInField] = {}
        self.silent = False  # the reader hangs: reads everything, answers nothing
        self.garbage_rate = 0.0  # probability of line noise before each frame sent
        self.corrupt_rate = 0.0  # probability of a broken CRC in a frame sent
        self.requests = 0
        self.dropped_frames = 0
        self.decoder = FrameDecoder()
        self._one_shot: deque[str] = deque()
        self._rng = random.Random(seed)
        self._master: int | None = None
        self._slave: int | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._last_beacon = 0.0
        self.port = ""

    # ------------------------------------------------------------------ the field

    def add_seal(
        self, seal_id: str, key: bytes, *, rssi_dbm: int = -58, battery_mv: int = 2950
    ) -> SimulatedTagHardware:
        """A sealed container drives into the field; returns its hardware (to cut, open...)."""
        hardware = SimulatedTagHardware(seal_id, key, battery_mv=battery_mv)
        self.seals[seal_id] = SealInField(hardware, EsealTag(hardware), rssi_dbm)
        return hardware

    def seal_returns(self, hardware: SimulatedTagHardware, *, rssi_dbm: int = -58) -> None:
        """A seal seen before comes back (its flash, log and state kept)."""
        self.seals[hardware.seal_id] = SealInField(hardware, EsealTag(hardware), rssi_dbm)

    def remove_seal(self, seal_id: str) -> SimulatedTagHardware | None:
        seal = self.seals.pop(seal_id, None)
        return seal.hardware if seal else None

    # ------------------------------------------------------------------ faults

    def garbage_next(self) -> None:
        """Line noise before the next frame sent."""
        self._one_shot.append("garbage")

    def corrupt_next(self) -> None:
        """The next frame sent has a broken CRC."""
        self._one_shot.append("corrupt")

    def truncate_next(self) -> None:
        """The next frame sent stops half way."""
        self._one_shot.append("truncate")

    def replay_status(self, seal_id: str) -> None:
        """A relay re-sends the last status frame the seal sent (a replay attack)."""
        seal = self.seals[seal_id]
        self._report(seal, seal.last_status)

    async def disconnect(self) -> None:
        """The cable is pulled: the driver's port fails."""
        await self.stop()

    # ------------------------------------------------------------------ pty

    async def __aenter__(self) -> EsealReaderSim:
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
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)
        self._writer = threading.Thread(
            target=self._write_out, args=(self._master,), name="eseal-sim-tx", daemon=True
        )
        self._writer.start()
        self._last_beacon = time.monotonic()  # the first periodic beacon is beacon_s away
        self._ticker = asyncio.create_task(self._tick_tags(), name="eseal-sim-tags")
        log.info("e-seal reader simulator (node %s) on %s", self.node_id, self.port)

    async def stop(self) -> None:
        if self._ticker:
            await cancel_and_wait(self._ticker)
            self._ticker = None
        if self._writer is not None:
            self._outgoing.put(None)
            await asyncio.to_thread(self._writer.join, 2.0)
            self._writer = None
        if self._master is not None:
            asyncio.get_running_loop().remove_reader(self._master)
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)  # type: ignore[arg-type]
            self._master = self._slave = None

    def _on_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        for frame in self.decoder.feed(data):
            self.requests += 1
            if not self.silent:
                self._send(self._answer(frame))

    def _send(self, frame: bytes) -> None:
        if self._master is None:
            return
        fault = self._one_shot.popleft() if self._one_shot else None
        if fault == "garbage" or self._rng.random() < self.garbage_rate:
            frame = bytes(self._rng.randrange(256) for _ in range(self._rng.randint(3, 24))) + frame
        if fault == "corrupt" or self._rng.random() < self.corrupt_rate:
            frame = frame[:-1] + bytes((frame[-1] ^ 0x5A,))
        if fault == "truncate":
            frame = frame[: len(frame) // 2]
        self._outgoing.put(frame)

    def _write_out(self, master: int) -> None:
        """Writes to the pty master from a thread of its own: while the driver closes its
        end, the kernel can hold a master write until the driver's last bytes are read,
        and the event loop must stay free to read them."""
        while (frame := self._outgoing.get()) is not None:
            _, writable, _ = select.select([], [master], [], 0.2)
            if not writable:
                self.dropped_frames += 1  # the driver does not read: an overrun, as on a UART
                continue
            with contextlib.suppress(OSError):
                os.write(master, frame)

    # ------------------------------------------------------------------ the radio side

    async def _tick_tags(self) -> None:
        """Tags wake, sense and beacon; the reader pushes what it hears."""
        while True:
            await asyncio.sleep(self.tick_s)
            beacon_due = time.monotonic() - self._last_beacon >= self.beacon_s
            if beacon_due:
                self._last_beacon = time.monotonic()
            for seal in list(self.seals.values()):
                frame = seal.tag.tick()
                if frame is None and beacon_due:
                    frame = seal.tag.status_frame()
                if frame is not None:
                    self._report(seal, frame)

    def _report(self, seal: SealInField, status: bytes) -> None:
        seal.last_status = status
        self._send(
            encode(0, Command.SEAL_REPORT | RESPONSE, struct.pack(">b", seal.rssi_dbm) + status)
        )

    def _reply(self, frame: LinkFrame, status: ReaderStatus, data: bytes = b"") -> bytes:
        return encode(frame.seq, frame.cmd | RESPONSE, bytes((status,)) + data)

    def _answer(self, frame: LinkFrame) -> bytes:
        try:
            command = Command(frame.cmd)
        except ValueError:
            return self._reply(frame, ReaderStatus.UNKNOWN_COMMAND)
        try:
            return self._execute(frame, command)
        except (air.Malformed, FrameError) as err:
            log.info("e-seal reader simulator: bad request %s: %s", command.name, err)
            return self._reply(frame, ReaderStatus.BAD_REQUEST)

    def _execute(self, frame: LinkFrame, command: Command) -> bytes:
        rd = air.Reader(frame.data)
        if command == Command.INFO:
            rd.end()
            info = air.lp(self.node_id) + air.lp(self.model) + air.lp(self.firmware)
            return self._reply(frame, ReaderStatus.OK, info)
        if command == Command.INVENTORY:
            rd.end()
            listing = bytes((len(self.seals),)) + b"".join(
                air.lp(s.tag.seal_id) + struct.pack(">b", s.rssi_dbm) for s in self.seals.values()
            )
            return self._reply(frame, ReaderStatus.OK, listing)
        seal_id = rd.text()
        seal = self.seals.get(seal_id)
        over_air = self._air_command(command, seal_id, rd)
        reply = seal.tag.handle(over_air) if seal else None
        if seal is None or reply is None:
            return self._reply(frame, ReaderStatus.NOT_IN_FIELD)
        if command == Command.READ_STATUS:
            seal.last_status = reply
            return self._reply(frame, ReaderStatus.OK, struct.pack(">b", seal.rssi_dbm) + reply)
        return self._reply(frame, ReaderStatus.OK, reply)

    def _air_command(self, command: Command, seal_id: str, rd: air.Reader) -> bytes:
        """The air frame for an ESR-1 request (seal id already read off `rd`)."""
        head = bytes((air.VERSION,))
        if command == Command.READ_STATUS:
            rd.end()
            return head + bytes((air.C_GET_STATUS,)) + air.lp(seal_id)
        if command == Command.READ_LOG:
            start, count = rd.u16(), rd.u8()
            rd.end()
            return (
                head + bytes((air.C_GET_LOG,)) + air.lp(seal_id) + struct.pack(">HB", start, count)
            )
        now = struct.pack(">I", int(time.time()))
        declaration = rd.text()
        if command == Command.ARM:
            count = rd.u8()
            nodes = b"".join(air.lp(rd.text()) for _ in range(count))
            token = rd.take(air.TOKEN_LEN)
            rd.end()
            body = air.lp(seal_id) + now + air.lp(declaration) + bytes((count,)) + nodes + token
            return head + bytes((air.C_ARM,)) + body
        if command == Command.DISARM:
            token = rd.take(air.TOKEN_LEN)
            rd.end()
            # The reader, not the host, says where it is: the tag checks this node.
            body = air.lp(seal_id) + now + air.lp(declaration) + air.lp(self.node_id) + token
            return head + bytes((air.C_DISARM,)) + body
        raise air.Malformed("not a seal command")
