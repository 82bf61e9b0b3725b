"""Container codes from OCR lines: assembly, confusion resolution, check digit, fusion.

The painted code comes in pieces: owner code, serial and a boxed check digit on
one line, on two lines, or as a column with one character per line. Lines that
follow each other (to the right, or below) are chained and the chain is searched
for the ISO 6346 shape. Characters of the wrong kind for their position (a `0`
where the owner code needs a letter) are swapped for their look-alikes, and the
check digit decides between alternatives. A code whose check digit fails is never
accepted.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from vision.iso6346 import is_size_type, is_valid_code
from vision.plates import normalize, plate_distance
from vision.text import Box, TextLine, union

Status = Literal["read", "repaired", "unverified"]

# Look-alikes of the other kind, per position class. Several options are tried and
# the check digit must pick exactly one.
# A 1 may be an I, a J or a serif T: J and T have the same check-digit value (20 and
# 31 are equal modulo 11), so when a 1 stands where the owner code needs a letter the
# check digit cannot choose between them, and offering both lets it say so.
AS_LETTER = {"0": "ODQ", "1": "IJT", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
AS_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "J": "1", "L": "1", "T": "7",
            "Z": "2", "S": "5", "G": "6", "B": "8", "A": "4"}  # fmt: skip
AS_CATEGORY = {"V": "U", "Y": "U", "2": "Z", "0": "U", "O": "U"}
# Same-kind confusions, tried only when the direct read fails its check digit.
SAME_KIND = {"8": "638", "6": "85", "3": "8", "5": "6", "1": "7", "7": "1", "0": "8",
             "O": "DQ", "D": "O", "Q": "O", "U": "V", "V": "U", "M": "N", "N": "M",
             "C": "G", "G": "C", "E": "F", "F": "E", "I": "L"}  # fmt: skip
MAX_KIND_SWAPS = 2  # more than this and the evidence is too weak to trust
BOX_EDGE = "I1LJ"  # what the left edge of the check digit's box reads as
# Weights, volumes and dimensions on the data plate (`30.480 KGS`, `2,6m`): a painted
# code never has a separator inside a number, so such a line is never part of one.
MEASUREMENT = re.compile(r"\d[.,]\d")


# Statuses from the most believed (`read`: check digit right) to the least.
RANK = {"read": 2, "repaired": 1, "unverified": 0}


@dataclass(frozen=True)
class CodeCandidate:
    code: str  # 11 characters (10 for an unverified owner + serial)
    status: Status
    confidence: float
    box: Box
    size_type: str | None = None


def position_options(char: str, position: int) -> str:
    """The characters `char` may stand for at `position` of an 11-character code."""
    if position < 3:
        return char if char.isalpha() else AS_LETTER.get(char, "")
    if position == 3:
        return char if char in "UJZ" else AS_CATEGORY.get(char, "")
    return char if char.isdigit() else AS_DIGIT.get(char, "")


def resolve(window: str) -> tuple[list[str], int]:
    """Every check-digit-valid reading of an 11-character window, and the swaps needed."""
    options = [position_options(c, i) for i, c in enumerate(window)]
    swaps = sum(1 for c, o in zip(window, options, strict=True) if o != c)
    if any(not o for o in options) or swaps > MAX_KIND_SWAPS:
        return [], swaps
    valid = ["".join(p) for p in itertools.product(*options) if is_valid_code("".join(p))]
    return valid, swaps


def has_code_shape(text: str) -> bool:
    """Letters, category and digits where ISO 6346 puts them, with no swaps needed."""
    return all(position_options(c, i) == c for i, c in enumerate(text))


def repair(code: str) -> list[str]:
    """Check-digit-valid codes one same-kind confusion away from `code`."""
    found = []
    for i, char in enumerate(code):
        for other in SAME_KIND.get(char, ""):
            candidate = code[:i] + other + code[i + 1 :]
            if candidate != code and is_valid_code(candidate):
                found.append(candidate)
    return sorted(set(found))


def follows(a: TextLine, b: TextLine) -> bool:
    """True when `b` continues `a` in reading order: to its right, or just below it."""
    size = max(a.char_size, 1.0)
    overlap_x = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    below_gap = b.box[1] - a.box[3]
    if overlap_x > 0.3 * min(a.width, b.width) and -0.6 * size <= below_gap <= 2.0 * size:
        return b.box[1] > a.box[1]
    if a.vertical:
        return False
    mid_a, mid_b = (a.box[1] + a.box[3]) / 2, (b.box[1] + b.box[3]) / 2
    right_gap = b.box[0] - a.box[2]
    return abs(mid_a - mid_b) < 0.6 * size and -0.5 * size <= right_gap <= 3.0 * size


def chains(lines: Sequence[TextLine], depth: int = 4) -> list[list[TextLine]]:
    """All reading-order chains of up to `depth` lines.

    A size-type code (`42G1`) painted under the serial never continues a chain:
    its digits would otherwise pose as a check digit.
    """
    nexts = {
        id(a): [
            b for b in lines if b is not a and follows(a, b) and not is_size_type(normalize(b.text))
        ]
        for a in lines
    }
    found: list[list[TextLine]] = []

    def extend(chain: list[TextLine]) -> None:
        found.append(chain)
        if len(chain) < depth:
            for b in nexts[id(chain[-1])]:
                if b not in chain:
                    extend([*chain, b])

    for line in lines:
        extend([line])
    return found


def word_bounds(chain: list[TextLine]) -> tuple[list[int], set[int]]:
    """Offsets in the chain's characters where a word starts, and where one ends: line
    starts and ends, and the spaces inside a line.

    Painted codes stand apart from other words, so a code never starts mid-word (this
    keeps `HEUNG-A 2089976` from posing as a code) and its check digit ends one.
    """
    starts: set[int] = set()
    ends: set[int] = set()
    offset = 0
    for line in chain:
        starts.add(offset)
        seen = 0
        for i, char in enumerate(line.text):
            if normalize(char):
                if i > 0 and line.text[i - 1].isspace():
                    starts.add(offset + seen)
                seen += 1
                if i + 1 < len(line.text) and line.text[i + 1].isspace():
                    ends.add(offset + seen)
        offset += seen
        ends.add(offset)
    return sorted(starts), ends


def ends_a_word(text: str, end: int, ends: set[int]) -> bool:
    """A code's check digit ends its word, or runs straight into its size-type code,
    or into the right edge of its box read as a stroke (`6I`).

    A window that stops mid-word takes a character from the next word, or two line
    boxes that overlap read one character twice (`20899` + `976` for `208997 6`);
    either way, a check digit that then passes does so by chance.
    """
    if end in ends or is_size_type(text[end : end + 4]):
        return True
    return end < len(text) and text[end] in BOX_EDGE and end + 1 in ends


def candidates_in_chain(chain: list[TextLine]) -> Iterable[CodeCandidate]:
    parts = [normalize(line.text) for line in chain]
    text = "".join(parts)
    score = min(line.score for line in chain)
    box = union([line.box for line in chain])
    starts, ends = word_bounds(chain)
    for start in starts:
        window = text[start : start + 11]
        valid, swaps = resolve(window) if len(window) == 11 else ([], 0)
        if len(window) == 11 and ends_a_word(text, start + 11, ends):
            if len(valid) == 1:
                yield CodeCandidate(valid[0], "read", score * 0.92**swaps, box)
                continue
            if not valid and swaps == 0:
                repaired = repair(window)
                if len(repaired) == 1:
                    yield CodeCandidate(repaired[0], "repaired", score * 0.6, box)
        boxed = text[start : start + 12]
        if (
            not valid
            and len(boxed) == 12
            and boxed[10] in BOX_EDGE
            and ends_a_word(text, start + 12, ends)
        ):
            # The frame of the boxed check digit read as a character before it.
            unboxed, _ = resolve(boxed[:10] + boxed[11])
            if len(unboxed) == 1:
                yield CodeCandidate(unboxed[0], "repaired", score * 0.6, box)
        head = text[start : start + 10]
        if len(head) == 10 and len(text) - start == 10 and has_code_shape(head):
            yield CodeCandidate(head, "unverified", score * 0.5, box)


# An owner code with its category letter, as painted on a line (or column) of its own.
OWNER_CODE = re.compile(r"[A-Z]{3}[UJZ]")


def lone_owner_codes(lines: Sequence[TextLine], found: Iterable[CodeCandidate]) -> list[TextLine]:
    """Lines that read as an owner code (`BEAU`) that no code read in the frame goes on
    from: the text detector found the owner code but missed its serial."""
    read = {c.code[:4] for c in found if c.status == "read"}
    return [
        line
        for line in lines
        if OWNER_CODE.fullmatch(normalize(line.text)) and normalize(line.text) not in read
    ]


def serial_regions(owner: TextLine, shape: tuple[int, ...]) -> list[Box]:
    """Where the ISO 6346 layouts put the serial and check digit of `owner`, most
    likely first: under a vertical column; right of a line, or under it (two lines).

    Sizes follow the owner code's: 4 characters there, 7 (and a gap) in the serial.
    """
    x1, y1, x2, y2 = owner.box
    w, h = x2 - x1, y2 - y1

    def clip(a: float, b: float, c: float, d: float) -> Box:
        return (max(0, int(a)), max(0, int(b)), min(shape[1], int(c)), min(shape[0], int(d)))

    if owner.vertical:
        return [clip(x1 - 0.3 * w, y2 - 0.05 * h, x2 + 0.3 * w, y2 + 1.9 * h)]
    return [
        clip(x2, y1 - 0.15 * h, x2 + 2.4 * w, y2 + 0.15 * h),
        clip(x1 - 0.1 * w, y2 - 0.35 * h, x1 + 2.1 * w, y2 + 0.85 * h),
    ]


def size_type_of(lines: Sequence[TextLine], near: Box) -> str | None:
    """The size-type code painted nearest to the container code, if one was read."""
    best: tuple[float, str] | None = None
    for line in lines:
        text = normalize(line.text)
        if len(text) != 4:
            continue
        # The third character is the type group, a letter: `2261` is `22G1` misread.
        fixed = text[:2] + AS_LETTER.get(text[2], text[2])[0] + text[3]
        if not is_size_type(fixed):
            continue
        cx, cy = (line.box[0] + line.box[2]) / 2, (line.box[1] + line.box[3]) / 2
        ncx, ncy = (near[0] + near[2]) / 2, (near[1] + near[3]) / 2
        distance = math.hypot(cx - ncx, cy - ncy)
        if best is None or distance < best[0]:
            best = (distance, fixed)
    return best[1] if best else None


def read_codes(lines: Sequence[TextLine], min_score: float = 0.5) -> list[CodeCandidate]:
    """Container code candidates in one frame, strongest first, one per code."""
    usable = [
        line
        for line in lines
        if line.score >= min_score and normalize(line.text) and not MEASUREMENT.search(line.text)
    ]
    best = merged(cand for chain in chains(usable) for cand in candidates_in_chain(chain))
    found = [
        CodeCandidate(c.code, c.status, round(c.confidence, 4), c.box, size_type_of(usable, c.box))
        for c in best
    ]
    return sorted(found, key=strength, reverse=True)


def strength(candidate: CodeCandidate) -> tuple[int, float]:
    """How far a candidate is to be believed: its status first, then its confidence."""
    return RANK[candidate.status], candidate.confidence


def merged(*reads: Iterable[CodeCandidate]) -> list[CodeCandidate]:
    """The candidates of several reads of one frame (the whole frame, its code boxes):
    per code the strongest, with a size type where any read found one."""
    best: dict[str, CodeCandidate] = {}
    for cand in itertools.chain(*reads):
        held = best.get(cand.code)
        if held is None:
            best[cand.code] = cand
            continue
        strong, weak = (cand, held) if strength(cand) > strength(held) else (held, cand)
        best[cand.code] = replace(strong, size_type=strong.size_type or weak.size_type)
    return sorted(best.values(), key=strength, reverse=True)


def accepted(candidates: Iterable[CodeCandidate]) -> list[CodeCandidate]:
    """What one frame may claim on its own: direct, check-digit-valid reads only."""
    return [c for c in candidates if c.status == "read"]


@dataclass
class FusedCode:
    code: str
    confidence: float
    views: list[str] = field(default_factory=list)
    size_type: str | None = None
    box: Box | None = None


def fuse_views(per_view: dict[str, list[CodeCandidate]]) -> list[FusedCode]:
    """Fuse the camera views of one passage into the codes on the truck.

    A code is accepted only when at least one view read it directly (its check
    digit right as read, or after letter/digit swaps that the check digit alone
    decided). A repair (a same-kind confusion undone) and owner + serial seen
    without a check digit only add support: views of one painted code share its
    misreads, so two views agreeing on a repair is not independent evidence. Of two
    accepted codes a confusion or two apart, the weaker is a misread that happened
    to pass its check digit and is dropped.
    """
    support: dict[str, list[tuple[str, CodeCandidate]]] = {}
    for view, cands in per_view.items():
        for cand in cands:
            if cand.status != "unverified":
                support.setdefault(cand.code, []).append((view, cand))
    fused: list[FusedCode] = []
    for code, seen in support.items():
        if not any(c.status == "read" for _, c in seen):
            continue
        views = sorted({v for v, _ in seen})
        partial_views = {
            v
            for v, cands in per_view.items()
            for c in cands
            if c.status == "unverified" and code.startswith(c.code)
        }
        miss = math.prod(1 - min(c.confidence, 0.99) for _, c in seen)
        miss *= 0.8 ** len(partial_views - set(views))
        sizes = [c.size_type for _, c in seen if c.size_type]
        size_type = max(set(sizes), key=sizes.count) if sizes else None
        best_box = max(seen, key=lambda s: s[1].confidence)[1].box
        fused.append(FusedCode(code, round(1 - miss, 4), views, size_type, best_box))
    fused.sort(key=lambda f: -f.confidence)
    kept: list[FusedCode] = []
    for f in fused:
        if all(plate_distance(f.code, k.code) > 1.0 for k in kept):
            kept.append(f)
    return kept
