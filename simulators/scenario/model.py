"""The scenario file format (YAML). Documented in docs/scenarios.md.

A scenario names a site (logistic nodes with their gate boxes, and a mission
path per process), the declarations and trucks customs knows, a timeline of
what happens (a truck arrives at a gate lane, customs changes a status, a
permit is granted), and what must come of it: each arrival's decision with its
reasons, and the alerts raised over the whole run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from contract.iso6346 import is_valid as container_code_valid
from contract.messages import DeviceId, HoldReason, SealState, Verdict
from simulators.tracker.journey import Fault, SpeedProfile


class ScenarioError(Exception):
    """The scenario file is unreadable or inconsistent."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- what exists


class Truck(_Strict):
    """A truck and what identifies it; what its devices read unless an arrival overrides it."""

    id: str = Field(description="scenario label, e.g. T1")
    plate: str | None = Field(default=None, description="licence plate")
    containers: list[str] = Field(default_factory=list, description="ISO 6346 codes")
    seals: list[str] = Field(default_factory=list, description="seal numbers on the containers")
    rfid_tag: str | None = Field(default=None, description="EPC of the truck's UHF tag (hex)")

    @model_validator(mode="after")
    def _codes(self) -> Truck:
        bad = [c for c in self.containers if not container_code_valid(c)]
        if bad:
            raise ValueError(f"truck {self.id}: container codes fail ISO 6346: {bad}")
        for seal in self.seals:
            _seal_id(seal)
        if self.rfid_tag:
            bytes.fromhex(self.rfid_tag)
        return self


class Declaration(_Strict):
    declaration_id: DeviceId
    status: Literal["lodged", "cleared", "hold", "examination_required"]
    channel: Literal["green", "yellow", "red"] | None = None
    scan_required: bool = False
    scan_validated: bool = False


class Movement(_Strict):
    """What customs registers: an IOT_ID binding a declaration to a truck's identifiers."""

    truck: str = Field(description="truck label")
    declaration_id: DeviceId
    process: DeviceId = Field(description="names the mission path")
    permits: dict[str, bool] = Field(default_factory=dict)
    registered: bool = Field(default=True, description="false: customs never heard of it")
    declared_seals: list[str] | None = Field(
        default=None, description="seals on the declaration (default: the truck's seals)"
    )


# --------------------------------------------------------------------------- timeline


def _seal_id(seal_id: str) -> str:
    if not (0 < len(seal_id) <= 40 and seal_id.isascii() and seal_id.isprintable()):
        raise ValueError(f"seal id {seal_id!r}: 1 to 40 printable ASCII characters (an e-seal's)")
    return seal_id


class SealSeen(_Strict):
    """A seal the lane's e-seal reader sees, and the state its tag reports."""

    seal_id: str
    state: SealState = SealState.SEALED

    @model_validator(mode="after")
    def _readable(self) -> SealSeen:
        _seal_id(self.seal_id)
        if self.state == SealState.UNKNOWN:
            raise ValueError(f"seal {self.seal_id}: a tag reports sealed, opened or tampered")
        return self


class Reads(_Strict):
    """What a lane's devices see, when it differs from the truck (fake plates, a cloned tag)."""

    plate: str | None = None
    containers: list[str] | None = None
    rfid_tag: str | None = None
    seals: list[SealSeen] | None = Field(
        default=None, description="the e-seals the reader sees instead of the truck's, and states"
    )


class Expect(_Strict):
    verdict: Verdict
    reasons: list[HoldReason] = Field(default_factory=list, description="exactly these")
    divert_to: str | None = None


class Arrival(_Strict):
    truck: str
    gate: DeviceId
    lane: DeviceId = "lane-1"
    reads: Reads | None = None
    expect: Expect | None = None


class CustomsChange(_Strict):
    declaration_id: DeviceId
    status: Literal["lodged", "cleared", "hold", "examination_required"] | None = None
    channel: Literal["green", "yellow", "red"] | None = None
    scan_required: bool | None = None
    scan_validated: bool | None = None


class PermitChange(_Strict):
    truck: str
    permits: dict[str, bool]


