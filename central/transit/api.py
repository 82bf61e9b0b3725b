"""HTTP API of the transit side: bind trackers and e-seals to a movement with its corridor
and nodes, read its transit status and track, and (rehearsals) move a manual clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from central.api.deps import CentralDep, LimitDep, SessionDep, WriterDep
from central.identifiers import normalise
from central.tables import MovementRow
from central.transit import store
from central.transit.clock import ClockError
from central.transit.model import TransitState
from central.transit.service import TransitService
from central.transit.settings import Tolerances
from central.transit.tables import TransitDeviceRow, TransitFixRow, TransitPlanRow
from contract.messages import DeviceId, UtcTime, utc_now

# Two routers, so that the API guard can give each prefix its own permissions.
movements_router = APIRouter(prefix="/movements", tags=["transit"])
router = APIRouter(prefix="/transit", tags=["transit"])


def get_transit(central: CentralDep) -> TransitService:
    if central.transit is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "transit is disabled here")
    return central.transit


TransitDep = Annotated[TransitService, Depends(get_transit)]


# --------------------------------------------------------------------------- wire models


class TransitBinding(BaseModel):
    """What a customs system binds to a movement for its journey (replaces any earlier)."""

    model_config = ConfigDict(extra="forbid")

    trackers: list[DeviceId] = Field(
        default_factory=list, description="tracker device ids (units/{device}/positions)"
    )
    seals: list[DeviceId] | None = Field(
        default=None,
        description="e-seal ids (seals/{seal}/events); default: the movement's declared seals",
    )
    corridor_id: str | None = Field(default=None, description="corridor fence the unit must follow")
    nodes: list[str] = Field(
        default_factory=list,
        description="area fences the unit must reach, in order; the last is the destination",
    )

    @model_validator(mode="after")
    def _something_to_follow(self) -> TransitBinding:
        if not self.trackers and not self.seals:
            raise ValueError("bind at least one tracker or e-seal")
        for name, ids in (("trackers", self.trackers), ("seals", self.seals or [])):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} repeat an id")
        return self


class TransitStatus(BaseModel):
    started_at: UtcTime | None = Field(description="first judged fix")
    last_fix_at: UtcTime | None = Field(description="newest judged fix (device time)")
    lat: float | None
    lon: float | None
    arrived_at: UtcTime | None = Field(description="destination reached; monitoring ended")
    reached: list[str] = Field(description="route nodes reached")
    next_node: str | None
    due_at: UtcTime | None = Field(description="overdue at next_node after this")
    eta: UtcTime | None = Field(description="from the last fix at the nominal speed")
    remaining_m: float | None = Field(description="to next_node along the corridor")
    deviating: bool
    stopped_since: UtcTime | None
    signal_lost: bool
    inside: list[str] = Field(description="area fences the unit is surely in (after dwell)")


class TransitPublic(BaseModel):
    iot_id: UUID
    corridor_id: str | None
    nodes: list[str]
    trackers: list[str]
    seals: list[str]
    status: TransitStatus


class TrackFix(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: UUID
    device_id: str
    fixed_at: UtcTime
    received_at: UtcTime
    lat: float
    lon: float
    speed_mps: float | None
    course_deg: float | None
    mode: int
    hdop: float | None
    accuracy_m: float | None
    judged: bool = Field(description="false: late, no usable GNSS fix, or unbound")


class ClockPublic(BaseModel):
    now: UtcTime
    manual: bool


class ClockSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: UtcTime = Field(description="move the manual clock forward to this instant")


class TransitStatsPublic(BaseModel):
    received: int
    handled: int
    stored: int
    duplicates: int
    rejected: int
    failed: int
    unbound: int
    late: int
    unusable: int
    alerts: int
    sweeps: int
    transactions: int = Field(description="commits of fixes and seal events: one per batch")
    batches_retried: int = Field(description="batches that failed to store, run one at a time")
    in_transit: int
    rejected_by_reason: dict[str, int]
    rule_failures: dict[str, int]
    timeseries: dict[str, int] | None = Field(description="points queued, written, failed")


class CorridorPublic(BaseModel):
    corridor_id: str
    name: str
    length_m: float
    buffer_m: float
    tolerances: Tolerances = Field(description="in effect: defaults with the corridor's own")


# --------------------------------------------------------------------------- routes


@movements_router.put("/{iot_id}/transit", response_model=TransitPublic)
async def bind_transit(
    iot_id: UUID, body: TransitBinding, session: SessionDep, transit: TransitDep, _: WriterDep
) -> TransitPublic:
    """Bind trackers and e-seals, the corridor and the nodes to reach (replaces earlier)."""
    movement = await session.get(MovementRow, iot_id)
    if movement is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no movement {iot_id}")
    site = transit.site
    problems = []
    if body.corridor_id is not None and body.corridor_id not in site.corridors:
        problems.append(f"corridor {body.corridor_id} is not a corridor central knows")
    for node in body.nodes:
        if node not in site or node in site.corridors:
            problems.append(f"node {node} is not an area fence central knows")
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))
    seals = body.seals if body.seals is not None else [normalise(s) for s in movement.seals]
    wanted = [(store.TRACKER, d) for d in body.trackers] + [(store.ESEAL, s) for s in seals if s]
    await _check_free(session, iot_id, wanted)
    now = utc_now()
    await session.execute(delete(TransitDeviceRow).where(TransitDeviceRow.iot_id == iot_id))
    await session.flush()
    for kind, device in wanted:
        await session.merge(
            TransitDeviceRow(kind=kind, device_id=device, iot_id=iot_id, bound_at=now)
        )
    await session.merge(
        TransitPlanRow(
            iot_id=iot_id, corridor_id=body.corridor_id, nodes=list(body.nodes), updated_at=now
        )
    )
    await session.commit()
    transit.pipeline.forget_bindings()
    binding = await store.binding_of(session, iot_id)
    if binding is not None and iot_id in transit.pipeline.contexts:
        transit.pipeline.contexts[iot_id] = transit.pipeline.context(binding)
    return await _public(session, transit, iot_id)


async def _check_free(session: AsyncSession, iot_id: UUID, wanted: list[tuple[str, str]]) -> None:
    """A device serves one active movement; one of a completed movement may be rebound."""
    taken = []
    for kind, device in wanted:
        row = await session.get(TransitDeviceRow, (kind, device))
        if row is None or row.iot_id == iot_id:
            continue
        other = await session.get(MovementRow, row.iot_id)
        if other is not None and other.state == "active":
            taken.append(f"{kind} {device} is bound to active movement {row.iot_id}")
    if taken:
        raise HTTPException(status.HTTP_409_CONFLICT, "; ".join(taken))


@movements_router.get("/{iot_id}/transit", response_model=TransitPublic)
async def get_transit_status(
    iot_id: UUID, session: SessionDep, transit: TransitDep
) -> TransitPublic:
    return await _public(session, transit, iot_id)


@movements_router.get("/{iot_id}/track", response_model=list[TrackFix])
async def get_track(
    iot_id: UUID,
    session: SessionDep,
    since: Annotated[datetime | None, Query(description="device time, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="device time, exclusive")] = None,
    limit: LimitDep = 100,
) -> Sequence[TransitFixRow]:
    """The movement's fixes in device-time order (oldest first), late ones included."""
    query = select(TransitFixRow).where(TransitFixRow.iot_id == iot_id)
    if since is not None:
        query = query.where(TransitFixRow.fixed_at >= _aware(since, "since"))
    if until is not None:
        query = query.where(TransitFixRow.fixed_at < _aware(until, "until"))
    query = query.order_by(TransitFixRow.fixed_at, TransitFixRow.received_at).limit(limit)
    return (await session.scalars(query)).all()


