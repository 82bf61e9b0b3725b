"""Tag air frames as the reader relays them: decode, verify, and build commands.

The tag authenticates what it sends with HMAC-SHA256 under its own 32-byte key,
truncated to 16 bytes; its event log is a hash chain with 8-byte links whose
head is inside every status frame. Why HMAC and not Ed25519: a coin-cell tag's
MCU has SHA-256 (often in hardware) but no Ed25519, which in software costs
hundreds of milliseconds and a good part of the battery budget per signature;
the price is a shared key, so the issuer derives one key per tag (see
`derive_tag_key`) and a leaked key exposes one seal only.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field

from contract.messages import SealState
from drivers.eseal.errors import FrameError, SignatureError

VERSION = 1
T_STATUS, T_LOG, T_RESULT = 0x01, 0x02, 0x03
C_GET_STATUS, C_GET_LOG, C_ARM, C_DISARM = 0x11, 0x12, 0x13, 0x14
FLAG_ARMED, FLAG_BATTERY_LOW = 0x01, 0x02
MAC_LEN, CHAIN_LEN, TOKEN_LEN = 16, 8, 16
MAX_TEXT = 40
GENESIS = bytes(CHAIN_LEN)

_STATES = {0: SealState.SEALED, 1: SealState.OPENED, 2: SealState.TAMPERED}


class SealLogEvent(IntEnum):
    ARMED = 1
    DISARMED = 2
    OPENED = 3
    TAMPERED = 4
    BATTERY_LOW = 5
    DISARM_REFUSED = 6


class TagResult(IntEnum):
    """The tag's answer to arm or disarm (a value, not an error)."""

    OK = 0
    BAD_TOKEN = 1
    NODE_NOT_AUTHORISED = 2
    WRONG_DECLARATION = 3
    BAD_STATE = 4
    MALFORMED = 5


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TagStatus(_Frozen):
    """A status frame as the tag signed it."""

    seal_id: str
    state: SealState
    armed: bool
    battery_low: bool
    battery_pct: int = Field(ge=0, le=100)
    tag_time: datetime = Field(description="the tag's own clock, UTC")
    frame_counter: int = Field(ge=0, description="strictly increasing per tag")
    log_count: int = Field(ge=0)
    log_head: bytes = Field(description="the last link of the log's hash chain")
    declaration_id: str | None


class LogEntry(_Frozen):
    seq: int = Field(ge=0)
    occurred_at: datetime = Field(description="tag clock, UTC")
    event: SealLogEvent
    state: SealState
    battery_pct: int = Field(ge=0, le=100)
    declaration_id: str | None
    link: bytes


class LogPage(_Frozen):
    seal_id: str
    start: int
    total: int
    entries: tuple[LogEntry, ...]
    bodies: tuple[bytes, ...] = Field(description="the signed bytes of each entry")


class TagCommandResult(_Frozen):
    seal_id: str
    command: int
    result: TagResult
    frame_counter: int


# ------------------------------------------------------------------ keys, tokens


def derive_tag_key(issuer_key: bytes, seal_id: str) -> bytes:
    """The per-tag key the issuer writes into a tag at provisioning."""
    return hmac.new(issuer_key, b"corridor-eseal-key|" + seal_id.encode(), hashlib.sha256).digest()


def lp(text: str) -> bytes:
    """A length-prefixed ASCII string, as every text travels."""
    if not (text.isascii() and text.isprintable()):
        raise FrameError(f"{text!r} is not printable ASCII")
    data = text.encode("ascii")
    if len(data) > MAX_TEXT:
        raise FrameError(f"{text[:12]!r}...: longer than {MAX_TEXT} characters")
    return bytes((len(data),)) + data


def _hmac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def arm_token(key: bytes, seal_id: str, declaration_id: str, nodes: Sequence[str]) -> bytes:
    """Issued with the tag key: arms `seal_id` for `declaration_id`, to be disarmed at `nodes`."""
    body = b"ARM" + lp(seal_id) + lp(declaration_id) + bytes((len(nodes),))
    body += b"".join(lp(node) for node in nodes)
    return _hmac(key, body)[:TOKEN_LEN]


def disarm_token(key: bytes, seal_id: str, declaration_id: str, node_id: str) -> bytes:
    """Issued with the tag key for one node: only a reader at `node_id` can use it."""
    body = b"DISARM" + lp(seal_id) + lp(declaration_id) + lp(node_id)
    return _hmac(key, body)[:TOKEN_LEN]


# ------------------------------------------------------------------ decoding


class Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FrameError(f"frame ends at byte {len(self.data)}, field needs {n} more")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def text(self) -> str:
        raw = self.take(self.u8())
        if not all(0x20 <= b <= 0x7E for b in raw):
            raise FrameError(f"text field is not printable ASCII: {raw!r}")
        return raw.decode("ascii")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise FrameError(f"{len(self.data) - self.pos} unexpected trailing byte(s)")