class Step(_Strict):
    """One timeline entry: exactly one of arrive, customs, permit."""

    at: float = Field(
        ge=0,
        description="seconds after start (a lower bound: a truck's "
        "arrival also waits for its previous passage to finish)",
    )
    arrive: Arrival | None = None
    customs: CustomsChange | None = None
    permit: PermitChange | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [a for a in (self.arrive, self.customs, self.permit) if a is not None]
        if len(actions) != 1:
            raise ValueError("each step has exactly one of arrive, customs, permit")
        return self


class ExpectedAlert(_Strict):
    rule: str
    truck: str | None = None
    count: int = Field(default=1, ge=1)
    between_s: tuple[float, float] | None = Field(
        default=None,
        description="each such alert's raised_at lies within these scenario seconds "
        "(after transit.start), bounds included",
    )


# --------------------------------------------------------------------------- units in transit


class TransitSetup(_Strict):
    """Units on the move: the fences central judges them by, and scenario time."""

    fences: list[str] = Field(
        min_length=1,
        description="central's transit fences: `site:NAME` (shipped with geofences) or "
        "GeoJSON files relative to this file, merged in order",
    )
    start: AwareDatetime = Field(
        description="scenario second 0 (UTC): device clocks and central's (manual) clock"
    )
    time_scale: float = Field(default=3600, gt=0, description="scenario seconds per wall second")
    tolerances: dict[str, float] = Field(
        default_factory=dict, description="central's transit.tolerances for the run"
    )


class SealEventStep(_Strict):
    """An e-seal event the unit's seal reports (published as the telematics gateway)."""

    at_s: float = Field(ge=0, description="seconds after the unit's departure")
    event: Literal["armed", "disarmed", "opened", "tampered", "battery_low", "status"]
    state: SealState | None = Field(default=None, description="default: follows the event")
    seal: str | None = Field(default=None, description="default: the truck's first seal")
    battery_pct: float | None = Field(default=None, ge=0, le=100)


