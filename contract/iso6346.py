"""ISO 6346 container identification: owner code, category, serial and check digit.

One implementation for the whole stack: vision (accepting a read), the edge
(validating a camera feed), central (validating a declared container).
"""

from __future__ import annotations

import re

CODE = re.compile(r"^[A-Z]{3}[UJZ][0-9]{6}[0-9]$")

# Letter values skip multiples of 11 (A=10, B=12, ... K=21, L=23, ... U=32, V=34 ...).
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1


def check_digit(first_ten: str) -> int:
    """The check digit of the first ten characters (owner, category, serial)."""
    if len(first_ten) != 10:
        raise ValueError("need the 10 characters before the check digit")
    total = 0
    for position, char in enumerate(first_ten):
        value = int(char) if char.isdigit() else _LETTER_VALUES[char]
        total += value * (2**position)
    return total % 11 % 10


def is_valid(code: str) -> bool:
    """True for an 11-character code with a correct check digit (e.g. MSCU1234565)."""
    code = normalise(code)
    return bool(CODE.match(code)) and check_digit(code[:10]) == int(code[10])


def normalise(code: str) -> str:
    return re.sub(r"[\s\-./]", "", code).upper()
