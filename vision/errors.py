"""The one exception root of the vision package."""

from __future__ import annotations


class VisionError(Exception):
    """Anything the vision package refuses: bad images, bad codes, missing models."""


class ImageError(VisionError):
    """An image that cannot be read or decoded."""
