"""Should this box act on this decision? The fail-secure check, as a pure function.

The barrier opens only on a release that is signed by a trusted central key,
fresh (issued not in the future beyond the allowed clock skew, not expired),
for this gate and lane, naming the passage in front of the barrier, and never
seen before. Anything else is refused with a reason the box reports.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contract import GateDecision, Verdict
from contract.errors import SignatureError
from contract.signing import verify


class Refusal(StrEnum):
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_GATE = "wrong_gate"
    WRONG_LANE = "wrong_lane"
    WRONG_PASSAGE = "wrong_passage"
    REPLAYED = "replayed"
    HOLD = "hold"


def check_decision(
    decision: GateDecision,
    *,
    gate_id: str,
    lane_id: str,
    pending_passage: UUID | None,
    keys: Mapping[str, Ed25519PublicKey],
    seen_decisions: Container[UUID],
    now: datetime,
    clock_skew: timedelta,
) -> Refusal | None:
    """None when the barrier may open; otherwise why not."""
    if decision.key_id not in keys:
        return Refusal.UNKNOWN_KEY
    try:
        verify(decision, keys)
    except SignatureError:
        return Refusal.BAD_SIGNATURE
    if decision.message_id in seen_decisions:
        return Refusal.REPLAYED
    if decision.gate_id != gate_id:
        return Refusal.WRONG_GATE
    if decision.lane_id != lane_id:
        return Refusal.WRONG_LANE
    if decision.expires_at <= now:
        return Refusal.EXPIRED
    if decision.issued_at > now + clock_skew:
        return Refusal.NOT_YET_VALID
    if pending_passage is None or decision.passage_id != pending_passage:
        return Refusal.WRONG_PASSAGE
    if decision.verdict != Verdict.RELEASE:
        return Refusal.HOLD
    return None
