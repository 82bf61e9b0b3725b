from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import SessionDep
from central.api.schemas import GatePublic
from central.tables import GateRow, GateStatusRow

router = APIRouter(prefix="/gates", tags=["gates"])


@router.get("", response_model=list[GatePublic])
async def list_gates(session: SessionDep) -> list[GatePublic]:
    """Every gate of the site and every gate heard from, with its last status."""
    rows = (await session.execute(select(GateRow.gate_id, GateRow.node_id))).all()
    nodes = {gate_id: node_id for gate_id, node_id in rows}
    status = {row.gate_id: row for row in (await session.scalars(select(GateStatusRow))).all()}
    gates = []
    for gate_id in sorted(set(nodes) | set(status)):
        row = status.get(gate_id)
        if row is None:
            gates.append(GatePublic(gate_id=gate_id, node_id=nodes.get(gate_id), online=None))
            continue
        gates.append(
            GatePublic(
                gate_id=gate_id,
                node_id=nodes.get(gate_id),
                online=row.online,
                lanes=row.lanes,
                outbox_pending=row.outbox_pending,
                agent_version=row.agent_version,
                sent_at=row.sent_at,
                received_at=row.received_at,
                devices=row.devices or {},
                position=row.position,
                at_node=row.at_node,
            )
        )
    return gates
