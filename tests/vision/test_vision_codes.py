"""ISO 6346 check digit and size-type codes; assembling codes from OCR lines; passage fusion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.containers import CodeCandidate, accepted, fuse_views, read_codes, repair, resolve
from vision.iso6346 import (
    CHAR_VALUES,
    ContainerCodeError,
    check_digit,
    is_valid_code,
    parse_size_type,
)
from vision.text import TextLine

# Published examples (BIC's own, the ISO 6346 article's) and codes painted on real
# containers whose check digit was verified by hand.
KNOWN_GOOD = [
    "BICU1234565",
    "CSQU3054383",
    "TRHU3074372",
    "HALU2089976",
    "CXDU1604074",
    "BEAU2576878",
]


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_known_good_codes_pass(code: str) -> None:
    assert check_digit(code[:10]) == int(code[10])
    assert is_valid_code(code)


def test_letter_values_skip_multiples_of_eleven() -> None:
    assert CHAR_VALUES["A"] == 10
    assert CHAR_VALUES["B"] == 12  # 11 skipped
    assert CHAR_VALUES["L"] == 23  # 22 skipped
    assert CHAR_VALUES["V"] == 34  # 33 skipped
    assert CHAR_VALUES["Z"] == 38


def test_remainder_ten_gives_check_digit_zero() -> None:
    # ABCU100008: weighted sum is 10 modulo 11, and the check digit is written 0.
    total = sum(CHAR_VALUES[c] * 2**i for i, c in enumerate("ABCU100008"))
    assert total % 11 == 10
    assert check_digit("ABCU100008") == 0


@pytest.mark.parametrize(
    "code", ["BICU1234566", "CSQU3054384", "BICU123456", "BIC1234565", "bicu1234565"]
)
def test_wrong_or_malformed_codes_fail(code: str) -> None:
    assert not is_valid_code(code)


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.integers(0, 5),
    st.integers(1, 9),
)
def test_a_changed_serial_digit_is_caught(
    owner: str, cat: str, serial: str, pos: int, delta: int
) -> None:
    first = owner + cat + serial
    code = first + str(check_digit(first))
    assert is_valid_code(code)
    changed = serial[:pos] + str((int(serial[pos]) + delta) % 10) + serial[pos + 1 :]
    total = sum(CHAR_VALUES[c] * 2**i for i, c in enumerate(first)) % 11
    # Only the 0/10 remainder pair shares a written check digit.
    if total not in (0, 10):
        assert not is_valid_code(owner + cat + changed + code[10])


def test_check_digit_refuses_bad_input() -> None:
    with pytest.raises(ContainerCodeError):
        check_digit("BICU12345")
    with pytest.raises(ContainerCodeError):
        check_digit("B1CU123456")


def test_size_type_codes() -> None:
    st22 = parse_size_type("22G1")
    assert (st22.length, st22.height, st22.group) == ("20 ft", "8 ft 6 in", "general purpose")
    st45 = parse_size_type("45R1")
    assert (st45.length, st45.height, st45.group) == ("40 ft", "9 ft 6 in", "refrigerated")
    assert parse_size_type("L5G1").length == "45 ft"
    for bad in ("99X9", "22G", "2XG1", "22GG"):
        with pytest.raises(ContainerCodeError):
            parse_size_type(bad)


# -- confusion resolution ---------------------------------------------------------------


def test_digit_read_where_a_letter_belongs_is_resolved() -> None:
    assert resolve("8EAU2576878") == (["BEAU2576878"], 1)
    assert resolve("HALU2O89976") == (["HALU2089976"], 1)
    assert resolve("TRHU307437Z") == (["TRHU3074372"], 1)


def test_too_many_swaps_are_not_trusted() -> None:
    valid, swaps = resolve("8EAU2S7G878")
    assert valid == [] and swaps == 3


def test_a_code_failing_its_check_digit_is_never_read() -> None:
    lines = [TextLine("BEAU2576879", 0.99, (10, 10, 300, 40))]
    found = read_codes(lines)
    assert all(c.code != "BEAU2576879" for c in found)
    assert all(is_valid_code(c.code) for c in accepted(found))
    assert accepted(found) == []


def test_repair_offers_same_kind_confusions_that_pass() -> None:
    # 6 read as 8 in the serial: the repair finds the one code the check digit allows.
    assert "BEAU2576878" in repair("BEAU2578878")
    assert all(is_valid_code(c) for c in repair("BEAU2578878"))


# -- assembling painted layouts -----------------------------------------------------------


def test_vertical_column_layout() -> None:
    lines = [
        TextLine("BEAU", 0.99, (624, 204, 665, 412)),
        TextLine("2576878", 0.93, (628, 394, 679, 716)),
        TextLine("22G1", 0.98, (744, 201, 787, 395)),
    ]
    (best, *_) = read_codes(lines)
    assert (best.code, best.status, best.size_type) == ("BEAU2576878", "read", "22G1")
    assert best.box == (624, 204, 679, 716)


def test_two_line_layout_with_boxed_check_digit() -> None:
    lines = [
        TextLine("HALU", 1.0, (628, 226, 793, 319)),
        TextLine("208997", 0.96, (624, 290, 900, 400)),
        TextLine("6", 0.9, (910, 300, 960, 390)),
        TextLine("22G1", 1.0, (636, 400, 745, 460)),
    ]
    assert [c.code for c in accepted(read_codes(lines))] == ["HALU2089976"]


def test_one_line_layout_in_pieces() -> None:
    lines = [
        TextLine("CXDU", 1.0, (676, 485, 798, 547)),
        TextLine("160407", 1.0, (843, 484, 1026, 547)),
        TextLine("4", 0.95, (1040, 484, 1080, 547)),
    ]
    assert [c.code for c in accepted(read_codes(lines))] == ["CXDU1604074"]


def test_words_do_not_pose_as_codes() -> None:
    # Company names and weights beside a serial: nothing check-digit valid may come of it.
    lines = [
        TextLine("HEUNG-A", 1.0, (103, 317, 452, 406)),
        TextLine("2089976", 0.96, (460, 317, 800, 406)),
        TextLine("MAX.GROSS 30.480 KGS", 1.0, (100, 420, 800, 460)),
    ]
    assert accepted(read_codes(lines)) == []


def test_a_one_read_for_t_or_j_is_left_to_the_check_digit_which_cannot_tell() -> None:
    # J and T have equal check-digit values modulo 11: `1RHU` may be JRHU or TRHU and
    # both pass, so the frame accepts neither (a real JPEG-q80 misread of TRHU3074372).
    assert resolve("1RHU3074372") == (["JRHU3074372", "TRHU3074372"], 1)
    lines = [
        TextLine("1", 0.55, (638, 216, 670, 271)),
        TextLine("RHU307437Z", 0.95, (616, 259, 672, 769)),
    ]
    assert accepted(read_codes(lines)) == []


def test_a_window_ending_mid_word_is_not_read() -> None:
    # Two overlapping line boxes read the serial's 9 twice (`20899` + `976` for
    # `208997 6`); HALU2089997 passes its check digit by chance and must not be read.
    lines = [
        TextLine("HALU", 1.0, (586, 204, 754, 293)),
        TextLine("20899", 0.99, (586, 268, 794, 362)),
        TextLine("976", 1.0, (751, 275, 919, 372)),
    ]
    assert is_valid_code("HALU2089997")
    assert accepted(read_codes(lines)) == []


@pytest.mark.parametrize("read", ["HALU208997622G1", "HALU 208997 6I", "HALU 208997 6I 22G1"])
def test_a_code_running_into_its_size_type_or_box_edge_is_read(read: str) -> None:
    lines = [TextLine(read, 0.97, (10, 10, 600, 60))]
    (best,) = accepted(read_codes(lines))
    assert best.code == "HALU2089976"


def test_data_plate_figures_never_make_a_code() -> None:
    # KGS + 2.180 + 33.2 + 1, one under another, fits KGSZ1803321 (check digit valid by
    # chance; a real JPEG-q80 misread): numbers with a decimal separator are weights.
    lines = [
        TextLine("30.480 KGS", 0.95, (810, 574, 971, 614)),
        TextLine("2.180", 0.99, (825, 639, 903, 670)),
        TextLine("33.2", 0.99, (815, 700, 887, 735)),
        TextLine("1", 0.99, (818, 759, 881, 774)),
    ]
    assert is_valid_code("KGSZ1803321")
    assert accepted(read_codes(lines)) == []


def test_owner_and_serial_without_check_digit_stay_unverified() -> None:
    lines = [TextLine("CXDU160407", 1.0, (360, 174, 666, 208))]
    found = read_codes(lines)
    assert [(c.code, c.status) for c in found] == [("CXDU160407", "unverified")]
    assert accepted(found) == []


# -- fusion across the views of one passage -----------------------------------------------


def cand(code: str, status: str, conf: float = 0.9) -> CodeCandidate:
    return CodeCandidate(code, status, conf, (0, 0, 10, 10), "22G1")  # type: ignore[arg-type]


def test_fusion_accepts_a_direct_read_and_counts_support() -> None:
    fused = fuse_views(
        {
            "top": [cand("BEAU2576878", "read", 0.9)],
            "left": [cand("BEAU2576878", "read", 0.8)],
            "right": [cand("BEAU257687", "unverified", 0.5)],
        }
    )
    assert [(f.code, f.views, f.size_type) for f in fused] == [
        ("BEAU2576878", ["left", "top"], "22G1")
    ]
    assert fused[0].confidence > 0.97


def test_fusion_never_accepts_a_repair_alone() -> None:
    # Views of one painted code share its misreads: agreeing repairs are not evidence.
    repaired = {v: [cand("BEAU2576878", "repaired", 0.6)] for v in ("top", "left", "right")}
    assert fuse_views(repaired) == []
    supported = fuse_views({**repaired, "front": [cand("BEAU2576878", "read", 0.7)]})
    assert [(f.code, f.views) for f in supported] == [
        ("BEAU2576878", ["front", "left", "right", "top"])
    ]


def test_size_type_under_the_serial_is_not_a_check_digit() -> None:
    lines = [
        TextLine("PJYU 639731", 1.0, (708, 104, 1119, 171)),
        TextLine("42G1", 0.98, (874, 179, 1042, 235)),
    ]
    found = read_codes(lines)
    assert [(c.code, c.status, c.size_type) for c in found] == [
        ("PJYU639731", "unverified", "42G1")
    ]


def test_fusion_never_accepts_unverified_reads_alone() -> None:
    assert (
        fuse_views(
            {"top": [cand("BEAU257687", "unverified")], "left": [cand("BEAU257687", "unverified")]}
        )
        == []
    )


def test_fusion_drops_a_weaker_near_twin() -> None:
    # ABCU1000080 and ABCU1008080 are both check-digit valid (remainders 10 and 0
    # share the digit 0) and one character apart: the weaker one, seen by one view,
    # is a misread that passed by chance. A second container on the truck is kept.
    assert is_valid_code("ABCU1000080") and is_valid_code("ABCU1008080")
    views = {
        "top": [cand("ABCU1000080", "read", 0.95), cand("TRHU3074372", "read", 0.9)],
        "left": [cand("ABCU1000080", "read", 0.9)],
        "right": [cand("ABCU1008080", "read", 0.5)],
    }
    assert [f.code for f in fuse_views(views)] == ["ABCU1000080", "TRHU3074372"]


def test_size_type_read_with_a_digit_for_its_type_letter() -> None:
    lines = [
        TextLine("CXDU", 1.0, (676, 485, 798, 547)),
        TextLine("1604074", 1.0, (843, 484, 1080, 547)),
        TextLine("2261", 0.97, (835, 545, 959, 610)),
    ]
    (best,) = accepted(read_codes(lines))
    assert best.size_type == "22G1"


def test_box_edge_read_before_the_check_digit_is_a_repair_not_a_read() -> None:
    lines = [TextLine("HALU 208997 I6", 0.95, (10, 10, 400, 50))]
    found = read_codes(lines)
    assert ("HALU2089976", "repaired") in [(c.code, c.status) for c in found]
    assert accepted(found) == []
