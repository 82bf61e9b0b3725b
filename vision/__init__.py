"""Reading licence plates and ISO 6346 container codes from camera frames.

    from vision import Frame, LaneVision, VisionConfig

    lane = LaneVision(VisionConfig(regions=["eu"]))
    reads = lane.read_burst([Frame(image, "front"), Frame(other, "top")])

See docs/vision.md.
"""

from vision.config import VisionConfig
from vision.errors import ImageError, VisionError
from vision.reader import ContainerRead, Frame, FrameReads, LaneVision, PlateRead, load_image

__all__ = [
    "ContainerRead",
    "Frame",
    "FrameReads",
    "ImageError",
    "LaneVision",
    "PlateRead",
    "VisionConfig",
    "VisionError",
    "load_image",
]
