"""What the OCR engine saw: lines of text with their boxes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels of the frame
# The recogniser's likeliest characters for one character of a read, with their
# probabilities (a few, most likely first).
CharChoices = Mapping[str, float]


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    box: Box
    # One entry per character of `text` where the recogniser says (a crop read on
    # its own); empty for lines read by text detection.
    chars: tuple[CharChoices, ...] = field(default=(), compare=False, repr=False)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def vertical(self) -> bool:
        """A column of characters painted one under another."""
        return self.height > 1.5 * self.width and len(self.text) > 1

    @property
    def char_size(self) -> float:
        """The size of one character: line height, or column width when vertical."""
        return float(self.width if self.vertical else self.height)


def union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
