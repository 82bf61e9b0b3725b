"""Identifiers of a cargo unit: normalisation and the ISO 6346 container check digit."""

from __future__ import annotations

import re
import string

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")

# ISO 6346 letter values: 10 upwards, skipping multiples of 11.
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in string.ascii_uppercase:
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1


def normalise(value: str) -> str:
    """The form identifiers are compared in: upper case, letters and digits only.

    OCR, RFID and customs systems write the same plate or code with different
    case, spaces, hyphens or dots ("ab-123 cd" and "AB123CD" are one plate).
    """
    return _NOT_ALNUM.sub("", value.upper())


def container_check_digit(code: str) -> int:
    """The ISO 6346 check digit of the first ten characters of `code`."""
    total = 0
    for i, char in enumerate(code[:10]):
        total += (_LETTER_VALUES[char] if char.isalpha() else int(char)) * 2**i
    return total % 11 % 10


def container_code_error(value: str) -> str | None:
    """Why `value` is not a valid ISO 6346 container code, or None when it is."""
    code = normalise(value)
    if not _CONTAINER.match(code):
        return (
            f"{value!r} is not an ISO 6346 container code "
            "(owner code, category U/J/Z, six digits, check digit)"
        )
    expected = container_check_digit(code)
    if int(code[10]) != expected:
        return f"{value!r}: check digit is {code[10]}, ISO 6346 gives {expected}"
    return None
