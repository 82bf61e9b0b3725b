"""NMEA 0183 sentences: framing, checksum, and typed decoding of the ones that carry a fix.

`frame()` turns one line from a receiver into a `Sentence` (address and fields) or
raises `SentenceRejected` with a reason. `decode()` turns a framed sentence of a
supported type into a typed, immutable record with SI-free raw values (knots stay
knots here; the reporting cycle converts). Both are pure functions: a rejected
line changes nothing anywhere.

Empty fields are `None`. A field that is present but malformed rejects the whole
sentence (`BAD_FIELD`): a receiver that sends a latitude of "4a07.0" is not to be
half-believed.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from drivers.gnss.errors import RejectReason, SentenceRejected

MAX_SENTENCE_CHARS: Final = 102
"""NMEA says 82; real receivers send longer lines (gpsd accepts up to 102, as we do)."""

TALKERS: Final = frozenset({"GP", "GN", "GL", "GA", "BD", "GB", "GQ", "QZ", "GI", "PQ", "IN"})
"""Talker ids of GNSS sentences (PQ is Quectel's QZSS quirk); others are accepted too."""

SUPPORTED: Final = frozenset({"GGA", "RMC", "GLL", "GNS", "VTG", "GSA", "GSV", "GST", "ZDA"})

_ADDRESS = re.compile(r"[A-Z0-9]{2,10}")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_TIME = re.compile(r"(\d\d)(\d\d)(\d\d)(?:\.(\d*))?")
_LATLON = re.compile(r"(\d+)\.(\d*)")
_DATE = re.compile(r"(\d\d)(\d\d)(\d\d)")

# Minimum number of data fields per type; fewer means the line was cut short.
_MIN_FIELDS: Final = {
    "GGA": 12,
    "RMC": 7,
    "GLL": 6,
    "GNS": 12,
    "VTG": 4,
    "GSA": 17,
    "GSV": 3,
    "GST": 7,
    "ZDA": 3,
}


@dataclass(frozen=True, slots=True)
class Sentence:
    """A checksum-valid sentence: its address (`GPGGA`, `PSRFEPE`) and data fields.

    `kind` is `GGA` for a standard sentence from any talker and the whole address
    otherwise; `talker` is `GP`, `GN`, ... for a standard sentence, else empty.
    """

    address: str
    fields: tuple[str, ...]
    kind: str = dataclasses.field(init=False)
    talker: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        standard = len(self.address) == 5 and self.address[2:] in SUPPORTED
        object.__setattr__(self, "kind", self.address[2:] if standard else self.address)
        object.__setattr__(self, "talker", self.address[:2] if standard else "")

    def field(self, number: int) -> str:
        """Field `number` as NMEA documents count them (1 = first after the address)."""
        try:
            return self.fields[number - 1] if number > 0 else ""
        except IndexError:
            return ""


def checksum(body: str) -> str:
    """The two-hex-digit XOR checksum of the text between `$` and `*`."""
    value = 0
    for char in body.encode("ascii"):
        value ^= char
    return f"{value:02X}"


def split_noise(line: bytes | str) -> tuple[str, bytes | str]:
    """Split off junk before the last sentence start on a line (binary noise, a cut-off
    sentence): returns (the junk as text for logging, the rest)."""
    if isinstance(line, bytes):
        start = max(line.rfind(b"$"), line.rfind(b"!"))
        junk = line[:start] if start > 0 else b""
        return junk.decode("ascii", "backslashreplace"), line[max(start, 0) :]
    start = max(line.rfind("$"), line.rfind("!"))
    return (line[:start], line[start:]) if start > 0 else ("", line)


def frame(line: bytes | str) -> Sentence:
    """Validate one line (with or without CR/LF) and split it into address and fields."""
    text = _printable_text(line)
    if len(text) > MAX_SENTENCE_CHARS:
        raise SentenceRejected(RejectReason.TOO_LONG, f"{len(text)} characters")
    if not text or text[0] not in "$!":
        raise SentenceRejected(RejectReason.GARBAGE, f"does not start with '$': {text[:20]!r}")
    body, star, trailer = text[1:].partition("*")
    if not star:
        raise SentenceRejected(RejectReason.NO_CHECKSUM, f"no '*hh' trailer: {text[:20]!r}")
    if len(trailer) != 2 or trailer.upper() != checksum(body):
        raise SentenceRejected(RejectReason.BAD_CHECKSUM, f"trailer {trailer!r} for {body[:20]!r}")
    address, *fields = body.split(",")
    if not _ADDRESS.fullmatch(address):
        raise SentenceRejected(RejectReason.GARBAGE, f"bad address {address!r}")
    sentence = Sentence(address, tuple(fields))
    minimum = _MIN_FIELDS.get(sentence.kind, 0)
    if len(fields) < minimum:
        raise SentenceRejected(
            RejectReason.TRUNCATED, f"{address} has {len(fields)} fields, needs {minimum}"
        )
    return sentence


def _printable_text(line: bytes | str) -> str:
    if isinstance(line, bytes):
        try:
            line = line.decode("ascii")
        except UnicodeDecodeError as err:
            raise SentenceRejected(RejectReason.GARBAGE, "non-ASCII bytes") from err
    text = line.rstrip("\r\n")
    if not text.isprintable() or not text.isascii():
        raise SentenceRejected(RejectReason.GARBAGE, f"control characters in {text[:20]!r}")
    return text


# --------------------------------------------------------------------------- field helpers


def _bad(sentence: Sentence, number: int, what: str) -> SentenceRejected:
    value = sentence.field(number)
    return SentenceRejected(
        RejectReason.BAD_FIELD, f"{sentence.address} field {number} {value!r} is not {what}"
    )


def _number(sentence: Sentence, number: int) -> float | None:
    value = sentence.field(number)
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        raise _bad(sentence, number, "a number")
    return float(value)


def _magnitude(sentence: Sentence, number: int) -> float | None:
    """A number that cannot be negative (a speed, a DOP, an error estimate)."""
    value = _number(sentence, number)
    if value is not None and value < 0:
        raise _bad(sentence, number, "a non-negative number")
    return value


def _integer(sentence: Sentence, number: int) -> int | None:
    value = sentence.field(number)
    if not value:
        return None
    if value.isdigit() and value.isascii():
        return int(value)
    if not _INTEGER.fullmatch(value):
        raise _bad(sentence, number, "an integer")
    return int(value)


def _flag(sentence: Sentence, number: int, allowed: str) -> str:
    """A one-letter status field; empty when absent, else one of `allowed`."""
    value = sentence.field(number)
    if value and (len(value) != 1 or value not in allowed):
        raise _bad(sentence, number, f"one of {allowed!r}")
    return value


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """hhmmss.sss from a sentence, UTC."""

    hour: int
    minute: int
    second: int
    nanosecond: int
    text: str  # as sent: GGA's stuck-clock check compares the raw text, like gpsd

    def seconds(self) -> float:
        return self.hour * 3600 + self.minute * 60 + self.second + self.nanosecond / 1e9


def _time(sentence: Sentence, number: int) -> TimeOfDay | None:
    value = sentence.field(number)
    if not value:
        return None
    match = _TIME.fullmatch(value)
    if not match:
        raise _bad(sentence, number, "a time hhmmss.ss")
    hour, minute, second = (int(g) for g in match.group(1, 2, 3))
    if hour > 23 or minute > 59 or second > 60:
        raise _bad(sentence, number, "a time of day")
    fraction = match.group(4) or ""
    nanosecond = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return TimeOfDay(hour, minute, second, nanosecond, value)


def _degrees(sentence: Sentence, number: int, limit: int) -> float | None:
    """ddmm.mmmm (or dddmm.mmmm) to degrees, computed the way gpsd does it."""
    value = sentence.field(number)
    if not value:
        return None
    match = _LATLON.fullmatch(value)
    if not match:
        raise _bad(sentence, number, "ddmm.mmmm")
    scaled = int(match.group(1))  # degrees * 100 + whole minutes
    degrees = scaled // 100
    whole_minutes = scaled - degrees * 100
    fraction = float("0." + match.group(2)) if match.group(2) else 0.0
    if whole_minutes >= 60 or degrees > limit:
        raise _bad(sentence, number, "a latitude/longitude")
    return (degrees * 60 + whole_minutes + fraction) * (1.0 / 60.0)


def _position(sentence: Sentence, first: int) -> tuple[float, float] | None:
    """Lat, hemisphere, lon, hemisphere starting at field `first`; None if any is empty."""
    lat = _degrees(sentence, first, 90)
    north_south = _flag(sentence, first + 1, "NS")
    lon = _degrees(sentence, first + 2, 180)
    east_west = _flag(sentence, first + 3, "EW")
    if lat is None or lon is None or not north_south or not east_west:
        return None
    if lat > 90 or lon > 180:
        raise _bad(sentence, first, "a position on Earth")
    return (-lat if north_south == "S" else lat, -lon if east_west == "W" else lon)


# --------------------------------------------------------------------------- typed sentences


@dataclass(frozen=True, slots=True)
class GGA:
    """Fix data: time, position, quality, satellites used, HDOP, altitude (MSL)."""

    talker: str
    time: TimeOfDay | None
    position: tuple[float, float] | None
    quality: int | None  # 0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR, ...
    satellites: int  # empty counts as 0, as receivers mean it
    hdop: float | None
    altitude_msl_m: float | None
    geoid_separation_m: float | None
    dgps_age_s: float | None
    dgps_station: int | None


@dataclass(frozen=True, slots=True)
class RMC:
    """Recommended minimum: time, date, status, position, speed (knots), course."""

    time: TimeOfDay | None
    status: str  # A valid, D differential, V warning
    position: tuple[float, float] | None
    speed_knots: float | None
    course_deg: float | None
    date: tuple[int, int, int] | None  # (yy, month, day)
    faa_mode: str | None  # None when the receiver predates NMEA 2.3


@dataclass(frozen=True, slots=True)
class GLL:
    """Position and time, with a validity flag."""

    position: tuple[float, float] | None
    time: TimeOfDay | None
    status: str
    faa_mode: str | None


@dataclass(frozen=True, slots=True)
class GNS:
    """Multi-constellation fix data (NMEA 4)."""

    time: TimeOfDay | None
    position: tuple[float, float] | None
    modes: str  # one FAA mode letter per constellation
    satellites: int
    hdop: float | None
    altitude_msl_m: float | None
    geoid_separation_m: float | None
    nav_status: str


@dataclass(frozen=True, slots=True)
class VTG:
    """Course and speed over ground."""

    course_deg: float | None
    magnetic_course_deg: float | None
    speed_knots: float | None
    faa_mode: str | None


@dataclass(frozen=True, slots=True)
class GSA:
    """Fix mode, satellites used, dilutions of precision."""

    talker: str
    fix_mode: str  # '1' no fix, '2' 2D, '3' 3D; 'E' (u-blox dead reckoning) kept as sent
    satellites_used: tuple[int, ...]
    pdop: float | None
    hdop: float | None
    vdop: float | None
    field_count: int


@dataclass(frozen=True, slots=True)
class SatelliteInView:
    prn: int
    elevation_deg: int | None
    azimuth_deg: int | None
    snr_dbhz: int | None


@dataclass(frozen=True, slots=True)
class GSV:
    """One part of a satellites-in-view set."""

    talker: str
    parts: int
    part: int
    in_view: int
    satellites: tuple[SatelliteInView, ...]


@dataclass(frozen=True, slots=True)
class GST:
    """Pseudorange noise statistics: the error ellipse, 1 sigma, metres."""

    time: TimeOfDay | None
    rms_range_m: float | None
    major_m: float | None
    minor_m: float | None
    orientation_deg: float | None
    lat_err_m: float | None
    lon_err_m: float | None
    alt_err_m: float | None


@dataclass(frozen=True, slots=True)
class ZDA:
    """Time and full date (four-digit year)."""

    time: TimeOfDay | None
    day: int | None
    month: int | None
    year: int | None


Decoded = GGA | RMC | GLL | GNS | VTG | GSA | GSV | GST | ZDA


def decode(sentence: Sentence) -> Decoded | None:
    """The typed record of a supported sentence; None for any other type."""
    parser = _PARSERS.get(sentence.kind)
    if parser is None:
        return None
    return parser(sentence)


def _gga(s: Sentence) -> GGA:
    return GGA(
        talker=s.talker,
        time=_time(s, 1),
        position=_position(s, 2),
        quality=_integer(s, 6),
        satellites=_integer(s, 7) or 0,
        hdop=_magnitude(s, 8),
        altitude_msl_m=_number(s, 9),
        geoid_separation_m=_number(s, 11),
        dgps_age_s=_magnitude(s, 13),
        dgps_station=_integer(s, 14),
    )


def _rmc(s: Sentence) -> RMC:
    return RMC(
        time=_time(s, 1),
        status=_flag(s, 2, "ADV"),
        position=_position(s, 3),
        speed_knots=_magnitude(s, 7),
        course_deg=_number(s, 8),
        date=_date(s, 9),
        faa_mode=s.field(12) if len(s.fields) >= 12 else None,
    )


def _date(s: Sentence, number: int) -> tuple[int, int, int] | None:
    value = s.field(number)
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if not match:
        raise _bad(s, number, "a date ddmmyy")
    day, month, year = (int(g) for g in match.group(1, 2, 3))
    if not is_calendar_date(1900 + year if year >= 80 else 2000 + year, month, day):
        raise _bad(s, number, "a calendar date")
    return year, month, day


def is_calendar_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _gll(s: Sentence) -> GLL:
    return GLL(
        position=_position(s, 1),
        time=_time(s, 5),
        status=_flag(s, 6, "AV"),
        faa_mode=s.field(7) if len(s.fields) >= 7 else None,
    )


def _gns(s: Sentence) -> GNS:
    return GNS(
        time=_time(s, 1),
        position=_position(s, 2),
        modes=s.field(6),
        satellites=_integer(s, 7) or 0,
        hdop=_magnitude(s, 8),
        altitude_msl_m=_number(s, 9),
        geoid_separation_m=_number(s, 10),
        nav_status=s.field(13),
    )


def _vtg(s: Sentence) -> VTG:
    return VTG(
        course_deg=_number(s, 1),
        magnetic_course_deg=_number(s, 3),
        speed_knots=_magnitude(s, 5),
        faa_mode=s.field(9) if len(s.fields) >= 9 else None,
    )


def _gsa(s: Sentence) -> GSA:
    # The PRN list is 12 fields in NMEA, but some receivers send more; the three DOPs
    # (and an NMEA 4.1 system id) are always last, so count from the end.
    has_system_id = len(s.fields) == 18
    dops_at = len(s.fields) - (4 if has_system_id else 3) + 1
    used = tuple(prn for n in range(3, dops_at) if (prn := _integer(s, n)) is not None and prn > 0)
    return GSA(
        talker=s.talker,
        fix_mode=_flag(s, 2, "123E"),
        satellites_used=used,
        pdop=_magnitude(s, dops_at),
        hdop=_magnitude(s, dops_at + 1),
        vdop=_magnitude(s, dops_at + 2),
        field_count=len(s.fields) + 1,
    )


def _gsv(s: Sentence) -> GSV:
    parts, part, in_view = _integer(s, 1), _integer(s, 2), _integer(s, 3)
    if parts is None or part is None or not 1 <= part <= parts:
        raise _bad(s, 2, "a part number within the set")
    satellites = []
    for first in range(4, len(s.fields) - 2, 4):
        prn = _integer(s, first)
        if prn:
            satellites.append(
                SatelliteInView(
                    prn, _integer(s, first + 1), _integer(s, first + 2), _integer(s, first + 3)
                )
            )
    return GSV(s.talker, parts, part, in_view or 0, tuple(satellites))


def _gst(s: Sentence) -> GST:
    return GST(
        time=_time(s, 1),
        rms_range_m=_magnitude(s, 2),
        major_m=_magnitude(s, 3),
        minor_m=_magnitude(s, 4),
        orientation_deg=_number(s, 5),
        lat_err_m=_magnitude(s, 6),
        lon_err_m=_magnitude(s, 7),
        alt_err_m=_magnitude(s, 8),
    )


def _zda(s: Sentence) -> ZDA:
    return ZDA(time=_time(s, 1), day=_integer(s, 2), month=_integer(s, 3), year=_integer(s, 4))


_PARSERS: dict[str, Callable[[Sentence], Decoded]] = {
    "GGA": _gga,
    "RMC": _rmc,
    "GLL": _gll,
    "GNS": _gns,
    "VTG": _vtg,
    "GSA": _gsa,
    "GSV": _gsv,
    "GST": _gst,
    "ZDA": _zda,
}
