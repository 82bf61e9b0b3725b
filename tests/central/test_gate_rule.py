"""The gate decision rule as a pure function: no database, no broker."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from central.rules.gate import (
    CustomsStatus,
    DeclarationState,
    GateOutcome,
    Match,
    MovementState,
    Resolution,
    SealRead,
    UnitIdentity,
    alert_rules,
    decide,
    expected_next_nodes,
    resolve_unit,
)
from central.site import MissionPath, MissionStep
from contract.messages import HoldReason, SealState, Verdict

EXPORT = MissionPath(
    description="export by container ship",
    steps=[
        MissionStep(nodes=["vittoria"], requires_clearance=False),
        MissionStep(
            nodes=["marisabella"],
            divert_unless="access_permission",
            divert_to="marisabella-parking",
        ),
        MissionStep(nodes=["san-vito-ac1", "san-vito-ac3"]),
        MissionStep(nodes=["levante"], scan_check=True),
    ],
)
CLEARED = DeclarationState(CustomsStatus.CLEARED)
IOT = UUID("6f1c2b1e-3a7d-4c55-9b1a-0d2e8f4a7c11")


def movement(**changes: object) -> MovementState:
    base = MovementState(
        iot_id=IOT,
        path=EXPORT,
        declaration=CLEARED,
        permits={"access_permission": True},
        seals=("SEAL1",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


FOUND = Resolution(Match.FOUND, iot_id=IOT)


def at(node: str | None, unit: MovementState, reads: list[SealRead] | None = None) -> GateOutcome:
    return decide(node, FOUND, unit, reads or [])


# --------------------------------------------------------------------------- resolution


def keys(*pairs: tuple[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(pairs)


def test_one_active_movement_is_found() -> None:
    a = UnitIdentity(IOT, keys(("plate", "AB123CD")))
    assert resolve_unit([("plate", "AB123CD")], [a]) == Resolution(
        Match.FOUND, iot_id=IOT, candidates=(IOT,)
    )


def test_nothing_matches_is_unknown() -> None:
    assert resolve_unit([("plate", "ZZ999ZZ")], []).match is Match.UNKNOWN
    outcome = decide("vittoria", Resolution(Match.UNKNOWN), None)
    assert outcome.verdict is Verdict.HOLD
    assert outcome.reasons == (HoldReason.UNKNOWN_UNIT,)
    assert alert_rules(outcome) == [("unknown_unit", "warning")]


def test_plate_of_one_container_of_another_is_ambiguous() -> None:
    other = uuid4()
    units = [
        UnitIdentity(IOT, keys(("plate", "AB123CD"))),
        UnitIdentity(other, keys(("container", "CSQU3054383"))),
    ]
    resolution = resolve_unit([("plate", "AB123CD"), ("container", "CSQU3054383")], units)
    assert resolution.match is Match.AMBIGUOUS
    assert set(resolution.candidates) == {IOT, other}
    outcome = decide("vittoria", resolution, None)
    assert outcome.reasons == (HoldReason.AMBIGUOUS_UNIT,)
    assert outcome.iot_id is None
    assert alert_rules(outcome) == [("ambiguous_identity", "critical")]


def test_active_movement_wins_over_a_completed_one_with_the_same_plate() -> None:
    old = uuid4()
    units = [
        UnitIdentity(old, keys(("plate", "AB123CD")), completed=True),
        UnitIdentity(IOT, keys(("plate", "AB123CD"))),
    ]
    assert resolve_unit([("plate", "AB123CD")], units).iot_id == IOT


def test_only_a_completed_movement_matches() -> None:
    units = [UnitIdentity(IOT, keys(("plate", "AB123CD")), completed=True)]
    resolution = resolve_unit([("plate", "AB123CD")], units)
    assert resolution.match is Match.COMPLETED
    outcome = decide("vittoria", resolution, movement(completed=True, position=3))
    assert outcome.reasons == (HoldReason.MISSION_COMPLETE,)
    assert outcome.iot_id == IOT


# --------------------------------------------------------------------------- path


def test_first_step_without_clearance_releases_lodged_unit() -> None:
    unit = movement(declaration=DeclarationState(CustomsStatus.LODGED))
    outcome = at("vittoria", unit)
    assert outcome.verdict is Verdict.RELEASE
    assert outcome.reasons == ()
    assert outcome.progress is not None
    assert (outcome.progress.position, outcome.progress.completed) == (0, False)


def test_wrong_node_is_held_and_alerts() -> None:
    outcome = at("levante", movement())
    assert outcome.verdict is Verdict.HOLD
    assert outcome.reasons == (HoldReason.WRONG_NODE,)
    assert outcome.progress is None
    assert alert_rules(outcome) == [("mission_path_violation", "warning")]


def test_gate_of_no_node_is_wrong_node() -> None:
    assert at(None, movement()).reasons == (HoldReason.WRONG_NODE,)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (CustomsStatus.LODGED, HoldReason.NOT_CLEARED),
        (CustomsStatus.HOLD, HoldReason.NOT_CLEARED),
        (CustomsStatus.EXAMINATION_REQUIRED, HoldReason.EXAMINATION_REQUIRED),
    ],
)
def test_step_requiring_clearance_holds_uncleared(
    status: CustomsStatus, reason: HoldReason
) -> None:
    unit = movement(position=1, declaration=DeclarationState(status))
    outcome = at("san-vito-ac1", unit)
    assert outcome.verdict is Verdict.HOLD
    assert outcome.reasons == (reason,)
    assert alert_rules(outcome) == []


def test_alternative_nodes_of_a_step_both_pass() -> None:
    for node in ("san-vito-ac1", "san-vito-ac3"):
        outcome = at(node, movement(position=1))
        assert outcome.verdict is Verdict.RELEASE, node
        assert outcome.progress is not None and outcome.progress.position == 2
    assert expected_next_nodes(movement(position=1)) == ["san-vito-ac1", "san-vito-ac3"]


def test_scan_required_and_not_validated_holds_at_scan_check_step() -> None:
    unscanned = DeclarationState(CustomsStatus.CLEARED, scan_required=True)
    assert at("levante", movement(position=2, declaration=unscanned)).reasons == (
        HoldReason.SCAN_NOT_VALIDATED,
    )
    # Not a scan-check step: the scan is not asked for there.
    assert (
        at("san-vito-ac1", movement(position=1, declaration=unscanned)).verdict is Verdict.RELEASE
    )
    scanned = replace(unscanned, scan_validated=True)
    assert at("levante", movement(position=2, declaration=scanned)).verdict is Verdict.RELEASE


def test_last_step_completes_the_movement() -> None:
    outcome = at("levante", movement(position=2))
    assert outcome.verdict is Verdict.RELEASE
    assert outcome.progress is not None
    assert outcome.progress.completed and outcome.progress.position == 3


def test_every_reason_is_reported_together() -> None:
    unit = movement(
        position=2,
        declaration=DeclarationState(CustomsStatus.HOLD, scan_required=True),
    )
    reads = [SealRead("SEAL9", SealState.TAMPERED)]
    outcome = at("levante", unit, reads)
    assert outcome.reasons == (
        HoldReason.NOT_CLEARED,
        HoldReason.SCAN_NOT_VALIDATED,
        HoldReason.SEAL_MISMATCH,
        HoldReason.SEAL_TAMPERED,
    )
    assert sorted(alert_rules(outcome)) == [
        ("seal_mismatch", "critical"),
        ("seal_tampered", "critical"),
    ]


# --------------------------------------------------------------------------- seals


def test_declared_seal_read_sealed_passes() -> None:
    assert (
        at("vittoria", movement(), [SealRead("SEAL1", SealState.SEALED)]).verdict is Verdict.RELEASE
    )


def test_missing_declared_seal_is_mismatch() -> None:
    outcome = at("vittoria", movement(), [SealRead("OTHER", SealState.SEALED)])
    assert outcome.reasons == (HoldReason.SEAL_MISMATCH,)


def test_seal_read_by_ocr_counts_as_read() -> None:
    assert at("vittoria", movement(), [SealRead("SEAL1")]).verdict is Verdict.RELEASE


@pytest.mark.parametrize("state", [SealState.OPENED, SealState.TAMPERED])
def test_opened_or_tampered_seal_holds(state: SealState) -> None:
    outcome = at("vittoria", movement(), [SealRead("SEAL1", state)])
    assert outcome.reasons == (HoldReason.SEAL_TAMPERED,)


def test_lane_without_seal_reader_checks_no_seal() -> None:
    assert at("vittoria", movement(), []).verdict is Verdict.RELEASE


def test_tampered_seal_on_unknown_unit_is_reported_too() -> None:
    outcome = decide("vittoria", Resolution(Match.UNKNOWN), None, [SealRead("X", SealState.OPENED)])
    assert outcome.reasons == (HoldReason.UNKNOWN_UNIT, HoldReason.SEAL_TAMPERED)


# --------------------------------------------------------------------------- dangerous goods


def test_an_orange_plate_of_declared_goods_passes() -> None:
    tanker = movement(dangerous_goods=("1203", "1202"))
    outcome = decide("vittoria", FOUND, tanker, [SealRead("SEAL1")], ["1203"])
    assert outcome.verdict is Verdict.RELEASE


def test_an_orange_plate_of_undeclared_goods_holds_and_alerts() -> None:
    for declared in [(), ("1202",)]:
        outcome = decide(
            "vittoria", FOUND, movement(dangerous_goods=declared), [SealRead("SEAL1")], ["1203"]
        )
        assert outcome.reasons == (HoldReason.UNDECLARED_DANGEROUS_GOODS,)
        assert alert_rules(outcome) == [("undeclared_dangerous_goods", "critical")]
    # Diverted units are checked too.
    diverted = movement(position=1, diverted_to="marisabella-parking", permits={})
    outcome = decide("marisabella-parking", FOUND, diverted, [SealRead("SEAL1")], ["1203"])
    assert HoldReason.UNDECLARED_DANGEROUS_GOODS in outcome.reasons


def test_declared_goods_no_plate_shows_are_no_reason() -> None:
    tanker = movement(dangerous_goods=("1203",))
    assert decide("vittoria", FOUND, tanker, [SealRead("SEAL1")], []).verdict is Verdict.RELEASE


# --------------------------------------------------------------------------- diversion


def test_missing_permit_releases_to_parking_and_diverts() -> None:
    unit = movement(position=0, permits={})
    outcome = at("marisabella", unit)
    assert outcome.verdict is Verdict.RELEASE
    assert outcome.reasons == (HoldReason.PERMIT_MISSING,)
    assert outcome.divert_to == "marisabella-parking"
    assert outcome.message == "PROCEED TO marisabella-parking"
    assert outcome.progress is not None
    assert (outcome.progress.position, outcome.progress.diverted_to) == (1, "marisabella-parking")


def test_missing_permit_with_another_reason_is_a_hold_without_divert() -> None:
    unit = movement(position=0, permits={}, declaration=DeclarationState(CustomsStatus.HOLD))
    outcome = at("marisabella", unit)
    assert outcome.verdict is Verdict.HOLD
    assert outcome.reasons == (HoldReason.NOT_CLEARED, HoldReason.PERMIT_MISSING)
    assert outcome.divert_to is None and outcome.progress is None


def test_diverted_unit_is_expected_only_at_the_divert_node() -> None:
    diverted = movement(position=1, permits={}, diverted_to="marisabella-parking")
    assert expected_next_nodes(diverted) == ["marisabella-parking"]
    assert at("san-vito-ac1", diverted).reasons == (
        HoldReason.WRONG_NODE,
        HoldReason.PERMIT_MISSING,
    )


def test_diverted_unit_without_permit_is_held_at_parking() -> None:
    diverted = movement(position=1, permits={}, diverted_to="marisabella-parking")
    outcome = at("marisabella-parking", diverted)
    assert outcome.verdict is Verdict.HOLD
    assert outcome.reasons == (HoldReason.PERMIT_MISSING,)
    assert alert_rules(outcome) == []


def test_diversion_ends_when_the_permit_arrives() -> None:
    diverted = movement(
        position=1, permits={"access_permission": True}, diverted_to="marisabella-parking"
    )
    outcome = at("marisabella-parking", diverted)
    assert outcome.verdict is Verdict.RELEASE
    assert outcome.divert_to is None
    assert outcome.progress is not None
    assert (outcome.progress.position, outcome.progress.diverted_to) == (1, None)
    resumed = movement(position=1, diverted_to=None)
    assert expected_next_nodes(resumed) == ["san-vito-ac1", "san-vito-ac3"]


def test_permit_false_counts_as_missing() -> None:
    unit = movement(position=0, permits={"access_permission": False})
    assert at("marisabella", unit).divert_to == "marisabella-parking"


def test_completed_movement_is_held_mission_complete() -> None:
    outcome = at("levante", movement(position=3, completed=True))
    assert outcome.reasons == (HoldReason.MISSION_COMPLETE,)
    assert expected_next_nodes(movement(position=3, completed=True)) == []
