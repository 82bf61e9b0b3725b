"""Database reads and writes of the transit side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from central import ledger
from central.identifiers import normalise
from central.tables import AlertRow, DeclarationRow, MovementRow
from central.transit.model import TransitState
from central.transit.tables import (
    TransitDeviceRow,
    TransitFixRow,
    TransitPlanRow,
    TransitSealEventRow,
    TransitStateRow,
)
from contract.messages import Alert, PositionFix, SealEvent

TRACKER, ESEAL = "tracker", "eseal"


@dataclass(frozen=True)
class Binding:
    """A device's movement, as far as the transit rules need it."""

    iot_id: UUID
    active: bool  # the movement has not completed its mission path
    corridor: str | None
    nodes: tuple[str, ...]
    customs_status: str | None


async def resolve(session: AsyncSession, kind: str, device_id: str) -> Binding | None:
    """The movement a tracker or e-seal is bound to, with its plan and customs status.
    An e-seal may be bound by its printed number: `KE-0412 345` finds `KE0412345`."""
    ids = {device_id, normalise(device_id)} if kind == ESEAL else {device_id}
    row = (
        await session.execute(
            select(
                TransitDeviceRow.iot_id,
                MovementRow.state,
                TransitPlanRow.corridor_id,
                TransitPlanRow.nodes,
                DeclarationRow.status,
            )
            .join(MovementRow, MovementRow.iot_id == TransitDeviceRow.iot_id)
            .outerjoin(TransitPlanRow, TransitPlanRow.iot_id == TransitDeviceRow.iot_id)
            .outerjoin(DeclarationRow, DeclarationRow.declaration_id == MovementRow.declaration_id)
            .where(TransitDeviceRow.kind == kind, TransitDeviceRow.device_id.in_(ids))
            .order_by(TransitDeviceRow.device_id != device_id)  # the exact id first
        )
    ).first()
    if row is None:
        return None
    iot_id, state, corridor, nodes, status = row
    return Binding(iot_id, state == "active", corridor, tuple(nodes or ()), status)


async def binding_of(session: AsyncSession, iot_id: UUID) -> Binding | None:
    row = (
        await session.execute(
            select(
                MovementRow.state,
                TransitPlanRow.corridor_id,
                TransitPlanRow.nodes,
                DeclarationRow.status,
            )
            .join(TransitPlanRow, TransitPlanRow.iot_id == MovementRow.iot_id)
            .outerjoin(DeclarationRow, DeclarationRow.declaration_id == MovementRow.declaration_id)
            .where(MovementRow.iot_id == iot_id)
        )
    ).first()
    if row is None:
        return None
    state, corridor, nodes, status = row
    return Binding(iot_id, state == "active", corridor, tuple(nodes or ()), status)


async def load_state(session: AsyncSession, iot_id: UUID) -> TransitState | None:
    row = await session.get(TransitStateRow, iot_id)
    return None if row is None else TransitState.model_validate(row.state)


async def states_in_transit(session: AsyncSession) -> list[tuple[Binding, TransitState]]:
    """Every active movement whose unit has reported and not arrived: what the sweep checks."""
    rows = (
        await session.execute(
            select(
                TransitStateRow.iot_id,
                TransitStateRow.state,
                TransitPlanRow.corridor_id,
                TransitPlanRow.nodes,
                DeclarationRow.status,
            )
            .join(MovementRow, MovementRow.iot_id == TransitStateRow.iot_id)
            .join(TransitPlanRow, TransitPlanRow.iot_id == TransitStateRow.iot_id)
            .outerjoin(DeclarationRow, DeclarationRow.declaration_id == MovementRow.declaration_id)
            .where(MovementRow.state == "active")
        )
    ).all()
    found = []
    for iot_id, raw, corridor, nodes, status in rows:
        state = TransitState.model_validate(raw)
        if state.in_transit:
            found.append((Binding(iot_id, True, corridor, tuple(nodes or ()), status), state))
    return found


async def stored_ids(
    session: AsyncSession, messages: Sequence[PositionFix | SealEvent]
) -> set[UUID]:
    """The message ids among `messages` stored before (resends)."""
    found: set[UUID] = set()
    for table, model in ((TransitFixRow, PositionFix), (TransitSealEventRow, SealEvent)):
        ids = [m.message_id for m in messages if isinstance(m, model)]
        if ids:
            rows = await session.execute(select(table.message_id).where(table.message_id.in_(ids)))
            found.update(rows.scalars())
    return found


async def save_state(
    session: AsyncSession, iot_id: UUID, state: TransitState, at: datetime
) -> None:
    """Update the movement's state row, or add it (one statement in the usual case)."""
    values = {"state": state.model_dump(mode="json"), "updated_at": at}
    result = await session.execute(
        update(TransitStateRow)
        .where(TransitStateRow.iot_id == iot_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        session.add(TransitStateRow(iot_id=iot_id, **values))


async def add_alert(session: AsyncSession, alert: Alert, at: datetime) -> None:
    """Stored and put on the ledger in the caller's transaction, as the gate rules do."""
    session.add(
        AlertRow(
            alert_id=alert.alert_id,
            rule=alert.rule,
            severity=alert.severity,
            raised_at=alert.raised_at,
            iot_id=alert.iot_id,
            gate_id=None,
            passage_id=None,
            summary=alert.summary,
            details=alert.details,
            payload=alert.to_json().decode(),
        )
    )
    await ledger.append(session, "alert", alert.model_dump(mode="json"), at)


def alert_details(
    details: dict[str, Any], device_id: str | None, lon: float | None, lat: float | None
) -> dict[str, Any]:
    """The alerts table has no device or position columns: they travel in the details too."""
    extra = {"device_id": device_id, "lon": lon, "lat": lat}
    return {**details, **{k: v for k, v in extra.items() if v is not None}}
