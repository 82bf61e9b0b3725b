"""The sentences a tracker's GNSS receiver sends for one fix: RMC, VTG, GGA, GSA, GST.

Written here, not borrowed from the driver, so that a bug in one is not hidden by
the same bug in the other: tests read these with our decoder, pynmea2 and gpsd.
"""

from __future__ import annotations

from datetime import datetime

KNOTS_PER_MPS = 3600.0 / 1852.0
# a plausible constellation for GSA; the simulator does not model satellites
_USED_PRNS = ("02", "05", "07", "09", "13", "15", "18", "20")


def with_checksum(body: str) -> str:
    """'$' + body + '*hh' + CRLF, the checksum being the XOR of the body's bytes."""
    value = 0
    for char in body.encode("ascii"):
        value ^= char
    return f"${body}*{value:02X}\r\n"


def _lat(value: float) -> tuple[str, str]:
    degrees, minutes = _split(abs(value))
    return f"{degrees:02d}{minutes:08.5f}", "N" if value >= 0 else "S"


def _lon(value: float) -> tuple[str, str]:
    degrees, minutes = _split(abs(value))
    return f"{degrees:03d}{minutes:08.5f}", "E" if value >= 0 else "W"


def _split(value: float) -> tuple[int, float]:
    """Whole degrees and minutes, rounded to the 5 decimals sent (no 60.00000 minutes)."""
    total_minutes = round(value * 60.0, 5)
    degrees = int(total_minutes // 60)
    return degrees, total_minutes - degrees * 60


def _course(value: float) -> str:
    text = f"{value % 360.0:.2f}"
    return "0.00" if text == "360.00" else text


def cycle(
    at: datetime,
    lat: float,
    lon: float,
    *,
    speed_mps: float,
    course_deg: float,
    alt_m: float,
    hdop: float,
    sigma_m: float,
    talker: str = "GP",
) -> list[str]:
    """One reporting cycle of sentences, each with checksum and CRLF."""
    hhmmss = at.strftime("%H%M%S") + f".{at.microsecond // 10000:02d}"
    ddmmyy = at.strftime("%d%m%y")
    la, ns = _lat(lat)
    lo, ew = _lon(lon)
    knots = speed_mps * KNOTS_PER_MPS
    course = _course(course_deg)
    pdop, vdop = round(hdop * 1.6, 1), round(hdop * 1.3, 1)
    used = ",".join([*_USED_PRNS, "", "", "", ""])
    return [
        with_checksum(
            f"{talker}RMC,{hhmmss},A,{la},{ns},{lo},{ew},{knots:.3f},{course},{ddmmyy},,,A"
        ),
        with_checksum(f"{talker}VTG,{course},T,,M,{knots:.3f},N,{speed_mps * 3.6:.3f},K,A"),
        with_checksum(
            f"{talker}GGA,{hhmmss},{la},{ns},{lo},{ew},1,{len(_USED_PRNS):02d},{hdop:.1f},"
            f"{alt_m:.1f},M,0.0,M,,"
        ),
        with_checksum(f"{talker}GSA,A,3,{used},{pdop:.1f},{hdop:.1f},{vdop:.1f}"),
        with_checksum(
            f"{talker}GST,{hhmmss},{sigma_m:.1f},{sigma_m:.1f},{sigma_m:.1f},0.0,"
            f"{sigma_m:.1f},{sigma_m:.1f},{sigma_m * 1.5:.1f}"
        ),
    ]
