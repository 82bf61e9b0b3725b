"""Units in transit on the live map, and one unit's timeline (passages, decisions,
alerts, incident steps, its recent track)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import or_, select

from central.api.deps import LimitDep, SessionDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.monitoring.errors import not_found
from central.monitoring.schemas import Timeline, TimelineEntry, UnitInTransit
from central.monitoring.tables import AlertStateRow, IncidentEventRow, IncidentRow
from central.monitoring.web import MonitoringDep
from central.tables import AlertRow, DecisionRow, MovementRow, PassageRow

router = APIRouter(prefix="/units", tags=["units"])

Viewer = Annotated[Principal, Depends(require(P.TRAFFIC_READ))]


@router.get("", response_model=list[UnitInTransit])
async def units_in_transit(monitoring: MonitoringDep, _: Viewer) -> list[UnitInTransit]:
    """The last fix of every tracker heard (held in memory: recent hours)."""
    return [
        UnitInTransit(device_id=device, **point.public())
        for device, point in sorted(monitoring.tracks.all_latest().items())
    ]


@router.get("/{key}/timeline", response_model=Timeline)
async def timeline(
    key: str, session: SessionDep, monitoring: MonitoringDep, _: Viewer, limit: LimitDep = 200
) -> Timeline:
    """`key` is a movement's iot_id or a tracker's device id."""
    iot_id: uuid.UUID | None = None
    device_id: str | None = None
    try:
        iot_id = uuid.UUID(key)
    except ValueError:
        device_id = key
    movement = await session.get(MovementRow, iot_id) if iot_id else None
    incident_filter = IncidentRow.iot_id == iot_id if iot_id else IncidentRow.device_id == key
    incident_rows = (
        await session.scalars(
            select(IncidentRow).where(incident_filter).order_by(IncidentRow.opened_at.desc())
        )
    ).all()
    if iot_id is None:
        iot_id = next((i.iot_id for i in incident_rows if i.iot_id), None)
    if device_id is None:
        device_id = next((i.device_id for i in incident_rows if i.device_id), None)
    track = monitoring.tracks.excerpt(device_id) if device_id else []
    if movement is None and not incident_rows and not track and iot_id is None:
        raise not_found(f"unit {key}")
    entries: list[TimelineEntry] = []
    if iot_id is not None:
        for p in (
            await session.scalars(
                select(PassageRow).where(PassageRow.iot_id == iot_id).limit(limit)
            )
        ).all():
            read = ", ".join(f"{i.get('kind')} {i.get('value')}" for i in p.identifiers)
            entries.append(
                TimelineEntry(
                    at=p.closed_at,
                    kind="passage",
                    summary=f"passage at {p.gate_id}/{p.lane_id}: {read}",
                    data={"passage_id": str(p.passage_id), "gate_id": p.gate_id},
                )
            )
        for d in (
            await session.scalars(
                select(DecisionRow).where(DecisionRow.iot_id == iot_id).limit(limit)
            )
        ).all():
            entries.append(
                TimelineEntry(
                    at=d.issued_at,
                    kind="decision",
                    summary=f"{d.verdict.upper()} at {d.gate_id}: {', '.join(d.reasons) or 'ok'}",
                    data={"decision_id": str(d.decision_id), "executed": d.executed},
                )
            )
    incident_ids = [i.incident_id for i in incident_rows]
    alert_filter = [AlertRow.iot_id == iot_id] if iot_id else []
    if incident_ids:
        alert_filter.append(AlertStateRow.incident_id.in_(incident_ids))
    if alert_filter:
        for a in (
            await session.scalars(
                select(AlertRow)
                .outerjoin(AlertStateRow, AlertStateRow.alert_id == AlertRow.alert_id)
                .where(or_(*alert_filter))
                .limit(limit)
            )
        ).all():
            entries.append(
                TimelineEntry(
                    at=a.raised_at,
                    kind="alert",
                    summary=f"{a.severity} {a.rule}: {a.summary}",
                    data={"alert_id": str(a.alert_id)},
                )
            )
    if incident_ids:
        for e in (
            await session.scalars(
                select(IncidentEventRow)
                .where(IncidentEventRow.incident_id.in_(incident_ids))
                .limit(limit)
            )
        ).all():
            entries.append(
                TimelineEntry(
                    at=e.at,
                    kind="incident",
                    summary=f"incident {e.action} by {e.actor}" + (f": {e.note}" if e.note else ""),
                    data={"incident_id": str(e.incident_id), **_small(e.data)},
                )
            )
    entries.sort(key=lambda e: e.at, reverse=True)
    return Timeline(
        subject=key,
        iot_id=iot_id,
        device_id=device_id,
        movement=_movement(movement),
        entries=entries[:limit],
        track=[p.public() for p in track[-limit:]],
    )


def _small(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "evidence"}


def _movement(movement: MovementRow | None) -> dict[str, Any] | None:
    if movement is None:
        return None
    return {
        "iot_id": str(movement.iot_id),
        "declaration_id": movement.declaration_id,
        "process": movement.process,
        "plate": movement.plate,
        "containers": movement.containers,
        "state": movement.state,
        "position": movement.position,
    }
