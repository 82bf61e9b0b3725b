"""Units in transit in a rehearsal: trackers drive their routes in scaled time and
publish `PositionFix` over MQTT as the telematics gateway; e-seals report events;
central's manual clock follows scenario time.

Three hooks in `corridor.rehearsal`: `central_config` (central's transit settings),
`TransitUnits.start` after customs registered the movements (binds trackers, seals,
corridor and nodes, then drives), and `check_alert_times` (each expected alert's
raised_at inside its window of scenario seconds).

Why central's clock is driven, not left to run: a journey of 15 hours runs in seconds
here, so a 200 ms stall of this process or of central on a busy machine would be
many minutes of scenario time, and a unit would look silent when it is not. The
pacer moves central's clock forward only to scenario times whose fixes central has
already handled (it waits on `handled` in `/api/v1/transit/stats`), never past a fix
not yet sent. The outcome is then the same on a loaded laptop as in real time.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contract import topics
from contract.bus import BrokerSettings, MqttError, client
from contract.messages import SealEvent, SealState
from contract.tasks import cancel_and_wait
from corridor.broker import TELEMATICS_USER, Broker
from geofences import sites
from simulators.scenario.model import ExpectedAlert, Scenario, ScenarioError, SealEventStep, Unit
from simulators.tracker import (
    Journey,
    MqttSink,
    Route,
    SpeedProfile,
    TrackerError,
    TrackPoint,
    load_route,
    plan_track,
    run_tracker,
)

log = logging.getLogger(__name__)

Echo = Callable[[str], None]
BEAT_WALL_S = 0.05  # how often the pacer looks at the time
MIN_STEP_S = 30.0  # smallest move of central's clock (scenario seconds)
HANDLED_TIMEOUT_S = 60.0

_STATE_OF_EVENT = {
    "armed": SealState.SEALED,
    "disarmed": SealState.SEALED,
    "opened": SealState.OPENED,
    "tampered": SealState.TAMPERED,
}


def central_config(scenario: Scenario) -> dict[str, Any]:
    """central.yaml entries for the scenario's units (none without a transit section)."""
    if scenario.transit is None:
        return {}
    transit = scenario.transit
    config: dict[str, Any] = {
        "fences": list(transit.fences),
        "clock": {"mode": "manual", "start": _iso(transit.start)},
    }
    if transit.tolerances:
        config["tolerances"] = dict(transit.tolerances)
    return {"transit": config}


def check_alert_times(
    scenario: Scenario, raised: list[dict[str, Any]], truck_of: dict[str, str]
) -> list[str]:
    """Problems with expected alerts raised outside their `between_s` window."""
    if scenario.transit is None or not scenario.expect_alerts:
        return []
    start = scenario.transit.start
    problems = []
    for want in scenario.expect_alerts:
        if want.between_s is None:
            continue
        for alert in _matching(want, raised, truck_of):
            at_s = (_utc(alert["raised_at"]) - start).total_seconds()
            low, high = want.between_s
            if not low <= at_s <= high:
                who = f" for {want.truck}" if want.truck else ""
                problems.append(
                    f"{want.rule}{who} raised at scenario second {at_s:.0f}, "
                    f"expected within [{low:.0f}, {high:.0f}]"
                )
    return problems


def _matching(
    want: ExpectedAlert, raised: list[dict[str, Any]], truck_of: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        a
        for a in raised
        if a["rule"] == want.rule
        and (want.truck is None or truck_of.get(str(a.get("iot_id"))) == want.truck)
    ]


# --------------------------------------------------------------------------- driving


@dataclass
class _Drive:
    """One unit's journey and what of it has been sent."""

    unit: Unit
    journey: Journey
    points: list[TrackPoint]  # the plan, in sending order
    send_s: list[float]  # scenario seconds of each fix, in sending order
    seals: list[tuple[float, SealEventStep]]  # scenario seconds, in order
    sent: int = 0
    seals_sent: int = 0

    def next_unsent_s(self) -> float:
        times = []
        if self.sent < len(self.send_s):
            times.append(self.send_s[self.sent])
        if self.seals_sent < len(self.seals):
            times.append(self.seals[self.seals_sent][0])
        return min(times, default=float("inf"))


