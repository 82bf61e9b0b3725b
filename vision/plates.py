"""Licence plate text: formats per region, confusion-aware correction, fuzzy matching, voting.

OCR reads a plate as characters it is not sure of. Each region issues plates in a
few known shapes, so a read is held against those shapes and characters that are
easily mistaken for one another (O/0, I/1, B/8, S/5, Z/2, G/6...) are swapped
where the shape demands the other kind. A site adds its own patterns (regular
expressions) in its config.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from vision.errors import VisionError


class PlateFormatError(VisionError, ValueError):
    """A plate pattern that does not compile, or an unknown region."""


@dataclass(frozen=True)
class PlateFormat:
    region: str
    name: str
    pattern: re.Pattern[str]
    specific: bool  # False for catch-all shapes (vanity plates): a weaker match
    cost: float = 0.0  # what a read fitting only this shape costs (catch-alls)
    # A shape issuers give serial plates where no shape is enforced (the US): a read
    # need not fit one (vanity plates take any), but where the recogniser is unsure
    # of a glyph, the choice that fits one is taken (`likeliest_shaped`).
    serial: bool = False

    @property
    def shaped(self) -> bool:
        """An issued shape (enforced or serial), not a catch-all."""
        return self.specific or self.serial


def plate_format(
    region: str, name: str, regex: str, specific: bool = True, cost: float = 0.0
) -> PlateFormat:
    try:
        return PlateFormat(region, name, re.compile(regex), specific, cost)
    except re.error as err:
        raise PlateFormatError(f"bad plate pattern {name!r} ({regex!r}): {err}") from err


def serial_shape(region: str, shape: str, cost: float) -> PlateFormat:
    """A serial shape written as letters `L` and digits `D` (`DLLLDDD`: 7ABC123)."""
    regex = "".join("[A-Z]" if c == "L" else "[0-9]" for c in shape)
    return PlateFormat(region, shape, re.compile(regex), False, cost, serial=True)


# The shapes US issuers give serial plates (passenger, commercial, trailer), mixing
# letters and digits: a read of digits or letters only is a number or a word before
# it is a plate. Compiled from the states' current and recent issues (California
# 7ABC123 and its truck plates 1A23456 / 12345A1; Texas, New York, Pennsylvania,
# Ohio, Georgia ABC1234; Florida ABCD12, A123BC; Missouri AB1C2D; ...). A vanity plate
# fits none and is still read as it is (the catch-all).
US_SERIAL_SHAPES = """LLLDDDD DLLLDDD DLDDDDD DDDDDLD LLDLDDD DDDDLLL LDDDDDD DLLDDDD
    LLLDDD DDDLLL LLDDDD DDDDLL LDDDLL LDDLLL LLLLDD DLLDDD DLLLDD DDLDDD DDLLDD
    LLDLDL DLLDDL LDLDDD LLDDDL LDDDDD DDDDDL DDDLLD LLLDDL
    LLDDD DDDLL DDLLL DDDDL DDDLD""".split()  # noqa: SIM905 (a list literal is unreadable)


# Shapes as issued; the catch-alls come last and count as weaker evidence.
REGION_FORMATS: dict[str, tuple[PlateFormat, ...]] = {
    "eu": (
        plate_format("eu", "SK/FR/IT LL NNN LL", r"[A-Z]{2}[0-9]{3}[A-Z]{2}"),
        plate_format("eu", "CZ N L N NNNN", r"[0-9][A-Z][0-9A-Z][0-9]{4}"),
        plate_format("eu", "ES NNNN LLL", r"[0-9]{4}[A-Z]{3}"),
        plate_format("eu", "DE", r"[A-Z]{1,3}[A-Z]{1,2}[0-9]{1,4}[EH]?"),
        plate_format(
            "eu", "any", r"(?=.*[0-9])(?=.*[A-Z])[A-Z0-9]{5,8}", specific=False, cost=0.25
        ),
    ),
    # Fifty issuers, each with several serial shapes and vanity plates: no shape
    # can be enforced, so a US read is taken as read (with the O/0 rule below).
    "us": (
        *(serial_shape("us", shape, cost=0.15) for shape in US_SERIAL_SHAPES),
        plate_format("us", "any", r"[A-Z0-9]{5,7}", specific=False, cost=0.15),
        # Three or four characters: a vanity or low-number plate, but also what a
        # plate carries beside its registration (a sticker's year or month, a
        # county or dealer number), so it ranks behind a longer read of the frame.
        plate_format("us", "short", r"[A-Z0-9]{3,4}", specific=False, cost=0.4),
    ),
    "br": (
        plate_format("br", "LLL NNNN", r"[A-Z]{3}[0-9]{4}"),
        plate_format("br", "Mercosul LLL N L NN", r"[A-Z]{3}[0-9][A-Z][0-9]{2}"),
    ),
}
# US issuers largely leave the letter O out of serial plates, so a round glyph on a
# US plate is the digit 0 (configurable per site: `letter_o_is_zero`).
LETTER_O_IS_ZERO = {"us"}

# Words painted on plates and frames that are not the registration.
NOT_PLATES = frozenset(
    """ALABAMA ALASKA ARIZONA ARKANSAS CALIFORNIA COLORADO CONNECTICUT DELAWARE FLORIDA
    GEORGIA HAWAII IDAHO ILLINOIS INDIANA IOWA KANSAS KENTUCKY LOUISIANA MAINE MARYLAND
    MASSACHUSETTS MICHIGAN MINNESOTA MISSISSIPPI MISSOURI MONTANA NEBRASKA NEVADA
    NEWYORK NEWJERSEY NEWMEXICO NEWHAMPSHIRE OHIO OKLAHOMA OREGON PENNSYLVANIA
    RHODEISLAND TENNESSEE TEXAS UTAH VERMONT VIRGINIA WASHINGTON WISCONSIN WYOMING
    BRASIL BRAZIL STATE DEALER LINCOLN""".split()  # noqa: SIM905 (a list literal is unreadable)
)

# Pairs that OCR confuses, with the cost of taking one for the other (0 = same glyph,
# 1 = unrelated). Used for both correction and fuzzy matching.
CONFUSION_COST: dict[frozenset[str], float] = {
    frozenset(p): c
    for p, c in {
        "O0": 0.1,
        "D0": 0.3,
        "Q0": 0.3,
        "OD": 0.4,
        "OQ": 0.3,
        "I1": 0.2,
        "L1": 0.4,
        "T1": 0.5,
        "J1": 0.5,
        "B8": 0.2,
        "S5": 0.2,
        "Z2": 0.3,
        "G6": 0.3,
        "A4": 0.4,
        "T7": 0.5,
        "B3": 0.5,
        "E3": 0.6,
        "CG": 0.5,
        "UV": 0.5,
        "VY": 0.5,
        "MN": 0.6,
        "HN": 0.6,
        "KX": 0.6,
        "PR": 0.6,
        "68": 0.5,
        "38": 0.5,
        "56": 0.5,
        "17": 0.6,
    }.items()
}
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "T": "7", "J": "1",
            "B": "8", "S": "5", "Z": "2", "G": "6", "A": "4"}  # fmt: skip
TO_LETTER = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G", "4": "A", "7": "T"}
MAX_SWAPS = 3  # more corrections than this and the read is not a plate
# What fitting only a catch-all shape costs is the format's `cost`. In the EU, where
# each country issues a few shapes, the catch-all is a weak fallback (0.25): more than
# swapping near-identical glyphs (O/0 0.1; I/1, B/8, S/5 0.2). In the US, where no
# shape can be enforced, it is the shape (0.15): a US read of S or 1 is taken as read
# rather than bent into another region's shape; only O/0 (one glyph there) still is.
DROP_COST = 0.8
# ...except marks that plates carry between characters (a coat of arms, a sticker,
# a hyphen or dot) and OCR reads as a round or thin glyph: dropping one is cheap.
# Czech plates carry two round inspection stickers stacked between the district and
# the number: read as one glyph, that is an 8 (`1B285790` for 1B2 5790).
STRAY_MARKS = frozenset("O0QDI18")
STRAY_DROP_COST = 0.1


@functools.lru_cache(maxsize=8192)  # the same reads come back in every frame and chain
def normalize(raw: str) -> str:
    """Upper-case alphanumerics only, accents dropped (`Ë` reads as `E`)."""
    plain = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]", "", plain.upper())


TIMESTAMP_OR_AMOUNT = re.compile(
    r"\d{2}:\d{2}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d[.,]\d{3}\b"
)


def looks_like_text_not_plate(raw: str) -> bool:
    """Clock times, dates and weights are printed on frames and doors; plates carry none."""
    return bool(TIMESTAMP_OR_AMOUNT.search(raw))


@dataclass(frozen=True)
class PlateText:
    text: str
    region: str
    format_name: str
    cost: float  # corrections made: 0 for a clean read
    specific: bool = True  # False: only a catch-all shape fitted


def swap_options(char: str) -> list[tuple[str, float]]:
    """The character itself and its cross-kind look-alike, with the swap cost."""
    options = [(char, 0.0)]
    other = TO_DIGIT.get(char) or TO_LETTER.get(char)
    if other:
        options.append((other, CONFUSION_COST.get(frozenset((char, other)), 0.5)))
    return options


def fit_format(text: str, fmt: PlateFormat) -> tuple[str, float] | None:
    """The cheapest cross-kind swaps (at most MAX_SWAPS) that make `text` match `fmt`.

    Swap sets are tried smallest first, so a clean read costs one regex match and a
    10-character read at most 176 (not the 2^10 of every swap combination).
    """
    if fmt.pattern.fullmatch(text):
        return text, 0.0
    swaps = [(i, other, cost) for i, c in enumerate(text) for other, cost in swap_options(c)[1:]]
    if len(swaps) > 12:  # keeps the search small
        return None
    best: tuple[str, float] | None = None
    for k in range(1, MAX_SWAPS + 1):
        for chosen in itertools.combinations(swaps, k):
            cost = sum(c for _, _, c in chosen)
            if best is not None and cost >= best[1]:
                continue
            chars = list(text)
            for i, other, _ in chosen:
                chars[i] = other
            candidate = "".join(chars)
            if fmt.pattern.fullmatch(candidate):
                best = (candidate, cost)
    return best


def interpret(
    raw: str,
    formats: Sequence[PlateFormat],
    letter_o_is_zero: Iterable[str] = LETTER_O_IS_ZERO,
) -> PlateText | None:
    """Hold an OCR read against the plate formats; the cheapest fit wins.

    A catch-all format costs its `cost` more than an issued shape, and dropping
    one character costs `drop_cost`, so a clean issued shape beats both.
    """
    if looks_like_text_not_plate(raw):
        return None
    text = normalize(raw)
    if len(text) < 2 or text in NOT_PLATES:
        return None
    zero_regions = set(letter_o_is_zero)
    variants = [(text, 0.0)]
    if len(text) >= 6:
        variants += [
            (text[:i] + text[i + 1 :], drop_cost(text, i))
            for i in range(1, len(text) - 1)  # a mark sits between characters
        ]
    # The site's own patterns win whenever one fits: the site knows its traffic.
    site = [f for f in formats if f.region == "site"]
    others = [f for f in formats if f.region != "site"]
    for group in (site, others):
        best = best_fit(variants, group, zero_regions)
        if best is not None:
            return best
    return None


def drop_cost(text: str, i: int) -> float:
    """What reading `text` without its character `i` costs.

    A stray mark is cheap to drop only from a read longer than plates usually are
    (8+): a 7-character read with a 0 or 1 inside is a plate, not a plate and a mark.
    """
    if text[i] in STRAY_MARKS and len(text) >= 8:
        return STRAY_DROP_COST
    return DROP_COST


def kinds(text: str) -> set[str]:
    return {"digit" if c.isdigit() else "letter" for c in text}


def best_fit(
    variants: list[tuple[str, float]], formats: Sequence[PlateFormat], zero_regions: set[str]
) -> PlateText | None:
    best: PlateText | None = None
    for fmt in formats:
        for variant, drop_cost in variants:
            if drop_cost and not fmt.specific:
                continue
            # A catch-all shape says nothing about which kind a character is,
            # so it takes the read as it is.
            if fmt.specific:
                fit = fit_format(variant, fmt)
            else:
                fit = (variant, 0.0) if fmt.pattern.fullmatch(variant) else None
            if fit is None:
                continue
            fitted, cost = fit
            if kinds(variant) != kinds(fitted) and len(kinds(variant)) == 1:
                continue  # a word, or a number, bent into a plate shape
            if fmt.region in zero_regions and fmt.pattern.fullmatch(fitted.replace("O", "0")):
                fitted = fitted.replace("O", "0")
            cost += drop_cost + fmt.cost
            if best is None or cost < best.cost:
                best = PlateText(fitted, fmt.region, fmt.name, cost, fmt.specific)
    return best


def formats_for(regions: Iterable[str], site_patterns: Iterable[str] = ()) -> list[PlateFormat]:
    """Site patterns first (the site knows its traffic), then each region's shapes."""
    formats = [plate_format("site", p, p) for p in site_patterns]
    for region in regions:
        if region not in REGION_FORMATS:
            known = ", ".join(sorted(REGION_FORMATS))
            raise PlateFormatError(f"unknown plate region {region!r} (known: {known})")
        specific = [f for f in REGION_FORMATS[region] if f.specific]
        formats += specific
    for region in regions:
        formats += [f for f in REGION_FORMATS[region] if not f.specific]
    return formats


