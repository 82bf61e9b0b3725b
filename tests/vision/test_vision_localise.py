"""The classical plate localiser on drawn and rendered frames, and the `classic` path."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from vision.config import VisionConfig
from vision.localise import (
    FILLED_FRAME_CHARS,
    best_row,
    character_row,
    coarse_boxes,
    frame_row,
    iou,
    plate_rows,
    row_in,
)
from vision.plates import normalize
from vision.reader import LaneVision, PlateRead
from vision.synth import render_container_scene, render_plate_scene
from vision.text import Box, TextLine

# The classic path without the YOLO detector (no plate boxes, no check of catch-all reads).
NO_DETECTOR = VisionConfig(
    read_containers=False, classic_boxes=False, classic_check_catch_all=False
)


def street(seed: int = 0, h: int = 600, w: int = 800) -> np.ndarray:
    """A grey, noisy, unevenly lit frame with a few soft shapes (no text)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(70, 150, w, dtype=np.float32)[None, :].repeat(h, axis=0)
    image = ramp + rng.normal(0, 6, (h, w)).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    cv2.circle(image, (150, 150), 60, 40, -1)
    cv2.rectangle(image, (500, 80), (760, 200), 180, -1)
    return cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_GRAY2BGR)


def draw_plate(
    image: np.ndarray, text: str, x: int, y: int, scale: float = 1.4, frame: int = 3
) -> tuple[Box, Box]:
    """A white plate with a dark frame and dark characters; (plate box, text box)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
    pad_x, pad_y = int(0.4 * th), int(0.35 * th)
    plate = (x, y, x + tw + 2 * pad_x, y + th + base + 2 * pad_y)
    cv2.rectangle(image, plate[:2], plate[2:], (235, 235, 235), -1)
    cv2.rectangle(image, plate[:2], plate[2:], (20, 20, 20), frame)
    origin = (x + pad_x, y + pad_y + th)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (15, 15, 15), 3)
    return plate, (origin[0], origin[1] - th, origin[0] + tw, origin[1])


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_coarse_boxes_find_a_drawn_plate_and_nothing_on_a_bare_street() -> None:
    bare = cv2.cvtColor(street(), cv2.COLOR_BGR2GRAY)
    assert coarse_boxes(bare) == []
    image = street()
    plate, _ = draw_plate(image, "AB123CD", 300, 380)
    boxes = coarse_boxes(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert boxes and len(boxes) <= 8
    assert any(iou(b, plate) > 0.3 for b in boxes), (boxes, plate)
    h, w = image.shape[:2]
    assert all(0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h for b in boxes)


def test_character_row_covers_the_characters_even_when_they_touch_the_frame() -> None:
    image = street(1)
    # A thick frame drawn right against the characters: they join it when binarised.
    plate, text = draw_plate(image, "RK291AT", 250, 300, scale=1.6, frame=9)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    row = character_row(gray, plate)
    assert row is not None
    assert row.chars >= 6  # seven characters; two may touch
    assert iou(row.box, text) > 0.6, (row.box, text)
    # with a margin, the crop holds the whole text and stays inside the frame
    x1, y1, x2, y2 = row.with_margin(0.35, 0.2, image.shape)
    assert x1 <= text[0] and x2 >= text[2] and y1 <= text[1] + 2 and y2 >= text[3] - 2
    assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]


def test_the_largest_row_of_characters_wins() -> None:
    small = [(10 + 12 * i, 10, 8, 14) for i in range(9)]  # a line of small print
    large = [(10 + 30 * i, 40, 20, 40) for i in range(7)]  # the registration
    assert best_row(small + large) == large
    # a row that is broken by a wide gap keeps its longest part
    gap = [(10 + 30 * i, 40, 20, 40) for i in range(3)] + [
        (400 + 30 * i, 40, 20, 40) for i in range(4)
    ]
    assert best_row(gap) == gap[3:]
    # too few blobs, or blobs that do not line up, are no row
    assert best_row(large[:2]) == []
    assert best_row([(10, 10, 20, 40), (40, 60, 20, 40), (70, 110, 20, 40)]) == []


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (2, "eu"), (3, "br"), (4, "eu")])
def test_plate_rows_find_rendered_plates(seed: int, region: str) -> None:
    scene = render_plate_scene(np.random.default_rng(seed), region=region)
    rows = list(plate_rows(scene.image))
    assert any(overlaps(r.box, scene.objects[0].box) for r in rows[:4]), (rows, scene.objects)


def plate_crop(seed: int, region: str) -> tuple[np.ndarray, str]:
    """A rendered plate cut out with 4 px around it: a frame the plate fills."""
    scene = render_plate_scene(np.random.default_rng(seed), region=region)
    plate = scene.objects[0]
    x1, y1, x2, y2 = plate.box
    return scene.image[max(0, y1 - 4) : y2 + 4, max(0, x1 - 4) : x2 + 4].copy(), plate.text


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (2, "eu"), (7, "eu")])
def test_a_frame_the_plate_fills_offers_its_own_row_across_its_width(
    seed: int, region: str
) -> None:
    crop, _ = plate_crop(seed, region)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    row = frame_row(gray)
    assert row is not None and row.char_height >= FILLED_FRAME_CHARS * h
    assert (row.box[0], row.box[2]) == (0, w) and 0 <= row.box[1] < row.box[3] <= h
    # As tall in a frame three times as wide, the row spans too little of it.
    wide = cv2.copyMakeBorder(gray, 0, 0, w, w, cv2.BORDER_REPLICATE)
    assert row_in(wide, (0, 0, 3 * w, h)) is not None and frame_row(wide) is None
    # A plate within a street scene is left to the coarse boxes.
    image = street(3)
    draw_plate(image, "RK291AT", 300, 380)
    assert frame_row(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) is None


@pytest.fixture(scope="module")
def plates_only() -> Iterator[LaneVision]:
    yield LaneVision(VisionConfig(regions=["eu", "br"], read_containers=False))


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (2, "eu")])
def test_classic_path_reads_rendered_plates_without_text_detection(
    plates_only: LaneVision, seed: int, region: str
) -> None:
    assert plates_only.config.detector == "classic"
    scene = render_plate_scene(np.random.default_rng(seed), region=region)
    before = plates_only.stats.copy()
    seen = plates_only.read_frame(scene.image, view="front")
    assert scene.objects[0].text in [p.text for p in seen.plates]
    assert plates_only.stats["classic_rows"] == before["classic_rows"] + 1
    assert plates_only.stats["classic_fallbacks"] == before["classic_fallbacks"]
    read = next(p for p in seen.plates if p.text == scene.objects[0].text)
    assert overlaps(read.box, scene.objects[0].box)
    assert read.crop_jpeg.startswith(b"\xff\xd8")


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (4, "eu")])
def test_a_frame_the_plate_fills_is_settled_by_its_own_row(
    seed: int, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vision = LaneVision(NO_DETECTOR)
    crop, text = plate_crop(seed, region)
    seen = vision.read_frame(crop, view="front")
    assert [p.text for p in seen.plates] == [text]
    assert vision.stats["frame_rows"] == 1 and vision.stats["classic_rows"] == 1
    assert vision.stats["classic_fallbacks"] == 0
    # Without it, the coarse boxes find no row in such a frame: text detection reads it.
    monkeypatch.setattr("vision.reader.frame_row", lambda _gray: None)
    vision.read_frame(crop, view="front")
    assert vision.stats["classic_rows"] == 1 and vision.stats["classic_fallbacks"] == 1


def test_classic_path_falls_back_to_text_detection(plates_only: LaneVision) -> None:
    before = plates_only.stats["classic_fallbacks"]
    seen = plates_only.read_frame(street(2), view="front")
    assert seen.plates == []
    assert plates_only.stats["classic_fallbacks"] == before + 1


def test_only_a_strong_read_ends_the_search() -> None:
    vision = LaneVision(VisionConfig(regions=["us", "eu"], read_containers=False))
    image = street(3)
    box = (10, 10, 200, 60)
    assert vision.strong_plate(TextLine("RK-291AT", 0.98, box), image, "v") == "RK291AT"
    assert vision.strong_plate(TextLine("6ZWF846", 0.97, box), image, "v") == "6ZWF846"
    # weak, or words and numbers that only a catch-all shape takes: not strong
    assert vision.strong_plate(TextLine("RK-291AT", 0.6, box), image, "v") is None
    assert vision.strong_plate(TextLine("JOSHJAY", 0.99, box), image, "v") is None
    assert vision.strong_plate(TextLine("RHODE IS", 0.99, box), image, "v") is None
    assert vision.strong_plate(TextLine("9185914", 0.99, box), image, "v") is None
    assert vision.strong_plate(TextLine("7AI", 0.99, box), image, "v") is None
    assert vision.strong_plate(TextLine("2014-05-10", 0.99, box), image, "v") is None


def test_with_container_codes_a_row_reads_the_plate_and_detection_the_codes() -> None:
    vision = LaneVision(VisionConfig(regions=["eu"]))  # read_containers on (the default)
    assert not vision.plates_only and vision.detector is not None  # the catch-all check
    scene = render_plate_scene(np.random.default_rng(2), region="eu")
    seen = vision.read_frame(scene.image)
    # The plate is the row's read, not the whole frame's lines (a row settled it)...
    assert vision.stats["classic_rows"] == 1 and vision.stats["classic_fallbacks"] == 0
    assert [p.text for p in seen.plates] == [scene.objects[0].text]
    assert [p.text for p in seen.plates] == [
        p.text for p in vision.classic_plates(scene.image, "cam") or []
    ]
    # ...and the codes still come from text detection over the whole frame.
    side = render_container_scene(np.random.default_rng(12), vertical=False)
    seen = vision.read_frame(side.image)
    assert side.objects[0].text in [c.code for c in seen.containers]
    assert all(side.objects[0].text not in p.text for p in seen.plates)


def test_inside_a_sure_plate_box_a_numbers_only_read_is_strong() -> None:
    vision = LaneVision(VisionConfig(regions=["us"], read_containers=False))
    image, box = street(3), (10, 10, 200, 60)
    assert vision.strong_plate(TextLine("9185914", 0.99, box), image, "v", in_plate=True)
    # ...but still not a short one, a weak one, or a state name
    assert vision.strong_plate(TextLine("2014", 0.99, box), image, "v", in_plate=True) is None
    assert vision.strong_plate(TextLine("9185914", 0.6, box), image, "v", in_plate=True) is None
    assert vision.strong_plate(TextLine("TEXAS", 0.99, box), image, "v", in_plate=True) is None


def test_detector_rows_come_after_the_localisers_first_and_are_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vision.reader
    from vision.synth_vehicle import render_vehicle_scene

    with_yolo = LaneVision(VisionConfig(read_containers=False, classic_yolo=True))
    without = LaneVision(NO_DETECTOR)
    assert with_yolo.detector is not None and without.detector is None
    scenes = [render_vehicle_scene(np.random.default_rng(s), (800, 600)) for s in range(6)]
    for scene in scenes:
        rows = list(with_yolo.candidate_rows(scene.image))
        flags = [sure for _, sure in rows]
        assert not any(flags[: vision.reader.LOCALISER_FIRST])
        boxes = [row.box for row, _ in rows]
        assert all(iou(a, b) <= 0.5 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        assert not any(flag for _, flag in without.candidate_rows(scene.image))
    # With the detector asked first, its sure boxes hold the rendered plates.
    monkeypatch.setattr(vision.reader, "LOCALISER_FIRST", 0)
    found = 0
    for scene in scenes:
        row, sure = next(with_yolo.candidate_rows(scene.image), (None, False))
        found += bool(sure and row and any(overlaps(row.box, o.box) for o in scene.objects))
    assert found >= 4


def test_a_row_cut_by_its_search_region_is_followed_past_it() -> None:
    image = street(4)
    _, text = draw_plate(image, "AB123CD", 200, 320, scale=1.6)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # A coarse box over the plate's right 60 % only (it happens: the edge blob splits at
    # a plate's separator); the region searched around it ends inside the first letters.
    part = (text[0] + int(0.4 * (text[2] - text[0])), text[1] - 4, text[2] + 4, text[3] + 4)
    row = character_row(gray, part)
    assert row is not None
    assert row.chars >= 6, row
    assert row.box[0] <= text[0] + 4 and row.box[2] >= text[2] - 4, (row.box, text)


def test_a_near_plate_ranks_above_small_dense_edges() -> None:
    image = street(5)
    plate, _ = draw_plate(image, "OZC8400", 260, 380, scale=2.2, frame=4)
    for x, y in ((40, 60), (600, 250), (90, 470), (700, 520), (420, 120)):
        for i in range(0, 36, 3):  # a grille's slats: short, dense vertical edges
            cv2.line(image, (x + i, y), (x + i, y + 9), (10, 10, 10), 1)
    boxes = coarse_boxes(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert boxes and iou(boxes[0], plate) > 0.3, (boxes, plate)


def test_two_reads_of_a_row_that_agree_settle_it_when_one_is_sure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vision = LaneVision(VisionConfig(regions=["us"], read_containers=False))
    image = street(3)
    plate, box = draw_plate(image, "4FCW533", 260, 300)
    row = character_row(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), plate)
    assert row is not None
    monkeypatch.setattr(vision, "candidate_rows", lambda _image: iter([(row, False)]))

    def reads(*texts: tuple[str, float]) -> None:
        it = iter(texts)
        monkeypatch.setattr(vision, "read_line", lambda *_a, **_k: TextLine(*next(it), box))

    reads(("4FCW533", 0.86), ("4FCW533", 0.94))  # the first alone is not sure enough
    found = vision.classic_plates(image, "v")
    assert found is not None and found[0].text == "4FCW533" and found[0].confidence > 0.85
    reads(("UH1FOF", 0.87), ("UHIFOF", 0.95))  # the crop decides a glyph: not settled
    assert vision.classic_plates(image, "v") is None
    reads(("4FCW533", 0.80), ("4FCW533", 0.82))  # agreeing, but neither sure
    assert vision.classic_plates(image, "v") is None


def test_a_settled_row_is_the_frames_plate_not_the_rows_read_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vision.localise import CharacterRow

    vision = LaneVision(NO_DETECTOR.model_copy(update={"regions": ["us"]}))
    image = street(4)
    dealer = CharacterRow((100, 80, 300, 120), 7, 30.0)
    plate = CharacterRow((300, 400, 460, 440), 6, 30.0)
    monkeypatch.setattr(
        vision, "candidate_rows", lambda _image: iter([(dealer, False), (plate, False)])
    )
    # A dealer's name (letters only: no catch-all plate alone), then the plate, twice.
    it = iter(
        [("CHARTER", 0.99, dealer.box), ("7FR971", 0.93, plate.box), ("7FR971", 0.95, plate.box)]
    )
    monkeypatch.setattr(vision, "read_line", lambda *_a, **_k: TextLine(*next(it)))
    found = vision.classic_plates(image, "v")
    assert found is not None and [p.text for p in found] == ["7FR971"]


def test_the_plate_boxes_are_read_again_wider_when_the_tight_crop_settles_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vision.detector import Region
    from vision.reader import PLATE_BOX_MARGINS, expand

    vision = LaneVision(VisionConfig(regions=["eu"], read_containers=False))
    image = street(6)
    plate = (350, 300, 450, 330)
    monkeypatch.setattr(vision, "regions", lambda _image: [Region("plate", 0.8, plate)])
    widths: list[int] = []

    def spot_in(_image: np.ndarray, box: Box, _det_side: int = 0) -> list[TextLine]:
        widths.append(box[2] - box[0])
        # The tight box cuts the plate's first letters off; the wider one holds it all.
        return [TextLine("291" if len(widths) == 1 else "RK291AT", 0.97, plate)]

    monkeypatch.setattr(vision, "spot_in", spot_in)
    found = vision.plates_in_boxes(image, "v")
    assert found is not None and found[0].text == "RK291AT"
    wanted = [expand(plate, m, image.shape) for m in PLATE_BOX_MARGINS]
    assert widths == [x2 - x1 for x1, _, x2, _ in wanted] and widths[1] > widths[0]
    widths.clear()
    monkeypatch.setattr(vision, "spot_in", lambda *_a: widths.append(0) or [])
    assert vision.plates_in_boxes(image, "v") is None and len(widths) == len(PLATE_BOX_MARGINS)


def test_a_small_plate_box_is_scaled_up_for_text_detection_and_read_in_frame_pixels(
    plates_only: LaneVision, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vision.reader import PLATE_BOX_DET_SIDE

    scene = render_plate_scene(np.random.default_rng(2), region="eu")
    truth = scene.objects[0]
    image = cv2.resize(scene.image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    x1, y1, x2, y2 = (v // 2 for v in truth.box)
    box = (x1 - 6, y1 - 6, x2 + 6, y2 + 6)  # a plate box about 100 px wide
    assert max(box[2] - box[0], box[3] - box[1]) < PLATE_BOX_DET_SIDE
    seen: list[tuple[int, ...]] = []
    spot = plates_only.spotter.spot
    monkeypatch.setattr(
        plates_only.spotter, "spot", lambda crop: seen.append(crop.shape) or spot(crop)
    )
    lines = plates_only.spot_in(image, box, PLATE_BOX_DET_SIDE)
    assert max(seen[-1][:2]) == PLATE_BOX_DET_SIDE  # the detector saw the crop scaled up
    read = [line for line in lines if normalize(line.text) == truth.text]
    assert read, (truth.text, [line.text for line in lines])
    lx1, ly1, lx2, ly2 = read[0].box  # back in frame pixels: inside the box, on the plate
    assert box[0] <= lx1 < lx2 <= box[2] and box[1] <= ly1 < ly2 <= box[3]
    assert iou(read[0].box, (x1, y1, x2, y2)) > 0.3
    plates_only.spot_in(image, box)  # without a side, the crop goes as it is
    assert seen[-1] == (box[3] - box[1], box[2] - box[0], 3)


def test_a_frame_no_row_settles_is_read_in_the_detectors_plate_boxes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vision.synth_vehicle import render_vehicle_scene

    boxes = LaneVision(VisionConfig(read_containers=False))
    whole = LaneVision(NO_DETECTOR)
    assert whole.detector is None
    scenes = [render_vehicle_scene(np.random.default_rng(s), (800, 600)) for s in range(10)]
    for vision in (boxes, whole):  # the localiser finds nothing (a low-contrast plate)
        monkeypatch.setattr(vision, "candidate_rows", lambda _image: iter(()))
    read = 0
    for scene in scenes:
        plates = {o.text for o in scene.objects if o.kind == "plate"}
        seen = boxes.read_frame(scene.image, view="front")
        read += bool(plates & {p.text for p in seen.plates})
        whole.read_frame(scene.image, view="front")
    assert read >= 5
    assert boxes.stats["classic_boxes"] >= 5  # settled without the whole frame's detection
    assert boxes.stats["classic_boxes"] + boxes.stats["classic_fallbacks"] == len(scenes)
    assert whole.stats["classic_fallbacks"] == len(scenes) and not whole.stats["classic_boxes"]


def test_with_codes_too_a_frame_no_row_settles_takes_its_plates_from_the_plate_boxes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vision.synth_vehicle import render_vehicle_scene

    vision = LaneVision(VisionConfig())  # plates and codes: the CLI's default
    assert vision.config.read_containers and not vision.plates_only
    monkeypatch.setattr(vision, "candidate_rows", lambda _image: iter(()))
    boxed = []
    plates_in_boxes = vision.plates_in_boxes

    def in_boxes(image: np.ndarray, view: str) -> list[PlateRead] | None:
        found = plates_in_boxes(image, view)
        boxed.append([p.text for p in found] if found is not None else None)
        return found

    monkeypatch.setattr(vision, "plates_in_boxes", in_boxes)
    seen = []
    for seed in range(4):
        scene = render_vehicle_scene(np.random.default_rng(seed), (800, 600))
        seen.append([p.text for p in vision.read_frame(scene.image, view="front").plates])
    assert len(boxed) == 4 and vision.stats["classic_boxes"] >= 1
    # A box's plates stand in for the lines' plates wherever a box settled.
    assert all(b == s for b, s in zip(boxed, seen, strict=True) if b is not None)


def test_a_catch_all_read_away_from_the_detectors_sure_plate_does_not_settle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vision.localise import CharacterRow
    from vision.synth_vehicle import render_vehicle_scene

    def lane(**options: object) -> LaneVision:
        return LaneVision(VisionConfig(read_containers=False, classic_boxes=False, **options))

    checked, unchecked = lane(regions=["us"]), lane(regions=["us"], classic_check_catch_all=False)
    scenes = (render_vehicle_scene(np.random.default_rng(s), (800, 600)) for s in range(10))
    image = next(sc.image for sc in scenes if checked.sure_plates(sc.image))
    plate = checked.sure_plates(image)[0]
    # A fleet number on a sticker, in the corner farthest from the plate.
    far = (10, 10, 130, 50) if plate[0] > 400 or plate[1] > 300 else (660, 540, 790, 590)
    assert iou(far, plate) == 0
    row = CharacterRow(far, 6, 30.0)
    for vision in (checked, unchecked):
        monkeypatch.setattr(vision, "candidate_rows", lambda _image: iter([(row, False)]))
        monkeypatch.setattr(vision, "read_line", lambda *_a, **_k: TextLine("3479CH", 0.97, far))
    settled = unchecked.classic_plates(image, "v")
    assert settled is not None and settled[0].text == "3479CH"
    assert checked.classic_plates(image, "v") is None  # on to the boxes or the whole frame
    # The same read on the plate the detector is sure of is taken, and so is an issued
    # shape anywhere (a second vehicle's plate).
    assert not checked.plate_is_elsewhere(TextLine("3479CH", 0.97, plate), plate, image)
    eu = lane(regions=["eu"])
    assert not eu.plate_is_elsewhere(TextLine("RK291AT", 0.97, far), far, image)
    assert eu.plate_is_elsewhere(TextLine("3479CH", 0.97, far), far, image)
