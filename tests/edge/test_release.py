"""The fail-secure check: only a valid, fresh, signed release for the passage in front opens."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract import GateDecision, HoldReason, Verdict, utc_now
from contract.signing import sign
from edge.release import Refusal, check_decision

CENTRAL = Ed25519PrivateKey.generate()
KEYS = {"central-1": CENTRAL.public_key()}
PASSAGE = uuid4()
SKEW = timedelta(seconds=5)


def decision(**changes: object) -> GateDecision:
    now = utc_now()
    fields: dict[str, object] = {
        "gate_id": "gate-a",
        "lane_id": "lane-1",
        "passage_id": PASSAGE,
        "verdict": Verdict.RELEASE,
        "issued_at": now,
        "expires_at": now + timedelta(seconds=30),
    }
    fields.update(changes)
    return GateDecision.model_validate(fields)


def check(d: GateDecision, *, seen: set[UUID] | None = None, pending: UUID | None = PASSAGE):
    return check_decision(
        d,
        gate_id="gate-a",
        lane_id="lane-1",
        pending_passage=pending,
        keys=KEYS,
        seen_decisions=seen or set(),
        now=utc_now(),
        clock_skew=SKEW,
    )


def test_valid_release_passes() -> None:
    assert check(sign(decision(), CENTRAL, "central-1")) is None


def test_unsigned_release_is_refused() -> None:
    assert check(decision()) == Refusal.UNKNOWN_KEY


def test_forged_release_is_refused() -> None:
    forger = Ed25519PrivateKey.generate()
    assert check(sign(decision(), forger, "central-1")) == Refusal.BAD_SIGNATURE


def test_release_from_unknown_key_is_refused() -> None:
    assert check(sign(decision(), CENTRAL, "someone-else")) == Refusal.UNKNOWN_KEY


def test_tampered_release_is_refused() -> None:
    """A valid hold whose verdict is flipped to release after signing."""
    hold = sign(
        decision(verdict=Verdict.HOLD, reasons=[HoldReason.NOT_CLEARED]), CENTRAL, "central-1"
    )
    flipped = hold.model_copy(update={"verdict": Verdict.RELEASE, "reasons": []})
    assert check(flipped) == Refusal.BAD_SIGNATURE


def test_replayed_release_is_refused() -> None:
    signed = sign(decision(), CENTRAL, "central-1")
    assert check(signed, seen={signed.message_id}) == Refusal.REPLAYED


def test_expired_release_is_refused() -> None:
    old = utc_now() - timedelta(minutes=5)
    d = sign(decision(issued_at=old, expires_at=old + timedelta(seconds=30)), CENTRAL, "central-1")
    assert check(d) == Refusal.EXPIRED


def test_release_from_the_future_is_refused() -> None:
    later = utc_now() + timedelta(minutes=5)
    d = sign(
        decision(issued_at=later, expires_at=later + timedelta(seconds=30)), CENTRAL, "central-1"
    )
    assert check(d) == Refusal.NOT_YET_VALID


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"gate_id": "gate-b"}, Refusal.WRONG_GATE),
        ({"lane_id": "lane-2"}, Refusal.WRONG_LANE),
        ({"passage_id": uuid4()}, Refusal.WRONG_PASSAGE),
    ],
)
def test_release_for_another_gate_lane_or_passage_is_refused(
    changes: dict[str, object], refusal: Refusal
) -> None:
    assert check(sign(decision(**changes), CENTRAL, "central-1")) == refusal


def test_release_with_no_vehicle_waiting_is_refused() -> None:
    assert check(sign(decision(), CENTRAL, "central-1"), pending=None) == Refusal.WRONG_PASSAGE


def test_valid_hold_does_not_open() -> None:
    d = sign(decision(verdict=Verdict.HOLD, reasons=[HoldReason.NOT_CLEARED]), CENTRAL, "central-1")
    assert check(d) == Refusal.HOLD
