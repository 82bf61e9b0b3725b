"""Manual gate override: an operator's signed decision for the lane's pending passage,
with a mandatory reason, recorded (who, why) and put on the ledger.

A manual release carries no progress: the movement's position on its mission path
does not advance on it (the operator let the unit through; the path did not say so).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from central import ledger
from central.keys import DecisionSigner
from central.monitoring.errors import conflict, not_found
from central.monitoring.tables import GateOverrideRow
from central.tables import DecisionRow, PassageRow
from contract.messages import GateDecision, HoldReason, Verdict

PENDING_WINDOW = timedelta(minutes=15)  # a passage older than this is not "in front of" the lane


async def pending_passage(
    session: AsyncSession,
    gate_id: str,
    lane_id: str,
    passage_id: uuid.UUID | None,
    now: datetime,
) -> PassageRow:
    if passage_id is not None:
        passage = await session.get(PassageRow, passage_id)
        if passage is None or (passage.gate_id, passage.lane_id) != (gate_id, lane_id):
            raise not_found(f"passage {passage_id} at {gate_id}/{lane_id}")
    else:
        passage = await session.scalar(
            select(PassageRow)
            .where(PassageRow.gate_id == gate_id, PassageRow.lane_id == lane_id)
            .order_by(PassageRow.received_at.desc())
            .limit(1)
        )
        if passage is None:
            raise not_found(f"passage at {gate_id}/{lane_id}")
        if now - passage.received_at > PENDING_WINDOW:
            raise conflict(
                f"no pending passage at {gate_id}/{lane_id}: the latest arrived "
                f"{int((now - passage.received_at).total_seconds() // 60)} min ago"
            )
    executed = await session.scalar(
        select(DecisionRow.decision_id).where(
            DecisionRow.passage_id == passage.passage_id, DecisionRow.executed.is_(True)
        )
    )
    if executed is not None:
        raise conflict(f"passage {passage.passage_id} went through the barrier already")
    return passage


async def override(
    session: AsyncSession,
    signer: DecisionSigner,
    *,
    gate_id: str,
    lane_id: str,
    verdict: Verdict,
    reason: str,
    actor: str,
    now: datetime,
    ttl: timedelta,
    passage_id: uuid.UUID | None = None,
) -> tuple[GateDecision, GateOverrideRow]:
    passage = await pending_passage(session, gate_id, lane_id, passage_id, now)
    release = verdict == Verdict.RELEASE
    decision = signer.sign(
        GateDecision(
            gate_id=gate_id,
            lane_id=lane_id,
            passage_id=passage.passage_id,
            iot_id=passage.iot_id,
            verdict=verdict,
            reasons=[] if release else [HoldReason.MANUAL_HOLD],
            message="PROCEED (manual override)" if release else "STOP: manual hold",
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    session.add(
        DecisionRow(
            decision_id=decision.message_id,
            passage_id=decision.passage_id,
            gate_id=gate_id,
            lane_id=lane_id,
            iot_id=decision.iot_id,
            verdict=decision.verdict.value,
            reasons=[r.value for r in decision.reasons],
            divert_to=None,
            message=decision.message,
            issued_at=decision.issued_at,
            expires_at=decision.expires_at,
            payload=decision.to_json().decode(),
            progress=None,
            executed=None,
        )
    )
    await ledger.append(session, "decision", decision.model_dump(mode="json"), now)
    row = GateOverrideRow(
        override_id=uuid.uuid4(),
        gate_id=gate_id,
        lane_id=lane_id,
        passage_id=passage.passage_id,
        decision_id=decision.message_id,
        verdict=verdict.value,
        reason=reason,
        actor=actor,
        at=now,
    )
    session.add(row)
    await ledger.append(
        session,
        "override",
        {
            "override_id": str(row.override_id),
            "gate_id": gate_id,
            "lane_id": lane_id,
            "passage_id": str(passage.passage_id),
            "decision_id": str(decision.message_id),
            "verdict": verdict.value,
            "reason": reason,
            "actor": actor,
        },
        now,
    )
    return decision, row
