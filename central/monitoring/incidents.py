"""Incidents: the alerts about one cargo movement (else one device, else one gate's
reads) grouped together; dispatch to the nearest available rapid response unit; the
response clock (`sla_minutes` from opening to on scene) and its escalation.

    open -> dispatched -> acknowledged -> on_scene -> resolved -> closed
    (closed from any state by a dispatcher; re-dispatch while not resolved)
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from central import ledger
from central.monitoring.alerts import CLOSED, DUPLICATE, SYSTEM, act, max_severity, subject_of
from central.monitoring.errors import MonitoringError, conflict, not_found
from central.monitoring.tables import (
    AlertStateRow,
    IncidentEventRow,
    IncidentRow,
    ResponseUnitRow,
)
from contract.messages import Alert

ACTIVE = ("open", "dispatched", "acknowledged", "on_scene")
AWAITING_RESPONSE = ("open", "dispatched", "acknowledged")  # the response clock runs
AVAILABLE, BUSY, OFF_DUTY = "available", "busy", "off_duty"
EARTH_RADIUS_M = 6_371_008.8


def wants_incident(alert: Alert, severity: str) -> bool:
    """Cargo on the move and critical alerts become incidents; the rest only on request."""
    return alert.iot_id is not None or bool(alert.device_id) or severity == "critical"


async def record(
    session: AsyncSession,
    incident: IncidentRow,
    action: str,
    actor: str,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    *,
    on_ledger: bool = True,
) -> None:
    """One step of an incident, in `incident_events` and (by default) on the ledger."""
    data = data or {}
    session.add(
        IncidentEventRow(
            incident_id=incident.incident_id,
            action=action,
            actor=actor,
            at=now,
            note=note,
            data=data,
        )
    )
    incident.updated_at = now
    if on_ledger:
        body = {
            "incident_id": str(incident.incident_id),
            "action": action,
            "actor": actor,
            "status": incident.status,
            "unit_id": incident.unit_id,
            "note": note,
            **data,
        }
        await ledger.append(session, "incident", body, now)


async def attach(
    session: AsyncSession,
    alert: Alert,
    state: AlertStateRow,
    now: datetime,
    *,
    sla: timedelta,
    location: tuple[float, float] | None,
) -> tuple[IncidentRow, bool]:
    """Put the alert into the active incident of its subject, or open one. (incident, opened)"""
    subject = subject_of(alert)
    incident = await session.scalar(
        select(IncidentRow)
        .where(IncidentRow.subject == subject, IncidentRow.status.in_(ACTIVE))
        .order_by(IncidentRow.opened_at.desc())
        .limit(1)
    )
    lat, lon = location if location else (None, None)
    opened = incident is None
    if incident is None:
        incident = IncidentRow(
            incident_id=uuid.uuid4(),
            subject=subject,
            iot_id=alert.iot_id,
            device_id=alert.device_id,
            gate_id=alert.gate_id,
            title=alert.summary or alert.rule,
            severity=state.severity,
            status="open",
            lat=lat,
            lon=lon,
            opened_at=now,
            due_at=now + sla,
            escalation_level=0,
            updated_at=now,
        )
        session.add(incident)
        await record(session, incident, "opened", SYSTEM, now, incident.title, _alert_ref(alert))
    else:
        incident.severity = max_severity(incident.severity, state.severity)
        incident.iot_id = incident.iot_id or alert.iot_id
        incident.device_id = incident.device_id or alert.device_id
        incident.gate_id = incident.gate_id or alert.gate_id
        if lat is not None:
            incident.lat, incident.lon = lat, lon
        await record(
            session, incident, "alert_added", SYSTEM, now, alert.summary, _alert_ref(alert),
            on_ledger=False,
        )  # fmt: skip
    state.incident_id = incident.incident_id
    return incident, opened


def _alert_ref(alert: Alert) -> dict[str, Any]:
    return {"alert_id": str(alert.alert_id), "rule": alert.rule}


# --------------------------------------------------------------------------- dispatch


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine on the mean Earth radius); metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    unit: ResponseUnitRow
    distance_m: float | None
    live: bool  # measured from the unit's live position, not its base


def where_is(unit: ResponseUnitRow, now: datetime, fresh: timedelta) -> tuple[float, float, bool]:
    """(lat, lon, live): the live position while it is fresh, else the base."""
    if (
        unit.lat is not None
        and unit.lon is not None
        and unit.position_at is not None
        and now - unit.position_at <= fresh
    ):
        return unit.lat, unit.lon, True
    return unit.base_lat, unit.base_lon, False


def rank_units(
    units: list[ResponseUnitRow],
    lat: float | None,
    lon: float | None,
    now: datetime,
    fresh: timedelta,
) -> list[Candidate]:
    """Available units, nearest first (by unit id when the incident has no location)."""
    ranked = []
    for unit in units:
        if unit.status != AVAILABLE:
            continue
        ulat, ulon, live = where_is(unit, now, fresh)
        gap = distance_m(lat, lon, ulat, ulon) if lat is not None and lon is not None else None
        ranked.append(Candidate(unit, gap, live))
    return sorted(ranked, key=lambda c: (c.distance_m is None, c.distance_m or 0, c.unit.unit_id))


async def get_incident(
    session: AsyncSession, incident_id: uuid.UUID, for_update: bool = False
) -> IncidentRow:
    incident = await session.get(IncidentRow, incident_id, with_for_update=for_update)
    if incident is None:
        raise not_found(f"incident {incident_id}")
    return incident


async def dispatch(
    session: AsyncSession,
    incident_id: uuid.UUID,
    unit_id: str | None,
    actor: str,
    now: datetime,
    fresh: timedelta,
) -> tuple[IncidentRow, ResponseUnitRow, str | None]:
    """Send a unit (the nearest available one when none is named). Returns
    (incident, unit, the unit it replaces, if any)."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status not in ACTIVE:
        raise conflict(f"incident {incident_id} is {incident.status}")
    units = list((await session.scalars(select(ResponseUnitRow))).all())
    if unit_id is not None:
        unit = next((u for u in units if u.unit_id == unit_id), None)
        if unit is None:
            raise not_found(f"response unit {unit_id}")
        if unit.unit_id == incident.unit_id:
            raise conflict(f"unit {unit_id} is already dispatched to this incident")
        if unit.status != AVAILABLE:
            raise conflict(f"unit {unit_id} is {unit.status}")
        lat, lon, live = where_is(unit, now, fresh)
        gap = (
            distance_m(incident.lat, incident.lon, lat, lon)
            if incident.lat is not None and incident.lon is not None
            else None
        )
        chosen = Candidate(unit, gap, live)
    else:
        if incident.lat is None or incident.lon is None:
            raise conflict(
                f"incident {incident_id} has no location: name a unit_id or set its location"
            )
        ranked = rank_units(units, incident.lat, incident.lon, now, fresh)
        if not ranked:
            raise conflict("no response unit is available")
        chosen = ranked[0]
    previous = incident.unit_id
    if previous is not None:
        replaced = next((u for u in units if u.unit_id == previous), None)
        if replaced is not None and replaced.status == BUSY:
            replaced.status, replaced.updated_at = AVAILABLE, now
    unit = chosen.unit
    unit.status, unit.updated_at = BUSY, now
    incident.unit_id, incident.status, incident.dispatched_at = unit.unit_id, "dispatched", now
    incident.acknowledged_at = None
    data: dict[str, Any] = {
        "unit_id": unit.unit_id,
        "distance_m": round(chosen.distance_m) if chosen.distance_m is not None else None,
        "from": "live position" if chosen.live else "base",
    }
    if previous:
        data["replaces"] = previous
    await record(session, incident, "dispatched", actor, now, "", data)
    return incident, unit, previous


