"""Framing of the reader's serial protocol, as used by the common R2000-based readers.

    0xA0 | LEN | ADDR | CMD | DATA ... | CHECK

LEN counts the bytes after itself (ADDR..CHECK); CHECK is the two's complement
of the sum of all bytes before it. Commands used here:

- 0x89 real-time inventory. Host: DATA = repeat count. Reader: one frame per tag
  read, DATA = FREQ_ANT (low 2 bits antenna 0-3, high 6 bits frequency index) |
  PC (2 bytes) | EPC (PC's length field × 2 bytes) | RSSI (raw; dBm = raw - 129);
  the round ends with a summary frame, DATA = ANT | READ_RATE (2) | TOTAL_READ (4).
- 0x72 firmware version. Reader: DATA = MAJOR | MINOR.
- Any command may be answered with an error frame: LEN = 4, DATA = ERROR_CODE.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

HEAD = 0xA0
CMD_INVENTORY = 0x89
CMD_VERSION = 0x72
RSSI_OFFSET_DBM = 129
MAX_LEN = 0xFF

ERROR_CODES = {
    0x10: "success",
    0x11: "fail",
    0x22: "antenna missing",
    0x36: "no tag",
    0x4B: "command not supported",
}


class FrameError(ValueError):
    """A frame that does not parse (bad length, checksum, or content)."""


def checksum(data: bytes) -> int:
    return (~sum(data) + 1) & 0xFF


@dataclass(frozen=True)
class Frame:
    address: int
    command: int
    data: bytes

    def encode(self) -> bytes:
        body = bytes([HEAD, len(self.data) + 3, self.address, self.command]) + self.data
        if len(self.data) + 3 > MAX_LEN:
            raise FrameError("frame too long")
        return body + bytes([checksum(body)])


class TagRead(BaseModel):
    """One read of one tag."""

    model_config = ConfigDict(frozen=True)

    epc: str = Field(description="EPC as upper-case hex")
    antenna: int = Field(ge=0, le=3)
    rssi_dbm: float
    at: datetime


def encode_tag_report(address: int, epc_hex: str, antenna: int, rssi_dbm: float) -> bytes:
    """What a reader sends for one tag (used by the simulator and the tests)."""
    epc = bytes.fromhex(epc_hex)
    if len(epc) % 2 or not 2 <= len(epc) <= 62:
        raise FrameError("EPC must be an even number of bytes, 2..62")
    pc = (len(epc) // 2) << 11  # EPC length in words, in PC bits 15..11
    raw_rssi = max(0, min(255, round(rssi_dbm + RSSI_OFFSET_DBM)))
    data = bytes([antenna & 0x03]) + pc.to_bytes(2, "big") + epc + bytes([raw_rssi])
    return Frame(address, CMD_INVENTORY, data).encode()


def decode_tag_report(frame: Frame, at: datetime) -> TagRead | None:
    """A tag read from an inventory frame, or None for the round's summary frame."""
    data = frame.data
    if len(data) == 7:  # ANT | READ_RATE(2) | TOTAL_READ(4): end of round
        return None
    if len(data) < 6:
        raise FrameError(f"inventory frame too short ({len(data)} data bytes)")
    pc = int.from_bytes(data[1:3], "big")
    epc_len = (pc >> 11) * 2
    if len(data) != 1 + 2 + epc_len + 1 or epc_len == 0:
        raise FrameError(f"EPC length {epc_len} in PC does not match the frame")
    epc = data[3 : 3 + epc_len]
    return TagRead(
        epc=epc.hex().upper(),
        antenna=data[0] & 0x03,
        rssi_dbm=float(data[-1] - RSSI_OFFSET_DBM),
        at=at,
    )


class FrameDecoder:
    """Splits a byte stream into frames, resynchronising on garbage.

    Bad bytes and frames are counted by reason in `rejected`; the decoder never
    raises on input and never loses a good frame that follows garbage.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected: Counter[str] = Counter()

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer.extend(chunk)
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def _next_frame(self) -> Frame | None:
        buf = self._buffer
        while buf:
            if buf[0] != HEAD:
                skip = buf.find(HEAD)
                skip = len(buf) if skip < 0 else skip
                del buf[:skip]
                self.rejected["garbage"] += skip
                continue
            if len(buf) < 2:
                return None
            length = buf[1]
            if length < 3:
                self._reject("bad length")
                continue
            if len(buf) < length + 2:
                return None
            raw = bytes(buf[: length + 2])
            if checksum(raw[:-1]) != raw[-1]:
                self._reject("bad checksum")
                continue
            del buf[: length + 2]
            return Frame(address=raw[2], command=raw[3], data=raw[4:-1])
        return None

    def _reject(self, reason: str) -> None:
        # Drop the head byte only: a real frame may start inside what looked like one.
        del self._buffer[:1]
        self.rejected[reason] += 1
        log.debug("rfid frame rejected: %s", reason)