@dataclass
class TransitUnits:
    """The scenario's units, driven until their journeys end."""

    scenario: Scenario
    telematics: BrokerSettings
    central_url: str
    echo: Echo | None = None
    drives: list[_Drive] = field(default_factory=list)
    published: int = 0
    clock_s: float = 0.0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _t0: float = 0.0

    @classmethod
    async def start(
        cls,
        scenario: Scenario,
        broker: Broker | None,
        central_url: str,
        iot_ids: dict[str, str],
        echo: Echo | None = None,
    ) -> TransitUnits:
        """Bind every unit to its truck's movement, then start driving (no units: no-op)."""
        if not scenario.units or broker is None or scenario.transit is None:
            return cls(scenario, BrokerSettings(), central_url, echo)
        telematics = broker.settings(TELEMATICS_USER, f"{TELEMATICS_USER}-rehearsal")
        units = cls(scenario, telematics, central_url, echo)
        await units._bind(iot_ids)
        units._plan()
        units._t0 = time.monotonic()
        units._tasks = [
            asyncio.create_task(units._drive(d), name=f"unit-{d.unit.device}") for d in units.drives
        ]
        units._tasks.append(asyncio.create_task(units._pace(), name="transit-pacer"))
        return units

    async def finished(self) -> None:
        """Wait until every journey is sent and central's clock stands at its end."""
        if not self._tasks:
            return
        drives, pacer = self._tasks[:-1], self._tasks[-1]
        try:
            await asyncio.gather(*drives)
            await cancel_and_wait(pacer)
            end_s = max((d.send_s[-1] for d in self.drives if d.send_s), default=0.0)
            await self._move_clock(max(end_s, self.clock_s))
            self._say(f"units: {self.published} messages sent; central's clock at {end_s:.0f} s")
        except (TrackerError, MqttError, httpx.HTTPError) as err:
            # reported as the run's error, like any other part of the rehearsal that fails
            raise ScenarioError(f"units in transit: {type(err).__name__}: {err}") from err
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ----------------------------------------------------------- set-up

    async def _bind(self, iot_ids: dict[str, str]) -> None:
        async with httpx.AsyncClient(base_url=self.central_url, timeout=10) as http:
            for unit in self.scenario.units:
                iot_id = iot_ids.get(unit.truck)
                if iot_id is None:
                    raise ScenarioError(f"unit {unit.device}: truck {unit.truck} has no movement")
                corridor = unit.corridor or (
                    None if unit.route.endswith(".geojson") else unit.route
                )
                body: dict[str, Any] = {
                    "trackers": [unit.device],
                    "corridor_id": corridor,
                    "nodes": unit.nodes,
                }
                if unit.seals is not None:
                    body["seals"] = unit.seals
                response = await http.put(f"/api/v1/movements/{iot_id}/transit", json=body)
                if response.status_code >= 400:
                    raise ScenarioError(
                        f"binding {unit.device} to {unit.truck}: {response.status_code} "
                        f"{response.text}"
                    )
        self._say(f"customs: {len(self.scenario.units)} unit(s) bound to their movements")

    def _plan(self) -> None:
        assert self.scenario.transit is not None
        start = self.scenario.transit.start
        for unit in self.scenario.units:
            journey = Journey(
                device_id=unit.device,
                route=_route(self.scenario, unit),
                speed=SpeedProfile.parse(unit.speed_kmh),
                start=start + timedelta(seconds=unit.depart_s),
                interval_s=unit.interval_s,
                faults=list(unit.faults),
                seed=unit.seed,
            )
            plan = plan_track(journey)
            seals = sorted(((unit.depart_s + s.at_s, s) for s in unit.seal_events), key=_first)
            self.drives.append(
                _Drive(
                    unit,
                    journey,
                    plan.points,
                    [unit.depart_s + p.send_s for p in plan.points],
                    seals,
                )
            )
            self._say(
                f"unit {unit.device} ({unit.truck}): {journey.route.length_m / 1000:.0f} km, "
                f"{len(plan.points)} fixes, arrives at scenario second "
                f"{unit.depart_s + plan.arrival_s:.0f}"
            )

    # ----------------------------------------------------------- running

    @property
    def time_scale(self) -> float:
        assert self.scenario.transit is not None
        return self.scenario.transit.time_scale

    def _scenario_now_s(self) -> float:
        return (time.monotonic() - self._t0) * self.time_scale

    async def _drive(self, drive: _Drive) -> None:
        await asyncio.sleep(drive.unit.depart_s / self.time_scale)
        tasks: list[Awaitable[Any]] = [self._seal_events(drive)]
        # One MQTT client per tracker (a shared client id would log the others out).
        settings = self.telematics.model_copy(update={"client_id": f"tracker-{drive.unit.device}"})
        sink = _CountingSink(MqttSink(settings), self, drive)
        tasks.append(run_tracker(drive.journey, sink, time_scale=self.time_scale))
        await asyncio.gather(*tasks)

    async def _seal_events(self, drive: _Drive) -> None:
        if not drive.seals:
            return
        journey = drive.journey
        async with client(
            self.telematics.model_copy(update={"client_id": f"seal-{drive.unit.device}"})
        ) as mqtt:
            for at_s, step in drive.seals:
                delay = self._t0 + at_s / self.time_scale - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                seal_id = step.seal or self._first_seal(drive.unit)
                lat, lon = _position_at(drive.points, at_s - drive.unit.depart_s)
                event = SealEvent(
                    seal_id=seal_id,
                    occurred_at=journey.start + timedelta(seconds=at_s - drive.unit.depart_s),
                    sent_at=journey.start + timedelta(seconds=at_s - drive.unit.depart_s),
                    state=step.state or _STATE_OF_EVENT.get(step.event, SealState.UNKNOWN),
                    event=step.event,
                    battery_pct=step.battery_pct,
                    lat=lat,
                    lon=lon,
                )
                await mqtt.publish(topics.seal_events(seal_id), event.to_json(), qos=1)
                drive.seals_sent += 1
                self.published += 1
                self._say(f"e-seal {seal_id} ({drive.unit.truck}): {step.event}")

    def _first_seal(self, unit: Unit) -> str:
        seals = unit.seals or self.scenario.truck(unit.truck).seals
        if not seals:
            raise ScenarioError(f"unit {unit.device}: a seal event, but the truck has no seal")
        return seals[0]

    async def _pace(self) -> None:
        """Move central's clock with scenario time, never past a fix not yet handled."""
        while True:
            await asyncio.sleep(BEAT_WALL_S)
            target = min(
                self._scenario_now_s(), *(d.next_unsent_s() for d in self.drives), float("inf")
            )
            if target - self.clock_s >= MIN_STEP_S:
                await self._move_clock(target)

    async def _move_clock(self, target_s: float) -> None:
        assert self.scenario.transit is not None
        sent = self.published
        async with httpx.AsyncClient(base_url=self.central_url, timeout=30) as http:
            deadline = time.monotonic() + HANDLED_TIMEOUT_S
            while (await http.get("/api/v1/transit/stats")).json()["handled"] < sent:
                if time.monotonic() > deadline:
                    raise ScenarioError(f"central did not handle {sent} transit messages in time")
                await asyncio.sleep(0.005)
            at = self.scenario.transit.start + timedelta(seconds=target_s)
            response = await http.put("/api/v1/transit/clock", json={"now": _iso(at)})
            if response.status_code >= 400:
                raise ScenarioError(f"moving central's clock: {response.text}")
        self.clock_s = target_s

    def _say(self, text: str) -> None:
        if self.echo:
            self.echo(text)


