"""Text detection and recognition with the OCR engine bundled in its wheel.

RapidOCR 3.x ships PP-OCRv6 small detection and recognition ONNX models and reads
vertical columns of characters as well as lines; no model is downloaded (only its
defaults are used: any other model would be). It loads them on onnxruntime; where
OpenVINO is chosen (`vision.runtime`), the same files are then run by OpenVINO.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vision.errors import VisionError
from vision.runtime import ModelError, Precision, Runtime, chosen, load
from vision.text import CharChoices, TextLine

log = logging.getLogger(__name__)

# The recogniser was trained on lines padded on the right to 320 px at 48 px height
# (the engine's default input). A single cropped line (`recognise`, the classic plate
# rows) is padded so: unpadded short crops make it insert characters (`RK576AH` read
# `RK2576AH`). 256 px reads as 320 does (over six versions of every US, EU and BR
# photo, 2 reads better and 2 worse; docs/vision.md) and costs 11 against 13 ms.
# Lines from text detection (`spot`) are padded only to `rec_min_width`, which reads
# the same on every set measured and is faster.
LINE_MIN_WIDTH = 256
# Characters kept per position of a read: the recogniser's few likeliest.
CHOICES_PER_CHAR = 3


class OcrError(VisionError):
    """The OCR engine could not be loaded or failed on an image."""


class TextSpotter:
    """Finds and reads text lines in an image (or reads one cropped line)."""

    def __init__(
        self,
        det_max_side: int = 960,
        min_score: float = 0.5,
        threads: int = 0,
        rec_min_width: int = 128,
        runtime: Runtime = "auto",
        precision: Precision = "f32",
    ) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as err:
            raise OcrError("rapidocr is not installed: pip install '.[vision]'") from err
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": min_score,
            "Global.use_cls": False,  # orientation classifier: plates and codes stand upright
            "Det.limit_side_len": det_max_side,
            "Det.limit_type": "max",
            # The recogniser pads every line to at least this width (48 px high):
            # the engine's 320 costs a short line (a plate) nearly as much as a long one.
            "Rec.rec_img_shape": [3, 48, LINE_MIN_WIDTH],
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        try:
            self._engine = RapidOCR(params=params)
        except Exception as err:  # the engine raises bare Exceptions on model trouble
            raise OcrError(f"cannot load the OCR models: {err}") from err
        # The engine keeps per-call state, and an OpenVINO request serves one call
        # at a time.
        self._lock = threading.Lock()
        self._rec_min_width = rec_min_width
        self._alone: _ReadsAlone | None = None
        self.runtime = "onnxruntime (f32)"
        _normalise_in_float32(self._loaded("det"))
        if chosen(runtime) == "openvino":
            self._run_on_openvino(runtime, precision, threads)
        # A first read loads the recogniser (the engine loads it on first use) and
        # warms up whatever runs it: now, not on a car.
        self.recognise(np.full((48, 96, 3), 255, np.uint8))
        self._alone = _ReadsAlone.around(self._engine)

    def _run_on_openvino(self, runtime: Runtime, precision: Precision, threads: int) -> None:
        """Hands the engine's two models to OpenVINO: the engine calls each model's
        `session` with the input array and takes the output array, whatever runs it.

        The ONNX files are the ones the engine loaded (rapidocr 3.x's onnxruntime
        session keeps its path). Where a later rapidocr hides them, the models stay
        on onnxruntime (slower, same reads) and the log says so; so do they with
        `auto` where OpenVINO cannot load them (`runtime.load`).
        """
        det, rec = (self._loaded(model) for model in ("det", "rec"))
        det_path, rec_path = _model_path(det), _model_path(rec)
        if det is None or rec is None or det_path is None or rec_path is None:
            log.warning("the OCR engine's model files are not reachable: OCR stays on onnxruntime")
            return
        try:
            det_session = load(det_path, runtime, precision, threads)
            rec_session = load(rec_path, runtime, precision, threads)
        except ModelError as err:
            raise OcrError(str(err)) from err
        det.session, rec.session = det_session, rec_session
        self.runtime = f"{rec_session.runtime} ({rec_session.precision})"

    def _loaded(self, model: str) -> Any:
        """The engine's `det` or `rec` model, loaded now (rapidocr 3.x loads each on
        first use); None where a later rapidocr has no such loader."""
        load = getattr(self._engine, f"_load_{model}_model", None)
        return load() if callable(load) else None

    def spot(self, image: np.ndarray) -> list[TextLine]:
        """Every text line the detector finds, read, with its box in `image` pixels."""
        with self._lock, self._line_width(self._rec_min_width):
            try:
                result: Any = self._engine(image, use_det=True, use_cls=False, use_rec=True)
            except Exception as err:
                raise OcrError(f"OCR failed on a {image.shape} image: {err}") from err
        if result.boxes is None or not result.txts:
            return []
        lines = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            x1, y1 = np.floor(quad.min(axis=0)).astype(int)
            x2, y2 = np.ceil(quad.max(axis=0)).astype(int)
            lines.append(TextLine(str(text), float(score), (int(x1), int(y1), int(x2), int(y2))))
        return lines

    def recognise(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one line of text that fills `crop` (no detection)."""
        text, score, _ = self.recognise_chars(crop)
        return text, score

    def recognise_chars(self, crop: np.ndarray) -> tuple[str, float, tuple[CharChoices, ...]]:
        """`recognise`, and for each character read the recogniser's likeliest
        characters there with their probabilities (empty where the engine's
        recogniser cannot be reached: see `_ReadsAlone`)."""
        with self._lock:
            try:
                if self._alone is not None:
                    return self._alone.read(crop)
                result: Any = self._engine(crop, use_det=False, use_cls=False, use_rec=True)
            except Exception as err:
                raise OcrError(f"OCR failed on a {crop.shape} crop: {err}") from err
        if not result.txts:
            return "", 0.0, ()
        return str(result.txts[0]), float(result.scores[0]), ()

    @contextlib.contextmanager
    def _line_width(self, width: int) -> Iterator[None]:
        """Pad recognised lines to `width` for the duration (the lock is held).

        rapidocr 3.x takes the padding from its config when it loads the recogniser
        (`text_rec`, loaded by the warm-up read in `__init__`); this sets it on that
        object. Where a later rapidocr lacks it, lines keep LINE_MIN_WIDTH (slower, same reads).
        """
        rec = getattr(self._engine, "text_rec", None)
        shape = getattr(rec, "rec_image_shape", None)
        if rec is None or shape is None or width == shape[2]:
            yield
            return
        rec.rec_image_shape = [shape[0], shape[1], width]
        try:
            yield
        finally:
            rec.rec_image_shape = shape


