"""The gate decision as a pure function.

Two steps, both pure: `resolve_unit` finds which movement the identifiers read at
the gate belong to; `decide` checks that movement against its mission path,
customs status and seals, and says release or hold, with every reason. The
movement itself advances only later, when the edge confirms the barrier opened;
`GateOutcome.progress` says what that advance will be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from central.site import MissionPath
from contract.messages import HoldReason, SealState, Verdict


class CustomsStatus(StrEnum):
    LODGED = "lodged"
    CLEARED = "cleared"
    HOLD = "hold"
    EXAMINATION_REQUIRED = "examination_required"


@dataclass(frozen=True)
class DeclarationState:
    status: CustomsStatus
    scan_required: bool = False
    scan_validated: bool = False


@dataclass(frozen=True)
class UnitIdentity:
    """What a movement is known by: normalised (kind, value) keys."""

    iot_id: UUID
    keys: frozenset[tuple[str, str]]
    completed: bool = False


class Match(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    AMBIGUOUS = "ambiguous"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Resolution:
    match: Match
    iot_id: UUID | None = None
    candidates: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class MovementState:
    """A movement as the rule sees it."""

    iot_id: UUID
    path: MissionPath
    declaration: DeclarationState
    position: int = -1  # index of the last step completed
    diverted_to: str | None = None
    completed: bool = False
    permits: Mapping[str, bool] = field(default_factory=dict)
    seals: tuple[str, ...] = ()  # declared seal numbers, normalised
    dangerous_goods: tuple[str, ...] = ()  # declared UN numbers, e.g. ("1203",)


@dataclass(frozen=True)
class SealRead:
    seal_id: str  # normalised
    state: SealState | None = None  # None: read by OCR, state unknown


@dataclass(frozen=True)
class Progress:
    """How the movement moves once the barrier has opened (compare-and-set)."""

    from_position: int
    from_diverted_to: str | None
    position: int
    diverted_to: str | None
    completed: bool


@dataclass(frozen=True)
class GateOutcome:
    verdict: Verdict
    reasons: tuple[HoldReason, ...] = ()
    iot_id: UUID | None = None
    divert_to: str | None = None
    progress: Progress | None = None

    @property
    def message(self) -> str:
        """Text for the lane display."""
        if self.verdict is Verdict.RELEASE:
            return f"PROCEED TO {self.divert_to}" if self.divert_to else "PROCEED"
        return "STOP: " + ", ".join(self.reasons)


# reason -> (alert rule, severity); holds for other reasons raise no alert.
ALERT_RULES: dict[HoldReason, tuple[str, str]] = {
    HoldReason.WRONG_NODE: ("mission_path_violation", "warning"),
    HoldReason.AMBIGUOUS_UNIT: ("ambiguous_identity", "critical"),
    HoldReason.SEAL_TAMPERED: ("seal_tampered", "critical"),
    HoldReason.SEAL_MISMATCH: ("seal_mismatch", "critical"),
    HoldReason.UNDECLARED_DANGEROUS_GOODS: ("undeclared_dangerous_goods", "critical"),
    HoldReason.UNKNOWN_UNIT: ("unknown_unit", "warning"),
}


def resolve_unit(keys: Iterable[tuple[str, str]], movements: Sequence[UnitIdentity]) -> Resolution:
    """Which movement the identifiers read belong to.

    Active movements first: one -> found, several -> ambiguous (e.g. the plate of
    one movement and the container of another: fake number plates). With no
    active match, a completed one -> completed (the first given: callers pass the
    most recent first); else unknown.
    """
    read = frozenset(keys)
    active = _distinct(m.iot_id for m in movements if not m.completed and m.keys & read)
    if len(active) > 1:
        return Resolution(Match.AMBIGUOUS, candidates=tuple(active))
    if active:
        return Resolution(Match.FOUND, iot_id=active[0], candidates=tuple(active))
    done = _distinct(m.iot_id for m in movements if m.completed and m.keys & read)
    if done:
        return Resolution(Match.COMPLETED, iot_id=done[0], candidates=tuple(done))
    return Resolution(Match.UNKNOWN)


def _distinct(ids: Iterable[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))


def expected_next_nodes(movement: MovementState) -> list[str]:
    """Where the movement may pass next: the divert node, the next step's nodes, or none."""
    if movement.completed:
        return []
    if movement.diverted_to:
        return [movement.diverted_to]
    step = movement.position + 1
    return list(movement.path.steps[step].nodes) if step < len(movement.path.steps) else []


def seal_reasons(declared: Sequence[str], reads: Sequence[SealRead]) -> list[HoldReason]:
    """Seal checks; a lane without a seal reader (no reads at all) checks nothing."""
    if not reads:
        return []
    reasons = []
    seen = {read.seal_id for read in reads}
    if any(seal not in seen for seal in declared):
        reasons.append(HoldReason.SEAL_MISMATCH)
    if any(read.state in (SealState.OPENED, SealState.TAMPERED) for read in reads):
        reasons.append(HoldReason.SEAL_TAMPERED)
    return reasons


