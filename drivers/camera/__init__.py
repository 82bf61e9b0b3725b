"""Camera capture: RTSP, HTTP MJPEG, video files and V4L2 through OpenCV.

Protocol code only (no MQTT, no application config)::

    async with Camera(CameraSettings(source="rtsp://10.0.0.9/stream1")) as cam:
        frames = await cam.burst(5, 0.2)

`MotionDetector` and `motion_bursts` start bursts by frame differencing where a
lane has no loop detector.
"""

from drivers.camera.capture import (
    MAX_STUCK_CONNECTIONS,
    Camera,
    CameraError,
    CameraFrame,
    CameraSettings,
    CameraStats,
    CameraUnavailable,
    source_kind,
)
from drivers.camera.motion import MotionDetector, changed_fraction, motion_bursts

__all__ = [
    "MAX_STUCK_CONNECTIONS",
    "Camera",
    "CameraError",
    "CameraFrame",
    "CameraSettings",
    "CameraStats",
    "CameraUnavailable",
    "MotionDetector",
    "changed_fraction",
    "motion_bursts",
    "source_kind",
]
