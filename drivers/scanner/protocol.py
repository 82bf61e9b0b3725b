"""NII-1: the scanner's TCP line protocol (ASCII, one message per line).

    $NII,<seq>,<VERB>[,key=value...]*<XX>\\r\\n

XX is the XOR of every byte between `$` and `*`, two upper-case hex digits (as
in NMEA 0183). A request carries a sequence number 1..65535 that its reply
echoes; events from the scanner carry 0. Values are restricted to letters,
digits and `._:/-` so no quoting is ever needed; times are ISO 8601 UTC with `Z`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drivers.scanner.errors import LineError

MAX_LINE = 512
_VALUE = re.compile(r"[A-Za-z0-9._:/\-]{0,80}")
_KEY = re.compile(r"[a-z_]{1,24}")
_VERB = re.compile(r"[A-Z]{2,12}")


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    verb: str
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        try:
            return self.fields[key]
        except KeyError as err:
            raise LineError(f"{self.verb} without {key}=") from err


def checksum(body: str) -> str:
    value = 0
    for byte in body.encode("ascii"):
        value ^= byte
    return f"{value:02X}"


def encode(seq: int, verb: str, **fields: str) -> bytes:
    if not 0 <= seq <= 0xFFFF or not _VERB.fullmatch(verb):
        raise LineError(f"cannot send seq {seq} verb {verb!r}")
    parts = ["NII", str(seq), verb]
    for key, value in fields.items():
        if not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
            raise LineError(f"cannot send {key}={value!r}: only [A-Za-z0-9._:/-] in values")
        parts.append(f"{key}={value}")
    body = ",".join(parts)
    return f"${body}*{checksum(body)}\r\n".encode("ascii")


def decode(raw: bytes) -> Line:
    """One received line (with or without its line end) -> Line, or LineError."""
    if len(raw) > MAX_LINE:
        raise LineError(f"line of {len(raw)} bytes")
    try:
        text = raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise LineError("line is not ASCII") from err
    if not text.startswith("$") or len(text) < 4 or text[-3] != "*":
        raise LineError(f"not a NII-1 line: {text[:40]!r}")
    body, received = text[1:-3], text[-2:]
    if checksum(body) != received.upper():
        raise LineError(f"checksum {received} does not match {checksum(body)}")
    parts = body.split(",")
    if len(parts) < 3:
        raise LineError(f"no verb in {body[:40]!r}")
    talker, seq_text, verb, *pairs = parts
    if talker != "NII" or not re.fullmatch(r"[0-9]{1,5}", seq_text) or not _VERB.fullmatch(verb):
        raise LineError(f"bad header in {body[:40]!r}")
    seq = int(seq_text)
    if seq > 0xFFFF:
        raise LineError(f"sequence number {seq} out of range")
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
            raise LineError(f"bad field {pair[:40]!r}")
        fields[key] = value
    return Line(seq=seq, verb=verb, fields=fields)


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise LineError(f"bad time {text!r}") from err
    if at.tzinfo is None:
        raise LineError(f"time without zone {text!r}")
    return at.astimezone(UTC)
