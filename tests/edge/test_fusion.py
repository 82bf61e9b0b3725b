from __future__ import annotations

from datetime import UTC, datetime

from contract import IdentifierKind
from edge.fusion import fuse, within_one_edit
from edge.observations import IdentifierRead

AT = datetime(2026, 1, 1, tzinfo=UTC)


def read(
    kind: IdentifierKind, value: str, confidence: float, source: str = "cam"
) -> IdentifierRead:
    return IdentifierRead(kind=kind, value=value, confidence=confidence, source=source, at=AT)


def test_agreeing_reads_reinforce_each_other() -> None:
    fused = fuse(
        [
            read(IdentifierKind.PLATE, "AB 123-CD", 0.8, "front"),
            read(IdentifierKind.PLATE, "ab123cd", 0.7, "rear"),
        ]
    )
    assert len(fused) == 1
    plate = fused[0]
    assert plate.value == "AB123CD"
    assert plate.confidence == round(1 - 0.2 * 0.3, 4)
    assert plate.sources == ["front", "rear"] and plate.reads == 2


def test_a_plate_misread_is_folded_into_the_stronger_read_and_lowers_confidence() -> None:
    fused = fuse(
        [
            read(IdentifierKind.PLATE, "AB123CD", 0.9),
            read(IdentifierKind.PLATE, "AB123CD", 0.9),
            read(IdentifierKind.PLATE, "A8123CD", 0.6),
        ]
    )
    assert [f.value for f in fused] == ["AB123CD"]
    assert fused[0].reads == 3
    assert fused[0].confidence < 1 - 0.1 * 0.1


def test_distinct_plates_are_both_kept() -> None:
    fused = fuse(
        [read(IdentifierKind.PLATE, "AB123CD", 0.9), read(IdentifierKind.PLATE, "XY987ZW", 0.8)]
    )
    assert {f.value for f in fused} == {"AB123CD", "XY987ZW"}


def test_two_containers_are_never_folded() -> None:
    # One edit apart, both check-digit valid: two real containers on one chassis.
    fused = fuse(
        [
            read(IdentifierKind.CONTAINER, "CSQU3054383", 0.9),
            read(IdentifierKind.CONTAINER, "CSQU3054384", 0.5),
        ]
    )
    assert len(fused) == 2


def test_orange_plates_are_fused_per_plate_and_never_folded() -> None:
    # A tanker's front and rear plates read by two cameras; a side plate of another
    # compartment one digit apart is another substance, not a misread.
    fused = fuse(
        [
            read(IdentifierKind.HAZARD, "33/1203", 0.9, "front"),
            read(IdentifierKind.HAZARD, "33/1203", 0.8, "rear"),
            read(IdentifierKind.HAZARD, "33/1202", 0.7, "side"),
        ]
    )
    assert [(f.value, f.sources) for f in fused] == [
        ("33/1203", ["front", "rear"]),
        ("33/1202", ["side"]),
    ]


def test_kinds_are_kept_apart_and_empty_values_dropped() -> None:
    fused = fuse(
        [
            read(IdentifierKind.RFID_TAG, "e2801160600002054a6b1c2d", 0.95, "rfid"),
            read(IdentifierKind.PLATE, "AB123CD", 0.9),
            read(IdentifierKind.PLATE, "  ", 0.9),
        ]
    )
    assert [(f.kind, f.value) for f in fused] == [
        (IdentifierKind.PLATE, "AB123CD"),
        (IdentifierKind.RFID_TAG, "E2801160600002054A6B1C2D"),
    ]


def test_within_one_edit() -> None:
    assert within_one_edit("ABC", "ABD")
    assert within_one_edit("ABC", "ABCD")
    assert within_one_edit("ABCD", "ACD")
    assert not within_one_edit("ABC", "XYZ")
    assert not within_one_edit("AB", "ABCD")


def test_one_device_repeating_itself_does_not_inflate_confidence() -> None:
    fused = fuse([read(IdentifierKind.RFID_TAG, "E280", 0.8, "rfid") for _ in range(30)])
    assert fused[0].confidence == 0.8 and fused[0].reads == 30