def _normalise_in_float32(det: Any) -> None:
    """Has the engine's text detector normalise a frame in float32.

    rapidocr 3.x subtracts its float64 mean and divides by its float64 std, then
    casts the transposed result back to float32: ~10 ms of an 800x600 frame's
    ~110 ms detection on one core. The same sums in float32, straight into the
    model's layout, take ~1 ms and give the same input (mean and std 0.5 are exact
    in float32). Where a later rapidocr builds its preprocessing otherwise, it keeps
    its own (slower, same reads).
    """
    build = getattr(det, "get_preprocess", None)
    if not callable(build):
        return
    made = build()
    if not all(hasattr(made, name) for name in ("resize", "mean", "std", "scale")):
        return

    def preprocess(img: np.ndarray) -> np.ndarray | None:
        made = build()  # as the engine would: its limits and statistics now
        resized = made.resize(img)
        if resized is None:
            return None
        std = np.asarray(made.std, np.float32)[:, None, None]
        mean = np.asarray(made.mean, np.float32)[:, None, None]
        planes = np.ascontiguousarray(resized.transpose(2, 0, 1))
        out = np.empty((1, *planes.shape), np.float32)
        np.multiply(planes, np.float32(made.scale) / std, out=out[0], dtype=np.float32)
        out[0] -= mean / std
        return out

    det.get_preprocess = lambda: preprocess