class Unit(_Strict):
    """A tracked unit: a truck's tracker driving a route, bound to the truck's movement."""

    device: DeviceId = Field(description="tracker device id (units/{device}/positions)")
    truck: str = Field(description="truck label; its movement gets the binding")
    route: str = Field(
        description="a corridor of the transit fences (its id), or a GeoJSON file with a "
        "LineString, relative to this file"
    )
    from_km: float = Field(default=0, ge=0, description="start this far along the route")
    to_km: float | None = Field(default=None, gt=0, description="end here (default: the end)")
    corridor: str | None = Field(
        default=None,
        description="corridor bound to the movement (default: the route, when it is a corridor)",
    )
    nodes: list[str] = Field(
        default_factory=list, description="node fences bound to the movement; last = destination"
    )
    seals: list[str] | None = Field(
        default=None, description="e-seals bound (default: the movement's declared seals)"
    )
    depart_s: float = Field(default=0, ge=0, description="scenario second of departure")
    speed_kmh: str = Field(
        default="60", description="'60', or 'KM:KMH,...' by distance along the route"
    )
    interval_s: float = Field(default=60, gt=0, description="reporting interval")
    faults: list[Fault] = Field(
        default_factory=list,
        description="the tracker simulator's faults (deviation, long_stop, silence, jitter, "
        "late_burst), times in seconds after departure",
    )
    seed: int = 0
    seal_events: list[SealEventStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _speed(self) -> Unit:
        try:
            SpeedProfile.parse(self.speed_kmh)
        except ValueError as err:
            raise ValueError(f"unit {self.device}: speed_kmh {self.speed_kmh!r}: {err}") from err
        if self.to_km is not None and self.to_km <= self.from_km:
            raise ValueError(f"unit {self.device}: to_km must be beyond from_km")
        return self


class GateLanes(_Strict):
    lanes: list[DeviceId] = Field(default_factory=lambda: ["lane-1"])


class Scenario(_Strict):
    name: str
    description: str = ""
    site_file: str | None = Field(default=None, description="site YAML, relative to this file")
    site: dict[str, Any] | None = Field(default=None, description="or the site inline")
    gates: dict[DeviceId, GateLanes] = Field(
        default_factory=dict, description="lanes per gate box (default: one lane, lane-1)"
    )
    declarations: list[Declaration] = Field(default_factory=list)
    trucks: list[Truck] = Field(default_factory=list)
    movements: list[Movement] = Field(default_factory=list)
    timeline: list[Step] = Field(default_factory=list)
    expect_alerts: list[ExpectedAlert] | None = Field(
        default=None,
        description="every alert the run must raise; any other alert fails the run "
        "(omit to not check alerts)",
    )
    timeout_s: float = Field(default=120, gt=0, description="the whole run must end by then")
    transit: TransitSetup | None = Field(default=None, description="needed by `units`")
    units: list[Unit] = Field(default_factory=list, description="tracked units on the move")

    # resolved by load()
    site_data: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def truck(self, label: str) -> Truck:
        for truck in self.trucks:
            if truck.id == label:
                return truck
        raise KeyError(label)

    def movement(self, label: str) -> Movement | None:
        return next((m for m in self.movements if m.truck == label), None)

    def gate_ids(self) -> list[str]:
        """Every gate box of the site."""
        nodes = self.site_data.get("nodes", [])
        return [gate for node in nodes for gate in node.get("gates", [])]

    def gates_in_use(self) -> list[str]:
        """The gate boxes a rehearsal runs: those listed in `gates` and those arrived at."""
        used = set(self.gates) | {s.arrive.gate for s in self.timeline if s.arrive}
        return [g for g in self.gate_ids() if g in used]

    def lanes_of(self, gate_id: str) -> list[str]:
        return list(self.gates[gate_id].lanes) if gate_id in self.gates else ["lane-1"]

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        trucks = {t.id for t in self.trucks}
        declarations = {d.declaration_id for d in self.declarations}
        problems = []
        for m in self.movements:
            if m.truck not in trucks:
                problems.append(f"movement for unknown truck {m.truck}")
            if m.registered and m.declaration_id not in declarations:
                problems.append(f"movement of {m.truck}: unknown declaration {m.declaration_id}")
        times = [s.at for s in self.timeline]
        if times != sorted(times):
            problems.append("timeline steps must be in time order")
        for step in self.timeline:
            actor = step.arrive or step.permit
            label = actor.truck if actor is not None else None
            if label is not None and label not in trucks:
                problems.append(f"timeline at {step.at}: unknown truck {label}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _units(self) -> Scenario:
        if self.units and self.transit is None:
            raise ValueError("units need a transit section (fences, start)")
        devices = [u.device for u in self.units]
        if len(set(devices)) != len(devices):
            raise ValueError("unit devices must be unique")
        for unit in self.units:
            movement = self.movement(unit.truck)
            if movement is None or not movement.registered:
                raise ValueError(
                    f"unit {unit.device}: truck {unit.truck} has no registered movement"
                )
        return self


def load(path: Path) -> Scenario:
    """Read, validate and resolve a scenario file (its site file included)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"cannot read {path}: {err}") from err
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{path} is not a valid scenario:\n{err}") from err
    if (scenario.site is None) == (scenario.site_file is None):
        raise ScenarioError(f"{path}: give exactly one of site and site_file")
    site = scenario.site
    if scenario.site_file is not None:
        site_path = path.parent / scenario.site_file
        try:
            site = yaml.safe_load(site_path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ScenarioError(f"cannot read site file {site_path}: {err}") from err
    scenario = scenario.model_copy(update={"site_data": site or {}})
    scenario = _resolve_files(scenario, path.parent)
    gates = set(scenario.gate_ids())
    unknown = [
        f"{s.arrive.gate}/{s.arrive.lane}"
        for s in scenario.timeline
        if s.arrive
        and (s.arrive.gate not in gates or s.arrive.lane not in scenario.lanes_of(s.arrive.gate))
    ]
    if unknown:
        raise ScenarioError(f"{path}: arrivals at gates or lanes the site does not have: {unknown}")
    return scenario


def _resolve_files(scenario: Scenario, base: Path) -> Scenario:
    """Fence and route files named relative to the scenario file, made absolute."""

    def resolve(name: str) -> str:
        if name.startswith("site:") or not name.endswith(".geojson"):
            return name  # a shipped site, or a fence id
        return str((base / name).resolve())

    if scenario.transit is None:
        return scenario
    transit = scenario.transit.model_copy(
        update={"fences": [resolve(f) for f in scenario.transit.fences]}
    )
    units = [u.model_copy(update={"route": resolve(u.route)}) for u in scenario.units]
    return scenario.model_copy(update={"transit": transit, "units": units})