def _header(cur: Cursor, expected_type: int) -> None:
    version, frame_type = cur.u8(), cur.u8()
    if version != VERSION:
        raise FrameError(f"air frame version {version}, expected {VERSION}")
    if frame_type != expected_type:
        raise FrameError(f"air frame type 0x{frame_type:02x}, expected 0x{expected_type:02x}")


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _state(code: int) -> SealState:
    try:
        return _STATES[code]
    except KeyError as err:
        raise FrameError(f"unknown seal state {code}") from err


def _check_mac(key: bytes, signed: bytes, received: bytes, what: str) -> None:
    if not hmac.compare_digest(_hmac(key, signed)[:MAC_LEN], received):
        raise SignatureError(f"{what}: MAC does not verify under the seal's key")


def status_seal_id(frame: bytes) -> str:
    """The seal id a status frame claims, read before its key is looked up."""
    cur = Cursor(frame)
    _header(cur, T_STATUS)
    return cur.text()


def parse_status(frame: bytes, key: bytes | None) -> TagStatus:
    """Decode a status frame; verify its MAC when `key` is given."""
    cur = Cursor(frame)
    _header(cur, T_STATUS)
    seal_id = cur.text()
    state, flags, battery, at_s, counter, log_count = cur.unpack(">BBBIIH")
    head = cur.take(CHAIN_LEN)
    declaration = cur.text()
    signed_len = cur.pos
    received = cur.take(MAC_LEN)
    cur.end()
    if battery > 100:
        raise FrameError(f"battery {battery}% out of range")
    if key is not None:
        _check_mac(key, frame[:signed_len], received, f"status of seal {seal_id}")
    return TagStatus(
        seal_id=seal_id,
        state=_state(state),
        armed=bool(flags & FLAG_ARMED),
        battery_low=bool(flags & FLAG_BATTERY_LOW),
        battery_pct=battery,
        tag_time=_utc(at_s),
        frame_counter=counter,
        log_count=log_count,
        log_head=head,
        declaration_id=declaration or None,
    )


def parse_log_page(frame: bytes) -> LogPage:
    """Decode a log page; the chain is checked over the whole log (see verify_chain)."""
    cur = Cursor(frame)
    _header(cur, T_LOG)
    seal_id = cur.text()
    start, total, count = cur.unpack(">HHB")
    entries, bodies = [], []
    for _ in range(count):
        begin = cur.pos
        seq, at_s, event, state, battery = cur.unpack(">HIBBB")
        declaration = cur.text()
        body = frame[begin : cur.pos]
        link = cur.take(CHAIN_LEN)
        try:
            kind = SealLogEvent(event)
        except ValueError as err:
            raise FrameError(f"unknown log event {event}") from err
        if battery > 100:
            raise FrameError(f"battery {battery}% out of range")
        entries.append(
            LogEntry(
                seq=seq,
                occurred_at=_utc(at_s),
                event=kind,
                state=_state(state),
                battery_pct=battery,
                declaration_id=declaration or None,
                link=link,
            )
        )
        bodies.append(body)
    cur.end()
    return LogPage(
        seal_id=seal_id, start=start, total=total, entries=tuple(entries), bodies=tuple(bodies)
    )


def chain_link(key: bytes, previous: bytes, seal_id: str, body: bytes) -> bytes:
    return _hmac(key, b"LOG" + previous + lp(seal_id) + body)[:CHAIN_LEN]


def verify_chain(
    key: bytes, seal_id: str, entries: Sequence[LogEntry], bodies: Sequence[bytes]
) -> int:
    """How many entries from the start of the log are authentic and in order."""
    previous = GENESIS
    for index, (entry, body) in enumerate(zip(entries, bodies, strict=True)):
        if entry.seq != index or chain_link(key, previous, seal_id, body) != entry.link:
            return index
        previous = entry.link
    return len(entries)


def parse_result(frame: bytes, key: bytes | None, token: bytes) -> TagCommandResult:
    """Decode an arm/disarm result, authenticated together with the token it answers."""
    cur = Cursor(frame)
    _header(cur, T_RESULT)
    seal_id = cur.text()
    command, result, counter = cur.unpack(">BBI")
    signed_len = cur.pos
    received = cur.take(MAC_LEN)
    cur.end()
    if key is not None:
        _check_mac(key, frame[:signed_len] + token, received, f"result from seal {seal_id}")
    try:
        outcome = TagResult(result)
    except ValueError as err:
        raise FrameError(f"unknown tag result {result}") from err
    return TagCommandResult(seal_id=seal_id, command=command, result=outcome, frame_counter=counter)
