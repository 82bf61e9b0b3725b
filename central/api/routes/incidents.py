"""Incidents: list, detail, evidence; dispatch to the nearest available response unit;
the unit's acknowledge, on-scene and resolution reports; close.

An RRU user sees and answers only the incidents dispatched to its own unit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from central.api.deps import LimitDep, SessionDep
from central.auth.guard import PrincipalDep, forbid, require
from central.auth.roles import Permission as P
from central.auth.roles import Role
from central.auth.service import Principal
from central.monitoring import evidence, incidents
from central.monitoring.schemas import (
    ActionView,
    CandidateView,
    CloseBody,
    DispatchBody,
    IncidentDetail,
    IncidentStatus,
    IncidentView,
    LocationBody,
    ReportBody,
    alert_view,
    incident_view,
    unit_view,
)
from central.monitoring.service import Monitoring
from central.monitoring.tables import AlertStateRow, IncidentEventRow, IncidentRow, ResponseUnitRow
from central.monitoring.web import MonitoringDep
from central.tables import AlertRow

router = APIRouter(prefix="/incidents", tags=["incidents"])

Reader = Annotated[Principal, Depends(require(P.INCIDENTS_READ))]
Dispatcher = Annotated[Principal, Depends(require(P.INCIDENTS_DISPATCH))]


async def _responder(principal: PrincipalDep) -> Principal:
    """A unit answering its own incident, or a dispatcher answering for it (by radio)."""
    if principal.can(P.INCIDENTS_RESPOND) or principal.can(P.INCIDENTS_DISPATCH):
        return principal
    raise forbid(principal, "answer incidents")


Responder = Annotated[Principal, Depends(_responder)]
_ACTIVE_FIRST = case(
    {s: i for i, s in enumerate(incidents.ACTIVE)}, value=IncidentRow.status, else_=9
)


def _own_unit(principal: Principal) -> str | None:
    """The unit whose incidents an RRU user is confined to (None: not confined)."""
    if principal.role is Role.RRU and not principal.can(P.INCIDENTS_DISPATCH):
        if principal.unit_id is None:
            raise forbid(principal, "see incidents without a unit")
        return principal.unit_id
    return None


async def _visible(session: AsyncSession, incident_id: UUID, principal: Principal) -> IncidentRow:
    incident = await incidents.get_incident(session, incident_id)
    own = _own_unit(principal)
    if own is not None and incident.unit_id != own:
        raise forbid(principal, f"see incident {incident_id} (not dispatched to {own})")
    return incident


@router.get("", response_model=list[IncidentView])
async def list_incidents(
    session: SessionDep,
    principal: Reader,
    status: Annotated[list[IncidentStatus] | None, Query()] = None,
    unit_id: str | None = None,
    limit: LimitDep = 100,
) -> list[IncidentView]:
    """Active incidents first, newest first. An RRU gets its own unit's only."""
    own = _own_unit(principal)
    query = select(IncidentRow).order_by(_ACTIVE_FIRST, IncidentRow.opened_at.desc()).limit(limit)
    if own is not None or unit_id:
        query = query.where(IncidentRow.unit_id == (own or unit_id))
    if status:
        query = query.where(IncidentRow.status.in_(status))
    return [incident_view(row) for row in (await session.scalars(query)).all()]


@router.get("/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: UUID, session: SessionDep, principal: Reader) -> IncidentDetail:
    incident = await _visible(session, incident_id, principal)
    events = (
        await session.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident_id)
            .order_by(IncidentEventRow.id)
        )
    ).all()
    alerts = (
        await session.execute(
            select(AlertRow, AlertStateRow)
            .join(AlertStateRow, AlertStateRow.alert_id == AlertRow.alert_id)
            .where(AlertStateRow.incident_id == incident_id, AlertStateRow.status != "duplicate")
            .order_by(AlertRow.raised_at)
        )
    ).all()
    return IncidentDetail(
        **incident_view(incident).model_dump(),
        events=[ActionView.model_validate(e) for e in events],
        alerts=[alert_view(row, state) for row, state in alerts],
    )


@router.get("/{incident_id}/evidence")
async def get_evidence(
    incident_id: UUID, session: SessionDep, monitoring: MonitoringDep, principal: Reader
) -> dict[str, Any]:
    """Passages (with images when sent), a track excerpt, seal events, the alerts."""
    incident = await _visible(session, incident_id, principal)
    return await evidence.collect(session, incident, monitoring.tracks)