def dangerous_goods_reasons(declared: Sequence[str], shown: Sequence[str]) -> list[HoldReason]:
    """An orange plate's UN number (`shown`) the movement does not declare holds it:
    dangerous goods under another description. A declared substance no plate shows is
    no reason: the plate may be out of a camera's sight, or plain (several goods)."""
    return [HoldReason.UNDECLARED_DANGEROUS_GOODS] if set(shown) - set(declared) else []


def clearance_reasons(declaration: DeclarationState) -> list[HoldReason]:
    if declaration.status is CustomsStatus.CLEARED:
        return []
    if declaration.status is CustomsStatus.EXAMINATION_REQUIRED:
        return [HoldReason.EXAMINATION_REQUIRED]
    return [HoldReason.NOT_CLEARED]


def decide(
    node_id: str | None,
    resolution: Resolution,
    movement: MovementState | None,
    seal_reads: Sequence[SealRead] = (),
    un_numbers_shown: Sequence[str] = (),
) -> GateOutcome:
    """Release or hold a unit at node `node_id` (None: a gate no site node owns);
    `un_numbers_shown`: the UN numbers on the orange plates the lane read."""
    tampered = [r for r in seal_reasons((), seal_reads) if r is HoldReason.SEAL_TAMPERED]
    if resolution.match is Match.UNKNOWN:
        return _hold([HoldReason.UNKNOWN_UNIT, *tampered])
    if resolution.match is Match.AMBIGUOUS:
        return _hold([HoldReason.AMBIGUOUS_UNIT, *tampered])
    if movement is None:
        raise ValueError("a resolved unit needs its movement state")
    if resolution.match is Match.COMPLETED or movement.completed:
        return _hold([HoldReason.MISSION_COMPLETE], movement.iot_id)
    goods = dangerous_goods_reasons(movement.dangerous_goods, un_numbers_shown)
    if movement.diverted_to:
        return _decide_diverted(node_id, movement, seal_reads, goods)
    return _decide_on_path(node_id, movement, seal_reads, goods)


def _decide_on_path(
    node_id: str | None,
    movement: MovementState,
    seal_reads: Sequence[SealRead],
    goods: Sequence[HoldReason],
) -> GateOutcome:
    index = movement.position + 1
    step = movement.path.steps[index]
    reasons: list[HoldReason] = []
    at_step = node_id in step.nodes
    if not at_step:
        reasons.append(HoldReason.WRONG_NODE)
    # Off the path no step waives clearance, so the default (cleared needed) applies.
    if step.requires_clearance or not at_step:
        reasons += clearance_reasons(movement.declaration)
    declaration = movement.declaration
    if at_step and step.scan_check and declaration.scan_required and not declaration.scan_validated:
        reasons.append(HoldReason.SCAN_NOT_VALIDATED)
    reasons += seal_reasons(movement.seals, seal_reads)
    reasons += goods
    divert = (
        step.divert_to if step.divert_unless and not _has(movement, step.divert_unless) else None
    )
    if reasons:
        if divert:
            reasons.append(HoldReason.PERMIT_MISSING)
        return _hold(reasons, movement.iot_id)
    last = index == len(movement.path.steps) - 1
    progress = Progress(movement.position, None, index, divert, completed=last and not divert)
    return GateOutcome(
        Verdict.RELEASE,
        (HoldReason.PERMIT_MISSING,) if divert else (),
        movement.iot_id,
        divert_to=divert,
        progress=progress,
    )


def _decide_diverted(
    node_id: str | None,
    movement: MovementState,
    seal_reads: Sequence[SealRead],
    goods: Sequence[HoldReason],
) -> GateOutcome:
    """A diverted unit may only pass its divert node, and leaves it once it has the permit."""
    step = movement.path.steps[movement.position]  # the divert step, counted as completed
    reasons: list[HoldReason] = []
    if node_id != movement.diverted_to:
        reasons.append(HoldReason.WRONG_NODE)
    if step.divert_unless and not _has(movement, step.divert_unless):
        reasons.append(HoldReason.PERMIT_MISSING)
    reasons += seal_reasons(movement.seals, seal_reads)
    reasons += goods
    if reasons:
        return _hold(reasons, movement.iot_id)
    progress = Progress(
        movement.position,
        movement.diverted_to,
        movement.position,
        None,
        completed=movement.position == len(movement.path.steps) - 1,
    )
    return GateOutcome(Verdict.RELEASE, (), movement.iot_id, progress=progress)


def _has(movement: MovementState, permit: str) -> bool:
    return movement.permits.get(permit) is True


def _hold(reasons: Sequence[HoldReason], iot_id: UUID | None = None) -> GateOutcome:
    """A hold stops the unit: it carries every reason and never a divert."""
    return GateOutcome(Verdict.HOLD, tuple(dict.fromkeys(reasons)), iot_id)


def alert_rules(outcome: GateOutcome) -> list[tuple[str, str]]:
    """(rule, severity) of the alerts a hold raises."""
    if outcome.verdict is not Verdict.HOLD:
        return []
    return [ALERT_RULES[reason] for reason in outcome.reasons if reason in ALERT_RULES]
