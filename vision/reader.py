"""The lane's eyes: plates and container codes from the frames of one passage.

`LaneVision(config).read_burst(frames)` is what the lane pipeline calls with the
frames a trigger captured (several frames, one or more camera views). Plates are
voted across the burst; container codes are fused across views; every read
carries its confidence, its box, the view it came from and a JPEG crop.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vision import containers as codes
from vision.area import Area, cut_to, moved
from vision.config import VisionConfig
from vision.detector import DEFAULT_MODEL, Region, RegionDetector
from vision.errors import ImageError
from vision.hazard import hazard_plates
from vision.localise import CharacterRow, character_row, frame_row, iou, plate_rows, to_gray
from vision.ocr import TextSpotter
from vision.plates import (
    PlateText,
    enforced_fits,
    fits_enforced,
    formats_for,
    fuse_choices,
    interpret,
    kinds,
    likeliest_shaped,
    match_known,
    normalize,
    overrides,
    plate_choices,
    ranked_last,
    shape_rank,
    vote,
)
from vision.text import Box, TextLine, union

log = logging.getLogger(__name__)

# Lines of text detection read again for their glyphs' choices, at most, per frame
# (`shaped_lines`).
RE_READS = 3
# `classic`: a character row is read with these margins (across, up; in character
# heights), and a strong read is confirmed by the second.
ROW_MARGINS = ((0.35, 0.2), (0.7, 0.35))
# A detector score from which a plate box is taken as a plate: a row in it may be
# numbers or letters only (on ../shared/data, 49 of the 52 labelled plates found scored
# 0.56-0.88, and 30 of 37 other boxes less than 0.5).
SURE_PLATE = 0.5
# `classic`'s plate boxes: text detection runs in each box widened by the first
# margin (fraction of the box), and where no line there settles the frame, by the
# second: the detector's box is often tight or off, and the wider crop gives text
# detection the plate's ends (over six versions of every US, EU and BR photo, 8 of
# the 32 frames the boxes left to the whole frame were settled so, one more read
# right, none worse).
PLATE_BOX_MARGINS = (0.1, 1.0)
# `classic`'s plate boxes: a crop shorter than this on its longer side is scaled up to it
# for text detection. The detector sees text through cells of 32 pixels at its coarsest:
# in a plate box of 90x50 pixels it misreads or misses lines it finds in the whole
# frame. Over the 1,218-frame scratch harness (every US, EU, BR and US-crop photo,
# CHANGES and HARDER_CHANGES) 8 reads right that were wrong, 3 wrong that were right, and
# 3 fewer frames left to the whole frame (see docs/vision.md, "Options compared").
PLATE_BOX_DET_SIDE = 320
# `classic`: a settled row's read of at most `SHORT_READ` characters that stops this far
# (character heights) short of an end of the detector's sure plate box around it is read
# again across the box (`completed`).
SHORT_READ = 6
PLATE_ROOM = 1.0
# Margin read around a code box of the region detector (fraction of the box).
CODE_BOX_MARGIN = 0.4
# Two candidate rows this much alike are one row, read once.
SAME_ROW_IOU = 0.5
# `classic`: the localiser's rows read before the detector is asked for plate boxes.
LOCALISER_FIRST = 2
# A row of characters shorter than this (frame pixels) is not read: the recogniser
# scales a line to 48 px, and over US, EU and BR photos as shipped, at 0.85 and at
# 800x600 the smallest characters it read right stood 9.8 px; a quarter of the rows
# the localiser offers are smaller (timestamps, badges, a far car's plate).
MIN_CHAR_HEIGHT = 8.0

# How much of a frame `read_frame` reads: all its stages; only the cheap ones (a plate
# lane's rows and plate boxes, `settled_plates`); or none of them, text detection over
# the whole frame only (past a plate lane's rows and boxes, or a container camera's
# code boxes, that settled nothing). See `read_burst`.
Stage = Literal["all", "cheap", "whole"]


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR
    view: str = "cam"  # camera / view id
    area: Area | None = None  # the view's read area (`vision.area`); None: the whole frame


@dataclass(frozen=True)
class PlateRead:
    text: str
    confidence: float
    box: Box
    view: str
    region: str
    crop_jpeg: bytes = field(repr=False, default=b"")
    frames: int = 1  # frames of the burst that agree
    known: bool = False  # matched a plate the site expects


@dataclass(frozen=True)
class ContainerRead:
    code: str
    size_type: str | None
    confidence: float
    box: Box
    view: str
    crop_jpeg: bytes = field(repr=False, default=b"")
    views: tuple[str, ...] = ()  # views that saw it


@dataclass(frozen=True)
class HazardRead:
    """An ADR orange plate (`vision.hazard`): `code` is `hazard/UN`, e.g. `33/1203`."""

    hazard_number: str
    un_number: str
    confidence: float
    box: Box
    view: str
    crop_jpeg: bytes = field(repr=False, default=b"")
    views: tuple[str, ...] = ()  # views that saw it
    frames: int = 1  # frames of the burst that read it

    @property
    def code(self) -> str:
        return f"{self.hazard_number}/{self.un_number}"


@dataclass
class FrameReads:
    plates: list[PlateRead]
    containers: list[ContainerRead]
    candidates: list[codes.CodeCandidate]  # all container candidates, for fusion
    boxed: bool = False  # codes read in the detector's code boxes only (`codes_in_boxes`)
    # A plate lane's burst frame that rows and plate boxes did not settle, not (yet)
    # read by text detection over the whole frame (`read_frame`'s `stage`).
    unsettled: bool = False
    # ADR orange plates, where text detection ran over the frame (`read_hazards`).
    hazards: list[HazardRead] = field(default_factory=list)


def in_frame(reads: FrameReads, offset: tuple[int, int]) -> FrameReads:
    """Reads of a part of a frame cut at `offset` (`vision.area.cut_to`), their boxes
    in the frame's pixels."""
    if offset == (0, 0):
        return reads
    return replace(
        reads,
        plates=[replace(p, box=moved(p.box, offset)) for p in reads.plates],
        containers=[replace(c, box=moved(c.box, offset)) for c in reads.containers],
        candidates=[replace(c, box=moved(c.box, offset)) for c in reads.candidates],
        hazards=[replace(h, box=moved(h.box, offset)) for h in reads.hazards],
    )


