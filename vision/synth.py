"""Synthetic scenes: licence plates and painted container codes, with their boxes.

Used to train the region detector (`vision.train`) and by the tests, which need
deterministic images whose contents are known. Only OpenCV's built-in Hershey
fonts are used, so nothing has to be shipped or downloaded; variety comes from
several faces, stroke widths, condensing, perspective, blur, noise and light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from vision.iso6346 import check_digit

Kind = Literal["plate", "container_code"]
CLASS_IDS: dict[Kind, int] = {"plate": 0, "container_code": 1}

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Plate text shapes per region (L letter, N digit), as issued.
PLATE_SHAPES = {
    "eu": ("LLNNNLL", "NLNNNNN", "LLNNNN", "LLLNNNN", "NNNNLLL"),
    "us": ("NLLLNNN", "LLLNNNN", "LLLNNN", "NNNLLL", "LLNNNNN"),
    "br": ("LLLNNNN", "LLLNLNN"),
}
SIZE_TYPES = ("22G1", "45G1", "42G1", "22R1", "45R1", "22U1", "22T6", "L5G1")
DISTRACTORS = ("MAX GROSS", "TARE", "NET", "CU.CAP.", "30.480 KGS", "67.200 LBS", "PAYLOAD")


@dataclass(frozen=True)
class SynthObject:
    kind: Kind
    text: str
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels


@dataclass
class SynthScene:
    image: np.ndarray  # BGR uint8
    objects: list[SynthObject]


def random_plate_text(rng: np.random.Generator, region: str) -> str:
    shape = PLATE_SHAPES[region][rng.integers(len(PLATE_SHAPES[region]))]
    return "".join(rng.choice(list(LETTERS if c == "L" else DIGITS)) for c in shape)


def random_container_code(rng: np.random.Generator) -> str:
    owner = "".join(rng.choice(list(LETTERS), 3)) + str(rng.choice(list("UUUUJZ")))
    serial = "".join(rng.choice(list(DIGITS), 6))
    return owner + serial + str(check_digit(owner + serial))


def text_mask(
    text: str, height: int, font: int, thickness: int, condense: float = 1.0
) -> np.ndarray:
    """White-on-black mask of one line of text, `height` pixels tall."""
    scale = 2.0
    (w, h), base = cv2.getTextSize(text, font, scale, thickness * 2)
    canvas = np.zeros((h + base + 8, w + 8), np.uint8)
    cv2.putText(canvas, text, (4, h + 4), font, scale, 255, thickness * 2, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas)
    canvas = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    width = max(1, int(canvas.shape[1] * height / canvas.shape[0] * condense))
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)


def paste(img: np.ndarray, mask: np.ndarray, x: int, y: int, color: tuple[int, ...]) -> None:
    """Blend `color` into `img` through `mask` at (x, y), clipped to the image."""
    h, w = mask.shape
    x2, y2 = min(x + w, img.shape[1]), min(y + h, img.shape[0])
    if x2 <= x or y2 <= y or x < 0 or y < 0:
        return
    alpha = mask[: y2 - y, : x2 - x, None].astype(np.float32) / 255.0
    region = img[y:y2, x:x2].astype(np.float32)
    img[y:y2, x:x2] = (region * (1 - alpha) + np.array(color, np.float32) * alpha).astype(np.uint8)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Cluttered backdrop: gradient, blocks and lines in random colours."""
    base = rng.integers(40, 200, 3)
    img = np.empty((h, w, 3), np.uint8)
    ramp = np.linspace(0.6, 1.3, h)[:, None, None]
    img[:] = np.clip(base[None, None, :] * ramp, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(4, 14)):
        x1, y1 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x2, y2 = x1 + int(rng.integers(20, w // 2)), y1 + int(rng.integers(20, h // 2))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x1, y1), (x2, y2), color, -1)
        else:
            cv2.line(img, (x1, y1), (x2, y2), color, int(rng.integers(1, 8)))
    return img


def perspective(
    rng: np.random.Generator, patch: np.ndarray, strength: float, flags: int = cv2.INTER_LINEAR
) -> tuple[np.ndarray, np.ndarray]:
    """Warp a patch with a mild random homography; returns (warped, mask of its area)."""
    h, w = patch.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-strength, strength, (4, 2)) * np.array([w, h], np.float32)
    dst = src + jitter
    dst -= dst.min(axis=0)
    size = (int(dst[:, 0].max()) + 1, int(dst[:, 1].max()) + 1)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(patch, matrix, size, flags=flags)
    area = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size)
    return warped, area


