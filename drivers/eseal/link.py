"""The reader's serial framing (ESR-1), host <-> e-seal reader.

    A5 | LEN (u16, big-endian: bytes of SEQ..DATA) | SEQ | CMD | DATA | CRC (u16)

CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), big-endian, over LEN..DATA.
A response echoes SEQ and has CMD | 0x80, its first DATA byte a reader status. The
reader pushes seal reports unsolicited with SEQ 0 and CMD 0xC0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import IntEnum

from drivers.eseal.errors import FrameError

log = logging.getLogger(__name__)

SOF = 0xA5
MAX_BODY = 1024  # the longest real frame (a log page) is about 500 bytes
RESPONSE = 0x80


class Command(IntEnum):
    INFO = 0x01
    INVENTORY = 0x02
    READ_STATUS = 0x03
    READ_LOG = 0x04
    ARM = 0x05
    DISARM = 0x06
    SEAL_REPORT = 0x40  # unsolicited, sent as 0xC0


class ReaderStatus(IntEnum):
    OK = 0
    NOT_IN_FIELD = 1  # no tag with that seal id answered over the air
    BAD_REQUEST = 2
    BUSY = 3
    UNKNOWN_COMMAND = 4


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@dataclass(frozen=True, slots=True)
class LinkFrame:
    seq: int
    cmd: int
    data: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.cmd & RESPONSE) and self.seq != 0

    @property
    def is_report(self) -> bool:
        return self.seq == 0 and self.cmd == Command.SEAL_REPORT | RESPONSE


def encode(seq: int, cmd: int, data: bytes = b"") -> bytes:
    if not 0 <= seq <= 0xFF or not 0 <= cmd <= 0xFF:
        raise FrameError(f"seq {seq} or cmd {cmd} out of range")
    if len(data) + 2 > MAX_BODY:
        raise FrameError(f"frame data too long ({len(data)} bytes)")
    body = (len(data) + 2).to_bytes(2, "big") + bytes((seq, cmd)) + data
    return bytes((SOF,)) + body + crc16_ccitt(body).to_bytes(2, "big")


@dataclass
class LinkStats:
    frames: int = 0
    bad_crc: int = 0
    bad_length: int = 0
    garbage_bytes: int = 0
    truncated: int = 0


@dataclass
class FrameDecoder:
    """Cuts a byte stream into frames; skips and counts everything that is not one."""

    stats: LinkStats = field(default_factory=LinkStats)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[LinkFrame]:
        self._buf.extend(data)
        frames: list[LinkFrame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def on_idle(self) -> list[LinkFrame]:
        """The line went quiet: a partial frame left now will never complete.

        Garbage that happens to hold a start byte and a plausible length would
        otherwise swallow the real frames behind it while waiting for its tail.
        """
        frames: list[LinkFrame] = []
        while self._buf:
            self.stats.truncated += 1
            self._skip(1, "partial frame, then silence")
            frames.extend(self.feed(b""))
        return frames

    def _next(self) -> LinkFrame | None:
        buf = self._buf
        start = buf.find(SOF)
        if start < 0:
            self._skip(len(buf), "no start byte")
            return None
        if start:
            self._skip(start, "bytes before the start byte")
        if len(buf) < 3:
            return None
        length = int.from_bytes(buf[1:3], "big")
        if not 2 <= length <= MAX_BODY:
            self.stats.bad_length += 1
            self._skip(1, f"impossible length {length}")
            return self._next()
        end = 3 + length + 2
        if len(buf) < end:
            return None
        body = bytes(buf[1 : 3 + length])
        if crc16_ccitt(body) != int.from_bytes(buf[3 + length : end], "big"):
            self.stats.bad_crc += 1
            self._skip(1, "bad CRC")  # resync from the next start byte
            return self._next()
        del buf[:end]
        self.stats.frames += 1
        return LinkFrame(seq=body[2], cmd=body[3], data=body[4:])

    def _skip(self, n: int, why: str) -> None:
        if n:
            self.stats.garbage_bytes += n
            log.warning("e-seal link: dropped %d byte(s): %s", n, why)
            del self._buf[:n]
