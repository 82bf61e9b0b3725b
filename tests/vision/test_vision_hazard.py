"""ADR orange plates: the hazard number over the UN number, through the real OCR engine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.config import VisionConfig
from vision.hazard import hazard_number, un_number
from vision.reader import Frame, HazardRead, LaneVision, PlateRead
from vision.synth import hazard_patch, render_plate_scene


@pytest.fixture(scope="module")
def vision() -> Iterator[LaneVision]:
    yield LaneVision(VisionConfig(regions=["br"]))


def truck_with(patch: np.ndarray, seed: int = 1) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A rendered truck front with `patch` on its upper left; the patch's box."""
    image = render_plate_scene(np.random.default_rng(seed), region="br").image.copy()
    x, y = 80, 60
    image[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return image, (x, y, x + patch.shape[1], y + patch.shape[0])


def test_hazard_and_un_numbers_follow_adr() -> None:
    assert [hazard_number(t) for t in ("33", "X423", "268", "3O", "X 88")] == [
        "33",
        "X423",
        "268",
        "30",
        "X88",
    ]
    # The first digit is the main hazard, 2-9; two or three digits.
    assert [hazard_number(t) for t in ("12", "1203", "X1", "3", "ABC")] == [None] * 5
    assert [un_number(t) for t in ("1203", "I2O3", "UN 1965")] == ["1203", "1203", None]
    assert [un_number(t) for t in ("123", "12034", "0000")] == [None, None, None]
    # Words of digit-like letters are words: at least one glyph must be read as a digit.
    assert [hazard_number(t) for t in ("ZO", "SB", "XSB")] == [None, None, None]
    assert [un_number(t) for t in ("SOLO", "BOSS")] == [None, None]


@pytest.mark.parametrize(("hazard", "un"), [("33", "1203"), ("X423", "1428"), ("80", "1789")])
def test_an_orange_plate_is_read_with_its_box_and_crop(
    vision: LaneVision, hazard: str, un: str
) -> None:
    image, (x1, y1, x2, y2) = truck_with(hazard_patch(hazard, un, 96))
    (read,) = vision.read_frame(image, "front").hazards
    assert (read.hazard_number, read.un_number, read.code) == (hazard, un, f"{hazard}/{un}")
    bx1, by1, bx2, by2 = read.box  # on the plate (a few pixels' slack)
    slack = (y2 - y1) // 10
    assert x1 - slack <= bx1 < bx2 <= x2 + slack and y1 - slack <= by1 < by2 <= y2 + slack
    assert (bx2 - bx1) * (by2 - by1) > 0.4 * (x2 - x1) * (y2 - y1)
    assert 0.5 < read.confidence <= 1
    assert cv2.imdecode(np.frombuffer(read.crop_jpeg, np.uint8), cv2.IMREAD_COLOR) is not None


def test_digits_over_digits_are_not_an_orange_plate_unless_orange(vision: LaneVision) -> None:
    patch = hazard_patch("33", "1203", 96)
    grey = cv2.cvtColor(cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    image, _ = truck_with(grey)
    assert vision.read_frame(image, "front").hazards == []
    off = LaneVision(VisionConfig(regions=["br"], read_hazards=False))
    assert off.read_frame(truck_with(patch)[0], "front").hazards == []


def test_a_burst_gathers_an_orange_plate_over_views_and_frames(vision: LaneVision) -> None:
    image, _ = truck_with(hazard_patch("336", "1230", 96))
    reads = vision.read_burst(
        [
            Frame(image, "front"),
            Frame(cv2.GaussianBlur(image, (3, 3), 0), "front"),
            Frame(image, "rear"),
        ]
    )
    (hazard,) = [r for r in reads if isinstance(r, HazardRead)]
    assert hazard.code == "336/1230" and hazard.frames == 3
    assert set(hazard.views) == {"front", "rear"}
    single = next(h for h in vision.read_frame(image, "front").hazards)
    assert hazard.confidence > min(single.confidence, 0.99)  # two views: surer than one
    assert any(isinstance(r, PlateRead) for r in reads)  # the truck's plate as before


def test_cli_read_lists_orange_plates_only_where_it_read_one(tmp_path: Path) -> None:
    tanker, plain = tmp_path / "tanker.jpg", tmp_path / "plain.jpg"
    cv2.imwrite(str(tanker), truck_with(hazard_patch("33", "1203", 96))[0])
    cv2.imwrite(str(plain), render_plate_scene(np.random.default_rng(1), region="br").image)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("corridor")),
            "vision",
            "read",
            str(tanker),
            str(plain),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with_plate, without = (json.loads(line) for line in result.stdout.splitlines())
    assert [(h["hazard_number"], h["un_number"]) for h in with_plate["hazards"]] == [("33", "1203")]
    assert set(without) == {"file", "plates", "containers"}
