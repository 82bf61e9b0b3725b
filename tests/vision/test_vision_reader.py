"""End to end: rendered frames through the real OCR engine; the CLI on real photos."""

from __future__ import annotations

import gc
import itertools
import json
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision import containers as codes
from vision.area import area_box, parse_area
from vision.config import VisionConfig
from vision.errors import ImageError
from vision.evaluate import HARDER_CHANGES
from vision.iso6346 import is_size_type, is_valid_code
from vision.localise import character_row, to_gray
from vision.ocr import LINE_MIN_WIDTH
from vision.plates import normalize
from vision.reader import (
    MIN_CHAR_HEIGHT,
    ROW_MARGINS,
    ContainerRead,
    Frame,
    LaneVision,
    PlateRead,
    load_image,
)
from vision.synth import render_container_scene, render_plate_scene
from vision.text import TextLine

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("CORRIDOR_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def vision() -> Iterator[LaneVision]:
    yield LaneVision(VisionConfig(regions=["eu", "br"]))


@pytest.fixture(scope="module")
def us_lane() -> Iterator[LaneVision]:
    """A plate lane with the default regions, US first."""
    yield LaneVision(VisionConfig(read_containers=False))


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (2, "eu"), (3, "br")])
def test_rendered_plate_is_read(vision: LaneVision, seed: int, region: str) -> None:
    scene = render_plate_scene(np.random.default_rng(seed), region=region)
    truth = scene.objects[0]
    seen = vision.read_frame(scene.image, view="front")
    texts = [p.text for p in seen.plates]
    assert truth.text in texts, (truth.text, texts)
    read = next(p for p in seen.plates if p.text == truth.text)
    x1, y1, x2, y2 = read.box
    tx1, ty1, tx2, ty2 = truth.box
    assert x1 < tx2 and tx1 < x2 and y1 < ty2 and ty1 < y2  # the box is on the plate
    assert 0 < read.confidence <= 1
    assert cv2.imdecode(np.frombuffer(read.crop_jpeg, np.uint8), cv2.IMREAD_COLOR) is not None


def test_detected_lines_use_the_narrow_padding_and_crops_the_trained_one(
    vision: LaneVision,
) -> None:
    """The split padding rests on rapidocr's recogniser object: if an upgrade drops it,
    detected lines silently go back to the crops' width (slower); this says so."""
    rec = vision.spotter._engine.text_rec
    assert rec is not None and list(rec.rec_image_shape) == [3, 48, LINE_MIN_WIDTH]
    seen: list[int] = []
    run = rec.resize_norm_img

    def spy(img: np.ndarray, max_wh_ratio: float) -> np.ndarray:
        seen.append(rec.rec_image_shape[2])
        return run(img, max_wh_ratio)

    rec.resize_norm_img = spy
    try:
        scene = render_plate_scene(np.random.default_rng(4), region="eu")
        vision.spotter.spot(scene.image)
        spotted = set(seen)
        seen.clear()
        x1, y1, x2, y2 = scene.objects[0].box
        vision.spotter.recognise(scene.image[y1:y2, x1:x2])
    finally:
        del rec.resize_norm_img
    assert spotted == {vision.config.rec_min_width} and seen == [LINE_MIN_WIDTH]
    assert list(rec.rec_image_shape) == [3, 48, LINE_MIN_WIDTH]  # restored after the call


@pytest.mark.parametrize(("seed", "vertical"), [(11, True), (12, False)])
def test_rendered_container_code_is_read(vision: LaneVision, seed: int, vertical: bool) -> None:
    scene = render_container_scene(np.random.default_rng(seed), vertical=vertical)
    truth = scene.objects[0].text
    seen = vision.read_frame(scene.image, view="top")
    codes = [c.code for c in seen.containers]
    assert truth in codes, (truth, codes, [c.code for c in seen.candidates])
    assert all(is_valid_code(c) for c in codes)


