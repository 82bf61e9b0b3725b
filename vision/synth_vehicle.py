"""Rendered street scenes for the plate detector: vehicles, plates as issued, clutter.

`vision.synth` draws a plate on a flat block, enough for tests that need known
contents. A detector trained on that finds few plates in real photos (5 of 53): it
learns "light rectangle on flat colour". These scenes are built to look more like
what a gate camera sees, so that the features the network learns carry over:

- textured ground and surroundings (multi-octave noise, kerbs, fences, lane marks,
  building windows), never a flat colour;
- a car, van or truck front or rear: shaded body, glass, lamps, bumper, grille,
  wheels and the shadow beneath, the plate in its recess on the bumper or boot;
- plates as issued: US (state name, slogan, a tinted graphic, bolts, dealer
  frame), EU (blue band with the ring of stars and country code, optional coat of
  arms), BR (grey plates with the city line, and Mercosul with the blue BRASIL band);
- text that is not a plate (badges, fleet numbers, stickers, the camera's time stamp);
- the camera: scale from far to close, slight roll, gamma and colour cast, night
  grey, defocus and motion blur, resampling loss, sensor noise, JPEG.

Only OpenCV's Hershey fonts are used (nothing to download or ship).
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.synth import (
    DIGITS,
    FONTS,
    LETTERS,
    SynthObject,
    SynthScene,
    paste,
    perspective,
    place,
    random_plate_text,
    text_mask,
)

# Common vehicle paints (BGR): white, silver, greys, black, blues, reds, beige, green.
PAINTS = (
    (235, 235, 235), (200, 200, 200), (170, 170, 165), (120, 120, 120), (60, 60, 60),
    (25, 25, 25), (120, 60, 20), (60, 30, 10), (30, 30, 160), (20, 20, 110),
    (150, 180, 200), (40, 80, 40), (20, 120, 220),
)  # fmt: skip
US_STATES = (
    "TEXAS", "CALIFORNIA", "OHIO", "FLORIDA", "MISSOURI", "NEW YORK", "ILLINOIS",
    "GEORGIA", "OREGON", "NEVADA", "ARIZONA", "IOWA", "MAINE", "UTAH", "KANSAS",
)  # fmt: skip
US_SLOGANS = (
    "THE LONE STAR STATE", "SUNSHINE STATE", "EMPIRE STATE", "SHOW-ME STATE",
    "GRAND CANYON STATE", "LAND OF LINCOLN", "IN GOD WE TRUST", "DMV.ORG",
)  # fmt: skip
BR_CITIES = ("SAO PAULO", "RIO DE JANEIRO", "CURITIBA", "BELO HORIZONTE", "SALVADOR")
EU_COUNTRIES = ("SK", "CZ", "D", "F", "I", "PL", "A", "NL", "E", "H")
BADGES = ("TOYOTA", "FORD", "VW", "308", "GOLF", "SCANIA", "VOLVO", "HYBRID", "TDI", "4X4")


def fractal_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5) -> np.ndarray:
    """Value noise summed over octaves, 0..1: texture for ground, foliage and walls."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        small = rng.random((cells, max(2, cells * w // max(h, 1)))).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.55
    return np.clip(out / total, 0, 1)


def textured(
    rng: np.random.Generator, h: int, w: int, color: np.ndarray, spread: float
) -> np.ndarray:
    noise = fractal_noise(rng, h, w)[:, :, None]
    img = color[None, None, :] * (1 - spread / 2 + spread * noise)
    return np.clip(img, 0, 255).astype(np.float32)