@router.get("/{incident_id}/candidates", response_model=list[CandidateView])
async def candidates(
    incident_id: UUID, session: SessionDep, monitoring: MonitoringDep, _: Dispatcher
) -> list[CandidateView]:
    """Available units, nearest first (live position while fresh, else base)."""
    incident = await incidents.get_incident(session, incident_id)
    units = list((await session.scalars(select(ResponseUnitRow))).all())
    ranked = incidents.rank_units(
        units, incident.lat, incident.lon, monitoring.clock.now(), monitoring.fresh
    )
    return [
        CandidateView(
            unit_id=c.unit.unit_id,
            name=c.unit.name,
            distance_m=round(c.distance_m) if c.distance_m is not None else None,
            live=c.live,
        )
        for c in ranked
    ]


@router.post("/{incident_id}/dispatch", response_model=IncidentView)
async def dispatch(
    incident_id: UUID,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: Dispatcher,
    body: DispatchBody | None = None,
) -> IncidentView:
    """Send the named unit, or the nearest available one; the unit is notified."""
    now = monitoring.clock.now()
    incident, unit, previous = await incidents.dispatch(
        session, incident_id, body.unit_id if body else None, principal.name, now, monitoring.fresh
    )
    monitoring.notifier.for_unit(session, unit, incident, "dispatched", now)
    replaced = await session.get(ResponseUnitRow, previous) if previous else None
    if replaced is not None:
        monitoring.notifier.for_unit(session, replaced, incident, "withdrawn", now)
    return await _done(session, monitoring, incident, [unit, replaced])


@router.put("/{incident_id}/location", response_model=IncidentView)
async def set_location(
    incident_id: UUID,
    body: LocationBody,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: Dispatcher,
) -> IncidentView:
    """Where the incident is, when the alert did not say (a call, a patrol's report)."""
    incident = await incidents.set_location(
        session, incident_id, body.lat, body.lon, principal.name, monitoring.clock.now(), body.note
    )
    return await _done(session, monitoring, incident)


def _step(step: str) -> Callable[..., Awaitable[IncidentView]]:
    async def answer(
        incident_id: UUID,
        session: SessionDep,
        monitoring: MonitoringDep,
        principal: Responder,
        body: ReportBody | None = None,
    ) -> IncidentView:
        own = _own_unit(principal)
        collected = None
        if step != "acknowledged":
            incident = await _visible(session, incident_id, principal)
            collected = await evidence.collect(session, incident, monitoring.tracks)
        incident = await incidents.respond(
            session,
            incident_id,
            step,
            principal.name,
            monitoring.clock.now(),
            unit_id=own,
            note=body.note if body else "",
            evidence=collected,
        )
        unit = await session.get(ResponseUnitRow, incident.unit_id) if incident.unit_id else None
        return await _done(session, monitoring, incident, [unit])

    answer.__name__ = f"incident_{step}"
    answer.__doc__ = {
        "acknowledged": "The unit has the incident and is on its way.",
        "on_scene": "The unit is there: stops the response clock; evidence is attached.",
        "resolved": "The unit's resolution report (`note` required), with the evidence.",
    }[step]
    return answer


router.post("/{incident_id}/acknowledge", response_model=IncidentView)(_step("acknowledged"))
router.post("/{incident_id}/on-scene", response_model=IncidentView)(_step("on_scene"))
router.post("/{incident_id}/resolve", response_model=IncidentView)(_step("resolved"))


@router.post("/{incident_id}/close", response_model=IncidentView)
async def close(
    incident_id: UUID,
    body: CloseBody,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: Dispatcher,
) -> IncidentView:
    """Close (resolved, or called off): its alerts close with it; a busy unit is freed."""
    before = await incidents.get_incident(session, incident_id)
    was_resolved = before.status == "resolved"
    now = monitoring.clock.now()
    incident = await incidents.close(session, incident_id, principal.name, now, body.note)
    unit = await session.get(ResponseUnitRow, incident.unit_id) if incident.unit_id else None
    if unit is not None and not was_resolved:
        monitoring.notifier.for_unit(session, unit, incident, "withdrawn", now)
    return await _done(session, monitoring, incident, [unit])


async def _done(
    session: AsyncSession,
    monitoring: Monitoring,
    incident: IncidentRow,
    units: list[ResponseUnitRow | None] | None = None,
) -> IncidentView:
    """Commit, tell the systems and the live views."""
    view = incident_view(incident)
    data = view.model_dump(mode="json")
    monitoring.notifier.for_systems(session, "incident", data, monitoring.clock.now())
    unit_data = [unit_view(u).model_dump(mode="json") for u in units or [] if u is not None]
    await session.commit()
    monitoring.hub.publish("incident", data, incident.unit_id)
    for item in unit_data:
        monitoring.hub.publish("unit", item, item["unit_id"])
    return view