def owner_code_alone(
    vision: LaneVision, seed: int, vertical: bool
) -> tuple[np.ndarray, TextLine, str]:
    """A rendered container side and its owner code as the text detector would box it
    had it missed the serial: a column's top 4 of 11 characters, or the line it read."""
    scene = render_container_scene(np.random.default_rng(seed), vertical=vertical)
    code = scene.objects[0].text
    x1, y1, x2, y2 = scene.objects[0].box
    if vertical:
        owner = TextLine(code[:4], 0.99, (x1, y1, x2, y1 + (y2 - y1) * 4 // 11))
    else:
        owner = next(
            line for line in vision.spotter.spot(scene.image) if normalize(line.text) == code[:4]
        )
    return scene.image, owner, code


@pytest.mark.parametrize(("seed", "vertical"), [(11, True), (14, True), (12, False), (20, False)])
def test_a_serial_the_detector_missed_is_read_where_the_layout_puts_it(
    vision: LaneVision, seed: int, vertical: bool
) -> None:
    image, owner, code = owner_code_alone(vision, seed, vertical)
    assert codes.accepted(codes.read_codes([owner])) == []  # the owner code alone is no code
    serials = vision.serials_beside_owners(image, [owner], [])
    assert [c.code for c in codes.accepted(codes.read_codes([owner, *serials]))] == [code]


def test_no_serial_is_made_up_where_none_is_painted(vision: LaneVision) -> None:
    image, owner, _ = owner_code_alone(vision, 11, vertical=True)
    x1, _, x2, y2 = owner.box
    blank = image.copy()
    blank[y2:, max(0, x1 - 40) : x2 + 40] = blank[y2 - 5, x2 + 60]  # paint over the serial
    assert vision.serials_beside_owners(blank, [owner], []) == []


def test_an_owner_code_already_read_is_not_read_again() -> None:
    owner = TextLine("BEAU", 1.0, (687, 201, 751, 425))
    read = codes.CodeCandidate("BEAU2576878", "read", 0.99, (676, 201, 751, 720))
    assert codes.lone_owner_codes([owner], [read]) == []
    assert codes.lone_owner_codes([owner], []) == [owner]


def test_a_word_is_not_a_plate_beside_an_issued_plate() -> None:
    # A dealer's name above a Brazilian plate fits the US catch-all shape and was read
    # a little more surely than the plate (a real photo): it is dropped, since the
    # frame shows an issued plate. Alone, a letters-only read stays (vanity plates).
    vision = LaneVision(VisionConfig(read_containers=False))
    image = np.zeros((200, 400, 3), np.uint8)
    dealer = TextLine("CARBRA", 0.96, (100, 40, 300, 70))
    plate = TextLine("ODC-9387", 0.95, (100, 100, 300, 140))
    assert [p.text for p in vision.plates_in([dealer, plate], image, "front")] == ["ODC9387"]
    assert [p.text for p in vision.plates_in([dealer], image, "front")] == ["CARBRA"]


def test_a_stickers_year_ranks_behind_the_registration(us_lane: LaneVision) -> None:
    # Real US plate crops: the registration sticker's year (`2006`, `1896`) was read
    # as surely as the plate beside it, and came first. Three or four characters fit
    # the US catch-all only weakly: alone, such a read is still a plate.
    image = np.zeros((160, 320, 3), np.uint8)
    sticker = TextLine("2006", 0.99, (240, 105, 265, 125))
    vanity = TextLine("QUILLS", 0.98, (6, 20, 220, 108))
    serial = TextLine("887ZFB", 0.98, (6, 20, 220, 108))
    for plate in (vanity, serial):
        reads = us_lane.plates_in([sticker, plate], image, "front")
        assert [p.text for p in reads] == [plate.text, "2006"]
        assert reads[0].confidence > reads[1].confidence
    assert [p.text for p in us_lane.plates_in([sticker], image, "front")] == ["2006"]


@pytest.mark.parametrize(("seed", "lost"), [(8, "I"), (12, "T")])
def test_a_row_short_of_its_plate_box_is_read_across_the_box(
    us_lane: LaneVision, seed: int, lost: str
) -> None:
    # A rendered Brazilian plate whose row is cut one character short at the left, as
    # the row finder cuts a tilted plate: the rest is read surely, and fits the German
    # shape. Read across the detector's plate box, the plate is whole again.
    scene = render_plate_scene(np.random.default_rng(seed), region="br")
    image, plate = scene.image, scene.objects[0]
    row = character_row(to_gray(image), plate.box)
    assert row is not None
    pitch = (row.box[2] - row.box[0]) / len(plate.text)
    cut = replace(row, box=(int(row.box[0] + pitch), *row.box[1:]))
    short = us_lane.read_line(image, cut.with_margin(*ROW_MARGINS[0], image.shape))
    assert short is not None and lost + short.text == plate.text
    assert [line.text for line in us_lane.completed(image, cut, [short])] == [plate.text]
    # A whole row's read is left as it is.
    whole = us_lane.read_line(image, row.with_margin(*ROW_MARGINS[0], image.shape))
    assert whole is not None and us_lane.completed(image, row, [whole]) == [whole]


def test_a_read_across_the_box_must_add_one_sure_character_and_a_shape(
    us_lane: LaneVision,
) -> None:
    def line(text: str, prob: float = 0.99) -> TextLine:
        return TextLine(text, prob, (0, 0, 10, 10), tuple({c: prob} for c in text))

    assert us_lane.restores_a_character(line("OZG3580"), "ZG3580")  # Brazil's shape
    assert not us_lane.restores_a_character(line("OZG3580", 0.9), "ZG3580")  # unsure
    assert not us_lane.restores_a_character(line("OZG35801"), "ZG3580")  # two more
    assert not us_lane.restores_a_character(line("OZC3580"), "ZG3580")  # another read
    # a US plate's graphic read as a letter: German-shaped either way, nothing gained
    assert not us_lane.restores_a_character(line("LYBW23"), "YBW23")


def test_burst_fuses_views_and_votes_plates(vision: LaneVision) -> None:
    rng = np.random.default_rng(21)
    container = render_container_scene(rng, vertical=False)
    plate = render_plate_scene(np.random.default_rng(1), region="br")
    frames = [
        Frame(container.image, "top"),
        Frame(container.image[:, ::-1].copy(), "mirror"),  # a view that can read nothing
        Frame(plate.image, "front"),
    ]
    reads = vision.read_burst(frames)
    codes = [r for r in reads if isinstance(r, ContainerRead)]
    plates = [r for r in reads if isinstance(r, PlateRead)]
    assert [c.code for c in codes] == [container.objects[0].text]
    assert codes[0].views == ("top",)
    assert codes[0].crop_jpeg.startswith(b"\xff\xd8")
    assert plate.objects[0].text in [p.text for p in plates]


def no_entry_sign(shape: tuple[int, ...]) -> np.ndarray:
    """A frame rows and plate boxes settle nothing in, whose whole-frame text
    detection reads `N0ENTRY` (a US catch-all: a 7-character word, O as 0)."""
    image = np.full(shape, 200, np.uint8)
    cv2.putText(image, "NO ENTRY", (60, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 5)
    return image


@pytest.fixture
def read_whole(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """The frames text detection runs over whole, in order (every `LaneVision`)."""
    frames: list[np.ndarray] = []
    text_lines = LaneVision.text_lines

    def spy(self: LaneVision, image: np.ndarray) -> list[TextLine]:
        frames.append(image)
        return text_lines(self, image)

    monkeypatch.setattr(LaneVision, "text_lines", spy)
    return frames


def test_a_plate_burst_reads_a_frame_whole_only_where_no_frame_of_its_view_settled(
    us_lane: LaneVision, read_whole: list[np.ndarray]
) -> None:
    plate = render_plate_scene(np.random.default_rng(2), region="eu")
    sign = no_entry_sign(plate.image.shape)
    assert "N0ENTRY" in [p.text for p in us_lane.read_frame(sign, "front").plates]
    read_whole.clear()
    unread = us_lane.stats["frames_left_unread"]
    # The plate settles the front view: the sign's frame there is left unread.
    reads = us_lane.read_burst([Frame(plate.image, "front"), Frame(sign, "front")])
    assert read_whole == [] and us_lane.stats["frames_left_unread"] == unread + 1
    assert [(p.text, p.frames) for p in reads if isinstance(p, PlateRead)] == [
        (plate.objects[0].text, 1)
    ]
    # In a view of its own, nothing settled it: it is read whole.
    reads = us_lane.read_burst([Frame(plate.image, "front"), Frame(sign, "side")])
    assert len(read_whole) == 1 and read_whole[0] is sign
    assert {p.text for p in reads if isinstance(p, PlateRead)} == {plate.objects[0].text, "N0ENTRY"}
    # `vote_every_frame`: every frame is read through.
    read_whole.clear()
    every = LaneVision(VisionConfig(read_containers=False, vote_every_frame=True))
    reads = every.read_burst([Frame(plate.image, "front"), Frame(sign, "front")])
    assert len(read_whole) == 1 and read_whole[0] is sign
    assert "N0ENTRY" in [p.text for p in reads if isinstance(p, PlateRead)]


def test_a_view_nothing_settled_reads_its_other_frames_whole_only_if_its_last_shows_a_plate(
    us_lane: LaneVision, read_whole: list[np.ndarray]
) -> None:
    sign = no_entry_sign((480, 640, 3))
    blank = np.full(sign.shape, 200, np.uint8)  # a vehicle without a front plate
    unread = us_lane.stats["frames_left_unread"]
    first, last = blank.copy(), blank.copy()
    assert us_lane.read_burst([Frame(first, "front"), Frame(last, "front")]) == []
    assert len(read_whole) == 1 and read_whole[0] is last
    assert us_lane.stats["frames_left_unread"] == unread + 1
    # The last frame shows a plate-shaped line: the others are read whole too.
    read_whole.clear()
    reads = us_lane.read_burst([Frame(first, "front"), Frame(sign, "front")])
    assert [id(image) for image in read_whole] == [id(sign), id(first)]
    assert [p.text for p in reads if isinstance(p, PlateRead)] == ["N0ENTRY"]


def test_a_container_frame_reports_only_the_plates_the_detector_boxes() -> None:
    cli = LaneVision(VisionConfig())  # plates and codes, all regions: `corridor vision read`
    container = render_container_scene(np.random.default_rng(21), vertical=False)
    code = container.objects[0].text
    marked = container.image.copy()
    cv2.putText(marked, "NO ENTRY", (40, 770), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 4)
    sign = no_entry_sign(marked.shape)
    assert [p.text for p in cli.read_frame(sign).plates] == ["N0ENTRY"]  # no code: a plate
    seen = cli.read_frame(marked)
    assert [c.code for c in seen.containers] == [code] and seen.plates == []
    # A vehicle's plate beside the container is boxed by the detector and kept.
    plate = render_plate_scene(np.random.default_rng(21), region="eu")
    height = container.image.shape[0]
    width = round(plate.image.shape[1] * height / plate.image.shape[0])
    both = np.concatenate([cv2.resize(plate.image, (width, height)), marked], axis=1)
    seen = cli.read_frame(both)
    assert [c.code for c in seen.containers] == [code]
    assert [p.text for p in seen.plates] == [plate.objects[0].text]


def test_views_read_at_once_fuse_as_views_read_in_turn(vision: LaneVision) -> None:
    container = render_container_scene(np.random.default_rng(22), vertical=True)
    plate = render_plate_scene(np.random.default_rng(3), region="br")
    frames = [
        Frame(container.image, "top"),
        Frame(np.zeros((4, 4, 3), np.uint8), "broken"),  # skipped, not fatal
        Frame(plate.image, "front"),
        Frame(container.image, "side"),
    ]
    parallel = LaneVision(VisionConfig(regions=["eu", "br"], view_workers=2))
    together = parallel.read_burst(frames)
    in_turn = vision.read_burst(frames)
    assert [(r.__class__, r.text if isinstance(r, PlateRead) else r.code) for r in together] == [
        (r.__class__, r.text if isinstance(r, PlateRead) else r.code) for r in in_turn
    ]
    codes = [r for r in together if isinstance(r, ContainerRead)]
    assert [c.code for c in codes] == [container.objects[0].text]
    assert sorted(codes[0].views) == ["side", "top"]
    assert plate.objects[0].text in [r.text for r in together if isinstance(r, PlateRead)]


def test_bad_frames_are_refused_clearly(vision: LaneVision, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 this is not really a jpeg")
    with pytest.raises(ImageError, match="not a decodable image"):
        load_image(corrupt)
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageError):
        vision.read_frame(np.zeros((4, 4), np.uint8))
    # A burst with one bad frame still reads the others.
    plate = render_plate_scene(np.random.default_rng(1), region="br")
    reads = vision.read_burst(
        [Frame(np.zeros((2, 2, 3), np.uint8), "x"), Frame(plate.image, "front")]
    )
    assert plate.objects[0].text in [r.text for r in reads if isinstance(r, PlateRead)]


def test_a_read_area_reads_its_part_only_and_reports_frame_pixels(vision: LaneVision) -> None:
    left, right = (render_plate_scene(np.random.default_rng(s), region="br") for s in (1, 3))
    wide = np.hstack([left.image, right.image])  # two lanes in one camera's frame
    width = left.image.shape[1]

    def plates(area: tuple[float, float, float, float] | None) -> dict[str, tuple[int, ...]]:
        return {p.text: p.box for p in vision.read_frame(wide, "front", area=area).plates}

    assert left.objects[0].text != right.objects[0].text
    # The whole frame settles on one lane's plate, either of them.
    assert set(plates(None)) & {left.objects[0].text, right.objects[0].text}
    for area, scene, offset in [((0, 0, 0.5, 1), left, 0), ((0.5, 0, 1, 1), right, width)]:
        seen = plates(area)
        assert list(seen) == [scene.objects[0].text], (area, seen)
        x1, y1, x2, y2 = seen[scene.objects[0].text]
        tx1, ty1, tx2, ty2 = scene.objects[0].box
        # The box is on the plate in the wide frame's pixels.
        assert x1 < tx2 + offset and tx1 + offset < x2 and y1 < ty2 and ty1 < y2
    # A burst's frames carry their view's area.
    burst = vision.read_burst([Frame(wide, "front", (0.5, 0, 1, 1))])
    assert [r.text for r in burst if isinstance(r, PlateRead)] == [right.objects[0].text]


def test_a_read_area_is_checked(vision: LaneVision) -> None:
    for text, problem in [
        ("0.5,0,0.2,1", "left to right"),
        ("0,0,1.2,1", "fractions"),
        ("0,0,1", "four numbers"),
        ("a,b,c,d", "four numbers"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_area(text)
    frame = np.full((600, 800, 3), 128, np.uint8)
    with pytest.raises(ImageError, match="read area"):
        vision.read_frame(frame, area=(0.5, 0.5, 0.501, 0.501))  # under 8 pixels
    assert area_box(frame.shape, (0.25, 0.5, 0.75, 1.0)) == (200, 300, 600, 600)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("corridor")), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )


def test_cli_read_reports_bad_files_and_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "plate.jpg"
    cv2.imwrite(str(good), render_plate_scene(np.random.default_rng(1), region="br").image)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    result = run_cli("vision", "read", str(bad), str(good), "--json")
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["file"] == str(bad) and "not a decodable image" in first["error"]
    assert second["file"] == str(good) and "error" not in second
    assert "1 of 2 images could not be read" in result.stderr


def test_cli_read_reads_only_the_area_asked_for(tmp_path: Path) -> None:
    left, right = (render_plate_scene(np.random.default_rng(s), region="br") for s in (1, 3))
    photo = tmp_path / "two-lanes.jpg"
    cv2.imwrite(str(photo), np.hstack([left.image, right.image]))
    drawn = tmp_path / "drawn"
    result = run_cli(
        "vision", "read", str(photo), "--plates-only", "--area", "0.5,0,1,1", "--draw", str(drawn)
    )
    assert result.returncode == 0, result.stderr
    (plate,) = json.loads(result.stdout)["plates"]
    assert plate["text"] == right.objects[0].text
    assert plate["box"][0] >= left.image.shape[1]  # in the photo's pixels
    # The drawing for setting the area: the other lane dimmed, the read outlined in green.
    shown, original = cv2.imread(str(drawn / photo.name)), cv2.imread(str(photo))
    assert shown.shape == original.shape
    width = left.image.shape[1]
    assert shown[:, : width - 10].mean() < 0.5 * original[:, : width - 10].mean()
    x1, y1, x2, _ = plate["box"]
    edge = shown[y1 - 1 : y1 + 2, x1:x2].astype(int)  # the box's top side
    assert ((edge[..., 1] > 180) & (edge[..., 0] < 100) & (edge[..., 2] < 100)).mean() > 0.5
    # A drawing that cannot be written (its folder would lie under a file) keeps the reads.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritten = run_cli(
        "vision", "read", str(photo), "--plates-only", "--draw", str(blocked / "drawn")
    )
    assert unwritten.returncode == 1 and "could not be read or drawn" in unwritten.stderr
    out = json.loads(unwritten.stdout)
    assert "cannot write" in out["error"] and out["plates"]
    refused = run_cli("vision", "read", str(photo), "--area", "0.5,0,0.2,1")
    assert refused.returncode == 2 and "--area" in refused.stderr and not refused.stdout


def test_cli_read_gives_the_same_json_on_either_runtime(tmp_path: Path) -> None:
    scene = render_plate_scene(np.random.default_rng(2), region="eu")
    photo = tmp_path / "plate.jpg"
    cv2.imwrite(str(photo), scene.image)
    outputs = []
    for runtime in ("onnxruntime", "openvino"):
        result = run_cli("vision", "read", str(photo), "--plates-only", "--runtime", runtime)
        assert result.returncode == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    ort, ov = ([(p["text"], p["box"], p["confidence"]) for p in o["plates"]] for o in outputs)
    assert [r[:2] for r in ov] == [r[:2] for r in ort]
    assert all(abs(a[2] - b[2]) < 1e-3 for a, b in zip(ov, ort, strict=True))
    assert scene.objects[0].text in [text for text, _, _ in ov]
    refused = run_cli("vision", "read", str(photo), "--precision", "int8")
    assert refused.returncode == 2 and "int8" in refused.stderr and not refused.stdout


def test_cli_reads_codes_only_as_a_container_camera(tmp_path: Path) -> None:
    scene = render_container_scene(np.random.default_rng(12), vertical=False)
    photo = tmp_path / "side.jpg"
    cv2.imwrite(str(photo), scene.image)
    result = run_cli("vision", "read", str(photo), "--codes-only")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["plates"] == []
    assert [c["code"] for c in seen["containers"]] == [scene.objects[0].text]
    both = run_cli("vision", "read", str(photo), "--codes-only", "--plates-only")
    assert both.returncode == 2 and "exclude each other" in both.stderr and not both.stdout


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="no ../shared/data beside the repo")
def test_cli_read_on_real_photos_emits_the_promised_json() -> None:
    photos = [
        sorted((SHARED_DATA / "plates_openalpr_eu").glob("*.jpg"))[0],
        sorted((SHARED_DATA / "containers_marsa").glob("*.jpg"))[0],
    ]
    result = run_cli("vision", "read", *map(str, photos), "--json")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in objects] == [str(p) for p in photos]
    for obj in objects:
        assert set(obj) == {"file", "plates", "containers"}
        for plate in obj["plates"]:
            assert set(plate) == {"text", "confidence", "box"} and len(plate["box"]) == 4
        for code in obj["containers"]:
            assert set(code) == {"code", "size_type", "confidence", "box"}
            assert is_valid_code(code["code"])


def test_a_plate_seen_by_one_view_is_not_weakened_by_the_others(vision: LaneVision) -> None:
    plate = render_plate_scene(np.random.default_rng(3), region="br")
    blank = np.full_like(plate.image, 128)
    frames = [Frame(plate.image, "front"), Frame(plate.image, "front")]
    frames += [Frame(blank, view) for view in ("top", "left", "right") for _ in range(2)]
    reads = [r for r in vision.read_burst(frames) if isinstance(r, PlateRead)]
    read = next(r for r in reads if r.text == plate.objects[0].text)
    alone = vision.read_frame(plate.image, "front").plates
    assert read.frames == 2
    assert read.confidence >= min(0.99, max(p.confidence for p in alone if p.text == read.text))


def test_cli_eval_scores_a_labelled_folder(tmp_path: Path) -> None:
    rows = ["file,text"]
    for seed in (1, 3):
        scene = render_plate_scene(np.random.default_rng(seed), region="br")
        cv2.imwrite(str(tmp_path / f"p{seed}.jpg"), scene.image)
        rows.append(f"p{seed}.jpg,{scene.objects[0].text}")
    rows.append("missing.jpg,ABC1234")  # listed but absent: counted, not fatal
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    result = run_cli("vision", "eval", str(tmp_path), "--regions", "br", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["kind"] == "plates" and figures["items"] == 3
    assert figures["unreadable_files"] == 1
    assert figures["read_rate_pct"] == pytest.approx(100 * 2 / 3, abs=0.1)
    no_labels = run_cli("vision", "eval", str(tmp_path / "missing-dir"))
    assert no_labels.returncode != 0
    changed = run_cli("vision", "eval", str(tmp_path), "--regions", "br", "--changes", "--json")
    assert changed.returncode == 0, changed.stderr
    out = json.loads(changed.stdout)
    assert list(out["changes"]) == ["as shipped", "JPEG q80", "scale 0.85", "scale 1.2", "cut 3 %"]
    assert out["changes"]["as shipped"]["read_rate_pct"] == figures["read_rate_pct"]
    assert out["overall"]["items"] == 5 * 3 and out["overall"]["unreadable_files"] == 5
    hits = sum(round(f["read_rate_pct"] * f["items"] / 100) for f in out["changes"].values())
    assert out["overall"]["read_rate_pct"] == pytest.approx(100 * hits / 15, abs=0.1)
    harder = run_cli("vision", "eval", str(tmp_path), "--regions", "br", "--harder", "--json")
    assert harder.returncode == 0, harder.stderr
    out = json.loads(harder.stdout)
    assert list(out["changes"]) == list(HARDER_CHANGES)
    assert out["overall"]["items"] == len(HARDER_CHANGES) * 3


@pytest.mark.parametrize(("seed", "region"), [(1, "br"), (2, "eu"), (5, "us")])
def test_a_crop_read_carries_each_characters_choices(
    vision: LaneVision, seed: int, region: str
) -> None:
    """The probabilities kept per character are those of the time steps the engine's
    own decoding emitted: one per character, its likeliest being the character."""
    scene = render_plate_scene(np.random.default_rng(seed), region=region)
    x1, y1, x2, y2 = scene.objects[0].box
    text, score, chars = vision.spotter.recognise_chars(scene.image[y1:y2, x1:x2])
    assert (text, score) == vision.spotter.recognise(scene.image[y1:y2, x1:x2])
    assert len(chars) == len(text) >= 5
    for char, choices in zip(text, chars, strict=True):
        assert max(choices, key=lambda c: choices[c]) == char
        assert 0 < sum(choices.values()) <= 1.0001
    # score is the engine's mean of the emitted characters' probabilities
    assert score == pytest.approx(np.mean([max(c.values()) for c in chars]), abs=1e-4)


def test_two_reads_of_a_row_that_disagree_are_fused_only_when_sure(us_lane: LaneVision) -> None:
    box = (10, 10, 200, 60)
    first = TextLine("LGLS168", 0.95, box, ({"L": 0.69, "4": 0.29}, *[{c: 1.0} for c in "GLS168"]))
    again = TextLine("4GLS168", 0.96, box, ({"4": 0.76, "L": 0.21}, *[{c: 1.0} for c in "GLS168"]))
    fused = us_lane.fused_row(first, again)
    assert fused is not None and fused.text == "4GLS168"
    assert fused.score == pytest.approx((0.525 + 6) / 7, abs=1e-4)
    # agreeing reads need no fusing; no choices, no fusing
    assert us_lane.fused_row(again, again) is None
    assert us_lane.fused_row(TextLine("LGLS168", 0.95, box), TextLine("4GLS168", 0.96, box)) is None
    # an even split is settled by the lane's shapes where one fits a better-ranked
    # region (California's 1ABC234 before a German LLLL NNN), and stays doubtful
    # where none does: K and X fit no shape better than the other
    even = TextLine("4GLS168", 0.9, box, ({"4": 0.5, "L": 0.49}, *[{c: 1.0} for c in "GLS168"]))
    split = TextLine("LGLS168", 0.9, box, ({"L": 0.5, "4": 0.49}, *[{c: 1.0} for c in "GLS168"]))
    settled = us_lane.fused_row(even, split)
    assert settled is not None and settled.text == "4GLS168"
    kx = TextLine("K2345AB", 0.9, box, ({"K": 0.5, "X": 0.49}, *[{c: 1.0} for c in "2345AB"]))
    xk = TextLine("X2345AB", 0.9, box, ({"X": 0.5, "K": 0.49}, *[{c: 1.0} for c in "2345AB"]))
    assert us_lane.fused_row(kx, xk) is None


def test_reads_that_agree_on_a_doubtful_glyph_take_the_shape_it_allows(
    us_lane: LaneVision, vision: LaneVision
) -> None:
    """Both crops read L at 0.7 where the plate shows a worn 4: 4GLS168 fits
    California's shape; LGLS168 fits no US issuer's, only a German one, ranked after
    the US with the default regions, and the 4 is a real contender (0.28)."""
    box = (10, 10, 200, 60)
    rest = [{c: 1.0} for c in "GLS168"]
    line = TextLine("LGLS168", 0.95, box, ({"L": 0.7, "4": 0.28}, *rest))
    shaped = us_lane.fused_row(line, line)
    assert shaped is not None and shaped.text == "4GLS168"
    # a glyph the recogniser is sure of is never bent, whatever shape it leaves
    sure = TextLine("LGLS168", 0.95, box, ({"L": 0.95, "4": 0.04}, *rest))
    assert us_lane.fused_row(sure, sure) is None
    # a lane without US shapes (EU first): LGLS168 fits a German shape as read
    assert vision.fused_row(line, line) is None


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="no ../shared/data beside the repo")
def test_a_detected_line_with_a_doubtful_glyph_is_read_again_for_its_shape(
    us_lane: LaneVision,
) -> None:
    """A real US photo (4GLS168, the 4 half hidden by the plate frame): text detection
    reads LGLS168 at 0.98, which fits no US issuer's shape. Read again by the
    recogniser alone, the first glyph is L or 4, and the 4 makes California's shape."""
    image = load_image(SHARED_DATA / "plates_openalpr_us" / "us_b89d182edbae.jpg")
    detected = TextLine("LGLS168", 0.98, (413, 275, 531, 321))
    (shaped,) = us_lane.shaped_lines(image, [detected])
    assert shaped.text == "4GLS168" and 0.5 < shaped.score < 1
    assert len(shaped.chars) == 7
    # a line that already fits the first region's shapes is not read again
    assert us_lane.shape_rank("4GLS168") == 0
    spent = us_lane.stats["shape_re_reads"]
    assert us_lane.shaped_lines(image, [replace(detected, text="4GLS168")]) == [
        replace(detected, text="4GLS168")
    ]
    assert us_lane.stats["shape_re_reads"] == spent


def test_a_sure_first_read_of_an_issued_shape_needs_no_second_crop(us_lane: LaneVision) -> None:
    box = (10, 10, 200, 60)
    sure = TextLine("4GLS168", 0.99, box, tuple({c: 0.98} for c in "4GLS168"))
    assert us_lane.sure_of_every_glyph(sure)
    doubtful = TextLine("4GLS168", 0.95, box, ({"4": 0.9, "L": 0.1}, *sure.chars[1:]))
    assert not us_lane.sure_of_every_glyph(doubtful)
    assert not us_lane.sure_of_every_glyph(TextLine("4GLS168", 0.99, box))  # no choices
    # a rendered plate, read by lanes that do and do not take the first sure read
    scene = render_plate_scene(np.random.default_rng(7), region="br")
    before = us_lane.stats["classic_sure"]
    once = us_lane.read_frame(scene.image)
    assert us_lane.stats["classic_sure"] == before + 1
    twice = LaneVision(VisionConfig(read_containers=False, classic_sure_glyph=1.01))
    again = twice.read_frame(scene.image)
    assert twice.stats["classic_sure"] == 0 and twice.stats["classic_rows"] == 1
    assert [p.text for p in once.plates] == [p.text for p in again.plates]
    assert normalize(scene.objects[0].text) in [p.text for p in once.plates]


def test_rows_too_small_to_read_are_tried_but_not_read(us_lane: LaneVision) -> None:
    scene = render_plate_scene(np.random.default_rng(7), region="br")
    far = cv2.resize(scene.image, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    tried = [row for row, _ in itertools.islice(us_lane.candidate_rows(far), 4)]
    small = sum(row.char_height < MIN_CHAR_HEIGHT for row in tried)
    assert small > 0  # the far plate's row, and the scene's other small text
    before = us_lane.stats["rows_too_small"]
    us_lane.read_frame(far)
    assert us_lane.stats["rows_too_small"] == before + small
    # near, the same plate's row is read and settles the frame
    near = us_lane.read_frame(scene.image)
    assert normalize(scene.objects[0].text) in [p.text for p in near.plates]
    assert us_lane.stats["rows_too_small"] == before + small


@pytest.fixture(scope="module")
def container_camera() -> Iterator[LaneVision]:
    """A lane's container camera: codes only, so its code boxes are read first."""
    yield LaneVision(VisionConfig(read_plates=False, view_workers=1))


def test_a_container_camera_settles_a_view_in_its_code_boxes(
    container_camera: LaneVision,
) -> None:
    scene = render_container_scene(np.random.default_rng(12), vertical=False)
    before = container_camera.stats["code_boxes"]
    seen = container_camera.read_frame(scene.image, "side")
    assert container_camera.stats["code_boxes"] == before + 1
    assert seen.boxed and [c.code for c in seen.containers] == [scene.objects[0].text]
    whole = LaneVision(VisionConfig(read_plates=False, classic_code_boxes=False))
    assert whole.detector is None  # without the boxes, codes only need no region detector
    assert [c.code for c in whole.read_frame(scene.image, "side").containers] == [
        scene.objects[0].text
    ]


def test_a_view_whose_code_boxes_settle_nothing_is_read_whole(
    container_camera: LaneVision,
) -> None:
    scene = render_container_scene(np.random.default_rng(12), vertical=False)
    x1, y1, x2, y2 = scene.objects[0].box
    painted = scene.image.copy()
    painted[y1:y2, x1:x2] = painted[max(0, y1 - 8), x1]  # no code left to read
    before = container_camera.stats["code_fallbacks"]
    seen = container_camera.read_frame(painted, "side")
    assert container_camera.stats["code_fallbacks"] == before + 1
    assert not seen.boxed and seen.containers == []
    assert not container_camera.read_frame(scene.image, "side", stage="whole").boxed


@pytest.fixture(scope="module")
def whole_frames() -> Iterator[LaneVision]:
    """`vision`, but codes from text detection over the whole frame only."""
    yield LaneVision(VisionConfig(regions=["eu", "br"], classic_code_boxes=False))


@pytest.mark.parametrize(("seed", "vertical"), [(15, True), (19, False)])
def test_a_code_the_whole_frame_misses_is_read_in_its_code_box(
    vision: LaneVision, whole_frames: LaneVision, seed: int, vertical: bool
) -> None:
    """Plates and codes (the CLI): text detection over the whole frame misses these
    rendered codes; the detector's code box, read at its own scale, shows them."""
    scene = render_container_scene(np.random.default_rng(seed), vertical=vertical)
    code = scene.objects[0].text
    assert code not in [c.code for c in whole_frames.read_frame(scene.image, "side").containers]
    assert code in [c.code for c in vision.read_frame(scene.image, "side").containers]


def test_a_passage_reads_whole_a_boxed_view_whose_code_has_no_size_type(
    container_camera: LaneVision,
) -> None:
    # Rendered side 10 has its size-type code outside the detector's code box.
    scene = render_container_scene(np.random.default_rng(10), vertical=True)
    code = scene.objects[0].text
    boxed = container_camera.read_frame(scene.image, "side")
    assert boxed.boxed and [(c.code, c.size_type) for c in boxed.containers] == [(code, None)]
    before = container_camera.stats["code_views_read_whole"]
    reads = container_camera.read_burst([Frame(scene.image, "side")])
    assert container_camera.stats["code_views_read_whole"] == before + 1
    fused = [r for r in reads if isinstance(r, ContainerRead)]
    assert [r.code for r in fused] == [code] and fused[0].size_type is not None
    assert is_size_type(fused[0].size_type)


def test_merged_reads_keep_the_strongest_candidate_and_any_size_type() -> None:
    box = (0, 0, 10, 10)
    whole = [codes.CodeCandidate("BEAU2576878", "repaired", 0.95, box, "22G1")]
    boxed = [
        codes.CodeCandidate("BEAU2576878", "read", 0.8, box),
        codes.CodeCandidate("TRHU3074372", "read", 0.9, box),
    ]
    assert codes.merged(whole, boxed) == [
        codes.CodeCandidate("TRHU3074372", "read", 0.9, box),
        codes.CodeCandidate("BEAU2576878", "read", 0.8, box, "22G1"),
    ]
    assert codes.merged(boxed, whole) == codes.merged(whole, boxed)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="no ../shared/data beside the repo")
def test_real_side_views_settle_in_code_boxes_and_rear_views_are_read_whole(
    container_camera: LaneVision,
) -> None:
    """A truck at a real terminal gate: the vertical codes of its side views are boxed
    by the detector and read there; its rear-top view is read whole. The passage has
    both containers, with their size types."""
    folder = SHARED_DATA / "containers_marsa"
    side = container_camera.read_frame(load_image(folder / "cont_ffc832198802.jpg"), "LB")
    assert side.boxed and [c.code for c in side.containers] == ["CXDU1604074"]
    rear = container_camera.read_frame(load_image(folder / "cont_7cc853893189.jpg"), "AH")
    assert not rear.boxed and "HALU2089976" in [c.code for c in rear.containers]
    names = ["cont_7cc853893189.jpg", "cont_8c751dc7f339.jpg", "cont_b7928050f1db.jpg"]
    names += ["cont_d3da1df8f2c1.jpg", "cont_ffc832198802.jpg"]
    reads = container_camera.read_burst([Frame(load_image(folder / n), n) for n in names])
    assert sorted((r.code, r.size_type) for r in reads if isinstance(r, ContainerRead)) == [
        ("CXDU1604074", "22G1"),
        ("HALU2089976", "22G1"),
    ]


def test_a_lane_let_go_frees_its_models_at_once() -> None:
    """A reader is among its own burst workers; it must not keep itself (models,
    runtime threads) alive until the garbage collector runs."""
    lane = LaneVision(VisionConfig(read_plates=False, view_workers=2))
    scene = render_container_scene(np.random.default_rng(12), vertical=False)
    frames = [Frame(scene.image, "top"), Frame(scene.image, "side")]
    assert [r.code for r in lane.read_burst(frames)] == [scene.objects[0].text]
    alive = weakref.ref(lane.spotter)
    gc.disable()
    try:
        del lane
        assert alive() is None
    finally:
        gc.enable()


def test_char_choices_are_each_read_glyphs_likeliest_classes_in_order(vision: LaneVision) -> None:
    """The per-glyph choices (found by one argmax per rank) match a full sort of the
    recogniser's output at the time steps that emitted a character."""
    alone = vision.spotter._alone
    assert alone is not None
    probs = np.random.default_rng(3).random((6, len(alone._characters))).astype(np.float32)
    got = alone.choices(probs.copy())
    assert len(got) == len(probs)
    for choices, step in zip(got, probs, strict=True):
        order = [i for i in np.argsort(-step)[:3] if i != 0]
        assert list(choices) == [alone._characters[i] for i in order]
        assert list(choices.values()) == [float(step[i]) for i in order]
    step = probs[0].copy()
    step[0] = 2.0  # the blank among the likeliest is no choice
    assert len(alone.choices(step[None])[0]) == 2


@pytest.mark.parametrize("seed", [1, 2, 5, 8])
def test_a_crop_read_alone_is_the_engines_own_read(vision: LaneVision, seed: int) -> None:
    """`recognise_chars` skips the engine's pipeline but reads as the engine does: the
    same text and score, for a plate, a crop under the engine's 30 px minimum (which
    it scales up first) and a crop with nothing to read."""
    scene = render_plate_scene(np.random.default_rng(seed))
    x1, y1, x2, y2 = scene.objects[0].box
    plate = scene.image[y1:y2, x1:x2]
    small = cv2.resize(plate, (max(8, plate.shape[1] // 3), max(8, plate.shape[0] // 3)))
    blank = np.full((40, 120, 3), 200, np.uint8)
    engine = vision.spotter._engine
    for crop in (plate, small, blank):
        text, score, chars = vision.spotter.recognise_chars(crop)
        own = engine(crop, use_det=False, use_cls=False, use_rec=True)
        assert (text, score) == (str(own.txts[0]), float(own.scores[0]))
        assert len(chars) == len(text)
        assert "".join(max(c, key=c.__getitem__) for c in chars) == text
