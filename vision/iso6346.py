"""ISO 6346 container identification: owner code, serial, check digit, size-type code.

A container code is 11 characters: a 3-letter owner code, the equipment category
(U freight container, J detachable equipment, Z trailer or chassis), a 6-digit
serial number and one check digit computed from the first ten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vision.errors import VisionError

CODE_RE = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
SIZE_TYPE_RE = re.compile(r"[1-4ABCDEFLMNP][02-9CDEFLMNP][A-Z][0-9A-Z]")


def _letter_values() -> dict[str, int]:
    # Letters count from 10 upwards, skipping multiples of 11 (11, 22, 33) so that
    # no letter can stand in for another's contribution modulo 11.
    values: dict[str, int] = {}
    value = 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


CHAR_VALUES = {**{str(d): d for d in range(10)}, **_letter_values()}


class ContainerCodeError(VisionError):
    """A string that is not a well-formed ISO 6346 container code."""


def check_digit(first_ten: str) -> int:
    """The check digit for owner code, category and serial (10 characters)."""
    if len(first_ten) != 10 or not re.fullmatch(r"[A-Z]{4}[0-9]{6}", first_ten):
        raise ContainerCodeError(f"need 4 letters and 6 digits, got {first_ten!r}")
    total = sum(CHAR_VALUES[c] * (1 << i) for i, c in enumerate(first_ten))
    return total % 11 % 10


def is_valid_code(code: str) -> bool:
    """True when `code` has the ISO 6346 shape and its check digit is right."""
    return bool(CODE_RE.fullmatch(code)) and check_digit(code[:10]) == int(code[10])


# Size code, first character: length; second: height (ISO 6346:1995 annex, common values).
LENGTHS = {
    "1": "10 ft",
    "2": "20 ft",
    "3": "30 ft",
    "4": "40 ft",
    "B": "24 ft",
    "C": "24 ft 6 in",
    "G": "41 ft",
    "L": "45 ft",
    "M": "48 ft",
    "N": "49 ft",
    "P": "53 ft",
}
HEIGHTS = {
    "0": "8 ft",
    "2": "8 ft 6 in",
    "4": "9 ft",
    "5": "9 ft 6 in",
    "6": "more than 9 ft 6 in",
    "8": "4 ft 3 in",
    "9": "4 ft 3 in or less",
    "C": "8 ft 6 in, width 2.5 m",
    "D": "9 ft, width 2.5 m",
    "E": "9 ft 6 in, width 2.5 m",
    "F": "more than 9 ft 6 in, width 2.5 m",
    "L": "8 ft 6 in, width over 2.5 m",
    "M": "9 ft, width over 2.5 m",
    "N": "9 ft 6 in, width over 2.5 m",
    "P": "more than 9 ft 6 in, width over 2.5 m",
}
TYPE_GROUPS = {
    "G": "general purpose",
    "V": "general purpose, ventilated",
    "B": "dry bulk",
    "S": "named cargo",
    "R": "refrigerated",
    "H": "refrigerated or heated, removable equipment",
    "U": "open top",
    "P": "platform",
    "T": "tank",
    "A": "air/surface",
}


@dataclass(frozen=True)
class SizeType:
    code: str
    length: str
    height: str
    group: str


def parse_size_type(code: str) -> SizeType:
    """Parse a 4-character size-type code such as `22G1` or `45R1`."""
    code = code.upper()
    if len(code) != 4 or code[0] not in LENGTHS or code[1] not in HEIGHTS:
        raise ContainerCodeError(f"not an ISO 6346 size code: {code!r}")
    if code[2] not in TYPE_GROUPS or not code[3].isdigit():
        raise ContainerCodeError(f"not an ISO 6346 type code: {code!r}")
    return SizeType(code, LENGTHS[code[0]], HEIGHTS[code[1]], TYPE_GROUPS[code[2]])


def is_size_type(code: str) -> bool:
    try:
        parse_size_type(code)
    except ContainerCodeError:
        return False
    return True