def views_agree(confidences: Sequence[float]) -> float:
    """The confidence of a read that several camera views made, one confidence each:
    views see independently, so the chance all are wrong is the product of theirs
    (each capped at 0.99: no one view is certain)."""
    return round(1 - math.prod(1 - min(c, 0.99) for c in confidences), 4)


def fuse_hazards(reads: list[HazardRead]) -> list[HazardRead]:
    """One read per orange plate a passage's frames show, surest first: the surest
    frame's read, its confidence combined over the views that read it (`views_agree`,
    each view's surest frame: frames of one view are not independent)."""
    fused = []
    for code in dict.fromkeys(r.code for r in reads):
        same = [r for r in reads if r.code == code]
        per_view = {r.view: max(s.confidence for s in same if s.view == r.view) for r in same}
        best = max(same, key=lambda r: r.confidence)
        fused.append(
            replace(
                best,
                confidence=views_agree(list(per_view.values())),
                views=tuple(per_view),
                frames=len(same),
            )
        )
    return sorted(fused, key=lambda r: -r.confidence)


def load_image(path: Path) -> np.ndarray:
    """Read an image file, or raise ImageError saying what is wrong with it."""
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as err:
        raise ImageError(f"{path}: cannot read: {err.strerror or err}") from err
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"{path}: not a decodable image ({data.size} bytes)")
    return image


def expand(box: Box, margin: float, shape: tuple[int, ...]) -> Box:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return (
        max(0, int(x1 - mx)),
        max(0, int(y1 - my)),
        min(shape[1], int(x2 + mx)),
        min(shape[0], int(y2 + my)),
    )


def inside(box: Box, outer: Box, slack: int = 0) -> bool:
    """`box` lies within `outer` (give or take `slack` pixels)."""
    return (
        outer[0] <= box[0] + slack
        and outer[1] <= box[1] + slack
        and box[2] <= outer[2] + slack
        and box[3] <= outer[3] + slack
    )


def same_row(a: TextLine, b: TextLine) -> bool:
    """`b` stands just right of `a` at the same height: one plate split in two boxes."""
    size = max(a.height, b.height, 1)
    mid_a, mid_b = (a.box[1] + a.box[3]) / 2, (b.box[1] + b.box[3]) / 2
    gap = b.box[0] - a.box[2]
    return (
        abs(a.height - b.height) < 0.35 * size
        and abs(mid_a - mid_b) < 0.3 * size
        and -0.2 * size <= gap <= 1.2 * size
    )