@router.get("/stats", response_model=TransitStatsPublic)
async def transit_stats(transit: TransitDep) -> TransitStatsPublic:
    """Counters since start. `handled` counts messages whose run has finished."""
    stats = transit.pipeline.stats
    series = transit.timeseries.stats if transit.timeseries is not None else None
    return TransitStatsPublic(
        received=stats.received,
        handled=stats.handled,
        stored=stats.stored,
        duplicates=stats.duplicates,
        rejected=stats.rejected,
        failed=stats.failed,
        unbound=stats.unbound,
        late=stats.late,
        unusable=stats.unusable,
        alerts=stats.alerts,
        sweeps=stats.sweeps,
        transactions=stats.transactions,
        batches_retried=stats.batches_retried,
        in_transit=len(transit.pipeline.states),
        rejected_by_reason=dict(stats.rejected_by_reason),
        rule_failures=dict(stats.rule_failures),
        timeseries=(
            {"queued": series.queued, "written": series.written, "failed": series.failed}
            if series is not None
            else None
        ),
    )


@router.get("/clock", response_model=ClockPublic)
async def get_clock(transit: TransitDep) -> ClockPublic:
    return ClockPublic(now=transit.clock.now(), manual=transit.clock.manual)


@router.put("/clock", response_model=ClockPublic)
async def set_clock(body: ClockSet, transit: TransitDep, _: WriterDep) -> ClockPublic:
    """Rehearsals only (clock mode `manual`): move central's clock forward and sweep at
    once, so silence and overdue arrival are judged at that instant. 409 otherwise."""
    try:
        now = transit.clock.set(body.now)
    except ClockError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    await transit.pipeline.sweep(now)
    return ClockPublic(now=now, manual=True)


