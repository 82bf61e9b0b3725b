"""Customs status look-up: by plate, container code, RFID tag, iot_id or declaration."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import or_, select

from central.api.deps import SessionDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.identifiers import normalise
from central.monitoring.schemas import LookupHit
from central.tables import DeclarationRow, MovementKeyRow, MovementRow

router = APIRouter(prefix="/lookup", tags=["customs"])

Reader = Annotated[Principal, Depends(require(P.CUSTOMS_READ))]


@router.get("", response_model=list[LookupHit])
async def lookup(
    session: SessionDep,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=64, description="what was read")],
) -> list[LookupHit]:
    """Movements whose identifiers, iot_id or declaration match `q`, with customs status."""
    value = normalise(q)
    matched: dict[uuid.UUID, list[str]] = {}
    if value:
        rows = await session.execute(
            select(MovementKeyRow.iot_id, MovementKeyRow.kind).where(MovementKeyRow.value == value)
        )
        for iot_id, kind in rows.all():
            matched.setdefault(iot_id, []).append(f"{kind} {value}")
    conditions = [MovementRow.declaration_id == q.strip()]
    with contextlib.suppress(ValueError):
        conditions.append(MovementRow.iot_id == uuid.UUID(q.strip()))
    if matched:
        conditions.append(MovementRow.iot_id.in_(matched))
    found = (
        await session.execute(
            select(MovementRow, DeclarationRow)
            .outerjoin(DeclarationRow, DeclarationRow.declaration_id == MovementRow.declaration_id)
            .where(or_(*conditions))
            .order_by(MovementRow.updated_at.desc())
            .limit(50)
        )
    ).all()
    return [
        LookupHit(
            iot_id=movement.iot_id,
            declaration_id=movement.declaration_id,
            customs_status=declaration.status if declaration else None,
            channel=declaration.channel if declaration else None,
            scan_required=declaration.scan_required if declaration else None,
            scan_validated=declaration.scan_validated if declaration else None,
            process=movement.process,
            plate=movement.plate,
            containers=movement.containers,
            seals=movement.seals,
            state=movement.state,
            position=movement.position,
            matched=matched.get(movement.iot_id) or ["iot_id or declaration"],
        )
        for movement, declaration in found
    ]
