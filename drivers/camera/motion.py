"""Motion in a fixed camera's view, by frame differencing: a trigger without a loop.

The frame is shrunk and blurred first, so sensor noise and JPEG artefacts do not
count as motion; a frame "moves" when enough of its pixels changed by more than a
threshold since the previous frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.capture import Camera, CameraFrame


def changed_fraction(previous: np.ndarray, current: np.ndarray, threshold: int) -> float:
    """Share of pixels whose grey level moved by more than `threshold` (OpenCV kernels)."""
    diff = cv2.absdiff(previous, current)
    _, moved = cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)
    return cv2.countNonZero(moved) / moved.size


@dataclass
class MotionDetector:
    threshold: int = 25  # grey levels
    min_fraction: float = 0.02  # of the (shrunk) frame
    width: int = 160  # pixels the frame is shrunk to before comparing
    _previous: np.ndarray | None = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        height = max(1, round(grey.shape[0] * self.width / grey.shape[1]))
        small = cv2.resize(grey, (self.width, height), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (5, 5), 0)

    def update(self, image: np.ndarray) -> bool:
        """True when this frame differs enough from the one before it."""
        current = self.prepare(image)
        previous, self._previous = self._previous, current
        if previous is None or previous.shape != current.shape:
            return False
        return changed_fraction(previous, current, self.threshold) >= self.min_fraction


async def motion_bursts(
    camera: Camera,
    detector: MotionDetector,
    n_frames: int,
    interval_s: float,
    cooldown_s: float = 5.0,
) -> AsyncIterator[list[CameraFrame]]:
    """A burst each time motion starts, at most one per `cooldown_s`."""
    quiet_until = 0.0
    async for frame in camera.frames():
        moved = detector.update(frame.image)
        now = frame.at.timestamp()
        if moved and now >= quiet_until:
            burst = (
                [frame, *await camera.burst(n_frames - 1, interval_s)] if n_frames > 1 else [frame]
            )
            quiet_until = now + cooldown_s
            yield burst