async def set_location(
    session: AsyncSession,
    incident_id: uuid.UUID,
    lat: float,
    lon: float,
    actor: str,
    now: datetime,
    note: str,
) -> IncidentRow:
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status not in ACTIVE:
        raise conflict(f"incident {incident_id} is {incident.status}")
    incident.lat, incident.lon = lat, lon
    await record(session, incident, "located", actor, now, note, {"lat": lat, "lon": lon})
    return incident


# --------------------------------------------------------------------------- response


async def respond(
    session: AsyncSession,
    incident_id: uuid.UUID,
    step: str,
    actor: str,
    now: datetime,
    *,
    unit_id: str | None,
    note: str = "",
    evidence: dict[str, Any] | None = None,
) -> IncidentRow:
    """A unit's step: acknowledge, on_scene, resolved. `unit_id` set: only its own incident."""
    incident = await get_incident(session, incident_id, for_update=True)
    if unit_id is not None and incident.unit_id != unit_id:
        raise MonitoringError(403, f"incident {incident_id} is not dispatched to unit {unit_id}")
    allowed = {
        "acknowledged": ("dispatched",),
        "on_scene": ("dispatched", "acknowledged"),
        "resolved": ("dispatched", "acknowledged", "on_scene"),
    }[step]
    if incident.status not in allowed:
        raise conflict(f"incident {incident_id} is {incident.status}: cannot be {step}")
    if step == "resolved" and not note.strip():
        raise MonitoringError(422, "a resolution report needs a note")
    data: dict[str, Any] = {}
    if step == "acknowledged":
        incident.acknowledged_at = now
    elif step == "on_scene":
        incident.on_scene_at = now
        assert incident.due_at is not None
        data["within_sla"] = now <= incident.due_at
        data["response_s"] = round((now - incident.opened_at).total_seconds())
    else:
        incident.resolved_at = now
        await _free_unit(session, incident.unit_id, now)
    if evidence is not None:
        data["evidence"] = evidence
    incident.status = step
    await record(session, incident, step, actor, now, note, data)
    return incident


