"""The reader over a serial port (pyserial-asyncio-fast)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import TracebackType

import serial_asyncio_fast
from pydantic import BaseModel, ConfigDict, Field
from serial import SerialException

from contract.tasks import within
from drivers.rfid.protocol import (
    CMD_INVENTORY,
    CMD_VERSION,
    ERROR_CODES,
    Frame,
    FrameDecoder,
    FrameError,
    TagRead,
    decode_tag_report,
)

log = logging.getLogger(__name__)


class RfidError(Exception):
    """Root of the RFID driver's errors."""


class RfidLinkError(RfidError):
    """The port cannot be opened, or the reader stopped answering."""


class RfidSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str = Field(description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=115200, description="reader baud rate")
    address: int = Field(default=1, ge=0, le=254, description="reader address on the bus")
    round_timeout_s: float = Field(default=1.0, gt=0, description="max wait for a round")
    repeat: int = Field(default=1, ge=1, le=255, description="inventory repeats per round")


class RfidReader:
    """Runs inventory rounds and yields every tag read."""

    def __init__(self, settings: RfidSettings) -> None:
        self.settings = settings
        self.decoder = FrameDecoder()
        self.errors: dict[str, int] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frames: asyncio.Queue[Frame] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RfidReader:
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
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.settings.port, baudrate=self.settings.baudrate
            )
        except (SerialException, OSError) as err:
            raise RfidLinkError(f"cannot open {self.settings.port}: {err}") from err
        self._frames = asyncio.Queue()
        self._pump = asyncio.create_task(self._read_frames(), name="rfid-frames")

    async def close(self) -> None:
        if self._pump:
            self._pump.cancel()
            self._pump = None
        if self._writer:
            self._writer.close()
            self._writer = None

    async def _read_frames(self) -> None:
        assert self._reader is not None
        while True:
            try:
                chunk = await self._reader.read(256)
            except (SerialException, OSError) as err:
                log.warning("rfid port %s failed: %s", self.settings.port, err)
                return
            if not chunk:
                return
            for frame in self.decoder.feed(chunk):
                if frame.address == self.settings.address:
                    self._frames.put_nowait(frame)

    async def _send(self, command: int, data: bytes = b"") -> None:
        if self._writer is None or self._pump is None or self._pump.done():
            raise RfidLinkError(f"port {self.settings.port} is not open")
        self._writer.write(Frame(self.settings.address, command, data).encode())
        await self._writer.drain()

    async def _next(self, deadline: float) -> Frame:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RfidLinkError("reader did not answer in time")
        try:
            # Not wait_for: on Python 3.11 it loses a cancel that lands as a frame
            # arrives, and a lane's reader task, cancelled once, would read for ever.
            return await within(self._frames.get(), remaining)
        except TimeoutError as err:
            raise RfidLinkError("reader did not answer in time") from err

    async def inventory(self) -> list[TagRead]:
        """One inventory round: every tag read until the round's summary frame."""
        await self._send(CMD_INVENTORY, bytes([self.settings.repeat]))
        deadline = time.monotonic() + self.settings.round_timeout_s
        reads: list[TagRead] = []
        while True:
            try:
                frame = await self._next(deadline)
            except RfidLinkError:
                if reads:  # the round's summary frame was lost on the line; keep the reads
                    return reads
                raise
            if frame.command != CMD_INVENTORY:
                continue
            if len(frame.data) == 1:  # error frame
                code = frame.data[0]
                if code == 0x36:  # no tag: an empty round, not a failure
                    return reads
                raise RfidLinkError(f"reader error: {ERROR_CODES.get(code, hex(code))}")
            try:
                read = decode_tag_report(frame, datetime.now(UTC))
            except FrameError as err:
                self.errors[str(err)] = self.errors.get(str(err), 0) + 1
                log.debug("rfid: bad inventory frame: %s", err)
                continue
            if read is None:
                return reads
            reads.append(read)

    async def readings(self, pause_s: float = 0.05) -> AsyncIterator[TagRead]:
        """Tag reads from back-to-back inventory rounds, until the link fails."""
        while True:
            for read in await self.inventory():
                yield read
            await asyncio.sleep(pause_s)

    async def firmware_version(self) -> str:
        await self._send(CMD_VERSION)
        deadline = time.monotonic() + self.settings.round_timeout_s
        while True:
            frame = await self._next(deadline)
            if frame.command == CMD_VERSION and len(frame.data) == 2:
                return f"{frame.data[0]}.{frame.data[1]}"