def _model_path(model: Any) -> Path | None:
    """The ONNX file behind one of the engine's models (its onnxruntime session's)."""
    path = getattr(getattr(getattr(model, "session", None), "session", None), "_model_path", None)
    return Path(path) if path and Path(path).is_file() else None


class _ReadsAlone:
    """One crop read by the engine's recogniser without the engine's pipeline.

    The engine gives a read's text and one score; two reads of one plate row that
    disagree on a character are better judged by how likely each was (4 at 0.76 and
    L at 0.21 in one crop, L 0.69 and 4 0.29 in the other). So a single crop is read
    here as the engine reads it (its own image checks and input making, its model,
    its greedy CTC decoding: each time step's likeliest class, a repeat or the blank
    emitting nothing, the score the mean of the emitted steps' probabilities rounded
    as it rounds them), and the likeliest classes of each emitted step are read off
    the same output. Skipping the engine's per-call bookkeeping saves ≈ 0.5 ms of a
    ≈ 10 ms read (the same text and score: tests/vision/test_vision_reader.py).
    """

    def __init__(self, engine: Any, rec: Any, characters: list[str]) -> None:
        self._engine = engine
        self._rec = rec
        self._characters = characters

    @classmethod
    def around(cls, engine: Any) -> _ReadsAlone | None:
        """Built from rapidocr 3.x's parts; None where a later rapidocr lacks them
        (crops are then read through the engine, and reads carry no choices)."""
        rec = getattr(engine, "text_rec", None)
        characters = getattr(getattr(rec, "postprocess_op", None), "character", None)
        parts = (
            getattr(engine, "load_img", None),
            getattr(engine, "preprocess_img", None),
            getattr(rec, "resize_norm_img", None),
            getattr(rec, "session", None),
        )
        shape = getattr(rec, "rec_image_shape", None)
        if (
            not all(callable(p) for p in parts)
            or not isinstance(characters, list)
            or shape is None
            or len(shape) < 3
        ):
            log.warning("the OCR engine's recogniser is not reachable: reads carry no choices")
            return None
        return cls(engine, rec, characters)

    def read(self, crop: np.ndarray) -> tuple[str, float, tuple[CharChoices, ...]]:
        image, _ = self._engine.preprocess_img(self._engine.load_img(crop))
        _, height, width = self._rec.rec_image_shape[:3]
        ratio = max(width / height, image.shape[1] / image.shape[0])
        probs = np.asarray(self._rec.session(self._rec.resize_norm_img(image, ratio)[None]))[0]
        best = probs.argmax(axis=1)
        # A time step emits its class unless it is the blank (0) or repeats the step before.
        emitted = np.flatnonzero((best != 0) & np.r_[True, best[1:] != best[:-1]])
        text = "".join(self._characters[i] for i in best[emitted])
        if not text:
            return "", 0.0, ()
        # The engine rounds each emitted step's probability, then their mean.
        sure = [round(p, 5) for p in probs[emitted, best[emitted]].tolist()]
        score = float(np.mean(sure).round(5))
        chars = self.choices(probs[emitted])
        return text, score, chars if len(chars) == len(text) else ()

    def choices(self, rows: np.ndarray) -> tuple[CharChoices, ...]:
        """Per emitted time step (`rows`, a copy: struck out below), its likeliest
        classes but the blank, likeliest first.

        The likeliest few of ~18,700 classes a step, by one argmax per rank, each
        taken out before the next: 0.06 ms a read, where argpartition took 1.2 ms
        and argsort 4 ms.
        """
        steps = np.arange(len(rows))
        ranked = []
        for _ in range(CHOICES_PER_CHAR):
            best_left = rows.argmax(axis=1)
            ranked.append((best_left, rows[steps, best_left].copy()))
            rows[steps, best_left] = -1.0
        return tuple(
            {self._characters[idx[s]]: float(p[s]) for idx, p in ranked if idx[s] != 0}
            for s in steps
        )