async def close(
    session: AsyncSession, incident_id: uuid.UUID, actor: str, now: datetime, note: str
) -> IncidentRow:
    """A dispatcher closes the incident (resolved, or called off); its alerts close with it."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise conflict(f"incident {incident_id} is closed already")
    if incident.status != "resolved":
        await _free_unit(session, incident.unit_id, now)
    incident.status, incident.closed_at = "closed", now
    await record(session, incident, "closed", actor, now, note)
    states = (
        await session.scalars(
            select(AlertStateRow).where(
                AlertStateRow.incident_id == incident_id,
                AlertStateRow.status.not_in((CLOSED, DUPLICATE)),
            )
        )
    ).all()
    for state in states:
        await act(session, state.alert_id, "close", actor, now, note=f"incident closed: {note}")
    return incident


async def _free_unit(session: AsyncSession, unit_id: str | None, now: datetime) -> None:
    if unit_id is None:
        return
    unit = await session.get(ResponseUnitRow, unit_id)
    if unit is not None and unit.status == BUSY:
        unit.status, unit.updated_at = AVAILABLE, now


# --------------------------------------------------------------------------- the clock


async def escalate_overdue(
    session: AsyncSession, now: datetime, every: timedelta
) -> list[IncidentRow]:
    """Incidents whose response clock ran out with nobody on scene: escalate (again every
    `every` while it stays so)."""
    overdue = (
        await session.scalars(
            select(IncidentRow).where(
                IncidentRow.status.in_(AWAITING_RESPONSE),
                IncidentRow.due_at <= now,
            )
        )
    ).all()
    escalated = []
    for incident in overdue:
        if incident.escalated_at is not None and now - incident.escalated_at < every:
            continue
        incident.escalation_level += 1
        incident.escalated_at = now
        incident.severity = "critical"
        assert incident.due_at is not None
        late = now - incident.due_at
        note = (
            f"response clock ran out at {incident.due_at.isoformat()} "
            f"({int(late.total_seconds() // 60)} min ago), nobody on scene"
        )
        await record(
            session, incident, "escalated", SYSTEM, now, note, {"level": incident.escalation_level}
        )
        escalated.append(incident)
    return escalated
