"""ADR orange plates: the hazard identification number over the UN number.

A road vehicle carrying dangerous goods shows a retro-reflective orange plate
(ADR 5.3.2; 40 x 30 cm, black border, a black line across the middle) at its front
and rear, and a tank container at its ends and sides: above the line the hazard
identification number ("Kemler code": 2-3 digits, the first the main hazard 2-9,
a doubled digit a stronger hazard, an `X` before it for "reacts dangerously with
water"), below it the substance's UN number (4 digits). `33` over `1203` is petrol.

Two text lines, one above the other, make a plate when the upper one is a hazard
number, the lower one a UN number, they stand over each other like the halves of
one plate, and the plate around them is orange: digits over digits alone are
common on a container side (a weight over a tare) and on signs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import cv2
import numpy as np

from vision.text import Box, TextLine, union

HAZARD_NUMBER = re.compile(r"^X?[2-9][0-9]{1,2}$")
UN_NUMBER = re.compile(r"^[0-9]{4}$")

# Glyphs the recogniser gives for digits on a plate that holds nothing but digits
# (and a leading X): the letters that look like them.
AS_DIGIT = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2",
                          "S": "5", "G": "6", "B": "8"})  # fmt: skip

# ADR orange in OpenCV's HSV (hue 0-180): RAL 2003 and 2004 sit near hue 8-15; the
# range is widened for reflective films, daylight and a lane's lamps. Set from the
# colours, not measured on photographed plates (none at hand): docs/vision.md.
ORANGE_HUE = (3, 24)
ORANGE_MIN_SATURATION = 110
ORANGE_MIN_VALUE = 70
# Share of the box around a plate's two lines that must be orange; the digits and the
# middle line are black, so a plate is never all orange.
ORANGE_SHARE = 0.3


def as_digits(text: str) -> str | None:
    """`text`'s letters and digits, a letter that looks like a digit read as that digit;
    None where nothing was read as a digit (a word such as `SO` or `BOB`, not digits)."""
    compact = re.sub(r"[^A-Z0-9]", "", text.upper())
    return compact.translate(AS_DIGIT) if any(c.isdigit() for c in compact) else None


def hazard_number(text: str) -> str | None:
    """`text` as a hazard identification number (`33`, `X423`), or None."""
    compact = re.sub(r"[^A-Z0-9]", "", text.upper())
    water = compact.startswith("X")
    digits = as_digits(compact[1:] if water else compact)
    number = ("X" if water else "") + (digits or "")
    return number if digits and HAZARD_NUMBER.match(number) else None


def un_number(text: str) -> str | None:
    """`text` as a UN number (`1203`), or None."""
    digits = as_digits(text)
    return digits if digits and UN_NUMBER.match(digits) and digits != "0000" else None


def stacked(upper: Box, lower: Box) -> bool:
    """`lower` lies under `upper` as the two halves of one plate do: below it, within
    about one line's height, and over the same middle."""
    ux1, uy1, ux2, uy2 = upper
    lx1, ly1, lx2, ly2 = lower
    height = max(uy2 - uy1, ly2 - ly1)
    middle_apart = abs((ux1 + ux2) - (lx1 + lx2)) / 2
    return (
        ly1 >= uy1 + 0.5 * (uy2 - uy1)
        and ly1 - uy2 <= 1.5 * height
        and middle_apart <= 0.5 * max(ux2 - ux1, lx2 - lx1)
    )


def orange_share(image: np.ndarray, box: Box) -> float:
    """The share of `box` (a plate's two lines and what lies between them) that is ADR
    orange."""
    x1, y1, x2, y2 = box
    part = image[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)]
    if part.size == 0:
        return 0.0
    hsv = cv2.cvtColor(part, cv2.COLOR_BGR2HSV)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    orange = (
        (hue >= ORANGE_HUE[0])
        & (hue <= ORANGE_HUE[1])
        & (saturation >= ORANGE_MIN_SATURATION)
        & (value >= ORANGE_MIN_VALUE)
    )
    return float(orange.mean())


def is_orange(image: np.ndarray, box: Box) -> bool:
    return orange_share(image, box) >= ORANGE_SHARE


def upper_middle(line: Box) -> float:
    """How high the hazard number's middle stands on the plate whose UN number's text
    line is `line`: half a plate higher (ADR: 100 mm digits on 150 mm halves), and a
    text detector's line box is about 1.4 glyph heights tall, so 1.1 box heights."""
    _, y1, _, y2 = line
    return (y1 + y2) / 2 - 1.1 * (y2 - y1)


def above(line: Box, shape: tuple[int, ...]) -> Box:
    """Where to read the hazard number of the plate whose UN number is `line`: around
    `upper_middle`, over the same middle, a little wider each way."""
    x1, y1, x2, y2 = line
    h = y2 - y1
    middle = upper_middle(line)
    return (
        max(0, int(x1 - 0.2 * h)),
        max(0, int(middle - 0.7 * h)),
        min(shape[1], int(x2 + 0.2 * h)),
        max(0, min(shape[0], int(middle + 0.7 * h))),
    )


def hazard_plates(
    lines: list[TextLine],
    image: np.ndarray,
    read: Callable[[Box], TextLine | None] | None = None,
) -> list[tuple[str, str, float, Box]]:
    """Orange plates among a frame's text lines: (hazard number, UN number, confidence
    (the less sure line's score), the plate's box), each line used once.

    Text detection misses a short line now and then (a hazard number is two or three
    glyphs: `80` over `1789` in a rendered plate): where a UN number on orange has no
    hazard number over it, `read` (the recogniser alone) reads where it stands."""
    found = []
    used: set[int] = set()
    for i, upper in enumerate(lines):
        hazard = hazard_number(upper.text)
        if hazard is None or i in used:
            continue
        for j, lower in enumerate(lines):
            un = un_number(lower.text)
            if j == i or j in used or un is None or not stacked(upper.box, lower.box):
                continue
            box = union([upper.box, lower.box])
            if is_orange(image, box):
                found.append((hazard, un, min(upper.score, lower.score), box))
                used |= {i, j}
                break
    for j, lower in enumerate(lines):
        un = un_number(lower.text)
        if read is None or j in used or un is None:
            continue
        upper_box = above(lower.box, image.shape)
        box = union([upper_box, lower.box])
        if upper_box[3] - upper_box[1] < 8 or not is_orange(image, box):
            continue
        read_above = read(upper_box)
        hazard = hazard_number(read_above.text) if read_above is not None else None
        if read_above is not None and hazard is not None:
            # The plate's box: the UN number's, up to where the hazard number's glyphs
            # begin (the read's crop is cut taller than they are).
            x1, y1, x2, y2 = lower.box
            top = max(0, int(upper_middle(lower.box) - 0.5 * (y2 - y1)))
            found.append((hazard, un, min(read_above.score, lower.score), (x1, top, x2, y2)))
    return found
