from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import LimitDep, SessionDep
from central.api.schemas import PassagePublic
from central.tables import PassageRow

router = APIRouter(prefix="/passages", tags=["gate traffic"])


@router.get("", response_model=list[PassagePublic])
async def list_passages(
    session: SessionDep, gate_id: str | None = None, limit: LimitDep = 100
) -> Sequence[PassageRow]:
    query = select(PassageRow).order_by(PassageRow.received_at.desc()).limit(limit)
    if gate_id:
        query = query.where(PassageRow.gate_id == gate_id)
    return (await session.scalars(query)).all()