def place(
    img: np.ndarray, patch: np.ndarray, area: np.ndarray, x: int, y: int
) -> tuple[int, int, int, int]:
    """Composite a warped patch at (x, y); returns its box clipped to the image."""
    h, w = area.shape
    x2, y2 = min(x + w, img.shape[1]), min(y + h, img.shape[0])
    alpha = area[: y2 - y, : x2 - x, None].astype(np.float32) / 255.0
    region = img[y:y2, x:x2].astype(np.float32)
    blended = region * (1 - alpha) + patch[: y2 - y, : x2 - x].astype(np.float32) * alpha
    img[y:y2, x:x2] = blended.astype(img.dtype)
    ys, xs = np.nonzero(area[: y2 - y, : x2 - x] > 127)
    return x + int(xs.min()), y + int(ys.min()), x + int(xs.max()), y + int(ys.max())


def degrade(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Camera effects: lighting, blur, sensor noise, JPEG artefacts."""
    gain, bias = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
    out = np.clip(img.astype(np.float32) * gain + bias, 0, 255)
    if rng.random() < 0.6:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    out += rng.normal(0, rng.uniform(2, 10), out.shape).astype(np.float32)
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    quality = int(rng.integers(40, 90))
    ok, jpeg = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    return out8 if decoded is None else np.asarray(decoded)


def plate_patch(rng: np.random.Generator, text: str, region: str, height: int) -> np.ndarray:
    """A plate: light background, dark border and characters; EU plates get a blue band."""
    width = int(height * (4.5 if region == "eu" else 2.0 if region == "us" else 3.1))
    colors = {"eu": (235, 235, 235), "us": (240, 240, 230), "br": (180, 185, 190)}
    bg = colors[region] if rng.random() < 0.8 else (40, 200, 240)  # some yellow plates
    patch = np.full((height, width, 3), bg, np.uint8)
    cv2.rectangle(patch, (1, 1), (width - 2, height - 2), (20, 20, 20), max(1, height // 25))
    left = 0
    if region == "eu":
        left = width // 11
        cv2.rectangle(patch, (2, 2), (left, height - 3), (160, 60, 0), -1)
    spaced = text if region != "eu" or rng.random() < 0.5 else text[:2] + " " + text[2:]
    font = int(rng.choice(FONTS))
    mask = text_mask(spaced, int(height * 0.62), font, int(rng.integers(2, 4)), rng.uniform(0.7, 1))
    room = width - left - 8
    if mask.shape[1] > room:
        mask = cv2.resize(mask, (room, mask.shape[0]))
    x = left + 4 + (room - mask.shape[1]) // 2
    paste(patch, mask, x, (height - mask.shape[0]) // 2, (15, 15, 15))
    return patch


def hazard_patch(hazard: str, un: str, height: int) -> np.ndarray:
    """An ADR orange plate (40 x 30 cm): black border and middle line, the hazard
    identification number above the line and the UN number below it."""
    width = height * 4 // 3
    patch = np.full((height, width, 3), (0, 110, 240), np.uint8)  # BGR: RAL 2003-like
    edge = max(2, height // 22)
    cv2.rectangle(patch, (0, 0), (width - 1, height - 1), (10, 10, 10), edge)
    cv2.line(patch, (0, height // 2), (width - 1, height // 2), (10, 10, 10), edge)
    for text, top in ((hazard, 0), (un, height // 2)):
        mask = text_mask(text, int(height * 0.3), cv2.FONT_HERSHEY_SIMPLEX, 3)
        room = width - 4 * edge
        if mask.shape[1] > room:
            mask = cv2.resize(mask, (room, mask.shape[0]))
        x = (width - mask.shape[1]) // 2
        paste(patch, mask, x, top + (height // 2 - mask.shape[0]) // 2, (10, 10, 10))
    return patch


def render_plate_scene(
    rng: np.random.Generator, size: tuple[int, int] = (800, 600), region: str | None = None
) -> SynthScene:
    """A vehicle front or rear with one plate, at a barrier."""
    w, h = size
    region = region or str(rng.choice(list(PLATE_SHAPES)))
    img = background(rng, h, w)
    body = tuple(int(c) for c in rng.integers(20, 230, 3))
    bx1, by1 = int(w * rng.uniform(0.05, 0.25)), int(h * rng.uniform(0.1, 0.4))
    bx2, by2 = int(w * rng.uniform(0.75, 0.95)), int(h * rng.uniform(0.85, 1.0))
    cv2.rectangle(img, (bx1, by1), (bx2, by2), body, -1)
    for y in range(by1 + 10, by1 + (by2 - by1) // 2, int(rng.integers(8, 20))):
        cv2.line(img, (bx1 + 20, y), (bx2 - 20, y), (30, 30, 30), 2)  # grille
    text = random_plate_text(rng, region)
    plate_h = int(h * rng.uniform(0.05, 0.12))
    patch, area = perspective(rng, plate_patch(rng, text, region, plate_h), 0.08)
    x = int(rng.integers(bx1, max(bx1 + 1, bx2 - patch.shape[1])))
    y = int(rng.integers(by1 + (by2 - by1) // 2, max(by1 + (by2 - by1) // 2 + 1, by2 - plate_h)))
    x, y = min(x, w - patch.shape[1] - 1), min(y, h - patch.shape[0] - 1)
    box = place(img, patch, area, x, y)
    return SynthScene(degrade(rng, img), [SynthObject("plate", text, box)])


def code_block(
    rng: np.random.Generator, code: str, size_type: str, char_h: int, vertical: bool
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Painted code (owner, serial, boxed check digit) and size-type, as a mask.

    Returns the mask and the box of the 11-character code inside it.
    """
    font = int(rng.choice(FONTS))
    thick = int(rng.integers(2, 4))
    if vertical:
        glyphs = [text_mask(c, char_h, font, thick) for c in code]
        gap = char_h // 4
        col_w = max(g.shape[1] for g in glyphs)
        height = len(glyphs) * (char_h + gap) + gap
        st_glyphs = [text_mask(c, char_h, font, thick) for c in size_type]
        mask = np.zeros((height, col_w * 4), np.uint8)
        for i, g in enumerate(glyphs):
            y = gap + i * (char_h + gap) + (char_h if i == 10 else 0) // 3
            y = min(y, height - char_h)
            mask[y : y + char_h, (col_w - g.shape[1]) // 2 :][:, : g.shape[1]] = g
        for i, g in enumerate(st_glyphs):
            y = gap + i * (char_h + gap)
            x = col_w * 3 - g.shape[1] // 2
            mask[y : y + char_h, x : x + g.shape[1]] = g
        return mask, (0, 0, col_w, height)
    two_lines = rng.random() < 0.4
    owner = text_mask(code[:4], char_h, font, thick)
    serial = text_mask(code[4:10], char_h, font, thick)
    check = text_mask(code[10], char_h, font, thick)
    check = cv2.copyMakeBorder(check, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=0)
    cv2.rectangle(check, (1, 1), (check.shape[1] - 2, check.shape[0] - 2), 255, 2)
    stype = text_mask(size_type, char_h, font, thick)
    gap = char_h // 2
    if two_lines:
        line2_w = serial.shape[1] + gap + check.shape[1]
        width = max(owner.shape[1], line2_w, stype.shape[1]) + 4
        height = 3 * (char_h + gap) + 12
        mask = np.zeros((height, width), np.uint8)
        mask[:char_h, : owner.shape[1]] = owner
        y2 = char_h + gap
        mask[y2 : y2 + char_h, : serial.shape[1]] = serial
        cx = serial.shape[1] + gap
        cy = max(0, y2 - 6)
        mask[cy : cy + check.shape[0], cx : cx + check.shape[1]] = check
        y3 = 2 * (char_h + gap) + 8
        mask[y3 : y3 + char_h, : stype.shape[1]] = stype
        return mask, (0, 0, max(owner.shape[1], line2_w), y2 + char_h + 6)
    line_w = owner.shape[1] + gap + serial.shape[1] + gap + check.shape[1]
    width = max(line_w, stype.shape[1]) + 4
    height = 2 * (char_h + gap) + 12
    mask = np.zeros((height, width), np.uint8)
    mask[6 : 6 + char_h, : owner.shape[1]] = owner
    x = owner.shape[1] + gap
    mask[6 : 6 + char_h, x : x + serial.shape[1]] = serial
    x += serial.shape[1] + gap
    mask[: check.shape[0], x : x + check.shape[1]] = check
    y3 = char_h + gap + 12
    mask[
        y3 : y3 + char_h, x - serial.shape[1] - gap : x - gap - serial.shape[1] + stype.shape[1]
    ] = stype
    return mask, (0, 0, line_w, char_h + 12)


def corrugated_panel(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A container side or door: one paint colour with vertical corrugation shading."""
    paint = rng.integers(20, 200, 3).astype(np.float32)
    period = int(rng.integers(20, 60))
    shade = 0.8 + 0.25 * np.sin(np.arange(w) * 2 * np.pi / period)
    panel = paint[None, None, :] * shade[None, :, None] * np.ones((h, 1, 1), np.float32)
    return np.clip(panel, 0, 255).astype(np.uint8)


def render_container_scene(
    rng: np.random.Generator, size: tuple[int, int] = (1440, 810), vertical: bool | None = None
) -> SynthScene:
    """A container door or side filling most of the frame, code painted on it."""
    w, h = size
    vertical = bool(rng.random() < 0.45) if vertical is None else vertical
    img = background(rng, h, w)
    px1, py1 = int(w * rng.uniform(0, 0.2)), int(h * rng.uniform(0, 0.15))
    px2, py2 = int(w * rng.uniform(0.7, 1.0)), int(h * rng.uniform(0.85, 1.0))
    img[py1:py2, px1:px2] = corrugated_panel(rng, py2 - py1, px2 - px1)
    code = random_container_code(rng)
    size_type = str(rng.choice(list(SIZE_TYPES)))
    char_h = int(h * (rng.uniform(0.03, 0.05) if vertical else rng.uniform(0.04, 0.08)))
    mask, code_box = code_block(rng, code, size_type, char_h, vertical)
    scale = min(1.0, 0.9 * (px2 - px1) / mask.shape[1], 0.9 * (py2 - py1) / mask.shape[0])
    if scale < 1.0:
        mask = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        code_box = tuple(int(v * scale) for v in code_box)  # type: ignore[assignment]
    ink = (235, 235, 235) if rng.random() < 0.85 else (20, 20, 20)
    x = int(rng.integers(px1, max(px1 + 1, px2 - mask.shape[1])))
    y = int(rng.integers(py1, max(py1 + 1, py2 - mask.shape[0])))
    paste(img, mask, x, y, ink)
    for _ in range(int(rng.integers(1, 5))):  # printed data that is not the code
        dist = text_mask(str(rng.choice(DISTRACTORS)), max(8, char_h // 2), FONTS[0], 2)
        paste(img, dist, int(rng.integers(0, w - dist.shape[1])), int(rng.integers(0, h - 40)), ink)
    box = (x + code_box[0], y + code_box[1], x + code_box[2], y + code_box[3])
    box = (box[0], box[1], min(box[2], w - 1), min(box[3], h - 1))
    return SynthScene(degrade(rng, img), [SynthObject("container_code", code, box)])
