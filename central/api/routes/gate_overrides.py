"""Manual gate override: a signed decision for the lane's pending passage, with a reason.

Operators (and supervisors, admins) only; the reason and who gave it are kept in
`gate_overrides` and on the ledger beside the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from fastapi import APIRouter, status
from sqlalchemy import select

from central.api.deps import CentralDep, LimitDep, SessionDep
from central.auth.guard import PrincipalDep
from central.monitoring import overrides
from central.monitoring.schemas import OverrideBody, OverrideView
from central.monitoring.tables import GateOverrideRow
from contract import topics
from contract.messages import utc_now

router = APIRouter(prefix="/gates", tags=["gates"])


@router.post(
    "/{gate_id}/lanes/{lane_id}/override",
    response_model=OverrideView,
    status_code=status.HTTP_201_CREATED,
)
async def override_gate(
    gate_id: str,
    lane_id: str,
    body: OverrideBody,
    session: SessionDep,
    central: CentralDep,
    principal: PrincipalDep,
) -> OverrideView:
    """Release or hold the unit in the lane now. `published` false: stored, but the broker
    was not reachable; the gate box gets it when the passage is sent again."""
    now = utc_now()  # decisions carry the real time: the gate box checks their freshness
    decision, row = await overrides.override(
        session,
        central.signer,
        gate_id=gate_id,
        lane_id=lane_id,
        verdict=body.verdict,
        reason=body.reason,
        actor=principal.name,
        now=now,
        ttl=timedelta(seconds=central.settings.decision_ttl_s),
        passage_id=body.passage_id,
    )
    await session.commit()
    monitoring = central.monitoring
    published = await monitoring.publish(topics.gate_commands(gate_id), decision.to_json())
    view = OverrideView.model_validate(row).model_copy(update={"published": published})
    monitoring.hub.publish("override", view.model_dump(mode="json"))
    return view


@router.get("/{gate_id}/overrides", response_model=list[OverrideView])
async def list_overrides(
    gate_id: str, session: SessionDep, limit: LimitDep = 50
) -> Sequence[GateOverrideRow]:
    query = select(GateOverrideRow).where(GateOverrideRow.gate_id == gate_id)
    return (await session.scalars(query.order_by(GateOverrideRow.at.desc()).limit(limit))).all()