class _CountingSink:
    """The tracker's MQTT sink, counting what it sent for the pacer."""

    def __init__(self, sink: MqttSink, units: TransitUnits, drive: _Drive) -> None:
        self.sink, self.units, self.drive = sink, units, drive

    async def __aenter__(self) -> _CountingSink:
        await self.sink.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.sink.__aexit__(*exc)

    async def send(self, journey: Journey, point: TrackPoint) -> None:
        await self.sink.send(journey, point)
        self.drive.sent += 1
        self.units.published += 1


# --------------------------------------------------------------------------- routes


def _route(scenario: Scenario, unit: Unit) -> Route:
    """The unit's route: a corridor of the transit fences, or a LineString file, cut."""
    assert scenario.transit is not None
    if unit.route.endswith(".geojson"):
        route = load_route(unit.route)
    else:
        route = _corridor_route(scenario.transit.fences, unit.route)
    return _cut(route, unit.from_km * 1000, None if unit.to_km is None else unit.to_km * 1000)


def _corridor_route(sources: list[str], corridor: str) -> Route:
    for source in sources:
        if source.startswith("site:"):
            collection = sites.load(source.removeprefix("site:"))
        else:
            collection = json.loads(Path(source).read_text(encoding="utf-8"))
        for feature in collection.get("features", []):
            fence_id = feature.get("id", (feature.get("properties") or {}).get("id"))
            if fence_id == corridor and feature["geometry"]["type"] == "LineString":
                return Route.from_coordinates(corridor, feature["geometry"]["coordinates"])
    raise ScenarioError(f"no corridor {corridor!r} in the transit fences")


def _cut(route: Route, from_m: float, to_m: float | None) -> Route:
    """The part of `route` between two distances along it."""
    end = route.length_m if to_m is None else min(to_m, route.length_m)
    if from_m <= 0 and end >= route.length_m:
        return route
    points = [_lonlat(route, from_m)]
    i = bisect.bisect_right(route.cumulative_m, from_m)
    while i < len(route.vertices) and route.cumulative_m[i] < end:
        points.append(route.vertices[i])
        i += 1
    points.append(_lonlat(route, end))
    return Route.from_coordinates(route.name, [list(p) for p in points])


def _lonlat(route: Route, distance_m: float) -> tuple[float, float]:
    lat, lon, _ = route.locate(distance_m)
    return lon, lat


def _position_at(points: list[TrackPoint], journey_s: float) -> tuple[float | None, float | None]:
    """Where the plan has the unit at a journey second (its latest fix before)."""
    before = [p for p in points if p.device_s <= journey_s]
    if not before:
        return None, None
    nearest = max(before, key=lambda p: p.device_s)
    return nearest.lat, nearest.lon


def _first(item: tuple[float, Any]) -> float:
    return item[0]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
