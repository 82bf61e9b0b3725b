"""A classical plate localiser: where in a frame a plate's row of characters may be.

Two cheap steps (a few ms on an 800x600 frame, OpenCV only, no model):

1. `coarse_boxes`: vertical-edge density. Characters make dense vertical strokes;
   the |Sobel x| map is thresholded (Otsu), closed with a flat kernel at three
   scales so a plate's strokes merge into one blob, opened to drop thin stray
   edges, and the blobs shaped like a plate (width/height 1.8-8, not most of the
   frame, filled) are kept, densest first.
2. `character_row`: inside each coarse box, the row of character-like blobs.
   Both polarities, Otsu and a local (adaptive) threshold; long horizontal and
   vertical lines (plate frames, bumper edges) are removed so characters touching
   them come apart; blobs of character shape are grouped by equal height on one
   baseline, a row is split at wide gaps, and the row with the largest summed
   character height wins (the registration is the largest text on a plate). The
   row's box, with a margin, is what the recogniser reads.

The reader uses these rows to run the OCR recogniser alone (no text detection)
and falls back to full text detection when no row gives a confident plate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vision.text import Box

WORK_SIDE = 640  # the edge map is computed with the frame's longer side at most this
CLOSE_WIDTHS = (9, 17, 27)  # closing kernel widths (pixels at WORK_SIDE): plate sizes
# A coarse box this tall (pixels at WORK_SIDE) holds characters big enough to read.
READABLE_HEIGHT = 16
ROW_HEIGHT = 96  # a coarse box's neighbourhood is scaled to this height for blobs
MIN_CHARS, MAX_CHARS = 3, 10  # a plate row has this many character blobs
# A frame's own row of characters standing at least this fraction of its height and
# spanning this fraction of its width: the plate fills the frame (a tight ANPR camera's
# view, a plate crop). The coarse boxes, made for a plate within a scene, take no blob
# over 40 % of the frame's height or 60 % of its width for a plate. Over
# ../shared/data's US crops (in every changed version) the registration's characters
# stood 0.30-0.76 of the height and spanned 0.43 of the width or more in 473 of 476;
# in the street photos the frame's own row (a grille, a badge) stood 0.21 at the
# median, and 22 of 742 passed both.
FILLED_FRAME_CHARS = 0.25
FILLED_FRAME_WIDTH = 0.4
H_LINE = cv2.getStructuringElement(cv2.MORPH_RECT, (61, 1))  # longer than a character
V_LINE = cv2.getStructuringElement(cv2.MORPH_RECT, (1, 71))  # taller than a character


@dataclass(frozen=True)
class CharacterRow:
    box: Box  # the character blobs' extent, frame pixels (no margin)
    chars: int  # character blobs in the row
    char_height: float  # median blob height, frame pixels

    def with_margin(self, across: float, up: float, shape: tuple[int, ...]) -> Box:
        """The row widened by `across` and heightened by `up` character heights."""
        mx, my = across * self.char_height, up * self.char_height
        x1, y1, x2, y2 = self.box
        return (
            int(max(0, x1 - mx)),
            int(max(0, y1 - my)),
            int(min(shape[1], x2 + mx)),
            int(min(shape[0], y2 + my)),
        )


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def coarse_boxes(gray: np.ndarray, limit: int = 8) -> list[Box]:
    """Plate-shaped blobs of dense vertical edges, densest first, in frame pixels."""
    h, w = gray.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = gray
    if scale < 1.0:
        small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    edges = cv2.convertScaleAbs(cv2.Sobel(small, cv2.CV_16S, 1, 0, ksize=3))
    edges = cv2.GaussianBlur(edges, (3, 3), 0)
    _, binary = cv2.threshold(edges, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    sh, sw = binary.shape
    found: list[tuple[float, Box]] = []
    for kw in CLOSE_WIDTHS:
        kh = max(3, kw // 4)
        closed = cv2.morphologyEx(
            binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, kh))
        )
        opened = cv2.morphologyEx(
            closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, kw // 2), kh))
        )
        contours, _ = cv2.findContours(opened, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh < 6 or bw < 20 or not 1.8 <= bw / bh <= 8.0:
                continue
            if bw > 0.6 * sw or bh > 0.4 * sh:
                continue
            fill = cv2.contourArea(contour) / (bw * bh)
            if fill < 0.45:
                continue
            density = float(binary[y : y + bh, x : x + bw].mean()) / 255
            box = (int(x / scale), int(y / scale), int((x + bw) / scale), int((y + bh) / scale))
            found.append((plate_likeness(fill, density, bw, bh), box))
    found.sort(key=lambda t: -t[0])
    kept: list[Box] = []
    for _, box in found:
        if all(iou(box, k) <= 0.5 for k in kept):
            kept.append(box)
            if len(kept) >= limit:
                break
    return kept


def plate_likeness(fill: float, density: float, width: int, height: int) -> float:
    """How plate-like a blob of vertical edges is: the coarse boxes are read in this order.

    Filled and dense, and not much shorter than `READABLE_HEIGHT`: small dense blobs
    (a grille's slats, a light's ribs, a far car's badge) otherwise rank above a
    near plate whose thick strokes leave less of its box edged (on ../shared/data
    at 800x600 the plate came first in 37 of 53 frames against 23, and within the
    first two in 43 against 35).
    """
    return fill * density * min(1.0, height / READABLE_HEIGHT)


def binaries(small: np.ndarray) -> list[np.ndarray]:
    """Dark-on-light and light-on-dark text, global (Otsu) and local thresholds."""
    out = []
    for kind in (cv2.THRESH_BINARY_INV, cv2.THRESH_BINARY):
        out.append(cv2.threshold(small, 0, 255, kind | cv2.THRESH_OTSU)[1])
        out.append(cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, kind, 31, 7))
    return out


Blob = tuple[int, int, int, int]  # x, y, w, h


def character_blobs(binary: np.ndarray) -> list[Blob]:
    """The character-shaped blobs of `binary` once long lines are taken out, in the
    order OpenCV labels them. The shape test runs on all the components at once: a
    binary of a street scene has hundreds (noise, texture), and testing them one by one
    in Python cost ≈ 1-3 ms a frame (the 21 timed frames on a 2-core AVX2 machine, best
    of 15 interleaved runs, the same rows: 8.6 against 9.1 ms to the first row, 18.0
    against 20.8 ms for all 8)."""
    lines = cv2.bitwise_or(
        cv2.morphologyEx(binary, cv2.MORPH_OPEN, H_LINE),
        cv2.morphologyEx(binary, cv2.MORPH_OPEN, V_LINE),
    )
    binary = cv2.subtract(binary, lines)
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=4)
    x, y, w, h, area = stats[1:].astype(np.int64).T
    ratio = w / np.maximum(h, 1)  # a component is at least 1 px tall: no division by 0
    kept = (h >= 12) & (h <= 80) & (w >= 2) & (ratio >= 0.08) & (ratio <= 1.2)
    kept &= area >= 0.15 * w * h
    return [(a, b, c, d) for a, b, c, d in np.stack([x, y, w, h], axis=1)[kept].tolist()]


def best_row(blobs: list[Blob]) -> list[Blob]:
    """Blobs of one height on one baseline, without wide gaps; the largest text wins."""
    best: list[Blob] = []
    best_score = 0
    for _, by, _, bh in blobs:
        middle = by + bh / 2
        group = sorted(
            b
            for b in blobs
            if abs(b[3] - bh) < 0.25 * bh and abs(b[1] + b[3] / 2 - middle) < 0.3 * bh
        )
        if len(group) < MIN_CHARS:
            continue
        runs, run = [], [group[0]]
        for blob in group[1:]:
            if blob[0] - (run[-1][0] + run[-1][2]) > 1.5 * bh:
                runs.append(run)
                run = [blob]
            else:
                run.append(blob)
        runs.append(run)
        for run in runs:
            score = sum(b[3] for b in run)
            if MIN_CHARS <= len(run) <= MAX_CHARS and score > best_score:
                best, best_score = run, score
    return best


def character_row(gray: np.ndarray, box: Box) -> CharacterRow | None:
    """The row of characters in and around `box`, or None when there is none.

    A row that runs into a side of the searched region may go on past it (the
    coarse box held only part of the plate): that side is widened and the row
    searched again, once, so a plate is not read as a fragment of itself.
    """
    h, w = gray.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    region = (
        max(0, x1 - bw // 3),
        max(0, y1 - bh // 2),
        min(w, x2 + bw // 3),
        min(h, y2 + bh // 2),
    )
    row = row_in(gray, region)
    if row is None:
        return None
    reach = 2 * row.char_height  # room for two characters more on a side
    cut_left = region[0] > 0 and row.box[0] - region[0] < row.char_height
    cut_right = region[2] < w and region[2] - row.box[2] < row.char_height
    if not (cut_left or cut_right):
        return row
    wider = (
        max(0, int(region[0] - reach)) if cut_left else region[0],
        region[1],
        min(w, int(region[2] + reach)) if cut_right else region[2],
        region[3],
    )
    again = row_in(gray, wider)
    return again if again is not None and again.chars >= row.chars else row


def frame_row(gray: np.ndarray) -> CharacterRow | None:
    """The registration of a frame the plate fills: the frame's own row of characters
    where it stands at least `FILLED_FRAME_CHARS` of the frame's height and spans
    `FILLED_FRAME_WIDTH` of its width (None otherwise), widened to the frame's width.
    The row finder leaves out an end character that touches a sticker or a bolt
    (`CZH96` for `CZH964`, the 4 joined to the month sticker below it); where the plate
    fills the frame, its registration runs across it, and reading the frame's width
    costs no more. ≈ 1.8 ms on an 800x600 frame."""
    h, w = gray.shape[:2]
    row = row_in(gray, (0, 0, w, h))
    if row is None or row.char_height < FILLED_FRAME_CHARS * h:
        return None
    x1, y1, x2, y2 = row.box
    if x2 - x1 < FILLED_FRAME_WIDTH * w:
        return None
    return CharacterRow((0, y1, w, y2), row.chars, row.char_height)


def row_in(gray: np.ndarray, region_box: Box) -> CharacterRow | None:
    """The best character row in a region of the frame (`best_row`), frame pixels."""
    rx1, ry1, rx2, ry2 = region_box
    region = gray[ry1:ry2, rx1:rx2]
    if region.shape[0] < 8 or region.shape[1] < 8:
        return None
    scale = ROW_HEIGHT / region.shape[0]
    small = cv2.resize(
        region,
        (max(8, round(region.shape[1] * scale)), ROW_HEIGHT),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    best: list[Blob] = []
    for binary in binaries(small):
        row = best_row(character_blobs(binary))
        if sum(b[3] for b in row) > sum(b[3] for b in best):
            best = row
    if not best:
        return None
    ch = float(np.median([b[3] for b in best]))
    out = (
        int(rx1 + min(b[0] for b in best) / scale),
        int(ry1 + min(b[1] for b in best) / scale),
        int(np.ceil(rx1 + max(b[0] + b[2] for b in best) / scale)),
        int(np.ceil(ry1 + max(b[1] + b[3] for b in best) / scale)),
    )
    return CharacterRow(out, len(best), ch / scale)


def plate_rows(image: np.ndarray, limit: int = 8) -> Iterator[CharacterRow]:
    """Candidate plate character rows, most plate-like coarse box first, no duplicates.

    Lazy: a row is looked for only when the caller asks for the next one.
    """
    gray = to_gray(image)
    rows: list[CharacterRow] = []
    for box in coarse_boxes(gray, limit):
        row = character_row(gray, box)
        if row is not None and all(iou(row.box, r.box) <= 0.5 for r in rows):
            rows.append(row)
            yield row