def surroundings(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Ground below a horizon, something (foliage, wall, sky, sheds) above it."""
    horizon = int(h * rng.uniform(0.15, 0.6))
    asphalt = np.array([rng.uniform(60, 150)] * 3, np.float32) * rng.uniform(0.9, 1.1, 3)
    img = textured(rng, h, w, asphalt.astype(np.float32), 0.5)
    far = [
        np.array([40, 120, 60], np.float32),  # foliage
        np.array([150, 150, 140], np.float32),  # concrete
        np.array([230, 200, 170], np.float32),  # sky
        np.array([60, 70, 110], np.float32),  # brick
        rng.uniform(30, 220, 3).astype(np.float32),
    ][rng.integers(5)]
    img[:horizon] = textured(rng, horizon, w, far, rng.uniform(0.3, 1.0))
    for _ in range(int(rng.integers(0, 4))):  # lane marks and kerbs
        y = int(rng.integers(horizon, h))
        color = (230, 230, 230) if rng.random() < 0.6 else (60, 200, 230)
        x1 = int(rng.integers(-w // 2, w))
        cv2.line(
            img,
            (x1, y),
            (x1 + int(rng.integers(50, w)), y + int(rng.integers(-40, 40))),
            color,
            int(rng.integers(2, 12)),
        )
    if rng.random() < 0.4:  # fence or railing
        top = int(rng.integers(0, max(1, horizon)))
        step = int(rng.integers(6, 30))
        shade = float(rng.uniform(10, 90))
        for x in range(int(rng.integers(0, step)), w, step):
            cv2.line(img, (x, top), (x, horizon), (shade, shade, shade), int(rng.integers(1, 4)))
        cv2.line(img, (0, top), (w, top), (shade, shade, shade), 3)
    if rng.random() < 0.3:  # building windows
        wx, wy = int(rng.integers(20, 60)), int(rng.integers(20, 50))
        for y in range(5, max(6, horizon - wy), wy + 10):
            for x in range(int(rng.integers(0, 30)), w, wx + 15):
                cv2.rectangle(
                    img,
                    (x, y),
                    (x + wx, y + wy),
                    tuple(float(c) for c in rng.uniform(20, 120, 3)),
                    -1,
                )
    for _ in range(int(rng.integers(0, 3))):  # poles
        x = int(rng.integers(0, w))
        cv2.line(
            img,
            (x, 0),
            (x + int(rng.integers(-20, 20)), horizon + int(rng.integers(0, h // 3))),
            tuple(float(c) for c in rng.uniform(40, 200, 3)),
            int(rng.integers(3, 14)),
        )
    return img


def glyphs(text: str, height: int, rng: np.random.Generator, bold: bool = True) -> np.ndarray:
    thick = int(rng.integers(3, 5)) if bold else int(rng.integers(1, 3))
    return text_mask(text, max(3, height), int(rng.choice(FONTS)), thick, rng.uniform(0.6, 1.0))


def fit_width(mask: np.ndarray, room: int) -> np.ndarray:
    if mask.shape[1] > room > 0:
        return cv2.resize(mask, (room, mask.shape[0]), interpolation=cv2.INTER_AREA)
    return mask


def put_centered(patch: np.ndarray, mask: np.ndarray, cx: int, y: int, color) -> None:
    paste(patch, mask, max(0, cx - mask.shape[1] // 2), y, color)


def us_plate(rng: np.random.Generator, text: str, h: int) -> np.ndarray:
    w = 2 * h
    base = np.array([235, 235, 235] if rng.random() < 0.7 else rng.uniform(150, 250, 3), np.float32)
    patch = np.ones((h, w, 3), np.float32) * base
    if rng.random() < 0.6:  # a tinted graphic behind the characters
        tint = rng.uniform(80, 255, 3).astype(np.float32)
        band = fractal_noise(rng, h, w, 3)[:, :, None] * rng.uniform(0.2, 0.7)
        patch = patch * (1 - band) + tint * band
    patch = patch.astype(np.uint8)
    ink = tuple(
        int(c) for c in [(90, 30, 10), (20, 20, 20), (30, 30, 150), (40, 90, 20)][rng.integers(4)]
    )
    state = fit_width(glyphs(str(rng.choice(US_STATES)), int(h * 0.17), rng, False), int(w * 0.7))
    put_centered(patch, state, w // 2, int(h * 0.05), tuple(int(c) for c in rng.uniform(0, 160, 3)))
    main = fit_width(
        glyphs(text if rng.random() < 0.8 else f"{text[:3]} {text[3:]}", int(h * 0.5), rng),
        int(w * 0.9),
    )
    put_centered(patch, main, w // 2, int(h * 0.26), ink)
    if rng.random() < 0.7:
        slogan = fit_width(
            glyphs(str(rng.choice(US_SLOGANS)), int(h * 0.1), rng, False), int(w * 0.8)
        )
        put_centered(patch, slogan, w // 2, int(h * 0.83), ink)
    if rng.random() < 0.5:  # registration stickers in the corners
        sx = int(rng.choice([int(w * 0.04), int(w * 0.8)]))
        cv2.rectangle(
            patch,
            (sx, int(h * 0.05)),
            (sx + int(w * 0.15), int(h * 0.2)),
            tuple(int(c) for c in rng.integers(0, 255, 3)),
            -1,
        )
    return patch


def eu_plate(rng: np.random.Generator, text: str, h: int) -> np.ndarray:
    w = int(h * rng.uniform(4.3, 4.7))
    bg = (235, 235, 235) if rng.random() < 0.85 else (40, 200, 240)
    patch = np.full((h, w, 3), bg, np.uint8)
    band = int(w * 0.085)
    cv2.rectangle(patch, (0, 0), (band, h), (150, 60, 0), -1)
    cx, cy, r = band // 2, int(h * 0.3), max(2, int(h * 0.17))
    for k in range(12):  # the ring of stars
        a = k * np.pi / 6
        cv2.circle(
            patch,
            (int(cx + r * np.cos(a)), int(cy + r * np.sin(a))),
            max(1, h // 40),
            (0, 200, 240),
            -1,
        )
    country = fit_width(glyphs(str(rng.choice(EU_COUNTRIES)), int(h * 0.25), rng, False), band - 2)
    put_centered(patch, country, cx, int(h * 0.62), (240, 240, 240))
    spaced = f"{text[:2]} {text[2:]}" if rng.random() < 0.6 else text
    main = fit_width(glyphs(spaced, int(h * 0.7), rng), w - band - 8)
    x = band + 4 + (w - band - 8 - main.shape[1]) // 2
    paste(patch, main, x, int(h * 0.15), (20, 20, 20))
    if spaced != text and rng.random() < 0.5:  # coat of arms in the gap after the district
        cw = main.shape[1] / len(spaced)
        ax = int(x + 2.2 * cw)
        cv2.rectangle(
            patch, (ax, int(h * 0.3)), (ax + int(cw * 0.6), int(h * 0.65)), (40, 40, 180), -1
        )
    return patch


def br_plate(rng: np.random.Generator, text: str, h: int) -> np.ndarray:
    w = int(h * 3.1)
    if text[4].isalpha() or rng.random() < 0.3:  # Mercosul: white, blue BRASIL band
        patch = np.full((h, w, 3), 240, np.uint8)
        cv2.rectangle(patch, (0, 0), (w, int(h * 0.22)), (160, 70, 10), -1)
        put_centered(
            patch,
            glyphs("BRASIL", int(h * 0.13), rng, False),
            w // 2,
            int(h * 0.04),
            (240, 240, 240),
        )
        main = fit_width(glyphs(text, int(h * 0.55), rng), int(w * 0.9))
        put_centered(patch, main, w // 2, int(h * 0.32), (20, 20, 20))
        return patch
    grey = float(rng.uniform(150, 200))
    patch = np.full((h, w, 3), grey, np.uint8)
    city = fit_width(glyphs(f"SP-{rng.choice(BR_CITIES)}", int(h * 0.14), rng, False), int(w * 0.8))
    put_centered(patch, city, w // 2, int(h * 0.06), (30, 30, 30))
    main = fit_width(glyphs(f"{text[:3]}-{text[3:]}", int(h * 0.55), rng), int(w * 0.92))
    put_centered(patch, main, w // 2, int(h * 0.32), (25, 25, 25))
    return patch


def plate(rng: np.random.Generator, region: str, h: int) -> tuple[np.ndarray, str]:
    text = random_plate_text(rng, region)
    draw = {"us": us_plate, "eu": eu_plate, "br": br_plate}[region]
    patch = draw(rng, text, h)
    cv2.rectangle(patch, (0, 0), (patch.shape[1] - 1, h - 1), (30, 30, 30), max(1, h // 30))
    if rng.random() < 0.5:  # bolts
        for bx in (patch.shape[1] // 5, patch.shape[1] * 4 // 5):
            cv2.circle(patch, (bx, max(2, h // 10)), max(1, h // 25), (90, 90, 90), -1)
    if rng.random() < 0.4:  # dealer frame
        t = max(2, h // 9)
        framed = cv2.copyMakeBorder(
            patch,
            t,
            t * 2,
            t,
            t,
            cv2.BORDER_CONSTANT,
            value=tuple(int(c) for c in rng.choice([15, 40, 180], 3)),
        )
        dealer = fit_width(
            glyphs(str(rng.choice(BADGES)) + " MOTORS", t, rng, False), patch.shape[1] // 2
        )
        put_centered(framed, dealer, framed.shape[1] // 2, h + t + t // 3, (220, 220, 220))
        return framed, text
    return patch, text


def shade(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light falling on a curved body: vertical gradient and a soft highlight band."""
    h = patch.shape[0]
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    gain = rng.uniform(0.7, 1.1) + rng.uniform(-0.3, 0.3) * ys
    band_y = rng.uniform(0.1, 0.6)
    gain = gain + rng.uniform(0.1, 0.5) * np.exp(-((ys - band_y) ** 2) / 0.004)
    return np.clip(patch.astype(np.float32) * gain, 0, 255)


def vehicle(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """A vehicle seen from the front or back, `w`×`h`; returns (image, alpha mask)."""
    img = np.zeros((h, w, 3), np.float32)
    mask: np.ndarray = np.zeros((h, w), np.uint8)
    paint = np.array(PAINTS[rng.integers(len(PAINTS))], np.float32) * rng.uniform(0.85, 1.1)
    truck = rng.random() < 0.3
    roof = int(h * (0.02 if truck else rng.uniform(0.02, 0.12)))
    belt = int(h * (rng.uniform(0.35, 0.5) if not truck else rng.uniform(0.4, 0.55)))
    inset = int(w * (0.02 if truck else rng.uniform(0.08, 0.18)))
    body_pts = np.array(
        [
            [inset, roof],
            [w - inset, roof],
            [w - 1, belt],
            [w - 1, int(h * 0.88)],
            [0, int(h * 0.88)],
            [0, belt],
        ],
        np.int32,
    )
    cv2.fillPoly(mask, [body_pts], 255)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 80))  # rounded corners
    mask = np.where(mask > 127, 255, 0).astype(np.uint8)
    img[:] = paint
    img = shade(img, rng)
    glass = np.array(
        [
            [inset + w // 25, roof + h // 40],
            [w - inset - w // 25, roof + h // 40],
            [w - w // 14, belt - h // 30],
            [w // 14, belt - h // 30],
        ],
        np.int32,
    )
    tone = float(rng.uniform(15, 70))
    cv2.fillPoly(img, [glass], (tone, tone, tone * rng.uniform(0.9, 1.3)))
    if rng.random() < 0.6:  # sky reflected in the glass
        y0 = roof + h // 40
        cv2.fillPoly(
            img,
            [
                np.array(
                    [
                        [w // 3, y0],
                        [w // 2, y0],
                        [w // 3, belt - h // 30],
                        [w // 6, belt - h // 30],
                    ],
                    np.int32,
                )
            ],
            (tone + 50, tone + 50, tone + 60),
        )
    front = rng.random() < 0.5
    lamp_y = belt + int(h * rng.uniform(0.05, 0.15))
    lamp_w, lamp_h = int(w * rng.uniform(0.1, 0.2)), int(h * rng.uniform(0.05, 0.12))
    lamp = (230, 240, 250) if front else (40, 40, 200)
    for x in (int(w * 0.04), w - int(w * 0.04) - lamp_w):
        cv2.ellipse(
            img,
            (x + lamp_w // 2, lamp_y + lamp_h // 2),
            (lamp_w // 2, lamp_h // 2),
            0,
            0,
            360,
            lamp,
            -1,
        )
    if front or truck:  # grille
        gx1, gx2 = int(w * 0.28), int(w * 0.72)
        gy1, gy2 = lamp_y, lamp_y + int(h * rng.uniform(0.08, 0.2))
        cv2.rectangle(img, (gx1, gy1), (gx2, gy2), (25, 25, 25), -1)
        step = int(rng.integers(3, 9))
        for y in range(gy1 + 2, gy2, step):
            cv2.line(img, (gx1, y), (gx2, y), (70, 70, 70), 1)
    if rng.random() < 0.6:  # badge
        badge = glyphs(str(rng.choice(BADGES)), max(4, int(h * 0.03)), rng, False)
        paste(
            img, badge, int(w * rng.uniform(0.1, 0.7)), int(lamp_y + lamp_h * 0.2), (200, 200, 200)
        )
    bumper_y = int(h * rng.uniform(0.68, 0.76))
    cv2.rectangle(
        img,
        (0, bumper_y),
        (w, int(h * 0.88)),
        tuple(float(c) for c in paint * rng.uniform(0.3, 1.0)),
        -1,
    )
    for x in (int(w * 0.12), int(w * 0.88)):  # wheels below the body
        cv2.ellipse(
            img, (x, int(h * 0.9)), (int(w * 0.09), int(h * 0.09)), 0, 0, 360, (20, 20, 20), -1
        )
        cv2.ellipse(mask, (x, int(h * 0.9)), (int(w * 0.09), int(h * 0.09)), 0, 0, 360, 255, -1)
    return img, mask


def place_patch(
    img: np.ndarray, patch: np.ndarray, x: int, y: int, rng: np.random.Generator, strength: float
) -> tuple[int, int, int, int] | None:
    """Warp a patch a little and composite it; its box in the image, None (and nothing
    drawn) unless it lies wholly inside."""
    warped, area = perspective(rng, patch, strength, cv2.INTER_AREA)
    h, w = area.shape
    if x < 0 or y < 0 or x + w >= img.shape[1] or y + h >= img.shape[0]:
        return None
    return place(img, warped, area, x, y)


def yaw(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A homography that turns a front-on view a little (the camera off the lane's
    axis): one side nearer and taller, the width foreshortened."""
    near, far = 1.0, rng.uniform(0.8, 1.0)
    if rng.random() < 0.5:
        near, far = far, near
    squeeze = rng.uniform(0.75, 1.0)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = np.array(
        [
            [0, h * (1 - near) / 2],
            [w * squeeze, h * (1 - far) / 2],
            [w * squeeze, h * (1 + far) / 2],
            [0, h * (1 + near) / 2],
        ],
        np.float32,
    )
    return cv2.getPerspectiveTransform(src, dst)


def add_vehicle(
    img: np.ndarray,
    rng: np.random.Generator,
    objects: list[SynthObject],
    cx: int,
    width: int,
    region: str,
) -> None:
    """Draw a vehicle with its plate (and maybe a fleet number) into the scene."""
    H, W = img.shape[:2]
    height = int(width * rng.uniform(0.7, 1.1))
    car, mask = vehicle(rng, width, height)
    # Plate height against vehicle width as issued: US 15 cm, BR 13 cm, EU 11 cm on ~1.8 m.
    share = {"us": 0.083, "br": 0.072, "eu": 0.061}[region]
    plate_h = max(6, int(width * share * rng.uniform(0.8, 1.25)))
    patch, text = plate(rng, region, plate_h)
    patch = shade(patch, rng).astype(np.uint8)
    px = (width - patch.shape[1]) // 2 + int(
        width * rng.uniform(-0.25, 0.25) * (rng.random() < 0.2)
    )
    py = int(height * rng.uniform(0.55, 0.76))
    recess = 0.15 * patch.shape[0]
    cv2.rectangle(
        car,
        (int(px - recess), int(py - recess)),
        (int(px + patch.shape[1] + recess), int(py + patch.shape[0] + recess)),
        tuple(float(c) for c in rng.uniform(10, 90, 3)),
        -1,
    )
    box = place_patch(car, patch, px, py, rng, 0.05)
    if rng.random() < 0.25:  # a fleet number or sticker that is not the plate
        fleet = "".join(rng.choice(list(LETTERS + DIGITS), int(rng.integers(3, 7))))
        mark = glyphs(fleet, max(5, plate_h // 2), rng)
        paste(
            car,
            mark,
            int(rng.integers(0, max(1, width - mark.shape[1]))),
            height // 3,
            (20, 20, 20),
        )
    turn = yaw(rng, width, height) if rng.random() < 0.6 else np.eye(3, dtype=np.float32)
    car = cv2.warpPerspective(car, turn, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(mask, turn, (width, height), flags=cv2.INTER_NEAREST)
    if height < H * 0.9:
        top = int(rng.uniform(0.02, 0.98) * (H - height))
    else:  # close up: keep the bumper, where the plate is, in the frame
        top = int(H * rng.uniform(0.25, 0.75) - 0.66 * height)
    x0 = cx - width // 2
    # Clip the vehicle to the frame (it may be larger or partly outside).
    ix1, iy1 = max(0, x0), max(0, top)
    ix2, iy2 = min(W, x0 + width), min(H, top + height)
    if ix2 <= ix1 or iy2 <= iy1:
        return
    sub = (slice(iy1 - top, iy2 - top), slice(ix1 - x0, ix2 - x0))
    _, xs = np.nonzero(mask[int(height * 0.8) :])
    if len(xs):  # the shadow beneath, as wide as the turned body
        shadow = (x0 + int(xs.mean()), min(H - 1, top + int(height * 0.9)))
        axes = (max(2, int(xs.max() - xs.min()) // 2), max(2, height // 12))
        cv2.ellipse(img, shadow, axes, 0, 0, 360, (20, 20, 20), -1)
    alpha = mask[sub][:, :, None].astype(np.float32) / 255.0
    img[iy1:iy2, ix1:ix2] = img[iy1:iy2, ix1:ix2] * (1 - alpha) + car[sub] * alpha
    if box is None:
        return
    corners = np.array(
        [[[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]], np.float32
    )
    moved = cv2.perspectiveTransform(corners, turn)[0] + np.array([x0, top], np.float32)
    bx1, by1 = moved.min(axis=0)
    bx2, by2 = moved.max(axis=0)
    # A plate partly out of frame is still labelled (clipped) while a third of it shows.
    inside = (min(bx2, W - 1) - max(bx1, 0)) * (min(by2, H - 1) - max(by1, 0))
    if bx2 > bx1 and by2 > by1 and inside >= 0.3 * (bx2 - bx1) * (by2 - by1):
        clipped = (max(0, int(bx1)), max(0, int(by1)), min(W - 1, int(bx2)), min(H - 1, int(by2)))
        objects.append(SynthObject("plate", text, clipped))


def shadows(rng: np.random.Generator, img: np.ndarray) -> None:
    """Shade from trees and buildings: darker polygons across the scene."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 3))):
        pts = rng.uniform(0, 1, (int(rng.integers(3, 7)), 2)) * np.array([w, h])
        shade_mask: np.ndarray = np.zeros((h, w), np.float32)
        cv2.fillPoly(shade_mask, [pts.astype(np.int32)], 1.0)
        shade_mask = cv2.GaussianBlur(shade_mask, (0, 0), max(1.0, w / 200))
        img *= (1 - shade_mask * rng.uniform(0.3, 0.6))[:, :, None]


def camera(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """What the lens, sensor and encoder do to a scene."""
    out: np.ndarray = img.astype(np.float32) / 255.0
    out = out ** rng.uniform(0.7, 1.4) * rng.uniform(0.6, 1.2) + rng.uniform(-0.1, 0.1)
    out = out * rng.uniform(0.85, 1.15, 3)[None, None, :]  # white balance
    if rng.random() < 0.12:  # night: the IR camera is grey
        out[:] = out.mean(axis=2, keepdims=True)
    out = np.clip(out * 255, 0, 255)
    if rng.random() < 0.4:
        k = int(rng.integers(3, 9))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        out = cv2.filter2D(out, -1, kernel)  # motion along the lane
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    h, w = out.shape[:2]
    if rng.random() < 0.4:  # a cheaper sensor, upscaled
        f = rng.uniform(0.4, 0.8)
        small = cv2.resize(out, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out += rng.normal(0, rng.uniform(1, 8), out.shape).astype(np.float32)
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # the recorder's time stamp
        year, month, day, hour = (
            rng.integers(lo, hi) for lo, hi in ((10, 27), (1, 9), (0, 9), (0, 9))
        )
        minute, second = rng.integers(10, 59), rng.integers(10, 59)
        stamp = f"20{year}-0{month}-1{day} 0{hour}:{minute}:{second}"
        cv2.putText(
            out8,
            stamp,
            (5, int(h * 0.03) + 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            h / 1200,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    ok, jpeg = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 92))])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)) if ok else out8


SIZES = ((800, 600), (1280, 720), (1024, 640), (1024, 768), (640, 480))


def render_vehicle_scene(
    rng: np.random.Generator, size: tuple[int, int] | None = None
) -> SynthScene:
    """One or two vehicles at a gate, each with its plate labelled."""
    w, h = size or SIZES[rng.integers(len(SIZES))]
    img = surroundings(rng, h, w)
    objects: list[SynthObject] = []
    count = 1 if rng.random() < 0.75 else 2
    for i in range(count):
        scale = rng.uniform(0.3, 1.0) if rng.random() < 0.85 else rng.uniform(1.0, 3.0)
        width = int(w * scale / (1.6 if count == 2 else 1))
        cx = int(w * rng.uniform(0.25, 0.75)) if count == 1 else int(w * (0.27 + 0.46 * i))
        region = ("us", "eu", "br")[rng.integers(3)]
        add_vehicle(img, rng, objects, cx, width, region)
    shadows(rng, img)
    return SynthScene(camera(rng, img), objects)