class LaneVision:
    """Reads plates and container codes; one instance per lane, models loaded once."""

    def __init__(self, config: VisionConfig | None = None) -> None:
        self.config = config or VisionConfig()
        # Frames read at once share the cores: each copy (below) runs one thread.
        # This reader also reads single frames on its own (the CLI, a frame outside a
        # burst), so it keeps one thread per core: measured, a burst is no slower
        # for it, and a single plate frame takes 41-44 instead of 58 ms (median).
        threads = self.config.threads
        self.spotter = TextSpotter(
            self.config.det_max_side,
            self.config.min_text_score,
            threads,
            self.config.rec_min_width,
            self.config.runtime,
            self.config.precision,
        )
        self.formats = formats_for(self.config.regions, self.config.plate_patterns)
        # Regions ranked as listed, the site's patterns first (`shape_rank`).
        self._shape_order = ["site"] * bool(self.config.plate_patterns) + self.config.regions
        self.detector: RegionDetector | None = None
        config = self.config
        # `classic` reads plate rows first whenever it reads plates. Reading plates
        # only, a row that settles the frame ends it; with container codes too, text
        # detection runs over every frame anyway, and the rows' plates, when they
        # settle, stand in for the plates its lines show (read better, fewer extras).
        self.plate_rows = config.detector == "classic" and config.read_plates
        self.plates_only = self.plate_rows and not config.read_containers
        # The detector's code boxes are read where the whole frame shows no code, and,
        # reading codes only (a container camera), before the whole frame.
        self.reads_code_boxes = (
            config.detector == "classic" and config.read_containers and config.classic_code_boxes
        )
        self.codes_first = self.reads_code_boxes and not config.read_plates
        uses_yolo = (
            config.detector == "yolo"
            or self.reads_code_boxes
            or (
                self.plate_rows
                and (
                    config.classic_yolo
                    or config.classic_check_catch_all
                    or (self.plates_only and config.classic_boxes)
                )
            )
        )
        if uses_yolo:
            self.detector = RegionDetector(
                self.config.detector_model or DEFAULT_MODEL,
                self.config.detector_min_score,
                threads,
                self.config.runtime,
                self.config.precision,
            )
        self._fits: dict[str, PlateText | None] = {}
        self._regions: tuple[np.ndarray, list[Region]] | None = None  # the last frame's
        # How frames were read: `classic` counts frames its rows settled and frames
        # that fell back to full text detection.
        self.stats: Counter[str] = Counter()
        # Readers for a burst's frames at once (`view_workers`): this one and copies,
        # each taken from the queue for one frame, so no engine serves two threads.
        # This one goes in as a weak proxy: a lane holding itself would live (models,
        # runtime threads and all) until the garbage collector finds the cycle.
        self._workers: queue.SimpleQueue[LaneVision] = queue.SimpleQueue()
        self._workers.put(weakref.proxy(self))
        for _ in range(self.config.view_workers - 1):
            worker = LaneVision(
                self.config.model_copy(update={"view_workers": 1, "threads": threads or 1})
            )
            worker.stats = self.stats  # one tally (a diagnostic count: the GIL suffices)
            self._workers.put(worker)

    # -- one frame ---------------------------------------------------------------

    def interpret(self, raw: str) -> PlateText | None:
        """`plates.interpret` with this lane's formats, remembered per raw text: it
        tries every cross-kind swap, and the same text comes back (read twice, or in
        every frame of a burst)."""
        if raw not in self._fits:
            if len(self._fits) >= 4096:
                self._fits.clear()
            self._fits[raw] = interpret(raw, self.formats, self.config.letter_o_is_zero)
        return self._fits[raw]

    def regions(self, image: np.ndarray) -> list[Region]:
        """The detector's regions in `image`, asked once per frame (the classic path
        may want them for its rows, a row's check and its plate boxes)."""
        if self.detector is None:
            return []
        last = self._regions  # one read: another thread may set it meanwhile
        if last is None or last[0] is not image:
            last = (image, self.detector.detect(image))
            self._regions = last
        return last[1]

    def plate_regions(self, image: np.ndarray) -> list[Region]:
        """The detector's plate regions in `image` (none without a detector)."""
        return [r for r in self.regions(image) if r.kind == "plate"]

    def sure_plates(self, image: np.ndarray) -> list[Box]:
        """Boxes the detector is sure are plates (`SURE_PLATE`)."""
        return [r.box for r in self.plate_regions(image) if r.score >= SURE_PLATE]

    def text_lines(self, image: np.ndarray) -> list[TextLine]:
        """Text lines of the frame: everywhere, or only in the detector's regions."""
        if self.detector is None or self.config.detector != "yolo":
            return self.spotter.spot(image)
        lines: list[TextLine] = []
        gray = to_gray(image)
        for region in self.regions(image):
            margin = 0.1 if region.kind == "plate" else CODE_BOX_MARGIN
            x1, y1, x2, y2 = expand(region.box, margin, image.shape)
            if x2 - x1 < 8 or y2 - y1 < 8:
                continue
            if region.kind == "plate":
                # The registration is the largest row of characters in a plate box
                # (a US box also holds a state name and a slogan): recognition alone
                # (~15 ms) reads that row; text detection runs only when no row read
                # fits a format.
                row = character_row(gray, region.box)
                line = None
                if row is not None:
                    line = self.read_line(image, row.with_margin(*ROW_MARGINS[0], image.shape))
                if line is not None and self.interpret(line.text):
                    lines.append(line)
                    continue
            lines += self.spot_in(image, (x1, y1, x2, y2))
        return lines

    def spot_in(self, image: np.ndarray, box: Box, det_side: int = 0) -> list[TextLine]:
        """Text detection and recognition inside `box` only; boxes in frame pixels.
        A crop shorter than `det_side` on its longer side is read scaled up to it."""
        x1, y1, x2, y2 = box
        crop = image[y1:y2, x1:x2]
        scale = max(1.0, det_side / max(crop.shape[:2]))
        if scale > 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return [
            TextLine(
                line.text,
                line.score,
                (
                    x1 + math.floor(bx1 / scale),
                    y1 + math.floor(by1 / scale),
                    x1 + math.ceil(bx2 / scale),
                    y1 + math.ceil(by2 / scale),
                ),
            )
            for line in self.spotter.spot(crop)
            for bx1, by1, bx2, by2 in [line.box]
        ]

    def classic_plates(
        self, image: np.ndarray, view: str, near: Sequence[Box] | None = None
    ) -> list[PlateRead] | None:
        """Plates from candidate character rows, read by the recogniser alone.

        Rows are read in `candidate_rows` order (with `near`, only rows touching one
        of those boxes); a row of characters under `MIN_CHAR_HEIGHT` counts as tried
        but is not read. A row ends the search when its read shows a plate
        (`plate_shown`), a second read of the same row with a wider margin shows the
        same plate, and the surer of the two reaches `classic_min_confidence`: a read
        that depends on where the crop was cut (a plate frame taken for a stroke, a
        character cut off) is not trusted. The frame's plates are that row's: rows read
        before it settled nothing (a fleet number the detector places off the plate, a
        dealer's name, a date), and where their reads were reported too, they outranked
        the plate in 3 of 318 frames (`CHARTER` over `7FR971`). None when no row ends
        the search: the caller then runs text detection.
        """
        rows = self.candidate_rows(image)
        if near is not None:
            rows = ((r, p) for r, p in rows if any(iou(r.box, b) > 0 for b in near))
        for row, in_plate in itertools.islice(rows, self.config.classic_max_rows):
            if row.char_height < MIN_CHAR_HEIGHT:
                self.stats["rows_too_small"] += 1
                continue  # still one of the rows tried: a frame of small text ends sooner
            lines = self.settling_reads(image, row, in_plate, view)
            if lines is not None:
                return self.plates_in(self.completed(image, row, lines), image, view)
        return None

    def settling_reads(
        self, image: np.ndarray, row: CharacterRow, in_plate: bool, view: str
    ) -> list[TextLine] | None:
        """The reads of `row` that settle the frame (`classic_plates`): a sure first
        read, the two reads fused per glyph, or two reads that agree; None otherwise."""
        line = self.read_line(image, row.with_margin(*ROW_MARGINS[0], image.shape))
        if line is None:
            return None
        first = self.plate_shown(line, image, view, in_plate)
        if first is None:
            return None
        if (
            self.sure_of_every_glyph(line)
            and self.shape_rank(first.text) is not None
            and first.confidence >= self.config.classic_min_confidence
            and not self.plate_is_elsewhere(line, row.box, image)
        ):
            self.stats["classic_sure"] += 1
            return [line]
        again = self.read_line(image, row.with_margin(*ROW_MARGINS[1], image.shape))
        if again is None:
            return None
        fused = self.fused_row(line, again)
        if (
            fused is not None
            and self.strong_plate(fused, image, view, in_plate)
            and not self.plate_is_elsewhere(fused, row.box, image)
        ):
            self.stats["classic_fused"] += 1
            return [fused]
        second = self.plate_shown(again, image, view, in_plate)
        if (
            second is not None
            and second.text == first.text
            and max(first.confidence, second.confidence) >= self.config.classic_min_confidence
            and not self.plate_is_elsewhere(line, row.box, image)
        ):
            return [line, again]
        return None

    def completed(
        self, image: np.ndarray, row: CharacterRow, lines: list[TextLine]
    ) -> list[TextLine]:
        """A settled row's reads, or its read across the detector's sure plate box
        where that restores a character the row lost at an end.

        The row finder can leave out a plate's end character (a tilted or blurred plate
        joins it to the border), and the rest, read surely, fits some region's shape:
        the German shape takes most letters-then-digits (`ZG3580` for the Brazilian
        `OZG3580`), US serial shapes most of the rest. So a short read (`SHORT_READ`)
        of a row that stops `PLATE_ROOM` or more short of an end of a sure plate box is
        read again across the box, and that read stands in where it is the first with
        one more character at an end, every glyph sure, and fits an enforced shape the
        first does not (a US plate's graphic read as a letter, `LYBW23` for `YBW23`,
        adds none). Measured on ../shared/data (scratch harness, first read scored):
        over six versions of every photo nothing changed; over the harder changes
        (`vision.evaluate.HARDER_CHANGES`) 6 of 424 frames were read right that were
        read a character short (`OZG3580`, `PJU2853`, `NTV0498`, `LM633BD`), none
        worse. The detector runs for this only where a short read fits an enforced
        shape (a US read has asked it already: `plate_is_elsewhere`)."""
        first = normalize(lines[0].text)
        if self.detector is None or len(first) > SHORT_READ:
            return lines
        x1, _, x2, _ = row.box
        _, top, _, bottom = row.with_margin(*ROW_MARGINS[0], image.shape)
        for box in self.sure_plates(image):
            room = max(x1 - box[0], box[2] - x2) / row.char_height
            if iou(row.box, box) <= 0 or room < PLATE_ROOM:
                continue
            self.stats["rows_read_across_the_box"] += 1
            across = self.read_line(
                image, (max(0, box[0]), top, min(image.shape[1], box[2]), bottom)
            )
            if across is not None and self.restores_a_character(across, first):
                self.stats["rows_completed"] += 1
                return [across]
        return lines

    def restores_a_character(self, across: TextLine, first: str) -> bool:
        """Whether `across` reads `first` with one more character at an end, surely,
        in an enforced shape that `first` does not fit (see `completed`)."""
        text = normalize(across.text)
        return (
            len(text) == len(first) + 1
            and (text.startswith(first) or text.endswith(first))
            and self.sure_of_every_glyph(across)
            and bool(self.enforced_fits(text) - self.enforced_fits(first))
        )

    def sure_of_every_glyph(self, line: TextLine) -> bool:
        """Whether the recogniser gave each character of a read at least
        `classic_sure_glyph`: such a read, where it fits an issued shape, needs no
        second crop to confirm it. Over the five versions of every US, EU, BR and US
        crop photo, 136 first reads of a row fitting a shape were so sure; the wider
        crop read 134 the same, and the other 2 worse (`SK5MK9V` for `SK5K9V`,
        `LYBW231` for `YBW23`). A read fitting only a catch-all is still read twice:
        a sure `597UTAH` (a slogan's row on a Utah plate) was refused so."""
        choices = plate_choices(line.chars)
        return (
            len(choices) == len(normalize(line.text)) > 0
            and min(max(c.values()) for c in choices) >= self.config.classic_sure_glyph
        )

    def fused_row(self, first: TextLine, again: TextLine) -> TextLine | None:
        """Two reads of one row judged character by character (`plates.fuse_choices`:
        the crops' averaged probabilities pick each character, and where a glyph is in
        doubt, the lane's issued shapes); None where the reads agree and the shapes
        change nothing, or where the fusion leaves a glyph in doubt, and the frame goes
        on to text detection."""
        fused = fuse_choices(first.chars, again.chars, self.shape_rank, self.enforced_shape)
        if fused is None:
            return None
        text, probs = fused
        if text == normalize(first.text) == normalize(again.text):
            return None  # the reads agree: taken as read (or not) by the caller
        return TextLine(text, round(sum(probs) / len(probs), 5), union([first.box, again.box]))

    def shaped_lines(self, image: np.ndarray, lines: list[TextLine]) -> list[TextLine]:
        """Text detection's plate-like lines, where a glyph in doubt decides the shape.

        Text detection gives a line's text and one score, not the recogniser's
        choices per glyph; a line that reads as a plate but fits no shape of the
        lane's first region is read again by the recogniser alone (≈ 20 ms, at most
        `RE_READS` a frame), and where a glyph in doubt, read as another of its
        choices, makes it fit a better-ranked shape (`plates.likeliest_shaped`; not
        where both are plates of enforced shapes, `plates.overrides`), that
        read stands in for the line (`UHI-FOF` read as `UH1F0F`, Missouri's AB1C2D).
        """
        out, re_reads = [], 0
        for line in lines:
            found = self.interpret(line.text)
            rank = ranked_last(self.shape_rank, normalize(line.text))
            if (
                found is None
                or rank == 0
                or re_reads >= RE_READS
                or len(found.text) < 5
                or len(kinds(found.text)) < 2
            ):
                out.append(line)
                continue
            re_reads += 1
            self.stats["shape_re_reads"] += 1
            again = self.read_line(image, line.box)
            choices = plate_choices(again.chars) if again is not None else []
            shaped = likeliest_shaped(choices, self.shape_rank) if choices else None
            if (
                again is None
                or shaped is None
                or ranked_last(self.shape_rank, shaped[0]) >= rank
                or not overrides(shaped[0], normalize(line.text), self.enforced_shape)
            ):
                out.append(line)
                continue
            text, probs = shaped
            self.stats["shaped_lines"] += 1
            out.append(TextLine(text, round(sum(probs) / len(probs), 5), line.box, again.chars))
        return out

    def enforced_fits(self, text: str) -> set[str]:
        """The lane's enforced shapes `text` fits as read (`plates.enforced_fits`)."""
        return enforced_fits(text, self.formats, self.config.letter_o_is_zero)

    def enforced_shape(self, text: str) -> bool:
        """Whether a read fits one of the lane's enforced shapes (site, EU, BR)."""
        return fits_enforced(text, self.formats, self.config.letter_o_is_zero)

    def shape_rank(self, text: str) -> int | None:
        """Where a read fits the lane's issued shapes, its regions ranked as listed
        (site patterns first); None where it fits none (`plates.shape_rank`)."""
        return shape_rank(text, self.formats, self._shape_order, self.config.letter_o_is_zero)

    def plate_is_elsewhere(self, line: TextLine, box: Box, image: np.ndarray) -> bool:
        """A read only a catch-all shape takes (a truck's fleet number on a "How's my
        driving?" sticker, a word) is not the plate when the detector is sure the plate
        is somewhere else in the frame; an issued shape is taken without asking."""
        found = self.interpret(line.text)
        checks = self.config.classic_check_catch_all and self.detector is not None
        if not checks or found is None or found.specific:
            return False
        sure = self.sure_plates(image)
        return bool(sure) and not any(iou(box, plate) > 0 for plate in sure)

    def plates_in_boxes(self, image: np.ndarray, view: str) -> list[PlateRead] | None:
        """`classic`'s second stage: text detection in the detector's plate boxes only.

        Where no character row settled the frame (a plate the edge density ranks low,
        two reads of a row that disagree), the text detector's own line box is often
        read better, and inside a plate box it costs a fraction of the whole frame
        (on ../shared/data over five versions of each photo: 52 of the 79 frames no row
        settled were settled here, 59 read right against 58 by the whole frame).
        Settled by a line read as sure and plate-shaped as a row's must be
        (`plate_shown`), in the boxes widened by each of `PLATE_BOX_MARGINS` in turn;
        None otherwise, and the caller runs text detection over all.
        """
        plates = self.plate_regions(image)
        # A line inside a sure box, as the tight crop holds it, may be numbers only.
        sure = [
            expand(p.box, PLATE_BOX_MARGINS[0], image.shape)
            for p in plates
            if p.score >= SURE_PLATE
        ]
        for margin in PLATE_BOX_MARGINS:
            lines: list[TextLine] = []
            for plate in plates:
                box = expand(plate.box, margin, image.shape)
                if box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                    lines += self.spot_in(image, box, PLATE_BOX_DET_SIDE)
            lines = self.shaped_lines(image, lines)
            for line in lines:
                if self.strong_plate(line, image, view, any(inside(line.box, b) for b in sure)):
                    return self.plates_in(lines, image, view)
        return None

    def candidate_rows(self, image: np.ndarray) -> Iterator[tuple[CharacterRow, bool]]:
        """Plate character rows to read, best first, no duplicates, each with whether
        it lies in a box the detector is sure is a plate (`SURE_PLATE`).

        A frame the plate fills offers its own row first, across its width
        (`frame_row`): the coarse boxes take no blob that size for a plate, and such a
        frame went to text detection over the whole frame (over the 1,218-frame
        scratch harness 17 more reads right, none wrong, and 221 frames left to the
        whole frame against 463). The localiser's first `LOCALISER_FIRST` rows come
        next: they settle most frames (≈ 5-18 ms). Only then is the detector asked
        (`classic_yolo`, ≈ 8 ms), and rows in its sure plate boxes come next: it finds
        plates the edge density ranks low (low contrast; a sticker or grille with more
        edges). Then the localiser's other rows. Lazy: nothing is looked for before the
        caller asks for the next row.
        """
        seen: list[CharacterRow] = []

        def new(row: CharacterRow) -> bool:
            if any(iou(row.box, r.box) > SAME_ROW_IOU for r in seen):
                return False
            seen.append(row)
            return True

        gray = to_gray(image)
        filled = frame_row(gray)
        if filled is not None and new(filled):
            self.stats["frame_rows"] += 1
            yield filled, False
        localised = plate_rows(gray)
        for row in itertools.islice(localised, LOCALISER_FIRST):
            if new(row):
                yield row, False
        if self.config.classic_yolo:
            for box in self.sure_plates(image):
                boxed = character_row(gray, box)
                if boxed is not None and new(boxed):
                    yield boxed, True
        for row in localised:
            if new(row):
                yield row, False

    def read_line(self, image: np.ndarray, box: Box, turn: bool = False) -> TextLine | None:
        """The recogniser's read of `box` (`turn`: a column, turned upright first, as
        the OCR engine turns tall lines); None when too small or not sure enough."""
        x1, y1, x2, y2 = box
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        crop = image[y1:y2, x1:x2]
        text, score, chars = self.spotter.recognise_chars(
            np.ascontiguousarray(np.rot90(crop)) if turn else crop
        )
        return TextLine(text, score, box, chars) if score >= self.config.min_text_score else None

    def strong_plate(
        self, line: TextLine, image: np.ndarray, view: str, in_plate: bool = False
    ) -> str | None:
        """The plate a read shows (`plate_shown`) when it alone is sure enough to skip
        text detection (`classic_min_confidence`)."""
        shown = self.plate_shown(line, image, view, in_plate)
        if shown is not None and shown.confidence >= self.config.classic_min_confidence:
            return shown.text
        return None

    def plate_shown(
        self, line: TextLine, image: np.ndarray, view: str, in_plate: bool = False
    ) -> PlateRead | None:
        """The plate a row's read shows, if its shape is enough to take it for one.

        Either an issued shape or, for a catch-all shape, 5+ characters mixing
        letters and digits: a word (a make, a state, a slogan) or a number (a year
        sticker) fits a catch-all too. Inside a box the detector is sure is a plate
        (`in_plate`), 5+ characters of one kind will do: numbers-only plates are
        issued, and the row is the plate's largest.
        """
        found = self.interpret(line.text)
        if found is None:
            return None
        raw = normalize(line.text)  # as read: the US O->0 rule must not make a word mixed
        if not found.specific and (len(raw) < 5 or (len(kinds(raw)) < 2 and not in_plate)):
            return None
        reads = self.plates_in([line], image, view)
        return reads[0] if reads else None

    def plates_in(self, lines: list[TextLine], image: np.ndarray, view: str) -> list[PlateRead]:
        pieces = [([line], line.text) for line in lines]
        pieces += [
            ([a, b], f"{a.text}{b.text}")
            for a in lines
            for b in lines
            if a is not b and same_row(a, b)
        ]
        reads: dict[str, PlateRead] = {}
        catch_all: set[str] = set()
        for used, raw in pieces:
            found = self.interpret(raw)
            if found is None:
                continue
            score = min(line.score for line in used)
            confidence = round(score * max(0.2, 1.0 - 0.25 * found.cost), 4)
            if confidence < self.config.min_plate_confidence:
                continue
            text, known = found.text, False
            if self.config.known_plates:
                match = match_known(
                    text, self.config.known_plates, self.config.known_plate_max_cost
                )
                if match is not None:
                    text, known = match, True
            if not found.specific:
                catch_all.add(text)
            box = union([line.box for line in used])
            held = reads.get(text)
            if held is None or confidence > held.confidence:
                crop = self.crop(image, box)
                reads[text] = PlateRead(text, confidence, box, view, found.region, crop, 1, known)
        # A catch-all shape (vanity plates) fits many words: such a read is dropped
        # when an issued-shape read in the frame is clearly stronger, and a read of
        # letters only (a make, a dealer, a slogan) whenever the frame shows an issued
        # plate at all: the vehicle's plate is that one.
        best_issued = max((r.confidence for t, r in reads.items() if t not in catch_all), default=0)
        kept = [
            r
            for t, r in reads.items()
            if t not in catch_all
            or (r.confidence > best_issued - 0.15 and not (best_issued and t.isalpha()))
        ]
        return self.drop_fragments(sorted(kept, key=lambda r: -r.confidence))

    @staticmethod
    def drop_fragments(reads: list[PlateRead]) -> list[PlateRead]:
        """A read whose box lies inside a stronger read's box is a piece of that plate."""
        kept: list[PlateRead] = []
        for read in reads:
            if not any(inside(read.box, k.box, slack=2) for k in kept):
                kept.append(read)
        return kept

    def crop(self, image: np.ndarray, box: Box) -> bytes:
        x1, y1, x2, y2 = expand(box, self.config.crop_margin, image.shape)
        if x2 <= x1 or y2 <= y1:
            return b""
        ok, jpeg = cv2.imencode(
            ".jpg", image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        )
        return jpeg.tobytes() if ok else b""

    def read_frame(
        self, image: np.ndarray, view: str = "cam", stage: Stage = "all", area: Area | None = None
    ) -> FrameReads:
        """Everything one frame shows; containers here are single-frame accepts only.
        `stage`: "whole" reads by text detection over the whole frame only (codes
        never from the code boxes alone, plates past the rows and boxes); "cheap" (a
        plate lane) returns an `unsettled` FrameReads where rows and plate boxes
        settle nothing. `area`: only that part of the frame is read (`vision.area`);
        the reads' boxes are in the frame's pixels all the same."""
        if image is None or image.ndim != 3 or image.shape[0] < 8 or image.shape[1] < 8:
            raise ImageError(f"not a BGR frame: {getattr(image, 'shape', None)}")
        if area is not None:
            part, offset = cut_to(image, area)
            if part.shape[0] < 8 or part.shape[1] < 8:
                raise ImageError(
                    f"the read area {area} leaves {part.shape[:2]} pixels of the frame"
                )
            return in_frame(self.read_frame(part, view, stage), offset)
        if self.plates_only and stage != "whole":
            settled = self.settled_plates(image, view)
            if settled is not None:
                return FrameReads(settled, [], [])
            if stage == "cheap":
                return FrameReads([], [], [], unsettled=True)
        box_codes: list[codes.CodeCandidate] | None = None
        if self.codes_first and stage != "whole":
            boxed, box_codes = self.codes_in_boxes(image, view)
            if boxed is not None:
                return boxed
        lines = self.text_lines(image)
        plates: list[PlateRead] = []
        if self.config.read_plates:
            plates = self.plates_in(lines, image, view)
            settled = None
            if self.plate_rows and not self.plates_only:
                # Codes too: text detection has run. The rows where it saw plates (all
                # rows where it saw none) are read as a plate lane reads them, and a
                # row that settles stands in for the lines' plates.
                settled = self.settled_plates(image, view, [p.box for p in plates] or None)
            if settled:
                plates = settled
            else:
                # The lines' plates, a doubtful glyph settled by the shapes (read again
                # only now: a container side's lines cost no reads where a row settled).
                shaped = self.shaped_lines(image, lines)
                if shaped != lines:
                    plates = self.plates_in(shaped, image, view)
        candidates: list[codes.CodeCandidate] = []
        containers: list[ContainerRead] = []
        if self.config.read_containers:
            candidates = codes.read_codes(lines, self.config.min_text_score)
            serials = self.serials_beside_owners(image, lines, candidates)
            if serials:
                candidates = codes.read_codes(lines + serials, self.config.min_text_score)
            candidates = self.with_code_boxes(image, candidates, box_codes)
            containers = self.container_reads(image, view, candidates)
            # A container code (or its size-type code) is not also a plate.
            taken = {c.code for c in containers} | {c.size_type for c in containers if c.size_type}
            plates = [p for p in plates if not any(p.text in code for code in taken)]
            if containers and plates:
                plates = self.plates_boxed(image, plates)
        return FrameReads(
            plates, containers, candidates, hazards=self.hazards_in(lines, image, view)
        )

    def hazards_in(self, lines: list[TextLine], image: np.ndarray, view: str) -> list[HazardRead]:
        """The ADR orange plates a frame's text lines show (`vision.hazard`)."""
        if not self.config.read_hazards:
            return []
        return [
            HazardRead(hazard, un, confidence, box, view, self.crop(image, box))
            for hazard, un, confidence, box in hazard_plates(
                lines, image, lambda box: self.read_line(image, box)
            )
        ]

    def plates_boxed(self, image: np.ndarray, plates: list[PlateRead]) -> list[PlateRead]:
        """In a frame that shows a container code, the plates the region detector
        boxes as plates too. A container side's markings fit plate shapes (`TARE`,
        `NET`, `VGM`, `3480KGS`, `332CUM`, `BEAU22G1`: 19 reads over the 10 container
        photos of ../shared/data, one of them a registration painted on a cab, none on
        a box the detector called a plate); a truck's plate in the same frame is one
        it boxes (49 of 53 plates in the plate photos). Without a detector, the
        plates stay as read."""
        if self.detector is None:
            return plates
        boxes = [r.box for r in self.plate_regions(image)]
        return [p for p in plates if any(iou(p.box, box) > 0 for box in boxes)]

    def container_reads(
        self, image: np.ndarray, view: str, candidates: list[codes.CodeCandidate]
    ) -> list[ContainerRead]:
        """The codes one frame may claim on its own (`codes.accepted`), with their crops."""
        return [
            ContainerRead(
                c.code, c.size_type, c.confidence, c.box, view, self.crop(image, c.box), (view,)
            )
            for c in codes.accepted(candidates)
        ]

    def code_box_reads(
        self, image: np.ndarray, skip: Sequence[Box] = ()
    ) -> list[list[codes.CodeCandidate]]:
        """The code candidates of each of the region detector's code boxes (text
        detection with `CODE_BOX_MARGIN`) that overlaps none of `skip`."""
        per_box = []
        for region in self.regions(image):
            box = expand(region.box, CODE_BOX_MARGIN, image.shape)
            x1, y1, x2, y2 = box
            if region.kind != "container_code" or min(x2 - x1, y2 - y1) < 8:
                continue
            if not any(iou(box, taken) > 0 for taken in skip):
                lines = self.spot_in(image, box)
                per_box.append(codes.read_codes(lines, self.config.min_text_score))
        return per_box

    def codes_in_boxes(
        self, image: np.ndarray, view: str
    ) -> tuple[FrameReads | None, list[codes.CodeCandidate]]:
        """`classic`, reading codes only: text detection in the region detector's code
        boxes, before (and, where it settles the view, instead of) the whole frame.

        A container side carries far more text than its code (the CSC plate, weights,
        the lessor's name), and recognising it all is most of a view's time. Where
        every code box the detector finds shows a code whose check digit is right as
        read (`codes.accepted`), the view is settled. Otherwise (no box, or a box that
        reads no valid code: a fragment, a code cut by the box) the reads are None,
        and the caller runs text detection over the whole frame, adding the codes of
        the boxes that did show one (`with_code_boxes`). The views of a passage are
        fused as ever: a second container only another view shows is found there.
        """
        per_box = self.code_box_reads(image)
        showing = [found for found in per_box if codes.accepted(found)]
        box_codes = codes.merged(*showing)
        if not per_box or len(showing) < len(per_box):
            self.stats["code_fallbacks"] += 1
            return None, box_codes
        self.stats["code_boxes"] += 1
        reads = FrameReads([], self.container_reads(image, view, box_codes), box_codes, True)
        return reads, box_codes

    def with_code_boxes(
        self,
        image: np.ndarray,
        candidates: list[codes.CodeCandidate],
        box_codes: list[codes.CodeCandidate] | None,
    ) -> list[codes.CodeCandidate]:
        """The whole frame's code candidates and those of the detector's code boxes it
        read no code in: text detection over a whole frame misses a code a box shows
        (a column at the frame's scale, JPEG noise), and the box, read at its own
        scale, reads it. `box_codes`: the boxes' codes already read (`codes_in_boxes`)."""
        if not self.reads_code_boxes:
            return candidates
        if box_codes is None:
            taken = [c.box for c in codes.accepted(candidates)]
            box_codes = codes.merged(*self.code_box_reads(image, taken))
        if not box_codes:
            return candidates
        return codes.merged(candidates, box_codes)

    def settled_plates(
        self, image: np.ndarray, view: str, near: Sequence[Box] | None = None
    ) -> list[PlateRead] | None:
        """`classic`: the plates a character row settles or a sure read in the
        detector's plate boxes; None when neither does, and the lines of text
        detection over the whole frame show the plates.

        With container codes read too, that detection has run first, and where its
        lines show plates only rows touching them (`near`) are read: a container
        side's many rows cost reads only where the detector saw plate-like text. The
        plate boxes are still read where no row settles: not to save the detection,
        but because a plate box's own line reads better than the frame's as often as
        not (over five versions of each US photo, the CLI read 122 of 130 from the
        lines and 123 with the boxes, as a plate lane does). A row's or a box's plates
        then stand in for the lines' (see docs/vision.md, "With container codes too").
        """
        found = self.classic_plates(image, view, near)
        if found is not None:
            self.stats["classic_rows"] += 1
            return found
        if self.config.classic_boxes:
            found = self.plates_in_boxes(image, view)
            if found is not None:
                self.stats["classic_boxes"] += 1
                return found
        self.stats["classic_fallbacks"] += 1
        return None

    def serials_beside_owners(
        self, image: np.ndarray, lines: list[TextLine], found: list[codes.CodeCandidate]
    ) -> list[TextLine]:
        """Serials the text detector missed, read where the layout puts them.

        The detector sometimes finds an owner code (`BEAU`, a column of its own) but
        not the serial under or beside it; the recogniser alone reads that region
        (a column turned upright first, as the OCR engine turns tall lines). A region
        read is kept only when, after the owner code, it makes a code whose check
        digit is right as read; it then goes through the frame's code search with
        the other lines.
        """
        serials: list[TextLine] = []
        for owner in codes.lone_owner_codes(lines, found):
            for box in codes.serial_regions(owner, image.shape):
                line = self.read_line(image, box, turn=owner.vertical)
                if line is not None and codes.accepted(
                    codes.read_codes([owner, line], self.config.min_text_score)
                ):
                    serials.append(line)
                    break
        return serials

    # -- one passage --------------------------------------------------------------

    def read_burst(self, frames: Sequence[Frame]) -> list[PlateRead | ContainerRead | HazardRead]:
        """Fuse the frames of one passage: plates voted, codes fused across views,
        orange plates gathered (`fuse_hazards`)."""
        plate_reads: dict[str, list[PlateRead]] = {}  # per view
        frames_per_view: dict[str, int] = {}
        per_view: dict[str, list[codes.CodeCandidate]] = {}
        crops: dict[str, ContainerRead] = {}
        hazards: list[HazardRead] = []
        if self.plates_only and not self.config.vote_every_frame:
            reads = self.unsettled_read(frames, self.read_frames(frames, stage="cheap"))
        else:
            reads = self.read_frames(frames)
        if self.codes_first:
            reads = self.size_types_read(frames, reads)
        for frame, seen in zip(frames, reads, strict=True):
            if seen is not None and seen.unsettled:
                continue  # left unread (`unsettled_read`): no vote, not a frame that missed
            frames_per_view[frame.view] = frames_per_view.get(frame.view, 0) + 1
            if seen is None:
                continue
            plate_reads.setdefault(frame.view, []).extend(seen.plates)
            per_view.setdefault(frame.view, []).extend(seen.candidates)
            hazards += seen.hazards
            for c in seen.containers:
                if c.code not in crops or c.confidence > crops[c.code].confidence:
                    crops[c.code] = c
        results: list[PlateRead | ContainerRead | HazardRead] = [
            *self.fuse_plates(plate_reads, frames_per_view)
        ]
        for fused in codes.fuse_views(per_view):
            shown = crops.get(fused.code)
            results.append(
                ContainerRead(
                    fused.code,
                    fused.size_type,
                    fused.confidence,
                    shown.box if shown else (fused.box or (0, 0, 0, 0)),
                    shown.view if shown else fused.views[0],
                    shown.crop_jpeg if shown else b"",
                    tuple(fused.views),
                )
            )
        return results + fuse_hazards(hazards)

    def unsettled_read(
        self, frames: Sequence[Frame], reads: list[FrameReads | None]
    ) -> list[FrameReads | None]:
        """A plate lane's burst: the frames rows and plate boxes settled nothing in are
        read by text detection over the whole frame (≈ 100-250 ms a frame) only where
        no frame of the same view settled; elsewhere they stay `unsettled` and cast no
        vote. A vehicle seen as it comes to the barrier often shows its plate surely
        in one frame and too small, cut off or blurred in another, and the whole
        frame's read of that other frame is right less often than not (on
        ../shared/data, 15 of the 24 frames over six versions of each photo; bench
        vision, "approaching" bursts). Where no frame of a view settled, its last
        frame is read whole, and its other frames too where that one shows a plate."""
        unsettled = [i for i, seen in enumerate(reads) if seen is not None and seen.unsettled]
        settled_views = {
            frame.view
            for i, (frame, seen) in enumerate(zip(frames, reads, strict=True))
            if seen is not None and i not in unsettled
        }
        again = [i for i in unsettled if frames[i].view not in settled_views]
        # The last frame first: a vehicle coming to the barrier is nearest in it. Frames
        # of one vehicle show one scene; where the whole of one holds no plate, the
        # others mostly hold none either (a plate too small or dirty to read, or none),
        # and reading them cost ≈ 150-250 ms a frame for nothing.
        lead = sorted({frames[i].view: i for i in again}.values())
        reads = list(reads)
        self.read_whole(frames, reads, lead)
        shown = {frames[i].view for i in lead if (seen := reads[i]) is not None and seen.plates}
        self.read_whole(
            frames, reads, [i for i in again if i not in lead and frames[i].view in shown]
        )
        self.stats["frames_left_unread"] += sum(
            1 for seen in reads if seen is not None and seen.unsettled
        )
        return reads

    def read_whole(
        self, frames: Sequence[Frame], reads: list[FrameReads | None], which: list[int]
    ) -> None:
        """Read the frames at `which` by text detection over the whole frame, in place."""
        for i, seen in zip(
            which, self.read_frames([frames[i] for i in which], stage="whole"), strict=True
        ):
            reads[i] = seen

    def size_types_read(
        self, frames: Sequence[Frame], reads: list[FrameReads | None]
    ) -> list[FrameReads | None]:
        """The views settled in their code boxes read again over the whole frame where
        a code they claim has its size type in no view of the passage: the size-type
        code stands beside or under the code, mostly outside the detector's box (on
        ../shared/data, the boxes showed it in 34 of the 50 versions of the views, the
        whole frame in 45). The other views of a passage mostly show it, so most
        passages read no view twice."""
        typed = {
            c.code
            for seen in reads
            if seen is not None
            for c in seen.candidates
            if c.size_type and c.status != "unverified"
        }
        again = [
            i
            for i, seen in enumerate(reads)
            if seen is not None and seen.boxed and any(c.code not in typed for c in seen.containers)
        ]
        if not again:
            return reads
        self.stats["code_views_read_whole"] += len(again)
        whole = self.read_frames([frames[i] for i in again], stage="whole")
        reads = list(reads)
        # Read whole, a view still has the codes its boxes showed (`with_code_boxes`).
        for i, seen in zip(again, whole, strict=True):
            reads[i] = seen or reads[i]
        return reads

    def read_frames(self, frames: Sequence[Frame], stage: Stage = "all") -> list[FrameReads | None]:
        """Each frame's reads in order (None for a frame that is not an image)."""
        workers = self.config.view_workers
        if workers < 2 or len(frames) < 2:
            return [self.read_or_skip(frame, stage) for frame in frames]
        with ThreadPoolExecutor(min(workers, len(frames))) as pool:
            return list(pool.map(partial(self.read_on_a_free_worker, stage=stage), frames))

    def read_on_a_free_worker(self, frame: Frame, stage: Stage = "all") -> FrameReads | None:
        worker = self._workers.get()
        try:
            return worker.read_or_skip(frame, stage)
        finally:
            self._workers.put(worker)

    def read_or_skip(self, frame: Frame, stage: Stage = "all") -> FrameReads | None:
        try:
            return self.read_frame(frame.image, frame.view, stage, frame.area)
        except ImageError as err:
            log.warning("view %s: frame skipped: %s", frame.view, err)
            return None

    @staticmethod
    def fuse_plates(
        reads: dict[str, list[PlateRead]], frames_per_view: dict[str, int]
    ) -> list[PlateRead]:
        """Vote each view's frames, then combine views: a plate only the front camera
        can see is not weakened by the top camera's frames."""
        best: dict[str, PlateRead] = {}
        per_view: dict[str, list[float]] = {}
        frames_agreeing: dict[str, int] = {}
        for view, view_reads in reads.items():
            for v in vote([(p.text, p.confidence) for p in view_reads], frames_per_view[view]):
                shown = max((p for p in view_reads if p.text == v.text), key=lambda p: p.confidence)
                per_view.setdefault(v.text, []).append(v.confidence)
                frames_agreeing[v.text] = frames_agreeing.get(v.text, 0) + v.frames
                if v.text not in best or shown.confidence > best[v.text].confidence:
                    best[v.text] = shown
        fused = [
            replace(p, confidence=views_agree(per_view[t]), frames=frames_agreeing[t])
            for t, p in best.items()
        ]
        return sorted(fused, key=lambda p: -p.confidence)
