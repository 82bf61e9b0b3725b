"""A simulated UHF RFID reader on a pseudo-terminal, speaking `drivers.rfid.protocol`.

The driver opens `sim.port` (the pty's slave side) exactly as it would open
/dev/ttyUSB0. Tags enter and leave the field; faults can be injected: garbage
bytes between frames, corrupted checksums, a reader that stops answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import random
import select
import threading
import tty
from dataclasses import dataclass

from drivers.rfid.protocol import (
    CMD_INVENTORY,
    CMD_VERSION,
    Frame,
    FrameDecoder,
    encode_tag_report,
)

log = logging.getLogger(__name__)


@dataclass
class TagInField:
    epc: str
    antenna: int = 0
    rssi_dbm: float = -55.0


class RfidReaderSim:
    """Answers inventory and version commands on a pty. Use as `async with`."""

    def __init__(self, *, address: int = 1, seed: int = 0) -> None:
        self.address = address
        self.tags: dict[str, TagInField] = {}
        self.garbage_rate = 0.0  # probability of garbage bytes before a frame
        self.corrupt_rate = 0.0  # probability of a frame with a broken checksum
        self.silent = False  # reader hangs: no answers at all
        self.rounds = 0
        self._rng = random.Random(seed)
        self._decoder = FrameDecoder()
        self._master: int | None = None
        self._slave: int | None = None
        self._outgoing: queue.Queue[bytes | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self.dropped_frames = 0
        self.port = ""

    # ----------------------------------------------------------- the field

    def tag_enters(self, epc: str, *, antenna: int = 0, rssi_dbm: float = -55.0) -> None:
        bytes.fromhex(epc)  # reject non-hex early, as a reader would never report it
        self.tags[epc.upper()] = TagInField(epc.upper(), antenna, rssi_dbm)

    def tag_leaves(self, epc: str) -> None:
        self.tags.pop(epc.upper(), None)

    # ----------------------------------------------------------- pty

    async def start(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)
        self._writer = threading.Thread(
            target=self._write_out, args=(self._master,), name="rfid-sim-tx", daemon=True
        )
        self._writer.start()
        log.info("rfid reader simulator on %s", self.port)

    async def stop(self) -> None:
        if self._writer is not None:
            self._outgoing.put(None)
            await asyncio.to_thread(self._writer.join, 2.0)
            self._writer = None
        if self._master is not None:
            asyncio.get_running_loop().remove_reader(self._master)
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None

    async def __aenter__(self) -> RfidReaderSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _on_readable(self) -> None:
        assert self._master is not None
        try:
            chunk = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        for frame in self._decoder.feed(chunk):
            if frame.address == self.address and not self.silent:
                self._answer(frame)

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        if self.garbage_rate and self._rng.random() < self.garbage_rate:
            data = bytes(self._rng.randrange(256) for _ in range(self._rng.randint(1, 9))) + data
        if self.corrupt_rate and self._rng.random() < self.corrupt_rate:
            data = data[:-1] + bytes([(data[-1] + 1) & 0xFF])
        self._outgoing.put(data)

    def _write_out(self, master: int) -> None:
        """Writes the pty master from a thread of its own: while the driver closes its end
        the kernel can hold a master write, and the event loop must stay free."""
        while (data := self._outgoing.get()) is not None:
            _, writable, _ = select.select([], [master], [], 0.2)
            if not writable:
                self.dropped_frames += 1  # nobody reads: an overrun, as on a real UART
                continue
            with contextlib.suppress(OSError):
                os.write(master, data)

    def _answer(self, frame: Frame) -> None:
        if frame.command == CMD_VERSION:
            self._write(Frame(self.address, CMD_VERSION, bytes([1, 4])).encode())
        elif frame.command == CMD_INVENTORY:
            self._inventory_round()
        else:
            self._write(Frame(self.address, frame.command, bytes([0x4B])).encode())

    def _inventory_round(self) -> None:
        self.rounds += 1
        tags = list(self.tags.values())
        if not tags:
            self._write(Frame(self.address, CMD_INVENTORY, bytes([0x36])).encode())
            return
        for tag in tags:
            rssi = tag.rssi_dbm + self._rng.uniform(-2, 2)
            self._write(encode_tag_report(self.address, tag.epc, tag.antenna, rssi))
        summary = bytes([0]) + len(tags).to_bytes(2, "big") + len(tags).to_bytes(4, "big")
        self._write(Frame(self.address, CMD_INVENTORY, summary).encode())