def substitution_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return CONFUSION_COST.get(frozenset((a, b)), 1.0)


def plate_distance(a: str, b: str) -> float:
    """Edit distance where visually confusable characters cost less to swap."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        current = [float(i)]
        for j, cb in enumerate(b, 1):
            current.append(
                min(
                    previous[j] + 1.0,
                    current[j - 1] + 1.0,
                    previous[j - 1] + substitution_cost(ca, cb),
                )
            )
        previous = current
    return previous[-1]


def match_known(text: str, known: Iterable[str], max_cost: float = 1.0) -> str | None:
    """The known plate nearest to `text` within `max_cost`, or None.

    Two known plates equally near mean the read cannot tell them apart: no match.
    """
    scored = sorted((plate_distance(normalize(text), normalize(k)), k) for k in known)
    if not scored or scored[0][0] > max_cost:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


# A crop whose likeliest character has this probability is sure of that glyph.
SURE_GLYPH = 0.9
# A fused character must hold at least this share of the probability over both
# crops: a glyph the crops split evenly is still doubtful.
FUSED_MIN_PROB = 0.5


# Where a read fits the lane's issued shapes: the rank of the first region, in the
# lane's order (site patterns first), with a shape it fits; None where it fits none.
ShapeRank = Callable[[str], int | None]


def fuse_choices(
    a: Sequence[Mapping[str, float]],
    b: Sequence[Mapping[str, float]],
    rank: ShapeRank | None = None,
    enforced: Callable[[str], bool] | None = None,
) -> tuple[str, list[float]] | None:
    """Two reads of one row (two crops) judged character by character.

    Each read's characters are taken as the plate shows them (upper-case
    alphanumerics, separators dropped); when both have as many, each position takes
    the character likeliest over both crops (their probabilities averaged). Returns
    the text and each character's averaged probability. None when the reads do not
    line up (a character more or less: a different cut, not a doubtful glyph); when
    at a glyph they disagree on either crop is sure of its own (`SURE_GLYPH`): one
    cut then reads a glyph confidently wrong, and averaging cannot tell which (a
    Brazilian `OEL1145` read O at 0.60 in one crop and D at 0.97 in the other); or
    when a character so picked holds less than `FUSED_MIN_PROB`.

    With `rank` (`shape_rank` for the lane), the shapes settle the glyphs in doubt
    where they overrule a reading at least as likely (`shape_decides`), and of two
    crops at odds, one sure of its glyph, the one whose read fits the better-ranked
    shape is taken (`4GLS168`, California's 1ABC234, over `LGLS168`, which no US
    issuer gives); with `enforced`, never between two plates of enforced shapes
    (`overrides`).
    """
    left, right = plate_choices(a), plate_choices(b)
    if not left or len(left) != len(right):
        return None
    averaged = [
        {c: (x.get(c, 0.0) + y.get(c, 0.0)) / 2 for c in sorted(x.keys() | y.keys())}
        for x, y in zip(left, right, strict=True)
    ]
    if any(
        likeliest(x) != likeliest(y) and max(x[likeliest(x)], y[likeliest(y)]) >= SURE_GLYPH
        for x, y in zip(left, right, strict=True)
    ):
        ranked = sorted((ranked_last(rank, t), t) for t in (spelled(left), spelled(right)))
        if rank is None or ranked[0][0] == ranked[1][0]:
            return None
        text, other = ranked[0][1], ranked[1][1]
        probs = [choices[c] for choices, c in zip(averaged, text, strict=True)]
        if enforced is not None and not overrides(text, other, enforced):
            return None
        return text, probs
    text = spelled(averaged)
    probs = [choices[c] for choices, c in zip(averaged, text, strict=True)]
    decided = shape_decides(averaged, rank, enforced) if rank is not None else None
    if decided is not None:
        return decided
    if min(probs) < FUSED_MIN_PROB:
        return None
    return text, probs


def ranked_last(rank: ShapeRank | None, text: str) -> float:
    """`rank(text)`, with a text that fits no shape ranked after every one that does."""
    found = rank(text) if rank is not None else None
    return math.inf if found is None else found


def likeliest(choices: Mapping[str, float]) -> str:
    return max(choices, key=lambda c: choices[c])


def spelled(choices: Sequence[Mapping[str, float]]) -> str:
    """The text of each position's likeliest character."""
    return "".join(likeliest(c) for c in choices)


