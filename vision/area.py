"""A camera view's read area: the part of its frames where this lane's vehicles show.

A gate camera sees more than its lane: the next lane's vehicles, a road sign, the
camera's own timestamp overlay, trees that move in the wind. ANPR installations
mask those out; here each view may name one rectangle, as fractions of the frame's
width and height (so it holds at any resolution the camera is switched to). Only
that rectangle is read and watched for motion: a plate in the next lane is not this
lane's plate, and less frame to read is less time. Boxes in reads stay in the
frame's own pixels.
"""

from __future__ import annotations

import math

import numpy as np

# x1, y1, x2, y2 as fractions (0-1) of the frame's width and height: left, top, right, bottom.
Area = tuple[float, float, float, float]
Box = tuple[int, int, int, int]


def checked_area(area: Area) -> Area:
    """`area` as given, or ValueError saying what is wrong with it."""
    if len(area) != 4:
        raise ValueError(f"a read area is four numbers x1, y1, x2, y2, not {len(area)}")
    x1, y1, x2, y2 = (float(v) for v in area)
    if not all(0.0 <= v <= 1.0 for v in (x1, y1, x2, y2)):
        raise ValueError(f"a read area's numbers are fractions of the frame (0-1): {area}")
    if x1 >= x2 or y1 >= y2:
        raise ValueError(
            f"a read area runs left to right and top to bottom (x1 < x2, y1 < y2): {area}"
        )
    return (x1, y1, x2, y2)


def parse_area(text: str) -> Area:
    """`x1,y1,x2,y2` (fractions of the frame) as an Area, or ValueError."""
    try:
        numbers = tuple(float(part) for part in text.split(","))
    except ValueError as err:
        raise ValueError(f"a read area is four numbers x1,y1,x2,y2: {text!r}") from err
    return checked_area(numbers)  # type: ignore[arg-type]


def area_box(shape: tuple[int, ...], area: Area) -> Box:
    """The pixels of a frame of `shape` that `area` covers (at least the pixels it
    touches: a fraction that falls inside a pixel takes the whole pixel)."""
    h, w = shape[:2]
    x1, y1, x2, y2 = area
    return (
        math.floor(x1 * w),
        math.floor(y1 * h),
        max(math.ceil(x2 * w), math.floor(x1 * w) + 1),
        max(math.ceil(y2 * h), math.floor(y1 * h) + 1),
    )


def area_view(image: np.ndarray, area: Area | None) -> np.ndarray:
    """The part of `image` in `area` (the whole image without one), not copied: for
    OpenCV, which takes any row stride (the motion detector, every frame)."""
    if area is None:
        return image
    x1, y1, x2, y2 = area_box(image.shape, area)
    return image[y1:y2, x1:x2]


def cut_to(image: np.ndarray, area: Area | None) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of `image` in `area` (the whole image without one), as an image of
    its own, and where its top-left corner lies in the frame."""
    if area is None:
        return image, (0, 0)
    x1, y1, _, _ = area_box(image.shape, area)
    return np.ascontiguousarray(area_view(image, area)), (x1, y1)


def moved(box: Box, offset: tuple[int, int]) -> Box:
    """`box`, in the pixels of a part cut at `offset`, in the frame's pixels."""
    dx, dy = offset
    x1, y1, x2, y2 = box
    return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)
