"""An NMEA 0183 receiver on a serial port (or a pty), read with pyserial-asyncio-fast."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from types import TracebackType

import serial
import serial_asyncio_fast

from contract.tasks import within
from drivers.gnss.decoder import DecoderStats, NmeaDecoder
from drivers.gnss.errors import ReceiverError, RejectReason, SentenceRejected
from drivers.gnss.fix import Fix

log = logging.getLogger(__name__)

_LINE_LIMIT = 4096  # a "line" longer than this is binary noise, not NMEA


class NmeaSerialReceiver:
    """Fixes from a GNSS receiver that speaks NMEA 0183 on a serial line.

        async with NmeaSerialReceiver("/dev/ttyUSB0", 9600) as rx:
            async for fix in rx.fixes():
                ...

    A receiver that goes quiet for `idle_flush_s` gets its last cycle emitted
    anyway (some send one cycle every 30 s and nothing marks its end). A port that
    cannot be opened, or that closes, raises `ReceiverError`; bad lines are counted
    in `stats` and skipped.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        idle_flush_s: float = 1.5,
        rollover_floor: datetime | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.idle_flush_s = idle_flush_s
        self._decoder = NmeaDecoder(rollover_floor=rollover_floor)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def stats(self) -> DecoderStats:
        return self._decoder.stats

    async def __aenter__(self) -> NmeaSerialReceiver:
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate, limit=_LINE_LIMIT
            )
        except (serial.SerialException, OSError) as err:
            raise ReceiverError(f"cannot open GNSS receiver on {self.port}: {err}") from err
        log.info("GNSS receiver open on %s at %d baud", self.port, self.baudrate)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(serial.SerialException, OSError):  # the port is already gone
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def fixes(self) -> AsyncIterator[Fix]:
        """Fixes as the receiver completes its cycles; raises ReceiverError if it closes."""
        if self._reader is None:
            raise ReceiverError("receiver is not open: use `async with`")
        while True:
            try:
                line = await within(self._read_line(), self.idle_flush_s)
            except TimeoutError:
                for fix in self._decoder.flush():
                    yield fix
                continue
            except (asyncio.IncompleteReadError, serial.SerialException, OSError) as err:
                for fix in self._decoder.flush():
                    yield fix
                raise ReceiverError(f"GNSS receiver on {self.port} closed: {err}") from err
            if line is not None:
                for fix in self._decoder.feed(line):
                    yield fix

    async def _read_line(self) -> bytes | None:
        """One line, or None after discarding an over-long run of bytes without a newline."""
        assert self._reader is not None
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as err:
            await self._reader.readexactly(err.consumed)
            self._decoder.stats.rejected[RejectReason.GARBAGE] += 1
            log.debug(
                "%s", SentenceRejected(RejectReason.GARBAGE, f"{err.consumed} bytes, no newline")
            )
            return None