# A glyph in doubt (its likeliest choice under `SURE_GLYPH`) may be read as another
# of its choices holding at least this much, where that makes the read fit a shape;
# more glyphs in doubt than `MAX_DOUBTFUL` and the read is not bent at all.
MIN_SHAPED_PROB = 0.1
MAX_DOUBTFUL = 3


def likeliest_shaped(
    choices: Sequence[Mapping[str, float]], rank: ShapeRank
) -> tuple[str, list[float]] | None:
    """The text the per-position choices spell that fits the best-ranked shape (the
    likeliest such), with each character's probability; None when none fits one.

    Only glyphs in doubt change, each to a choice of at least `MIN_SHAPED_PROB`: the
    way plate readers have long used each issuer's shapes to settle a glyph the
    recogniser cannot (a worn 4 read as L, a 1 as I).
    """
    shaped = [s for s in ranked_spellings(choices, rank) if s[0] != math.inf]
    return with_probs(choices, min(shaped)[2]) if shaped else None


def shape_decides(
    choices: Sequence[Mapping[str, float]],
    rank: ShapeRank,
    enforced: Callable[[str], bool] | None = None,
) -> tuple[str, list[float]] | None:
    """The read the shapes settle (`likeliest_shaped`), where they settle one: where
    a reading at least as likely fits only a worse-ranked shape, or none (`4GLS168`
    over `LGLS168` however evenly the 4 and the L split, or the L ahead). None where
    the likeliest reading already fits the best shape, or its rivals fit as good a
    one (a K or an X that both fit): the shapes say nothing there, and the glyphs'
    probabilities must.

    Nor do they choose between two plates of enforced shapes (`enforced`, see
    `overrides`): there the probabilities decide too.
    """
    ranked = ranked_spellings(choices, rank)
    if not ranked or ranked[0][0] == math.inf:
        return None
    best, neg_likelihood, text = min(ranked)
    overridden = [(-n, t) for r, n, t in ranked if r > best and n <= neg_likelihood]
    if not overridden:
        return None
    if enforced is not None and not overrides(text, max(overridden)[1], enforced):
        return None
    return with_probs(choices, text)


