"""The shipped YOLO region detector (ONNX) on onnxruntime, and the `yolo` reading path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vision.config import VisionConfig
from vision.detector import DEFAULT_MODEL, DetectorError, RegionDetector
from vision.reader import LaneVision
from vision.synth import render_container_scene, render_plate_scene


def test_model_card_describes_the_shipped_model() -> None:
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert card["classes"] == {"0": "plate", "1": "container_code"}
    assert card["epochs_run"] >= 1 and 0 <= card["val_map50"] <= 1
    assert DEFAULT_MODEL.stat().st_size < 20 * 1024 * 1024


def test_detector_finds_a_rendered_plate_inside_the_frame() -> None:
    detector = RegionDetector()
    scene = render_plate_scene(np.random.default_rng(5), region="eu")
    regions = detector.detect(scene.image)
    h, w = scene.image.shape[:2]
    assert all(0 <= r.box[0] < r.box[2] <= w and 0 <= r.box[1] < r.box[3] <= h for r in regions)
    assert all(r.kind in {"plate", "container_code"} and 0 < r.score <= 1 for r in regions)
    plates = [r for r in regions if r.kind == "plate"]
    assert plates, regions
    x1, y1, x2, y2 = plates[0].box
    tx1, ty1, tx2, ty2 = scene.objects[0].box
    assert x1 < tx2 and tx1 < x2 and y1 < ty2 and ty1 < y2


def test_yolo_path_reads_rendered_scenes() -> None:
    vision = LaneVision(VisionConfig(detector="yolo", regions=["eu", "br"]))
    plate = render_plate_scene(np.random.default_rng(5), region="eu")
    assert plate.objects[0].text in [p.text for p in vision.read_frame(plate.image).plates]
    code = render_container_scene(np.random.default_rng(12), vertical=False)
    seen = vision.read_frame(code.image)
    assert all(c.code == code.objects[0].text for c in seen.containers)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match="no detector model"):
        RegionDetector(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="cannot load"):
        RegionDetector(broken)
