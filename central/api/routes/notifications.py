"""The notification outbox: what went out, what is waiting for a retry, what failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from sqlalchemy import select

from central.api.deps import LimitDep, SessionDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.monitoring.schemas import NotificationView
from central.monitoring.tables import NotificationRow

router = APIRouter(prefix="/notifications", tags=["notifications"])

Reader = Annotated[Principal, Depends(require(P.SYSTEM_READ))]


@router.get("", response_model=list[NotificationView])
async def list_notifications(
    session: SessionDep,
    _: Reader,
    status: Literal["pending", "sent", "failed"] | None = None,
    limit: LimitDep = 100,
) -> Sequence[NotificationRow]:
    query = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)
    if status:
        query = query.where(NotificationRow.status == status)
    return (await session.scalars(query)).all()
