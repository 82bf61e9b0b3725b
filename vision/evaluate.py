"""Scoring a labelled folder, as ../shared/data/README.md says to.

The reader sees image files only. Labels (`labels.csv`: file,text) and, where a
folder has one, `labels_detail.csv` (its `capture_group` column says which views
belong to one passage) are read here, by the evaluator, after the reads are made.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision.errors import ImageError, VisionError
from vision.iso6346 import is_valid_code
from vision.plates import normalize
from vision.reader import FrameReads, LaneVision, load_image

log = logging.getLogger(__name__)


class LabelError(VisionError):
    """A folder without a usable labels.csv."""


def read_labels(folder: Path) -> dict[str, str]:
    path = folder / "labels.csv"
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise LabelError(f"cannot read {path}: {err.strerror or err}") from err
    if not rows or not {"file", "text"} <= set(rows[0]):
        raise LabelError(f"{path} needs the columns file,text")
    return {row["file"]: normalize(row["text"]) for row in rows}


def capture_groups(folder: Path) -> dict[str, str]:
    """file -> capture group, when the folder says which views make one passage."""
    path = folder / "labels_detail.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        return {r["file"]: r["capture_group"] for r in csv.DictReader(f) if r.get("capture_group")}


def fold_o(text: str) -> str:
    return text.replace("O", "0")


@dataclass
class Tally:
    kind: str  # "plates" or "containers"
    items: int = 0
    correct: int = 0
    correct_folded: int = 0  # plates, O and 0 taken as one
    extra_reads: int = 0
    errors: int = 0  # files that could not be read
    wrong_accepts: int = 0  # containers: accepted codes not on the truck
    passages: int = 0
    passages_correct: int = 0
    passage_wrong_accepts: int = 0
    frame_ms: list[float] = field(default_factory=list)
    passage_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        def pct(n: int, d: int) -> float:
            return round(100.0 * n / d, 1) if d else 0.0

        out: dict[str, Any] = {
            "kind": self.kind,
            "items": self.items,
            "read_rate_pct": pct(self.correct, self.items),
            "extra_reads": self.extra_reads,
            "unreadable_files": self.errors,
            "mean_ms_per_frame": round(sum(self.frame_ms) / max(len(self.frame_ms), 1), 1),
        }
        if self.kind == "plates":
            out["read_rate_o0_folded_pct"] = pct(self.correct_folded, self.items)
        else:
            out["wrong_accepts_frames"] = self.wrong_accepts
            if self.passages:
                out["passages"] = self.passages
                out["passage_read_rate_pct"] = pct(self.passages_correct, self.passages)
                out["passage_wrong_accepts"] = self.passage_wrong_accepts
                out["mean_ms_per_passage"] = round(
                    sum(self.passage_ms) / max(len(self.passage_ms), 1), 1
                )
        out["misses"] = self.misses
        return out


def is_container_folder(labels: dict[str, str]) -> bool:
    return bool(labels) and all(is_valid_code(t) for t in labels.values())


Change = Callable[[np.ndarray], np.ndarray]


def evaluate(
    folder: Path,
    vision: LaneVision,
    progress: Callable[[Iterator[str], int], Iterator[str]] = lambda it, n: it,
    change: Change | None = None,
) -> Tally:
    """Read every labelled image in `folder` (after `change`, if given) and score the reads."""
    labels = read_labels(folder)
    containers = is_container_folder(labels)
    tally = Tally("containers" if containers else "plates")
    groups = capture_groups(folder) if containers else {}
    reads: dict[str, FrameReads] = {}
    took_ms: dict[str, float] = {}
    for name in progress(iter(sorted(labels)), len(labels)):
        tally.items += 1
        started = time.perf_counter()
        try:
            image = load_image(folder / name)
            reads[name] = vision.read_frame(change(image) if change else image, view=name)
        except ImageError as err:
            tally.errors += 1
            tally.misses.append(f"{name}: {err}")
            log.warning("%s", err)
            continue
        took_ms[name] = (time.perf_counter() - started) * 1000
        tally.frame_ms.append(took_ms[name])
    if containers:
        score_containers(tally, labels, groups, reads, took_ms)
    else:
        score_plates(tally, labels, reads)
    return tally


def score_plates(tally: Tally, labels: dict[str, str], reads: dict[str, FrameReads]) -> None:
    for name, seen in reads.items():
        texts = [p.text for p in seen.plates]
        label = labels[name]
        hit = label in texts
        tally.correct += hit
        tally.correct_folded += fold_o(label) in {fold_o(t) for t in texts}
        tally.extra_reads += len(texts) - (1 if hit else 0)
        if not hit:
            tally.misses.append(f"{name}: want {label}, read {texts}")


def score_containers(
    tally: Tally,
    labels: dict[str, str],
    groups: dict[str, str],
    reads: dict[str, FrameReads],
    took_ms: dict[str, float],
) -> None:
    # The codes on a truck are the labels of all its views (a truck may carry two).
    on_truck: dict[str, set[str]] = {}
    for name, label in labels.items():
        on_truck.setdefault(groups.get(name, name), set()).add(label)
    for name, seen in reads.items():
        codes = [c.code for c in seen.containers]
        truth = on_truck[groups.get(name, name)]
        hit = labels[name] in codes
        tally.correct += hit
        tally.extra_reads += len([c for c in codes if c != labels[name]])
        tally.wrong_accepts += len([c for c in codes if c not in truth])
        if not hit:
            tally.misses.append(f"{name}: want {labels[name]}, read {codes}")
    if not groups:
        return
    from vision.containers import fuse_views

    for group in sorted(set(groups.values())):
        names = [n for n, g in groups.items() if g == group and n in reads]
        tally.passages += 1
        started = time.perf_counter()
        fused = fuse_views({n: reads[n].candidates for n in names})
        fuse_ms = (time.perf_counter() - started) * 1000
        tally.passage_ms.append(sum(took_ms[n] for n in names) + fuse_ms)
        got = {f.code for f in fused}
        truth = on_truck[group]
        tally.passages_correct += truth <= got
        tally.passage_wrong_accepts += len(got - truth)
        if not truth <= got:
            tally.misses.append(f"passage {group}: want {sorted(truth)}, fused {sorted(got)}")


# -- the same photos, slightly changed ------------------------------------------------
#
# A read rate measured on a few dozen files can rest on luck: the text detector's box
# moves by a pixel, the recogniser's crop changes, a character flips. Reading each file
# again after changes any camera or encoder makes shows what to expect on photos the
# system has not seen (docs/vision.md, "The same photos, slightly changed").


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ImageError(f"cannot JPEG-encode a {image.shape} image")
    return decoded


def scaled(image: np.ndarray, factor: float) -> np.ndarray:
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)


def cut(image: np.ndarray, fraction: float) -> np.ndarray:
    """The frame cut `fraction` shorter at the top and left (the camera aimed a little off)."""
    h, w = image.shape[:2]
    return np.ascontiguousarray(image[int(fraction * h) :, int(fraction * w) :])


CHANGES: dict[str, Change] = {
    "as shipped": lambda image: image,
    "JPEG q80": lambda image: jpeg(image, 80),
    "scale 0.85": lambda image: scaled(image, 0.85),
    "scale 1.2": lambda image: scaled(image, 1.2),
    "cut 3 %": lambda image: cut(image, 0.03),
}


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """The frame turned about its middle (a camera rolled a little, a plate hung askew);
    the corners filled from the edge, as a wider frame would show them."""
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)


def sheared(image: np.ndarray, slant: float) -> np.ndarray:
    """Rows shifted along by `slant` per pixel down: a plate seen from the side."""
    h, w = image.shape[:2]
    shear = np.array([[1, slant, -slant * h / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(image, shear, (w, h), borderMode=cv2.BORDER_REPLICATE)


def gamma(image: np.ndarray, exponent: float) -> np.ndarray:
    """Exposure: above 1 darker (dusk, a shaded lane), below 1 brighter (glare)."""
    table = np.array([255 * (i / 255) ** exponent for i in range(256)]).round().astype(np.uint8)
    return cv2.LUT(image, table)


def noisy(image: np.ndarray, sigma: float) -> np.ndarray:
    """Sensor noise at night; seeded, so a run is repeatable."""
    noise = np.random.default_rng(0).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


# What a lane's camera meets beyond CHANGES: a tilted plate, motion or focus blur, dusk
# and glare, noise, an oblique view, a plate half as many pixels tall. Read rates over
# these are lower; they show where the reading breaks, not what to expect on the whole.
HARDER_CHANGES: dict[str, Change] = {
    "rotated +5°": lambda image: rotated(image, 5),
    "rotated -5°": lambda image: rotated(image, -5),
    "blurred": lambda image: cv2.GaussianBlur(image, (0, 0), 1.2),
    "darker": lambda image: gamma(image, 1.8),
    "brighter": lambda image: gamma(image, 0.55),
    "noise": lambda image: noisy(image, 8),
    "sheared": lambda image: sheared(image, 0.15),
    "scale 0.6": lambda image: scaled(image, 0.6),
}


def evaluate_changed(
    folder: Path,
    vision: LaneVision,
    progress: Callable[[Iterator[str], int], Iterator[str]] = lambda it, n: it,
    changes: dict[str, Change] = CHANGES,
) -> dict[str, Tally]:
    """`evaluate` on `folder` after each of `changes` (CHANGES: as it is, and after
    what any camera or encoder does)."""
    return {name: evaluate(folder, vision, progress, change) for name, change in changes.items()}


def overall(tallies: dict[str, Tally]) -> dict[str, Any]:
    """The figures over all changes together: every count summed, every list joined."""
    total = Tally(next(iter(tallies.values())).kind)
    for tally in tallies.values():
        for f in fields(Tally):
            if f.name != "kind":
                setattr(total, f.name, getattr(total, f.name) + getattr(tally, f.name))
    figures = total.figures()
    figures.pop("misses")
    return figures
