"""Rapid response units: bases, live positions, availability, notification preferences.

Managers (supervisor, admin) add and change units; an RRU user may change its own
unit's availability and preferences and report its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from central.api.deps import SessionDep
from central.auth.guard import PrincipalDep, forbid, require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.monitoring.errors import conflict, not_found
from central.monitoring.schemas import PositionBody, UnitCreate, UnitUpdate, UnitView, unit_view
from central.monitoring.tables import IncidentRow, ResponseUnitRow
from central.monitoring.web import MonitoringDep

router = APIRouter(prefix="/rrus", tags=["response units"])

Manager = Annotated[Principal, Depends(require(P.UNITS_MANAGE))]
Reader = Annotated[Principal, Depends(require(P.UNITS_READ))]


def _may_touch(principal: Principal, unit_id: str, own: P, other: P) -> None:
    """A unit's own user needs `own`; anybody else `other`."""
    if principal.unit_id == unit_id and principal.can(own):
        return
    if not principal.can(other):
        raise forbid(principal, f"{other.value} on unit {unit_id}")


@router.get("", response_model=list[UnitView])
async def list_units(session: SessionDep, _: Reader) -> Sequence[ResponseUnitRow]:
    return (await session.scalars(select(ResponseUnitRow).order_by(ResponseUnitRow.unit_id))).all()


@router.get("/{unit_id}", response_model=UnitView)
async def get_unit(unit_id: str, session: SessionDep, principal: PrincipalDep) -> ResponseUnitRow:
    _may_touch(principal, unit_id, P.INCIDENTS_RESPOND, P.UNITS_READ)
    unit = await session.get(ResponseUnitRow, unit_id)
    if unit is None:
        raise not_found(f"response unit {unit_id}")
    return unit


@router.post("", response_model=UnitView, status_code=status.HTTP_201_CREATED)
async def add_unit(
    body: UnitCreate, session: SessionDep, monitoring: MonitoringDep, _: Manager
) -> ResponseUnitRow:
    if await session.get(ResponseUnitRow, body.unit_id) is not None:
        raise conflict(f"response unit {body.unit_id} exists already")
    unit = ResponseUnitRow(**body.model_dump(), updated_at=monitoring.clock.now())
    session.add(unit)
    await session.commit()
    monitoring.hub.publish("unit", unit_view(unit).model_dump(mode="json"), unit.unit_id)
    return unit


@router.patch("/{unit_id}", response_model=UnitView)
async def update_unit(
    unit_id: str,
    body: UnitUpdate,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: PrincipalDep,
) -> ResponseUnitRow:
    """Only the fields given change. Its own crew may set status, channels, email, webhook."""
    changes = body.model_dump(exclude_unset=True)
    crew_fields = {"status", "channels", "email", "webhook_url"}
    if set(changes) <= crew_fields:
        _may_touch(principal, unit_id, P.UNITS_REPORT, P.UNITS_MANAGE)
    elif not principal.can(P.UNITS_MANAGE):
        raise forbid(principal, f"change {', '.join(sorted(set(changes) - crew_fields))}")
    unit = await session.get(ResponseUnitRow, unit_id, with_for_update=True)
    if unit is None:
        raise not_found(f"response unit {unit_id}")
    if "status" in changes and unit.status == "busy":
        engaged = await session.scalar(
            select(IncidentRow.incident_id).where(
                IncidentRow.unit_id == unit_id,
                IncidentRow.status.in_(("dispatched", "acknowledged", "on_scene")),
            )
        )
        if engaged is not None:
            raise conflict(f"unit {unit_id} is on incident {engaged}: resolve it first")
    for name, value in changes.items():
        if value is None and name in ("name", "base_lat", "base_lon", "status", "channels"):
            raise conflict(f"{name} may not be null")
        setattr(unit, name, value)
    unit.updated_at = monitoring.clock.now()
    await session.commit()
    monitoring.hub.publish("unit", unit_view(unit).model_dump(mode="json"), unit_id)
    return unit


@router.post("/{unit_id}/position", response_model=UnitView)
async def report_position(
    unit_id: str,
    body: PositionBody,
    session: SessionDep,
    monitoring: MonitoringDep,
    principal: PrincipalDep,
) -> ResponseUnitRow:
    """A unit's live position over HTTP (its device may also publish on MQTT)."""
    _may_touch(principal, unit_id, P.UNITS_REPORT, P.UNITS_MANAGE)
    # (no query on `session` before this: on SQLite it would hold the write lock)
    try:
        await monitoring.unit_position(
            unit_id, body.lat, body.lon, body.at or monitoring.clock.now()
        )
    except ValueError as err:
        raise not_found(f"response unit {unit_id}") from err
    unit = await session.get(ResponseUnitRow, unit_id)
    assert unit is not None
    return unit
