"""Plate and container-code regions from the YOLO detector exported to ONNX.

The detector is trained by `vision.train` on rendered scenes and shipped in
`vision/models/regions.onnx`; OpenVINO or onnxruntime runs it (`vision.runtime`),
no torch at the edge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.errors import VisionError
from vision.runtime import ModelError, Precision, Runtime, load
from vision.text import Box

MODELS = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS / "regions.onnx"


class DetectorError(VisionError):
    """The region detector model is missing or unusable."""


@dataclass(frozen=True)
class Region:
    kind: str  # "plate" or "container_code"
    score: float
    box: Box


class RegionDetector:
    """YOLO (ultralytics export) on the edge runtime: letterbox, forward, decode, NMS."""

    def __init__(
        self,
        model: Path = DEFAULT_MODEL,
        min_score: float = 0.25,
        threads: int = 0,
        runtime: Runtime = "auto",
        precision: Precision = "f32",
    ):
        if not model.exists():
            raise DetectorError(f"no detector model at {model} (train one: make train)")
        try:
            self._session = load(model, runtime, precision, threads)
        except ModelError as err:
            raise DetectorError(str(err)) from err
        card = model.with_suffix(".json")
        classes = json.loads(card.read_text())["classes"] if card.exists() else {}
        self.classes = {int(k): v for k, v in classes.items()} or {0: "plate", 1: "container_code"}
        side = self._session.input_shape()[2]
        self.size = side if side is not None else 320
        self.min_score = min_score

    def detect(self, image: np.ndarray) -> list[Region]:
        h, w = image.shape[:2]
        scale = self.size / max(h, w)
        resized = cv2.resize(image, (round(w * scale), round(h * scale)))
        canvas = np.full((self.size, self.size, 3), 114, np.uint8)  # ultralytics' pad grey
        top = (self.size - resized.shape[0]) // 2
        left = (self.size - resized.shape[1]) // 2
        canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
        chw = canvas[:, :, ::-1].transpose(2, 0, 1)[None]  # BGR HWC -> RGB NCHW
        blob = np.ascontiguousarray(chw, dtype=np.float32) / 255.0
        output = self._session(blob)
        preds = output[0].T  # (anchors, 4 + classes): cx, cy, w, h, class scores
        scores = preds[:, 4:].max(axis=1)
        keep = scores >= self.min_score
        preds, scores = preds[keep], scores[keep]
        if not len(preds):
            return []
        classes = preds[:, 4:].argmax(axis=1)
        cx, cy, bw, bh = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
        x1 = (cx - bw / 2 - left) / scale
        y1 = (cy - bh / 2 - top) / scale
        boxes = np.stack([x1, y1, bw / scale, bh / scale], axis=1)
        chosen = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.min_score, 0.5)
        regions = []
        for i in np.array(chosen).reshape(-1):
            bx, by, bw_, bh_ = boxes[i]
            box = (
                max(0, int(bx)),
                max(0, int(by)),
                min(w, int(bx + bw_)),
                min(h, int(by + bh_)),
            )
            regions.append(Region(self.classes.get(int(classes[i]), "?"), float(scores[i]), box))
        return sorted(regions, key=lambda r: -r.score)