def ranked_spellings(
    choices: Sequence[Mapping[str, float]], rank: ShapeRank
) -> list[tuple[float, float, str]]:
    """Each spelling (`spellings`) as (rank, minus its likelihood, text), best first:
    the best-ranked shape, then the likeliest."""
    return sorted((ranked_last(rank, text), -p, text) for text, p in spellings(choices))


def with_probs(choices: Sequence[Mapping[str, float]], text: str) -> tuple[str, list[float]]:
    """`text` with each character's probability among `choices`."""
    return text, [position[c] for position, c in zip(choices, text, strict=True)]


def overrides(text: str, read: str, enforced: Callable[[str], bool]) -> bool:
    """Whether the shapes may put `text` in place of `read`: not where both are plates
    of enforced shapes (a Mercosul `ABC1D23` and a grey `ABC1023` are both Brazilian
    plates; that the second also has a US shape says nothing)."""
    return text == read or not (enforced(read) and enforced(text))


def spellings(choices: Sequence[Mapping[str, float]]) -> Iterator[tuple[str, float]]:
    """Every text the choices spell changing only glyphs in doubt (each to a choice
    of at least `MIN_SHAPED_PROB`), with its likelihood; none where more than
    `MAX_DOUBTFUL` glyphs are in doubt."""
    options: list[list[tuple[str, float]]] = []
    for position in choices:
        top = likeliest(position)
        if position[top] >= SURE_GLYPH:
            options.append([(top, position[top])])
        else:
            options.append([(c, p) for c, p in position.items() if p >= MIN_SHAPED_PROB])
    if sum(len(o) > 1 for o in options) > MAX_DOUBTFUL:
        return
    for combo in itertools.product(*options):
        yield "".join(c for c, _ in combo), math.prod(p for _, p in combo)


