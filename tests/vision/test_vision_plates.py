"""Plate formats per region, confusion correction, fuzzy matching against known plates, voting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vision.config import VisionConfig
from vision.plates import (
    MAX_SWAPS,
    REGION_FORMATS,
    PlateFormat,
    PlateFormatError,
    fit_format,
    fits_enforced,
    formats_for,
    fuse_choices,
    interpret,
    likeliest_shaped,
    match_known,
    normalize,
    plate_distance,
    shape_decides,
    shape_rank,
    swap_options,
    vote,
)

EU = formats_for(["eu"])
US = formats_for(["us"])
BR = formats_for(["br"])


def text_of(raw: str, formats: list, **kw: object) -> str | None:  # type: ignore[type-arg]
    found = interpret(raw, formats, **kw)  # type: ignore[arg-type]
    return found.text if found else None


def test_normalize_keeps_only_letters_and_digits() -> None:
    assert normalize("rk-896 ao") == "RK896AO"
    assert normalize("CITROËN") == "CITROEN"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("RK 896 AO", "RK896AO"),  # clean Slovak plate
        ("RK896A0", "RK896AO"),  # 0 where the shape needs a letter
        ("RKO99AN", "RK099AN"),  # O where the shape needs a digit
        ("8A123CD", "BA123CD"),  # 8 read for B
        ("1B2:5790", "1B25790"),  # Czech plate, the sticker read as a colon
        ("RK0565AV", "RK565AV"),  # coat of arms between district and number read as 0
        ("1B285790", "1B25790"),  # Czech plate, the two stacked stickers read as 8
    ],
)
def test_eu_formats_correct_confusions(raw: str, want: str) -> None:
    assert text_of(raw, EU) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("OKT3896", "OKT3896"),
        ("0KT3896", "OKT3896"),  # a zero in the letter block
        ("OKT38S6", "OKT3856"),  # S in the digit block
        ("BRA2E19", "BRA2E19"),  # Mercosul
    ],
)
def test_br_formats(raw: str, want: str) -> None:
    assert text_of(raw, BR) == want


def test_br_rejects_what_is_not_a_brazilian_plate() -> None:
    assert text_of("AB12", BR) is None
    assert text_of("ABCDEFG", BR) is None


def test_us_reads_round_glyphs_as_zero_and_keeps_vanity_plates() -> None:
    assert text_of("UH1-FOF", US) == "UH1F0F"
    assert text_of("QUILLS", US) == "QUILLS"
    # A confident distinct glyph is kept even where no issued shape has it.
    assert text_of("DD4C591", US) == "DD4C591"


def test_printed_text_that_is_not_a_plate() -> None:
    for raw in ("2014-05-13 07:41:21", "07:41:21", "30.480 KGS", "NEVADA", "ILLINOIS"):
        assert interpret(raw, US + EU) is None, raw


def test_words_are_not_bent_into_plates() -> None:
    # FIAT fits no issued shape unless T becomes 7: a pure word is not swapped.
    found = interpret("FIAT", EU)
    assert found is None or found.text == "FIAT"


def test_site_patterns_come_first() -> None:
    site = formats_for(["eu"], site_patterns=[r"CD[0-9]{4}"])  # a diplomatic series, say
    found = interpret("CD1234", site)
    assert found is not None and found.region == "site" and found.text == "CD1234"
    found = interpret("CDI234", site)
    assert found is not None and found.text == "CD1234"


def test_bad_patterns_and_regions_are_refused() -> None:
    with pytest.raises(PlateFormatError):
        formats_for(["eu"], site_patterns=["[A-Z"])
    with pytest.raises(PlateFormatError):
        formats_for(["xx"])
    with pytest.raises(ValidationError):
        VisionConfig(regions=["mars"])
    with pytest.raises(ValidationError):
        VisionConfig(plate_patterns=["(unclosed"])
    with pytest.raises(ValidationError):
        VisionConfig(no_such_field=1)  # type: ignore[call-arg]


def test_plate_distance_weighs_visual_confusions() -> None:
    assert plate_distance("AB123CD", "AB123CD") == 0
    assert plate_distance("AB123CD", "AB123CO") < plate_distance("AB123CD", "AB123CX")
    assert plate_distance("0B8", "OB8") == pytest.approx(0.1)
    assert plate_distance("S5", "55") == pytest.approx(0.2)
    assert plate_distance("AB123", "AB1234") == 1.0  # one insertion


def test_match_known_plates() -> None:
    known = ["RK896AO", "BA123CD", "OKT3896"]
    assert match_known("RK896A0", known) == "RK896AO"
    assert match_known("8A123CD", known) == "BA123CD"
    assert match_known("XY999ZZ", known) is None
    # Equally near two known plates: the read cannot tell which.
    assert match_known("AB1234", ["AB1235", "AB1239"]) is None


def test_burst_voting_fuses_near_reads() -> None:
    reads = [("AB123CD", 0.9), ("AB123C0", 0.5), ("AB123CD", 0.8), ("XY99", 0.3)]
    votes = vote(reads, frames=3)
    assert votes[0].text == "AB123CD"
    assert votes[0].frames == 3
    assert votes[0].confidence == pytest.approx((0.9 + 0.5 + 0.8) / 3, abs=1e-3)
    assert [v.text for v in votes[1:]] == ["XY99"]


def test_voting_a_single_weak_frame_stays_weak() -> None:
    (only,) = vote([("AB123CD", 0.6)], frames=5)
    assert only.confidence == pytest.approx(0.12)


def test_with_all_regions_on_a_us_read_is_not_bent_into_another_shape() -> None:
    everywhere = formats_for(["us", "eu", "br"])
    assert text_of("5VDA555", everywhere) == "5VDA555"  # not BR `SVDA555`
    assert text_of("RK896A0", everywhere) == "RK896AO"  # O/0 is one glyph: the SK shape wins
    # A 7-character read with a 1 inside is a plate, not a plate plus a stray mark.
    assert text_of("AB1234C", everywhere) == "AB1234C"


def exhaustive_fit(text: str, fmt: PlateFormat) -> float | None:
    """The cheapest fit by trying every swap combination (the search fit_format prunes)."""
    costs = [
        sum(cost for _, cost in combo)
        for combo in itertools.product(*(swap_options(c) for c in text))
        if sum(1 for _, cost in combo if cost > 0) <= MAX_SWAPS
        and fmt.pattern.fullmatch("".join(c for c, _ in combo))
    ]
    return min(costs, default=None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABDGILOSTZ0125678X9", min_size=2, max_size=9))
def test_fit_format_finds_the_cheapest_fit(text: str) -> None:
    for fmt in REGION_FORMATS["eu"] + REGION_FORMATS["br"]:
        found = fit_format(text, fmt)
        best = exhaustive_fit(text, fmt)
        if best is None:
            assert found is None, (text, fmt.name, found)
        else:
            assert found is not None and fmt.pattern.fullmatch(found[0]), (text, fmt.name)
            assert found[1] == pytest.approx(best), (text, fmt.name, found)


# Two crops of one real US plate row (4GLS168), the recogniser's probabilities as
# measured: the first crop reads L at 0.69, the second 4 at 0.76.
FIRST_CROP = [{"L": 0.69, "4": 0.29}, {"G": 1.0}, {"L": 1.0}, {"S": 0.98, "$": 0.02},
              {"1": 1.0}, {"6": 1.0}, {"8": 1.0}]  # fmt: skip
SECOND_CROP = [{"4": 0.76, "L": 0.21}, {"G": 0.99}, {"L": 1.0}, {"S": 0.97, "$": 0.02},
               {"1": 1.0}, {"6": 1.0}, {"8": 1.0}]  # fmt: skip


def test_two_crops_are_judged_character_by_character() -> None:
    fused = fuse_choices(FIRST_CROP, SECOND_CROP)
    assert fused is not None
    text, probs = fused
    assert text == "4GLS168"
    assert probs[0] == pytest.approx((0.29 + 0.76) / 2)
    assert probs[1:] == pytest.approx([0.995, 1.0, 0.975, 1.0, 1.0, 1.0])
    assert fuse_choices(SECOND_CROP, FIRST_CROP) == fused  # the order of the crops is no vote


def test_separators_and_case_do_not_misalign_the_crops() -> None:
    dashed = [*FIRST_CROP[:3], {"-": 0.99, " ": 0.01}, *FIRST_CROP[3:]]
    lower = [{"l": 0.5, "L": 0.2, "4": 0.29}, *FIRST_CROP[1:]]  # l and L are one plate glyph
    assert fuse_choices(dashed, SECOND_CROP) == fuse_choices(FIRST_CROP, SECOND_CROP)
    fused = fuse_choices(lower, SECOND_CROP)
    assert fused is not None and fused[0] == "4GLS168"
    assert fused[1][0] == pytest.approx((0.29 + 0.76) / 2)


def test_crops_that_do_not_line_up_are_not_fused() -> None:
    assert fuse_choices(FIRST_CROP, SECOND_CROP[1:]) is None  # a character cut off
    assert fuse_choices([], []) is None


def test_a_crop_sure_of_another_glyph_is_a_contradiction_not_a_vote() -> None:
    # A Brazilian OEL1145: O at 0.60 in one crop, D at 0.97 in the other.
    doubtful = [{"O": 0.60, "D": 0.38}, *[{c: 1.0} for c in "EL1145"]]
    sure = [{"D": 0.97, "O": 0.02}, *[{c: 1.0} for c in "EL1145"]]
    assert fuse_choices(doubtful, sure) is None
    assert fuse_choices(sure, sure) == ("DEL1145", [0.97, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_a_glyph_the_crops_split_evenly_stays_doubtful() -> None:
    even = [{"4": 0.5, "L": 0.49}, *[{c: 1.0} for c in "GLS168"]]
    split = [{"L": 0.5, "4": 0.49}, *[{c: 1.0} for c in "GLS168"]]
    assert fuse_choices(even, split) is None  # 4 holds 0.495 over both: under half


EVERYWHERE = formats_for(["us", "eu", "br"])
ORDER = ["site", "us", "eu", "br"]


def rank(text: str) -> int | None:
    return shape_rank(text, EVERYWHERE, ORDER, ["us"])


def test_us_serial_shapes_name_a_read_but_do_not_bend_it() -> None:
    found = interpret("4GLS168", US)
    assert found is not None and (found.format_name, found.specific) == ("DLLLDDD", False)
    assert found.cost == interpret("QUILLS", US).cost  # type: ignore[union-attr]
    assert interpret("QUILLS", US).format_name == "any"  # type: ignore[union-attr]
    # three or four characters: a plate, or a sticker's year beside one
    short = interpret("2006", US)
    assert short is not None and short.format_name == "short"
    assert short.cost > found.cost
    # a serial shape is no better than a catch-all against another region's swaps
    assert text_of("0EL1145", formats_for(["us", "br"])) == "OEL1145"


def test_shape_rank_follows_the_lanes_region_order() -> None:
    assert rank("4GLS168") == 1  # California 1ABC234
    assert rank("LGLS168") == 2  # no US issuer's shape; a German LLLL NNN
    assert rank("UH1FOF") == 1  # a round glyph is a 0 on a US plate: Missouri AB1C2D
    assert rank("UHIFOF") is None
    assert rank("ABC1234") == 1  # fits the US first, though Brazil issues it too
    assert shape_rank("ABC1234", EVERYWHERE, ["site", "br", "us"], ["us"]) == 1
    assert rank("QUILLS") is None and rank("12345") is None  # vanity plates, numbers


def test_a_doubtful_glyph_takes_the_choice_that_fits_the_best_ranked_shape() -> None:
    worn_4 = [{"L": 0.7, "4": 0.28}, *[{c: 1.0} for c in "GLS168"]]
    assert likeliest_shaped(worn_4, rank) == ("4GLS168", [0.28, 1, 1, 1, 1, 1, 1])
    # the likeliest of two texts fitting equally ranked shapes
    either = [{"A": 0.6, "4": 0.35}, *[{c: 1.0} for c in "BC123"]]
    assert likeliest_shaped(either, rank) == ("ABC123", [0.6, 1, 1, 1, 1, 1])


def test_sure_glyphs_and_faint_choices_are_never_bent() -> None:
    sure = [{"L": 0.95, "4": 0.04}, *[{c: 1.0} for c in "GLS168"]]
    assert likeliest_shaped(sure, rank) == ("LGLS168", [0.95, 1, 1, 1, 1, 1, 1])
    faint = [{"L": 0.89, "4": 0.05}, *[{c: 1.0} for c in "GLS168"]]
    assert likeliest_shaped(faint, rank) == ("LGLS168", [0.89, 1, 1, 1, 1, 1, 1])
    assert likeliest_shaped([{"Q": 0.6, "W": 0.3}, *[{c: 1.0} for c in "UILLS"]], rank) is None
    # four glyphs in doubt: the read is too unsure to be bent into any shape
    unsure = [{"L": 0.6, "4": 0.3}, {"G": 0.6, "6": 0.3}, {"L": 0.6, "1": 0.3},
              {"S": 0.6, "5": 0.3}, *[{c: 1.0} for c in "168"]]  # fmt: skip
    assert likeliest_shaped(unsure, rank) is None


def test_crops_each_sure_of_their_own_glyph_are_settled_by_the_shape() -> None:
    # 4GLS168 again: one crop reads L at 0.57, the other 4 at 0.95
    doubtful = [{"L": 0.57, "4": 0.41}, *[{c: 1.0} for c in "GLS168"]]
    sure = [{"4": 0.95, "L": 0.04}, *[{c: 1.0} for c in "GLS168"]]
    assert fuse_choices(doubtful, sure) is None  # no shapes: a contradiction
    fused = fuse_choices(doubtful, sure, rank)
    assert fused is not None and fused[0] == "4GLS168"
    assert fused[1][0] == pytest.approx((0.41 + 0.95) / 2)
    # where both reads fit shapes of one rank, it stays a contradiction
    brazil_o = [{"O": 0.60, "D": 0.38}, *[{c: 1.0} for c in "EL1145"]]
    brazil_d = [{"D": 0.97, "O": 0.02}, *[{c: 1.0} for c in "EL1145"]]
    assert fuse_choices(brazil_o, brazil_d, rank) is None


def test_the_shapes_decide_only_where_every_rival_reading_fits_a_worse_one() -> None:
    even = [{"4": 0.495, "L": 0.495}, *[{c: 1.0} for c in "GLS168"]]
    assert shape_decides(even, rank) == ("4GLS168", [0.495, 1, 1, 1, 1, 1, 1])
    # an A or a 4 both make a US shape (ABC123, 4BC123): the shapes say nothing
    either = [{"A": 0.5, "4": 0.49}, *[{c: 1.0} for c in "BC123"]]
    assert shape_decides(either, rank) is None
    # nothing in doubt, or the likeliest reading already fits the best shape: the
    # shapes settle nothing (the probabilities do)
    assert shape_decides([{c: 1.0} for c in "4GLS168"], rank) is None
    assert shape_decides([{"4": 0.7, "L": 0.28}, *even[1:]], rank) is None
    # the L ahead: the shapes overrule it
    assert shape_decides([{"L": 0.7, "4": 0.28}, *even[1:]], rank) == (
        "4GLS168",
        [0.28, 1, 1, 1, 1, 1, 1],
    )
    # the order the choices come in does not matter
    assert shape_decides([dict(reversed(even[0].items())), *even[1:]], rank) == shape_decides(
        even, rank
    )


def enforced(text: str) -> bool:
    return fits_enforced(text, EVERYWHERE, ["us"])


def test_the_shapes_do_not_choose_between_two_enforced_plates() -> None:
    """A Mercosul ABC1D23 whose D the recogniser doubts: read as 0 it is a grey
    Brazilian ABC1023, which also has a US shape, and the US is listed first. Both
    are Brazilian plates: the glyph's probabilities decide, not the region order."""
    doubt = [*[{c: 1.0} for c in "ABC1"], {"D": 0.6, "0": 0.35}, *[{c: 1.0} for c in "23"]]
    assert enforced("ABC1D23") and enforced("ABC1023") and not enforced("4GLS168")
    assert shape_decides(doubt, rank) == ("ABC1023", [1, 1, 1, 1, 0.35, 1, 1])  # unguarded
    assert shape_decides(doubt, rank, enforced) is None
    assert fuse_choices(doubt, doubt, rank, enforced) == ("ABC1D23", [1, 1, 1, 1, 0.6, 1, 1])
    # crops at odds, one sure of its glyph: the same
    d_sure = [*[{c: 1.0} for c in "ABC1"], {"D": 0.95, "0": 0.04}, *[{c: 1.0} for c in "23"]]
    zero_doubt = [*[{c: 1.0} for c in "ABC1"], {"0": 0.6, "D": 0.3}, *[{c: 1.0} for c in "23"]]
    assert fuse_choices(d_sure, zero_doubt, rank) is not None  # unguarded: the US shape
    assert fuse_choices(d_sure, zero_doubt, rank, enforced) is None
    # a German LGLS168 against a US-only 4GLS168: the region order decides
    worn_4 = [{"L": 0.7, "4": 0.28}, *[{c: 1.0} for c in "GLS168"]]
    assert enforced("LGLS168")
    assert shape_decides(worn_4, rank, enforced) == ("4GLS168", [0.28, 1, 1, 1, 1, 1, 1])
