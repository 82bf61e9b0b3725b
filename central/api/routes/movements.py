"""Cargo movements: an IOT_ID bound to a declaration, a process and the unit's identifiers."""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from central import store
from central.api.deps import SessionDep, WriterDep
from central.api.schemas import DangerousGoods, MovementCreate, MovementPublic
from central.rules.gate import expected_next_nodes
from central.tables import DeclarationRow, MissionPathRow, MovementKeyRow, MovementRow
from contract.messages import utc_now

router = APIRouter(prefix="/movements", tags=["movements"])


@router.post("", response_model=MovementPublic, status_code=status.HTTP_201_CREATED)
async def create_movement(
    body: MovementCreate, session: SessionDep, _: WriterDep
) -> MovementPublic:
    problems = []
    if await session.get(DeclarationRow, body.declaration_id) is None:
        problems.append(f"declaration {body.declaration_id} does not exist")
    if await session.get(MissionPathRow, body.process) is None:
        problems.append(f"process {body.process} has no mission path")
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))
    iot_id = body.iot_id or uuid4()
    if await session.get(MovementRow, iot_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"movement {iot_id} exists already")
    now = utc_now()
    session.add(
        MovementRow(
            **body.model_dump(exclude={"iot_id"}),
            iot_id=iot_id,
            position=-1,
            diverted_to=None,
            state="active",
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    keys = store.movement_keys(body.plate, body.containers, body.rfid_tag)
    session.add_all(MovementKeyRow(iot_id=iot_id, kind=k, value=v) for k, v in keys)
    await session.commit()
    return await _public(session, iot_id)


@router.get("/{iot_id}", response_model=MovementPublic)
async def get_movement(iot_id: UUID, session: SessionDep) -> MovementPublic:
    return await _public(session, iot_id)


@router.patch("/{iot_id}/permits", response_model=MovementPublic)
async def set_permits(
    iot_id: UUID, permits: dict[str, bool], session: SessionDep, _: WriterDep
) -> MovementPublic:
    """Grant (true) or withdraw (false) permits, e.g. {"access_permission": true}."""
    row = await session.get(MovementRow, iot_id, with_for_update=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no movement {iot_id}")
    row.permits = {**row.permits, **permits}
    row.updated_at = utc_now()
    await session.commit()
    return await _public(session, iot_id)


@router.put("/{iot_id}/dangerous-goods", response_model=MovementPublic)
async def set_dangerous_goods(
    iot_id: UUID, body: DangerousGoods, session: SessionDep, _: WriterDep
) -> MovementPublic:
    """Replace the declared dangerous goods (UN numbers), as customs amends the
    declaration: an orange plate showing one of them no longer holds the unit."""
    row = await session.get(MovementRow, iot_id, with_for_update=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no movement {iot_id}")
    row.dangerous_goods = list(body.un_numbers)
    row.updated_at = utc_now()
    await session.commit()
    return await _public(session, iot_id)


async def _public(session: AsyncSession, iot_id: UUID) -> MovementPublic:
    row = await session.get(MovementRow, iot_id, populate_existing=True)
    state = await store.movement_state(session, iot_id)
    if row is None or state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no movement {iot_id}")
    return MovementPublic.model_validate(
        {**_columns(row), "expected_next_nodes": expected_next_nodes(state)}
    )


def _columns(row: MovementRow) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in MovementRow.__table__.columns}