def fits_as_read(fmt: PlateFormat, text: str, zero_regions: set[str]) -> bool:
    """Whether `text` fits `fmt` as read (no swaps); a round glyph is a 0 in the
    regions whose plates carry no letter O."""
    return fmt.pattern.fullmatch(text) is not None or (
        fmt.region in zero_regions and fmt.pattern.fullmatch(text.replace("O", "0")) is not None
    )


def enforced_fits(
    text: str, formats: Sequence[PlateFormat], letter_o_is_zero: Iterable[str]
) -> set[str]:
    """The enforced shapes (`specific`: site, EU, BR) `text` fits as read, by name."""
    zero = set(letter_o_is_zero)
    return {f"{f.region} {f.name}" for f in formats if f.specific and fits_as_read(f, text, zero)}


def fits_enforced(
    text: str, formats: Sequence[PlateFormat], letter_o_is_zero: Iterable[str]
) -> bool:
    """Whether `text` fits an enforced shape (`specific`: site, EU, BR) as read."""
    return bool(enforced_fits(text, formats, letter_o_is_zero))


def shape_rank(
    text: str,
    formats: Sequence[PlateFormat],
    region_order: Sequence[str],
    letter_o_is_zero: Iterable[str],
) -> int | None:
    """Where `text` fits an issued shape as read (no swaps: where a glyph is in doubt
    the recogniser's own choices decide, see `likeliest_shaped`): the place in
    `region_order` of the first region with a shape it fits; None where it fits
    none. A round glyph is a 0 in the regions whose plates carry no letter O."""
    zero = set(letter_o_is_zero)
    fitted = [
        region_order.index(f.region)
        for f in formats
        if f.shaped and f.region in region_order and fits_as_read(f, text, zero)
    ]
    return min(fitted, default=None)


