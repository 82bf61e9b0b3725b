from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import LimitDep, SessionDep
from central.api.schemas import AlertPublic
from central.tables import AlertRow

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertPublic])
async def list_alerts(
    session: SessionDep, rule: str | None = None, limit: LimitDep = 100
) -> Sequence[AlertRow]:
    query = select(AlertRow).order_by(AlertRow.raised_at.desc()).limit(limit)
    if rule:
        query = query.where(AlertRow.rule == rule)
    return (await session.scalars(query)).all()
