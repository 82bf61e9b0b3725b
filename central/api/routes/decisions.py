from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import LimitDep, SessionDep
from central.api.schemas import DecisionPublic
from central.tables import DecisionRow

router = APIRouter(prefix="/decisions", tags=["gate traffic"])


@router.get("", response_model=list[DecisionPublic])
async def list_decisions(
    session: SessionDep,
    gate_id: str | None = None,
    passage_id: UUID | None = None,
    iot_id: UUID | None = None,
    limit: LimitDep = 100,
) -> Sequence[DecisionRow]:
    """Decisions, newest first; `executed` comes from the gate box's acknowledgement."""
    query = select(DecisionRow).order_by(DecisionRow.issued_at.desc()).limit(limit)
    if gate_id:
        query = query.where(DecisionRow.gate_id == gate_id)
    if passage_id:
        query = query.where(DecisionRow.passage_id == passage_id)
    if iot_id:
        query = query.where(DecisionRow.iot_id == iot_id)
    return (await session.scalars(query)).all()
