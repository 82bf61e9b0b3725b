"""Database reads and writes that the ingest pipeline and the HTTP API share."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from central.identifiers import normalise
from central.rules.gate import (
    CustomsStatus,
    DeclarationState,
    MovementState,
    Progress,
    UnitIdentity,
)
from central.site import MissionPath, Site
from central.tables import (
    DeclarationRow,
    GateRow,
    MissionPathRow,
    MovementKeyRow,
    MovementRow,
    NodeRow,
)
from contract.messages import IdentifierKind

log = logging.getLogger(__name__)

# Identifier kinds a passage is resolved to a movement by (seals are checked, not resolved).
RESOLVING_KINDS = (IdentifierKind.PLATE, IdentifierKind.CONTAINER, IdentifierKind.RFID_TAG)


async def sync_site(session: AsyncSession, site: Site) -> None:
    """Make the site tables say what the site file says (idempotent).

    Nodes and gates not in the file are removed; mission paths are added or
    updated, never removed, because movements refer to them.
    """
    await session.execute(delete(GateRow))
    await session.execute(delete(NodeRow).where(NodeRow.node_id.not_in([n.id for n in site.nodes])))
    for node in site.nodes:
        await session.merge(
            NodeRow(node_id=node.id, site=site.site, name=node.name, kind=node.kind)
        )
    await session.flush()
    session.add_all(GateRow(gate_id=g, node_id=node.id) for node in site.nodes for g in node.gates)
    for process, path in site.processes.items():
        await session.merge(
            MissionPathRow(
                process=process,
                description=path.description,
                steps=[step.model_dump() for step in path.steps],
            )
        )


async def node_of_gate(session: AsyncSession, gate_id: str) -> str | None:
    return await session.scalar(select(GateRow.node_id).where(GateRow.gate_id == gate_id))


async def mission_path(session: AsyncSession, process: str) -> MissionPath | None:
    row = await session.get(MissionPathRow, process)
    if row is None:
        return None
    return MissionPath(description=row.description, steps=row.steps)


def movement_keys(
    plate: str | None, containers: Iterable[str], rfid_tag: str | None
) -> set[tuple[str, str]]:
    keys = {(IdentifierKind.CONTAINER.value, normalise(c)) for c in containers}
    if plate:
        keys.add((IdentifierKind.PLATE.value, normalise(plate)))
    if rfid_tag:
        keys.add((IdentifierKind.RFID_TAG.value, normalise(rfid_tag)))
    return {(kind, value) for kind, value in keys if value}


async def candidates(session: AsyncSession, keys: set[tuple[str, str]]) -> list[UnitIdentity]:
    """Movements sharing any key with `keys`, most recently updated first."""
    if not keys:
        return []
    values = {value for _, value in keys}
    rows = (
        await session.execute(
            select(MovementKeyRow.iot_id, MovementKeyRow.kind, MovementKeyRow.value, MovementRow)
            .join(MovementRow, MovementRow.iot_id == MovementKeyRow.iot_id)
            .where(MovementKeyRow.value.in_(values))
            .order_by(MovementRow.updated_at.desc())
        )
    ).all()
    found: dict[UUID, tuple[set[tuple[str, str]], bool]] = {}
    for iot_id, kind, value, movement in rows:
        if (kind, value) in keys:
            matched = found.setdefault(iot_id, (set(), movement.state == "completed"))[0]
            matched.add((kind, value))
    return [UnitIdentity(i, frozenset(k), completed) for i, (k, completed) in found.items()]


async def movement_state(session: AsyncSession, iot_id: UUID) -> MovementState | None:
    movement = await session.get(MovementRow, iot_id)
    if movement is None:
        return None
    declaration = await session.get(DeclarationRow, movement.declaration_id)
    path = await mission_path(session, movement.process)
    if declaration is None or path is None:
        return None
    return MovementState(
        iot_id=movement.iot_id,
        path=path,
        declaration=DeclarationState(
            CustomsStatus(declaration.status),
            scan_required=declaration.scan_required,
            scan_validated=declaration.scan_validated,
        ),
        position=movement.position,
        diverted_to=movement.diverted_to,
        completed=movement.state == "completed",
        permits=dict(movement.permits),
        seals=tuple(normalise(s) for s in movement.seals),
        dangerous_goods=tuple(movement.dangerous_goods),
    )


async def advance(session: AsyncSession, iot_id: UUID, progress: Progress, at: datetime) -> bool:
    """Move the movement on, only if it is still where the decision found it."""
    diverted = (
        MovementRow.diverted_to.is_(None)
        if progress.from_diverted_to is None
        else MovementRow.diverted_to == progress.from_diverted_to
    )
    result = await session.execute(
        update(MovementRow)
        .where(
            MovementRow.iot_id == iot_id,
            MovementRow.state == "active",
            MovementRow.position == progress.from_position,
            diverted,
        )
        .values(
            position=progress.position,
            diverted_to=progress.diverted_to,
            state="completed" if progress.completed else "active",
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
