"""The two model runtimes (vision.runtime): OpenVINO and onnxruntime run the same
ONNX files to the same outputs, the OCR engine and the detector run on the one
chosen, and a bad model or runtime name is a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from vision.config import VisionConfig
from vision.detector import DEFAULT_MODEL, RegionDetector
from vision.ocr import TextSpotter, _model_path
from vision.reader import LaneVision
from vision.runtime import ModelError, chosen, load
from vision.synth import render_plate_scene


def test_auto_is_openvino_where_it_is_installed() -> None:
    pytest.importorskip("openvino")
    assert chosen("auto") == "openvino"
    assert chosen("onnxruntime") == "onnxruntime"


def test_both_runtimes_compute_the_same_detector_output_at_full_precision() -> None:
    blob = np.random.default_rng(3).random((1, 3, 320, 320), dtype=np.float32)
    ort = load(DEFAULT_MODEL, "onnxruntime")
    ov = load(DEFAULT_MODEL, "openvino", "f32")
    assert (ort.runtime, ov.runtime, ov.precision) == ("onnxruntime", "openvino", "f32")
    assert ov.input_shape() == ort.input_shape() == [1, 3, 320, 320]
    a, b = ort(blob), ov(blob)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=2e-3 * float(np.abs(a).max()))


def test_an_openvino_output_is_not_overwritten_by_the_next_call() -> None:
    ov = load(DEFAULT_MODEL, "openvino", "f32")
    rng = np.random.default_rng(4)
    first = ov(rng.random((1, 3, 320, 320), dtype=np.float32))
    kept = first.copy()
    ov(rng.random((1, 3, 320, 320), dtype=np.float32))
    np.testing.assert_array_equal(first, kept)


def test_the_ocr_models_run_on_the_chosen_runtime_and_read_alike() -> None:
    on_ort = TextSpotter(runtime="onnxruntime", threads=1)
    on_ov = TextSpotter(runtime="openvino", precision="f32", threads=1)
    assert on_ort.runtime == "onnxruntime (f32)"
    assert on_ov.runtime == "openvino (f32)"
    rec = _model_path(on_ort._engine.text_rec)
    assert rec is not None and rec.suffix == ".onnx"
    # the OpenVINO spotter's models no longer hold an onnxruntime session
    assert _model_path(on_ov._engine.text_rec) is None
    scene = render_plate_scene(np.random.default_rng(5), region="eu")
    x1, y1, x2, y2 = scene.objects[0].box
    crop = scene.image[y1:y2, x1:x2]
    text_ort, score_ort, chars_ort = on_ort.recognise_chars(crop)
    text_ov, score_ov, chars_ov = on_ov.recognise_chars(crop)
    assert text_ov == text_ort and abs(score_ov - score_ort) < 1e-3
    # the character choices survive the swap
    assert len(chars_ov) == len(text_ov)
    assert [max(c, key=c.__getitem__) for c in chars_ov] == [
        max(c, key=c.__getitem__) for c in chars_ort
    ]
    lines_ort = [line.text for line in on_ort.spot(scene.image)]
    assert [line.text for line in on_ov.spot(scene.image)] == lines_ort


def test_text_detection_gets_the_engines_own_input_made_in_float32() -> None:
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    spotter = TextSpotter(runtime="onnxruntime", threads=1, det_max_side=640)
    det = spotter._engine.text_det
    frame = render_plate_scene(np.random.default_rng(9)).image  # wider than 640
    ours = det.get_preprocess()(frame)
    theirs = DetPreProcess(det.limit_side_len, det.limit_type, det.mean, det.std)(frame)
    assert ours is not None and theirs is not None
    assert ours.dtype == np.float32 and ours.flags.c_contiguous
    assert ours.shape == theirs.shape and max(ours.shape[2:]) == 640
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_a_lane_reads_a_rendered_plate_the_same_on_both_runtimes() -> None:
    scene = render_plate_scene(np.random.default_rng(7), region="br")
    reads = {}
    for runtime in ("onnxruntime", "openvino"):
        vision = LaneVision(VisionConfig(runtime=runtime, read_containers=False))
        assert vision.detector is not None
        assert vision.detector._session.runtime == runtime
        reads[runtime] = [p.text for p in vision.read_frame(scene.image).plates]
    assert scene.objects[0].text in reads["openvino"]
    assert reads["openvino"] == reads["onnxruntime"]


def test_auto_falls_back_to_onnxruntime_where_openvino_cannot_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_install() -> None:
        raise RuntimeError("the CPU plugin is missing")  # as a half-installed OpenVINO says

    monkeypatch.setattr("vision.runtime._openvino_core", broken_install)
    with pytest.raises(ModelError, match=r"openvino cannot load .*CPU plugin"):
        load(DEFAULT_MODEL, "openvino")
    session = load(DEFAULT_MODEL, "auto")
    assert session.runtime == "onnxruntime"
    assert "running it on onnxruntime instead" in caplog.text
    spotter = TextSpotter(runtime="auto", threads=1)
    assert spotter.runtime == "onnxruntime (f32)"
    scene = render_plate_scene(np.random.default_rng(5), region="eu")
    x1, y1, x2, y2 = scene.objects[0].box
    text, _ = spotter.recognise(scene.image[y1:y2, x1:x2])
    assert text.replace(" ", "").replace("-", "") == scene.objects[0].text


def test_a_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model at"):
        load(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    for runtime in ("openvino", "onnxruntime"):
        with pytest.raises(ModelError, match=f"{runtime} cannot load"):
            load(broken, runtime)  # type: ignore[arg-type]
    # the detector says the same in its own words
    with pytest.raises(Exception, match="cannot load"):
        RegionDetector(broken, runtime="openvino")


def test_an_unknown_runtime_or_precision_is_refused() -> None:
    with pytest.raises(ValidationError, match="runtime"):
        VisionConfig(runtime="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="precision"):
        VisionConfig(precision="int8")  # type: ignore[arg-type]
