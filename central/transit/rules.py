"""The transit rules: each a pure function `update(state, event) -> (state, [raised])`.

They run in the order of `RULES` on every event of a movement; the pipeline gives
each one the state the previous one returned and catches each one's failure, so a
rule that breaks leaves its own part of the state alone and the others still run.

Time is device time. A fix is judged only when it is newer than every fix judged
before for its movement (`state.latest_at`); older ones (out of order, or resent
from an outbox) are stored but never judged, so they can neither raise an alert for
an interval already judged nor end an episode. Every alert is raised once per
episode: the state says which episodes are open.

`track` runs last, so the rules before it see the previous fix's time in
`state.latest_at`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from central.transit.geometry import haversine_m
from central.transit.model import (
    Debounce,
    Event,
    Fix,
    Leg,
    MovementContext,
    Raised,
    SealChange,
    SealMemory,
    Stop,
    Tick,
    TransitState,
)

Rule = Callable[[TransitState, Event], tuple[TransitState, list[Raised]]]
Result = tuple[TransitState, list[Raised]]

_IDLE = Debounce()
_OPENINGS = ("opened", "tampered")


def geofences(state: TransitState, event: Event) -> Result:
    """Enter and exit of area fences, with dwell and hysteresis as wide as the GPS
    uncertainty; raises only for fences whose properties ask (`alert: enter|exit|both`)."""
    if not isinstance(event, Fix):
        return state, []
    dwell = event.context.tolerances.dwell_s
    placement = event.placement
    fences = dict(state.fences)
    raised = []
    for fence_id in sorted(set(fences) | placement.inside | placement.near):
        evidence = (
            True if fence_id in placement.inside else None if fence_id in placement.near else False
        )
        before = fences.get(fence_id, _IDLE)
        after = before.update(evidence, event.at, dwell, dwell)
        if after.on != before.on and state.arrived_at is None:
            raised += _fence_alert(event, fence_id, entered=after.on)
        if after.idle:
            fences.pop(fence_id, None)
        else:
            fences[fence_id] = after
    if fences == state.fences:
        return state, raised
    return state.model_copy(update={"fences": fences}), raised


def _fence_alert(event: Fix, fence_id: str, *, entered: bool) -> list[Raised]:
    properties = event.context.site.properties.get(fence_id, {})
    wanted = properties.get("alert")
    what = "enter" if entered else "exit"
    if wanted not in (what, "both"):
        return []
    name = properties.get("name", fence_id)
    severity = properties.get("severity", "warning")
    return [
        Raised(
            rule=f"geofence_{what}",
            severity=severity if severity in ("info", "warning", "critical") else "warning",
            at=event.at,
            summary=f"{event.device_id} {'entered' if entered else 'left'} {name}",
            details={"fence": fence_id, "fence_name": name, "fence_kind": _kind(event, fence_id)},
            device_id=event.device_id,
            lon=event.lon,
            lat=event.lat,
        )
    ]


def overdue(state: TransitState, event: Event) -> Result:
    """Overdue at the next node: the leg's due time is fixed when the unit leaves a node
    (ETA from the remaining distance along the corridor at the nominal speed, plus
    grace) and never slides, so a unit that stops cannot push its own deadline away."""
    context = event.context
    node = _next_node(state, context)
    if node is None or state.arrived_at is not None:
        return state, []
    leg = state.leg if state.leg is not None and state.leg.node == node else Leg(node=node)
    if isinstance(event, Fix):
        judged_at = event.at
        if leg.due_at is None and not event.placement.touches(_stations(context)):
            leg = _start_leg(leg, event)
    elif isinstance(event, Tick) and state.started_at is not None:
        judged_at = event.now
    else:
        return state, []
    raised = []
    if leg.due_at is not None and not leg.raised and judged_at > leg.due_at:
        raised.append(
            Raised(
                rule="overdue",
                severity="warning",
                at=leg.due_at,
                summary=f"{_unit(context)} overdue at {leg.node} since {_iso(leg.due_at)}",
                details={
                    "node": leg.node,
                    "leg_started_at": _iso(leg.started_at),
                    "due_at": _iso(leg.due_at),
                    "detected_at": _iso(judged_at),
                    "last_fix_at": _iso(state.latest_at),
                },
                lon=state.lon,
                lat=state.lat,
            )
        )
        leg = leg.model_copy(update={"raised": True})
    if leg == state.leg:
        return state, raised
    return state.model_copy(update={"leg": leg}), raised


def _start_leg(leg: Leg, fix: Fix) -> Leg:
    context, tolerances = fix.context, fix.context.tolerances
    remaining = None
    if context.corridor is not None and fix.corridor is not None:
        node_chainage = context.site.chainage(context.corridor, leg.node)
        if node_chainage is not None:
            remaining = max(0.0, node_chainage - fix.corridor.chainage_m)
    if remaining is None:
        remaining = context.site.straight_m(fix.lon, fix.lat, leg.node)
    if remaining is None:
        return leg
    travel_s = remaining / (tolerances.nominal_speed_kmh / 3.6)
    due = fix.at + timedelta(seconds=travel_s + tolerances.overdue_grace_s)
    return leg.model_copy(update={"started_at": fix.at, "due_at": due})


def arrival(state: TransitState, event: Event) -> Result:
    """Route nodes reached (surely inside, after dwell); the destination ends transit.
    Reaching a later node counts the earlier ones as passed."""
    if not isinstance(event, Fix) or state.arrived_at is not None:
        return state, []
    context = event.context
    ahead = [n for n in context.nodes if n not in state.reached]
    for i, node in enumerate(ahead):
        if state.inside(node):
            update: dict[str, Any] = {"reached": [*state.reached, *ahead[: i + 1]]}
            if node == context.destination:
                update["arrived_at"] = event.at
            return state.model_copy(update=update), []
    return state, []


def controlled_area(state: TransitState, event: Event) -> Result:
    """Leaving a controlled area (surely out, after dwell) while customs has not
    cleared the movement."""
    if not isinstance(event, Fix):
        return state, []
    context = event.context
    inside = sorted(f for f in context.site.controlled_areas if state.inside(f))
    raised = []
    if not context.cleared and state.arrived_at is None:
        for area in (a for a in state.controlled if a not in inside):
            name = context.site.properties.get(area, {}).get("name", area)
            raised.append(
                Raised(
                    rule="left_controlled_area",
                    severity="critical",
                    at=event.at,
                    summary=f"{event.device_id} left {name} without customs clearance",
                    details={"area": area, "area_name": name},
                    device_id=event.device_id,
                    lon=event.lon,
                    lat=event.lat,
                )
            )
    if inside == state.controlled:
        return state, raised
    return state.model_copy(update={"controlled": inside}), raised


def deviation(state: TransitState, event: Event) -> Result:
    """Off the corridor by more than its tolerance (surely: distance minus the GPS
    uncertainty) for longer than `deviation_after_s`. Inside an allowed stop zone,
    node or controlled area a unit is where it may be, whatever the distance."""
    if not isinstance(event, Fix) or event.corridor is None or state.arrived_at is not None:
        return state, []
    context, tolerances = event.context, event.context.tolerances
    assert context.corridor is not None
    limit_m = tolerances.tolerance_m or context.site.buffer_m(context.corridor)
    distance, r = event.corridor.distance_m, event.uncertainty_m
    evidence: bool | None
    if event.placement.touches(context.site.allowed_stops):
        evidence = False
    elif distance - r > limit_m:
        evidence = True
    elif distance + r <= limit_m:
        evidence = False
    else:
        evidence = None
    before = state.deviation
    after = before.update(
        evidence, event.at, tolerances.deviation_after_s, tolerances.deviation_clear_s
    )
    raised = []
    if after.on and not before.on:
        since = before.pending_since or event.at
        raised.append(
            Raised(
                rule="corridor_deviation",
                severity="warning",
                at=event.at,
                summary=f"{event.device_id} {distance / 1000:.1f} km off {context.corridor} "
                f"since {_iso(since)}",
                details={
                    "corridor": context.corridor,
                    "distance_m": round(distance, 1),
                    "tolerance_m": limit_m,
                    "since": _iso(since),
                },
                device_id=event.device_id,
                lon=event.lon,
                lat=event.lat,
            )
        )
    if after == before:
        return state, raised
    return state.model_copy(update={"deviation": after}), raised


def stop(state: TransitState, event: Event) -> Result:
    """Standing still for longer than `stop_after_s` outside the allowed stop zones.

    Still = within `stop_radius_m` (+ GPS uncertainty) of where the stop began. A fix
    farther away that still reports standing speed is a GPS outlier (Doppler speed of a
    receiver at rest is reliable where its position is not) and changes nothing."""
    if not isinstance(event, Fix) or state.arrived_at is not None:
        return state, []
    context, tolerances = event.context, event.context.tolerances
    moving = event.speed_mps is not None and event.speed_mps >= tolerances.stop_speed_mps
    allowed_here = event.placement.touches(context.site.allowed_stops)
    current = state.stop
    if current is not None:
        away = (
            haversine_m(current.lon, current.lat, event.lon, event.lat)
            > tolerances.stop_radius_m + event.uncertainty_m
        )
        if away and event.speed_mps is not None and not moving:
            # An outlier (or the stop began on one): it cannot move the stop, but where
            # it stands in an allowed zone it still shows the stop is allowed.
            if allowed_here and not current.allowed:
                return state.model_copy(
                    update={"stop": current.model_copy(update={"allowed": True})}
                ), []
            return state, []
        if moving or away:
            current = None
    if current is None:
        if moving:
            return (
                (state, []) if state.stop is None else (state.model_copy(update={"stop": None}), [])
            )
        current = Stop(since=event.at, lon=event.lon, lat=event.lat, allowed=allowed_here)
    elif allowed_here and not current.allowed:
        current = current.model_copy(update={"allowed": True})
    raised = []
    duration = event.at - current.since
    if (
        not current.raised
        and not current.allowed
        and duration >= timedelta(seconds=tolerances.stop_after_s)
    ):
        raised.append(
            Raised(
                rule="unauthorized_stop",
                severity="warning",
                at=event.at,
                summary=f"{event.device_id} stopped {duration.total_seconds() / 60:.0f} min "
                f"outside any allowed stop zone",
                details={"since": _iso(current.since), "duration_s": duration.total_seconds()},
                device_id=event.device_id,
                lon=current.lon,
                lat=current.lat,
            )
        )
        current = current.model_copy(update={"raised": True})
    if current == state.stop:
        return state, raised
    return state.model_copy(update={"stop": current}), raised


def signal(state: TransitState, event: Event) -> Result:
    """No fix for longer than `signal_loss_after_s`.

    Noticed by a Tick (central's clock against the newest fix's device time), or by a
    fix that comes after such a gap no tick saw (central was down). raised_at is when
    the silence passed the limit. The episode ends only with a fresh fix (device time
    within the limit of central's clock); stored-and-forwarded old fixes do not end it."""
    context = event.context
    limit = timedelta(seconds=context.tolerances.signal_loss_after_s)
    if isinstance(event, Tick):
        if not state.in_transit or state.signal_lost or state.latest_at is None:
            return state, []
        if event.now - state.latest_at <= limit:
            return state, []
        raised = _silence(state, context, state.latest_at + limit, event.now)
        return state.model_copy(update={"signal_lost": True}), raised
    if not isinstance(event, Fix):
        return state, []
    lost, raised = state.signal_lost, []
    if (
        not lost
        and state.in_transit
        and state.latest_at is not None
        and event.at - state.latest_at > limit
    ):
        raised = _silence(state, context, state.latest_at + limit, event.received_at)
        lost = True
    if lost and event.received_at - event.at <= limit:
        lost = False
    if lost == state.signal_lost:
        return state, raised
    return state.model_copy(update={"signal_lost": lost}), raised


def _silence(
    state: TransitState, context: MovementContext, at: datetime, detected_at: datetime
) -> list[Raised]:
    return [
        Raised(
            rule="signal_loss",
            severity="warning",
            at=at,
            summary=f"{_unit(context)}: no fix since {_iso(state.latest_at)}",
            details={"last_fix_at": _iso(state.latest_at), "detected_at": _iso(detected_at)},
            lon=state.lon,
            lat=state.lat,
        )
    ]


def seal(state: TransitState, event: Event) -> Result:
    """An e-seal opened or tampered with before the destination: once per seal until it
    is armed again. Events older than the seal's newest judged one are ignored."""
    if not isinstance(event, SealChange):
        return state, []
    memory = state.seals.get(event.seal_id)
    if memory is not None and event.at <= memory.latest_at:
        return state, []
    open_raised = memory.open_raised if memory is not None else False
    raised = []
    if event.event == "armed":
        open_raised = False
    elif (event.event in _OPENINGS or event.state in _OPENINGS) and not open_raised:
        open_raised = True
        if state.arrived_at is None:
            tampered = "tampered" in (event.event, event.state)
            rule = "seal_tampered" if tampered else "seal_opened"
            raised.append(
                Raised(
                    rule=rule,
                    severity="critical",
                    at=event.at,
                    summary=f"e-seal {event.seal_id} {'tampered' if tampered else 'opened'} "
                    f"in transit",
                    details={"seal_id": event.seal_id, "event": event.event, "state": event.state},
                    device_id=event.seal_id,
                    lon=event.lon if event.lon is not None else state.lon,
                    lat=event.lat if event.lat is not None else state.lat,
                )
            )
    seals = {**state.seals, event.seal_id: SealMemory(latest_at=event.at, open_raised=open_raised)}
    return state.model_copy(update={"seals": seals}), raised


def track(state: TransitState, event: Event) -> Result:
    """Bookkeeping, last: the newest judged fix becomes the judged horizon."""
    if not isinstance(event, Fix):
        return state, []
    return (
        state.model_copy(
            update={
                "started_at": state.started_at or event.at,
                "latest_at": event.at,
                "lon": event.lon,
                "lat": event.lat,
            }
        ),
        [],
    )


RULES: tuple[Rule, ...] = (
    geofences,
    overdue,
    arrival,
    controlled_area,
    deviation,
    stop,
    signal,
    seal,
    track,
)


def is_late(state: TransitState, event: Event) -> bool:
    """A fix not newer than the newest judged one: stored, never judged."""
    return isinstance(event, Fix) and state.latest_at is not None and event.at <= state.latest_at


def judge(
    state: TransitState,
    event: Event,
    on_failure: Callable[[Rule, Exception], None] | None = None,
) -> Result:
    """Every rule in order, each on the state the one before returned. A rule that
    raises is reported to `on_failure` and skipped: its part of the state stays as it was."""
    if is_late(state, event):
        return state, []
    raised: list[Raised] = []
    for rule in RULES:
        try:
            state, found = rule(state, event)
        except Exception as err:
            if on_failure is None:
                raise
            on_failure(rule, err)
            continue
        raised += found
    return state, raised


# --------------------------------------------------------------------------- helpers


def _next_node(state: TransitState, context: MovementContext) -> str | None:
    return next((n for n in context.nodes if n not in state.reached), None)


def _stations(context: MovementContext) -> frozenset[str]:
    """Places a leg starts from: leaving all of them starts the clock."""
    return context.site.stations | set(context.nodes)


def _kind(event: Fix, fence_id: str) -> str:
    return event.context.site.kind.get(fence_id, "")


def _unit(context: MovementContext) -> str:
    return f"movement {context.iot_id}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