@router.get("/corridors", response_model=list[CorridorPublic])
async def list_corridors(transit: TransitDep) -> list[CorridorPublic]:
    site, defaults = transit.site, transit.settings.tolerances
    return [
        CorridorPublic(
            corridor_id=corridor,
            name=str(site.properties[corridor].get("name", corridor)),
            length_m=site.fences.length_m(corridor),
            buffer_m=site.buffer_m(corridor),
            tolerances=defaults.merged(dict(site.properties[corridor])),
        )
        for corridor in sorted(site.corridors)
    ]


# --------------------------------------------------------------------------- helpers


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} needs a UTC offset (e.g. ...Z)"
        )
    return value


async def _public(session: AsyncSession, transit: TransitService, iot_id: UUID) -> TransitPublic:
    plan = await session.get(TransitPlanRow, iot_id, populate_existing=True)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"movement {iot_id} has no transit binding")
    devices = (
        await session.scalars(select(TransitDeviceRow).where(TransitDeviceRow.iot_id == iot_id))
    ).all()
    state = transit.pipeline.states.get(iot_id) or await store.load_state(session, iot_id)
    return TransitPublic(
        iot_id=iot_id,
        corridor_id=plan.corridor_id,
        nodes=list(plan.nodes),
        trackers=sorted(d.device_id for d in devices if d.kind == store.TRACKER),
        seals=sorted(d.device_id for d in devices if d.kind == store.ESEAL),
        status=_status(transit, plan, state or TransitState()),
    )


def _status(transit: TransitService, plan: TransitPlanRow, state: TransitState) -> TransitStatus:
    next_node = next((n for n in plan.nodes if n not in state.reached), None)
    if state.arrived_at is not None:
        next_node = None
    remaining: float | None = None
    eta: Any = None
    site = transit.site
    if next_node is not None and state.lon is not None and state.lat is not None:
        if plan.corridor_id in site.corridors and next_node in site:
            node_chainage = site.chainage(plan.corridor_id, next_node)
            if node_chainage is not None:
                at = site.measure(plan.corridor_id, state.lon, state.lat)
                remaining = max(0.0, node_chainage - at.chainage_m)
        if remaining is None and next_node in site:
            remaining = site.straight_m(state.lon, state.lat, next_node)
    if remaining is not None and state.latest_at is not None:
        tolerances = transit.settings.tolerances.merged(
            dict(site.properties.get(plan.corridor_id or "", {}))
        )
        speed = tolerances.nominal_speed_kmh / 3.6
        eta = state.latest_at + timedelta(seconds=remaining / speed)
    leg = state.leg if state.leg is not None and state.leg.node == next_node else None
    return TransitStatus(
        started_at=state.started_at,
        last_fix_at=state.latest_at,
        lat=state.lat,
        lon=state.lon,
        arrived_at=state.arrived_at,
        reached=list(state.reached),
        next_node=next_node,
        due_at=leg.due_at if leg else None,
        eta=eta,
        remaining_m=remaining,
        deviating=state.deviation.on,
        stopped_since=state.stop.since if state.stop else None,
        signal_lost=state.signal_lost,
        inside=sorted(f for f, d in state.fences.items() if d.on),
    )