def plate_choices(chars: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """The positions whose likeliest character is alphanumeric, each with its
    choices as a plate shows them (`normalize`: `o` and `O` are one)."""
    out = []
    for choices in chars:
        if not choices or not normalize(max(choices, key=lambda c: choices[c])):
            continue  # a separator, a space, a mark
        merged: dict[str, float] = {}
        for char, prob in choices.items():
            key = normalize(char)
            if len(key) == 1:
                merged[key] = merged.get(key, 0.0) + prob
        out.append(merged)
    return out


@dataclass(frozen=True)
class PlateVote:
    text: str
    confidence: float
    frames: int  # frames of the burst that read this plate (or a near variant)


def vote(reads: Sequence[tuple[str, float]], frames: int, max_cost: float = 1.0) -> list[PlateVote]:
    """Fuse per-frame reads of a burst: near-identical reads support each other.

    Reads are grouped greedily around the strongest; each group's text is the
    variant with the most summed confidence; the group's confidence is that sum
    over the number of frames (a plate read well in every frame scores near 1).
    """
    remaining = sorted(reads, key=lambda r: -r[1])
    votes: list[PlateVote] = []
    while remaining:
        anchor = remaining[0][0]
        group = [r for r in remaining if plate_distance(r[0], anchor) <= max_cost]
        remaining = [r for r in remaining if r not in group]
        totals: dict[str, float] = {}
        for text, conf in group:
            totals[text] = totals.get(text, 0.0) + conf
        text = max(totals, key=lambda t: totals[t])
        confidence = min(1.0, sum(c for _, c in group) / max(frames, 1))
        votes.append(PlateVote(text, round(confidence, 4), len(group)))
    return sorted(votes, key=lambda v: -v.confidence)
