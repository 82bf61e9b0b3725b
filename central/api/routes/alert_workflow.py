"""The alert queue and the workflow: acknowledge, assign, comment, escalate, close, reopen.

Every action is recorded with who and when (`/alerts/{id}/actions`) and put on the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy import case, select

from central.api.deps import LimitDep, SessionDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.monitoring import alerts as workflow
from central.monitoring.errors import conflict, not_found
from central.monitoring.incidents import attach, get_incident, record
from central.monitoring.schemas import (
    ActionView,
    AlertActionBody,
    AlertView,
    IncidentOpenBody,
    IncidentView,
    alert_view,
    incident_view,
)
from central.monitoring.tables import AlertActionRow, AlertStateRow
from central.monitoring.web import MonitoringDep
from central.tables import AlertRow
from contract.messages import Alert

router = APIRouter(prefix="/alerts", tags=["alerts"])

Reader = Annotated[Principal, Depends(require(P.ALERTS_READ))]
Actor = Annotated[Principal, Depends(require(P.ALERTS_ACT))]
Dispatcher = Annotated[Principal, Depends(require(P.INCIDENTS_DISPATCH))]
QueueStatus = Literal["open", "acknowledged", "closed", "duplicate"]

_SEVERITY_ORDER = case(
    {"critical": 0, "warning": 1, "info": 2}, value=AlertStateRow.severity, else_=3
)


@router.get("/queue", response_model=list[AlertView])
async def queue(
    session: SessionDep,
    _: Reader,
    status: Annotated[list[QueueStatus], Query()] = ["open", "acknowledged"],  # noqa: B006
    limit: LimitDep = 200,
) -> list[AlertView]:
    """Alerts to work on: most severe first, then newest. Repeats are folded in."""
    rows = (
        await session.execute(
            select(AlertRow, AlertStateRow)
            .join(AlertStateRow, AlertStateRow.alert_id == AlertRow.alert_id)
            .where(AlertStateRow.status.in_(status))
            .order_by(_SEVERITY_ORDER, AlertStateRow.last_raised_at.desc())
            .limit(limit)
        )
    ).all()
    return [alert_view(row, state) for row, state in rows]


@router.get("/{alert_id}", response_model=AlertView)
async def get_alert(alert_id: UUID, session: SessionDep, _: Reader) -> AlertView:
    row = await session.get(AlertRow, alert_id)
    if row is None:
        raise not_found(f"alert {alert_id}")
    return alert_view(row, await session.get(AlertStateRow, alert_id))


@router.get("/{alert_id}/actions", response_model=list[ActionView])
async def alert_actions(alert_id: UUID, session: SessionDep, _: Reader) -> Sequence[AlertActionRow]:
    """Who did what to the alert, and when, oldest first."""
    query = select(AlertActionRow).where(AlertActionRow.alert_id == alert_id)
    return (await session.scalars(query.order_by(AlertActionRow.id))).all()


@router.post("/{alert_id}/incident", response_model=IncidentView)
async def open_incident(
    alert_id: UUID,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: Dispatcher,
    body: IncidentOpenBody | None = None,
) -> IncidentView:
    """Open an incident for an alert that did not open one by itself (or return its own)."""
    row = await session.get(AlertRow, alert_id)
    state = await session.get(AlertStateRow, alert_id, with_for_update=True)
    if row is None or state is None:
        raise not_found(f"alert {alert_id} in the monitoring centre")
    if state.status == workflow.DUPLICATE and state.duplicate_of is not None:
        raise conflict(f"alert {alert_id} repeats {state.duplicate_of}: use that one")
    alert = Alert.model_validate_json(row.payload)
    now = monitoring.clock.now()
    if state.incident_id is not None:
        return incident_view(await get_incident(session, state.incident_id))
    incident, _ = await attach(
        session,
        alert,
        state,
        now,
        sla=monitoring.sla,
        location=monitoring.locate(alert),
    )
    await record(session, incident, "requested", principal.name, now, body.note if body else "")
    await session.commit()
    view = incident_view(incident)
    monitoring.hub.publish("incident", view.model_dump(mode="json"))
    return view


@router.post("/{alert_id}/{action}", response_model=AlertView)
async def act_on_alert(
    alert_id: UUID,
    action: workflow.Action,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: Actor,
    body: AlertActionBody | None = None,
) -> AlertView:
    """acknowledge | assign (`assignee`) | comment (`note`) | escalate | close | reopen."""
    body = body or AlertActionBody()
    state = await workflow.act(
        session,
        alert_id,
        action,
        principal.name,
        monitoring.clock.now(),
        note=body.note,
        assignee=body.assignee,
    )
    row = await session.get(AlertRow, alert_id)
    await session.commit()
    assert row is not None
    view = alert_view(row, state)
    monitoring.hub.publish("alert", view.model_dump(mode="json"))
    return view
