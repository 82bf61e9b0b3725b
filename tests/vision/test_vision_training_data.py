"""The detector's training data: rendered street scenes and the YOLO data set.

Training itself needs torch and ultralytics (the `train` extra, `make train`); what
the repo renders for it is checked here, in the runtime venv.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vision import train
from vision.synth import PLATE_SHAPES
from vision.synth_vehicle import render_vehicle_scene

SHAPES = [
    re.compile("".join("[A-Z]" if c == "L" else "[0-9]" for c in shape))
    for shapes in PLATE_SHAPES.values()
    for shape in shapes
]


def test_vehicle_scenes_are_reproducible() -> None:
    a = render_vehicle_scene(np.random.default_rng(11))
    b = render_vehicle_scene(np.random.default_rng(11))
    assert np.array_equal(a.image, b.image) and a.objects == b.objects
    c = render_vehicle_scene(np.random.default_rng(12))
    assert not (a.image.shape == c.image.shape and np.array_equal(a.image, c.image))


@pytest.mark.parametrize("seed", range(8))
def test_labelled_plates_lie_in_the_frame_and_look_like_plates(seed: int) -> None:
    scene = render_vehicle_scene(np.random.default_rng(seed), (800, 600))
    assert scene.image.shape == (600, 800, 3) and scene.image.dtype == np.uint8
    for obj in scene.objects:
        x1, y1, x2, y2 = obj.box
        assert obj.kind == "plate" and any(s.fullmatch(obj.text) for s in SHAPES)
        assert 0 <= x1 < x2 < 800 and 0 <= y1 < y2 < 600
        assert x2 - x1 >= 8 and y2 - y1 >= 4
        # a plate is light with dark characters: its box is far from uniform
        patch = scene.image[y1 : y2 + 1, x1 : x2 + 1].astype(np.float32)
        assert patch.std() > 12, (obj, patch.std())


def test_plate_sizes_cover_far_and_close_vehicles() -> None:
    rng = np.random.default_rng(0)
    heights = [
        (o.box[3] - o.box[1]) / 600
        for _ in range(60)
        for o in render_vehicle_scene(rng, (800, 600)).objects
    ]
    assert len(heights) >= 55  # one or two vehicles a scene, a few plates cut off
    assert min(heights) < 0.04 and max(heights) > 0.15  # real plates: 0.04-0.39 of height


def test_data_set_is_the_same_whatever_the_number_of_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "WORK", tmp_path / "one")
    one = train.render_dataset(12, 320, 3, 0.25, jobs=1)
    monkeypatch.setattr(train, "WORK", tmp_path / "two")
    two = train.render_dataset(12, 320, 3, 0.25, jobs=2)
    labels = sorted((one.parent / "labels").rglob("*.txt"))
    assert len(labels) == 12 and len(list((one.parent / "images" / "val").glob("*.jpg"))) == 2
    for path in labels:
        twin = two.parent / path.relative_to(one.parent)
        assert path.read_text() == twin.read_text()
        for line in path.read_text().splitlines():
            cls, *box = line.split()
            assert cls in {"0", "1"} and all(0 <= float(v) <= 1 for v in box)
    assert "names:\n  0: plate\n  1: container_code\n" in one.read_text()
    kinds = {line.split()[0] for p in labels for line in p.read_text().splitlines()}
    assert kinds == {"0", "1"}  # both vehicles and container codes were rendered
