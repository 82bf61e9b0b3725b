"""A whole-port rehearsal: broker, central, gate boxes and simulated devices, driven by a
scenario file, with what happened compared against what the scenario expects.

Central and every gate box run as their own processes (`corridor central run`,
`corridor edge run`), exactly as deployed; the simulated devices (barrier
controllers, RFID readers, ANPR cameras, e-seal readers with the tag firmware in
their field, NII scanners) run here, on real ports and ptys; the customs feeder
talks to central's HTTP API; an observer (read-only broker user) watches the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import yaml

from contract import (
    Alert,
    CommandAck,
    GateDecision,
    GateStatus,
    IdentifierKind,
    Passage,
    SealState,
    Verdict,
    parse_gate_event,
    topics,
)
from contract.bus import MqttError, client
from contract.signing import generate_keypair
from contract.tasks import cancel_and_wait, within
from corridor.broker import OBSERVER_USER, Broker, free_port
from corridor.transit_rehearsal import TransitUnits, central_config, check_alert_times
from drivers.eseal import derive_tag_key
from firmware.eseal_tag.hal_cpython import SimulatedTagHardware
from simulators.anpr import AnprCameraSim
from simulators.barrier import BarrierModel, BarrierPlcSim
from simulators.customs import CustomsFeeder, CustomsFeederError
from simulators.eseal import EsealReaderSim
from simulators.rfid import RfidReaderSim
from simulators.scanner import NiiScannerSim
from simulators.scenario.model import Arrival, Scenario, ScenarioError, SealSeen, Step

log = logging.getLogger(__name__)


class PortTaken(Exception):
    """A process exited at start because another bound its port first."""


Echo = Callable[[str], None]
REFRESH_S = 2.0  # how often a long wait also asks central's API what it has
LaneKey = tuple[str, str]


# --------------------------------------------------------------------------- the bus, observed


@dataclass
class BusLog:
    """Everything the observer saw, indexed for the runner."""

    passages: dict[LaneKey, list[Passage]] = field(default_factory=lambda: defaultdict(list))
    decisions: dict[UUID, list[GateDecision]] = field(default_factory=lambda: defaultdict(list))
    acks: dict[UUID, CommandAck] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    online: dict[str, bool] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(
        self, topic: str, payload: bytes
    ) -> Passage | GateDecision | CommandAck | Alert | None:
        kind = topic.rsplit("/", 1)[-1]
        item: Any = None
        if kind == "passages":
            item = Passage.model_validate_json(payload)
            self.passages[(item.gate_id, item.lane_id)].append(item)
        elif kind == "commands":
            item = GateDecision.model_validate_json(payload)
            self.decisions[item.passage_id].append(item)
        elif kind == "events":
            event = parse_gate_event(payload)
            if isinstance(event, CommandAck):
                item = self.acks[event.decision_id] = event
        elif kind == "status":
            status = GateStatus.model_validate_json(payload)
            self.online[status.gate_id] = status.online
        elif topic.startswith(f"{topics.ROOT}/alerts/"):
            item = Alert.model_validate_json(payload)
            self.alerts.append(item)
        self.changed.set()
        return item

    async def until(
        self,
        condition: Callable[[], Any],
        timeout_s: float,
        what: str,
        refresh: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        """Wait for `condition()` to be truthy. `refresh` is called every few seconds of
        waiting: the observer misses what is published while it reconnects."""
        deadline = time.monotonic() + timeout_s
        next_refresh = time.monotonic() + REFRESH_S
        while True:
            result = condition()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            if refresh is not None and time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + REFRESH_S
                with contextlib.suppress(httpx.HTTPError):
                    await refresh()
                continue
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await within(self.changed.wait(), min(remaining, 0.5))

    def backfill_passage(self, passage: Passage) -> None:
        known = {p.passage_id for p in self.passages[(passage.gate_id, passage.lane_id)]}
        if passage.passage_id not in known:
            self.passages[(passage.gate_id, passage.lane_id)].append(passage)
            self.changed.set()

    def backfill_decision(self, decision: GateDecision, ack: CommandAck | None) -> None:
        decisions = self.decisions[decision.passage_id]
        if all(d.message_id != decision.message_id for d in decisions):
            decisions.append(decision)
            self.changed.set()
        if ack is not None and decision.message_id not in self.acks:
            self.acks[decision.message_id] = ack
            self.changed.set()


def _fields(model: type[Any], row: dict[str, Any]) -> dict[str, Any]:
    """The API row's fields that the wire model has."""
    return {k: v for k, v in row.items() if k in model.model_fields}


# --------------------------------------------------------------------------- results


@dataclass
class ArrivalResult:
    step: Arrival
    at_s: float
    passage: Passage | None = None
    decision: GateDecision | None = None
    ack: CommandAck | None = None
    error: str | None = None

    def problems(self) -> list[str]:
        expect = self.step.expect
        if self.error:
            return [self.error]
        if expect is None or self.decision is None:
            return [] if self.decision else ["no decision"]
        got, problems = self.decision, []
        if got.verdict != expect.verdict:
            problems.append(f"verdict {got.verdict}, expected {expect.verdict}")
        if set(got.reasons) != set(expect.reasons):
            problems.append(
                f"reasons {sorted(map(str, got.reasons))}, "
                f"expected {sorted(map(str, expect.reasons))}"
            )
        if got.divert_to != expect.divert_to:
            problems.append(f"divert_to {got.divert_to}, expected {expect.divert_to}")
        opened = bool(self.ack and self.ack.executed)
        if opened != (expect.verdict == Verdict.RELEASE):
            problems.append("barrier opened" if opened else "barrier did not open")
        return problems


@dataclass
class Outcome:
    arrivals: list[ArrivalResult]
    alert_problems: list[str]
    errors: list[str]

    @property
    def passed(self) -> bool:
        return (
            not self.errors
            and not self.alert_problems
            and not any(a.problems() for a in self.arrivals)
        )

    def report(self) -> str:
        lines = []
        for a in self.arrivals:
            label = f"{a.step.truck} at {a.step.gate}/{a.step.lane}"
            got = _describe(a.decision)
            problems = a.problems()
            mark = "FAIL" if problems else " ok "
            lines.append(
                f"[{mark}] {label}: {got}" + (f"  <- {'; '.join(problems)}" if problems else "")
            )
        for problem in self.alert_problems:
            lines.append(f"[FAIL] alerts: {problem}")
        for error in self.errors:
            lines.append(f"[FAIL] {error}")
        verdict = "all expectations held" if self.passed else "EXPECTATIONS FAILED"
        lines.append(f"{verdict} ({len(self.arrivals)} arrivals)")
        return "\n".join(lines)


def _describe(decision: GateDecision | None) -> str:
    if decision is None:
        return "no decision"
    text = decision.verdict.upper()
    if decision.reasons:
        text += " [" + ", ".join(decision.reasons) + "]"
    if decision.divert_to:
        text += f" divert to {decision.divert_to}"
    return text


# --------------------------------------------------------------------------- the world


@dataclass
class SimLane:
    plc: BarrierPlcSim
    rfid: RfidReaderSim
    camera: AnprCameraSim
    eseal: EsealReaderSim
    scanner: NiiScannerSim
    entry: asyncio.Lock = field(default_factory=asyncio.Lock)  # one truck in the lane at a time


def rehearsal_barrier() -> BarrierModel:
    """A brisk barrier so scenarios run in seconds; the timing model is the real one."""
    return BarrierModel(motion_time_ms=600, hold_open_ms=800, drive_off_s=0.2, crossing_s=0.4)


class Rehearsal:
    """Use as `async with Rehearsal(scenario, workdir) as r: outcome = await r.run()`."""

    def __init__(self, scenario: Scenario, workdir: Path, *, echo: Echo | None = None) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.echo = echo
        self.gate_ids = scenario.gates_in_use()
        self.bus = BusLog()
        self.lanes: dict[LaneKey, SimLane] = {}
        self.central_url = ""
        self.iot_ids: dict[str, str] = {}
        # E-seals are physical: one tag per seal id for the whole run, travelling between
        # lanes with its truck (its flash, frame counter and state kept).
        self.seal_tags: dict[str, SimulatedTagHardware] = {}
        self._issuer_key = secrets.token_hex(32).encode()  # this run's e-seal issuer
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.broker: Broker | None = None
        self._t0 = 0.0

    # ----------------------------------------------------------- set-up

    async def __aenter__(self) -> Rehearsal:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        for name, proc in self._procs.items():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop; killing it", name)
                    proc.kill()
                    proc.wait()
        await self._stack.aclose()
        if self.broker:
            self.broker.stop()

    async def _start(self) -> None:
        # The simulated controllers' server logs an error, with a dump of the last frames,
        # for every request a gate box had in flight when it was stopped: noise here.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        if self.workdir.exists() and any(self.workdir.iterdir()):
            if not (self.workdir / "central.yaml").exists():
                raise ScenarioError(f"{self.workdir} is not empty and not a rehearsal directory")
            shutil.rmtree(self.workdir)  # a previous rehearsal's state must not leak in
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(self.workdir / "broker", self.gate_ids)
        self.broker.start()
        self._keys()
        self._tasks.append(asyncio.create_task(self._observe(), name="observer"))
        await self._start_central()
        for gate_id in self.gate_ids:
            await self._start_gate(gate_id)
        await self.bus.until(
            lambda: all(self.bus.online.get(g) for g in self.gate_ids), 60, "gate boxes online"
        )
        self._say(f"broker, central and {len(self.gate_ids)} gate box(es) up")

    def _keys(self) -> None:
        keys = self.workdir / "keys"
        generate_keypair(keys / "central.key", keys / "central.pub")
        issuer = keys / "eseal-issuer.key"
        issuer.write_bytes(self._issuer_key)
        issuer.chmod(0o600)
        for gate_id in self.gate_ids:
            generate_keypair(keys / f"{gate_id}.key", keys / f"{gate_id}.pub")

    def _spawn(self, name: str, args: list[str]) -> None:
        logfile = (self.workdir / f"{name}.log").open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._procs[name] = subprocess.Popen(
            [sys.executable, "-m", "corridor", "-v", *args],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
        )

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                tail = self._log_tail(name)
                raise ScenarioError(f"{name} exited with {proc.returncode}:\n{tail}")

    def _log_tail(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()[-3000:]

    async def _start_central(self) -> None:
        assert self.broker is not None
        site_file = self.workdir / "site.yaml"
        site_file.write_text(yaml.safe_dump(self.scenario.site_data, sort_keys=False))
        mqtt = self.broker.settings("central", "corridor-central").model_dump()
        config = {
            "database_url": f"sqlite+aiosqlite:///{self.workdir / 'central.db'}",
            "mqtt": mqtt,
            "signing": {
                "private_key_file": str(self.workdir / "keys/central.key"),
                "key_id": "central",
            },
            "gate_keys_dir": str(self.workdir / "keys"),
            "site_file": str(site_file),
            "monitoring": {"unit_sets": ["bari", "northern-corridor"]},  # response units
        }
        config.update(central_config(self.scenario))  # units in transit, if any
        (self.workdir / "central.yaml").write_text(yaml.safe_dump(config))
        for attempt in range(3):
            try:
                await self._central_up(free_port())
                return
            except PortTaken:
                # free_port() only said the port was free a moment ago; another process on
                # this machine may bind it first. Central then exits at start: try another.
                log.warning("central's port was taken before it bound (try %d of 3)", attempt + 1)
        raise ScenarioError("central could not bind a free port in three tries")

    async def _central_up(self, port: int) -> None:
        self.central_url = f"http://127.0.0.1:{port}"
        self._spawn("central", ["central", "run", "--config", "central.yaml", "--port", str(port)])
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=self.central_url, timeout=2) as http:
            while True:
                self._check_central_alive()
                with contextlib.suppress(httpx.HTTPError):
                    health = (await http.get("/api/v1/health")).json()
                    if health.get("mqtt_connected"):
                        return
                if time.monotonic() > deadline:
                    raise ScenarioError("central did not come up in 60 s (see central.log)")
                await asyncio.sleep(0.2)

    def _check_central_alive(self) -> None:
        proc = self._procs["central"]
        if proc.poll() is not None and "address already in use" in self._log_tail("central"):
            del self._procs["central"]
            raise PortTaken
        self._check_alive()

    def _node_of(self, gate_id: str) -> str:
        for node in self.scenario.site_data.get("nodes", []):
            if gate_id in node.get("gates", []):
                return str(node.get("id", gate_id))
        return gate_id

    async def _start_gate(self, gate_id: str) -> None:
        assert self.broker is not None
        lanes = []
        for lane_id in self.scenario.lanes_of(gate_id):
            sim = SimLane(
                plc=BarrierPlcSim(port=free_port(), model=rehearsal_barrier()),
                rfid=RfidReaderSim(),
                camera=AnprCameraSim(camera=f"{lane_id}-front"),
                eseal=EsealReaderSim(node_id=self._node_of(gate_id)),
                scanner=NiiScannerSim(scanner_id=f"{gate_id}-{lane_id}-nii", scan_s=0.3),
            )
            for device in (sim.plc, sim.rfid, sim.camera, sim.eseal, sim.scanner):
                await self._stack.enter_async_context(device)
            self.lanes[(gate_id, lane_id)] = sim
            lanes.append(
                {
                    "lane_id": lane_id,
                    "plc": {"host": "127.0.0.1", "port": sim.plc.port},
                    "devices": [
                        {"type": "rfid", "name": f"{lane_id}-rfid", "port": sim.rfid.port},
                        {
                            "type": "anpr_feed",
                            "name": f"{lane_id}-anpr",
                            "host": "127.0.0.1",
                            "port": sim.camera.port,
                        },
                        {
                            "type": "eseal",
                            "name": f"{lane_id}-eseal",
                            "port": sim.eseal.port,
                            "issuer_key_file": str(self.workdir / "keys/eseal-issuer.key"),
                        },
                        {
                            "type": "scanner",
                            "name": f"{lane_id}-nii",
                            "host": "127.0.0.1",
                            "port": sim.scanner.port,
                        },
                    ],
                    "read_window_s": 1.0,
                }
            )
        config = {
            "gate_id": gate_id,
            "mqtt": self.broker.settings(gate_id).model_dump(),
            "central_keys": {"central": str(self.workdir / "keys/central.pub")},
            "signing": {
                "private_key_file": str(self.workdir / f"keys/{gate_id}.key"),
                "key_id": gate_id,
            },
            "outbox_path": str(self.workdir / f"outbox-{gate_id}.sqlite"),
            "resend_after_s": 3,
            "lanes": lanes,
        }
        (self.workdir / f"{gate_id}.yaml").write_text(yaml.safe_dump(config))
        self._spawn(gate_id, ["edge", "run", "--config", f"{gate_id}.yaml"])

    # ----------------------------------------------------------- the observer

    async def _observe(self) -> None:
        assert self.broker is not None
        settings = self.broker.settings(OBSERVER_USER, f"observer-{os.getpid()}")
        while True:
            try:
                async with client(settings) as mqtt:
                    for pattern in (
                        "gates/+/passages",
                        "gates/+/commands",
                        "gates/+/events",
                        "gates/+/status",
                        "alerts/#",
                    ):
                        await mqtt.subscribe(f"{topics.ROOT}/{pattern}", qos=1)
                    async for message in mqtt.messages:
                        item = self.bus.record(str(message.topic), bytes(message.payload))
                        if item is not None:
                            self._show(item)
            except MqttError:
                await asyncio.sleep(0.5)

    def _label(self, passage_id: UUID) -> str:
        for lane_passages in self.bus.passages.values():
            for p in lane_passages:
                if p.passage_id == passage_id:
                    return self._truck_of(p)
        return "?"

    def _truck_of(self, passage: Passage) -> str:
        plates = passage.values(IdentifierKind.PLATE)
        tags = passage.values(IdentifierKind.RFID_TAG)
        seals = {s.seal_id for s in passage.seals}
        for truck in self.scenario.trucks:
            if (truck.plate and truck.plate in plates) or (
                truck.rfid_tag and truck.rfid_tag.upper() in tags
            ):
                return truck.id
        for truck in self.scenario.trucks:
            if seals & set(truck.seals):
                return truck.id
        return "unknown truck"

    def _say(self, text: str) -> None:
        if self.echo:
            self.echo(f"{time.monotonic() - self._t0:7.1f}s  {text}" if self._t0 else text)

    def _show(self, item: Passage | GateDecision | CommandAck | Alert) -> None:
        if isinstance(item, Passage):
            ids = ", ".join(f"{i.kind} {i.value} ({i.confidence:.2f})" for i in item.identifiers)
            if item.seals:
                ids += "; e-seals " + ", ".join(f"{s.seal_id} {s.state}" for s in item.seals)
            if item.scan:
                ids += f"; scan {item.scan.scan_id}" + (
                    " complete" if item.scan.completed else " running"
                )
            where, truck = f"{item.gate_id}/{item.lane_id}", self._truck_of(item)
            self._say(f"{where}  passage   {truck:<6} {ids or 'nothing read'}")
        elif isinstance(item, GateDecision):
            where, truck = f"{item.gate_id}/{item.lane_id}", self._label(item.passage_id)
            self._say(f"{where}  decision  {truck:<6} {_describe(item)}")
        elif isinstance(item, CommandAck):
            what = (
                "barrier OPEN"
                if item.executed
                else f"barrier stays closed ({item.rejected_because})"
            )
            self._say(
                f"{item.gate_id}/{item.lane_id}  gate box  {self._label(item.passage_id):<6} {what}"
            )
        else:
            self._say(f"ALERT {item.severity}: {item.rule} {item.summary}")

    # ----------------------------------------------------------- the timeline

    async def run(self) -> Outcome:
        self._t0 = time.monotonic()
        errors: list[str] = []
        results: list[ArrivalResult] = []
        try:
            await within(self._run_timeline(results), self.scenario.timeout_s)
        except TimeoutError:
            errors.append(f"scenario did not finish within {self.scenario.timeout_s:.0f} s")
        except (ScenarioError, CustomsFeederError) as err:
            errors.append(str(err))
        await asyncio.sleep(1.0)  # let late alerts arrive
        alert_problems = await self._check_alerts()
        return Outcome(results, alert_problems, errors)

    async def _run_timeline(self, results: list[ArrivalResult]) -> None:
        async with CustomsFeeder(self.central_url) as feeder:
            await self._register(feeder)
            units = await TransitUnits.start(
                self.scenario, self.broker, self.central_url, self.iot_ids, self._say
            )
            truck_done: dict[str, asyncio.Task[None]] = {}
            arrivals: list[asyncio.Task[None]] = []
            for step in self.scenario.timeline:
                await asyncio.sleep(max(0.0, self._t0 + step.at - time.monotonic()))
                self._check_alive()
                if step.arrive is None:
                    # A status change applies after every earlier arrival is decided.
                    await asyncio.gather(*arrivals)
                    await self._apply(feeder, step)
                    continue
                result = ArrivalResult(step.arrive, step.at)
                results.append(result)
                previous = truck_done.get(step.arrive.truck)
                task = asyncio.create_task(self._arrival(result, previous))
                truck_done[step.arrive.truck] = task
                arrivals.append(task)
            await asyncio.gather(*arrivals)
            await units.finished()

    async def _register(self, feeder: CustomsFeeder) -> None:
        for declaration in self.scenario.declarations:
            await feeder.declare(**declaration.model_dump(mode="json"))
        for movement in self.scenario.movements:
            if not movement.registered:
                continue
            truck = self.scenario.truck(movement.truck)
            seals = movement.declared_seals if movement.declared_seals is not None else truck.seals
            created = await feeder.register_movement(
                declaration_id=movement.declaration_id,
                process=movement.process,
                plate=truck.plate,
                containers=truck.containers,
                seals=seals,
                rfid_tag=truck.rfid_tag,
                permits=movement.permits,
            )
            self.iot_ids[truck.id] = created["iot_id"]
        self._say(
            f"customs: {len(self.scenario.declarations)} declaration(s), "
            f"{len(self.iot_ids)} movement(s) registered"
        )

    async def _apply(self, feeder: CustomsFeeder, step: Step) -> None:
        if step.customs is not None:
            changes = step.customs.model_dump(mode="json", exclude_none=True)
            declaration_id = changes.pop("declaration_id")
            await feeder.set_status(declaration_id, **changes)
            self._say(f"customs: {declaration_id} -> {changes}")
        elif step.permit is not None:
            iot_id = self.iot_ids.get(step.permit.truck)
            if iot_id is None:
                raise ScenarioError(f"permit for {step.permit.truck}, which has no movement")
            await feeder.set_permits(iot_id, step.permit.permits)
            self._say(f"port: {step.permit.truck} permits {step.permit.permits}")

    async def _arrival(self, result: ArrivalResult, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await previous
        step = result.step
        lane = self.lanes[(step.gate, step.lane)]
        async with lane.entry:
            try:
                await self._drive(result, lane)
            except TimeoutError as err:
                result.error = str(err)
            except (ScenarioError, ValueError, httpx.HTTPError) as err:
                # One arrival going wrong is reported with the others, not a crash.
                result.error = f"{type(err).__name__}: {err}"
            finally:
                lane.plc.model.vehicle_backs_out()  # a held truck leaves the lane
                await asyncio.sleep(0.3)  # the loop detector sees the lane empty

    async def _drive(self, result: ArrivalResult, lane: SimLane) -> None:
        step = result.step
        truck = self.scenario.truck(step.truck)
        reads = step.reads
        plate = reads.plate if reads and reads.plate is not None else truck.plate
        containers = (
            reads.containers if reads and reads.containers is not None else truck.containers
        )
        tag = reads.rfid_tag if reads and reads.rfid_tag is not None else truck.rfid_tag
        seals = self._seals_arriving(truck.seals, reads.seals if reads else None)
        key = (step.gate, step.lane)
        claimed = {p.passage_id for p in self.bus.passages[key]}
        arrived = datetime.now(UTC) - timedelta(seconds=0.5)
        if tag:
            lane.rfid.tag_enters(tag, rssi_dbm=-52)
        for hardware in seals:
            lane.eseal.seal_returns(hardware, rssi_dbm=-55)

        def leaves(_label: str) -> None:
            # What travels with the truck leaves the readers' field with it, either way.
            if tag:
                lane.rfid.tag_leaves(tag)
            for hardware in seals:
                lane.eseal.remove_seal(hardware.seal_id)

        lane.plc.model.on_vehicle_left[:] = [leaves]
        lane.plc.model.vehicle_arrives(truck.id)
        await asyncio.sleep(0.15)
        lane.camera.present(plate=plate, containers=containers, frames=3)
        refresh = functools.partial(self._backfill, step.gate)
        result.passage = await self.bus.until(
            lambda: next(
                (
                    p
                    for p in self.bus.passages[key]
                    if p.passage_id not in claimed and p.started_at >= arrived
                ),
                None,
            ),
            60,
            f"a passage of {truck.id} at {step.gate}/{step.lane}",
            refresh,
        )
        passage_id = result.passage.passage_id
        result.decision = await self.bus.until(
            lambda: (
                self.bus.decisions[passage_id][-1] if self.bus.decisions.get(passage_id) else None
            ),
            60,
            f"central's decision on {truck.id} at {step.gate}",
            refresh,
        )
        decision_id = result.decision.message_id
        result.ack = await self.bus.until(
            lambda: self.bus.acks.get(decision_id),
            60,
            f"the gate box's ack for {truck.id}",
            refresh,
        )
        if result.ack.executed:
            await self.bus.until(
                lambda: truck.id in lane.plc.model.passed, 30, f"{truck.id} through the barrier"
            )
            lane.plc.model.passed.remove(truck.id)

    def _seals_arriving(
        self, carried: list[str], seen: list[SealSeen] | None
    ) -> list[SimulatedTagHardware]:
        """The e-seal tags that drive into the lane: the truck's, or those `reads.seals`
        names, set to the state given there (a state sticks: the seal travels on). The
        rehearsal's tags are not armed, so each reports what it senses now."""
        wanted: list[tuple[str, SealState | None]] = (
            [(s.seal_id, s.state) for s in seen]
            if seen is not None
            else [(s, None) for s in carried]
        )
        tags = []
        for seal_id, state in wanted:
            hardware = self.seal_tags.get(seal_id)
            if hardware is None:
                key = derive_tag_key(self._issuer_key, seal_id)
                hardware = self.seal_tags[seal_id] = SimulatedTagHardware(seal_id, key)
            if state is not None:
                hardware.shackle = state != SealState.OPENED
                hardware.case = state != SealState.TAMPERED
            tags.append(hardware)
        return tags

    async def _backfill(self, gate_id: str) -> None:
        """What central stored for this gate, for what the observer missed."""
        async with httpx.AsyncClient(base_url=self.central_url, timeout=5) as http:
            params: dict[str, str | int] = {"gate_id": gate_id, "limit": 50}
            passages = (await http.get("/api/v1/passages", params=params)).json()
            decisions = (await http.get("/api/v1/decisions", params=params)).json()
        for row in passages:
            self.bus.backfill_passage(Passage.model_validate(_fields(Passage, row)))
        for row in decisions:
            decision = GateDecision.model_validate(
                {**_fields(GateDecision, row), "message_id": row["decision_id"]}
            )
            ack = None
            if row.get("executed") is not None:
                ack = CommandAck(
                    gate_id=row["gate_id"],
                    lane_id=row["lane_id"],
                    decision_id=row["decision_id"],
                    passage_id=row["passage_id"],
                    executed=row["executed"],
                    rejected_because=row.get("rejected_because"),
                )
            self.bus.backfill_decision(decision, ack)

    async def _check_alerts(self) -> list[str]:
        expected = self.scenario.expect_alerts
        if expected is None:
            return []
        async with httpx.AsyncClient(base_url=self.central_url, timeout=5) as http:
            response = await http.get("/api/v1/alerts", params={"limit": 1000})
            response.raise_for_status()
            raised: list[dict[str, Any]] = response.json()
        by_iot = {v: k for k, v in self.iot_ids.items()}
        counts: dict[tuple[str, str | None], int] = defaultdict(int)
        for alert in raised:
            counts[(alert["rule"], by_iot.get(str(alert.get("iot_id"))))] += 1
        problems = []
        for want in expected:
            matching = [
                k
                for k in counts
                if k[0] == want.rule and (want.truck is None or k[1] == want.truck)
            ]
            got = sum(counts.pop(k) for k in matching)
            if got != want.count:
                who = f" for {want.truck}" if want.truck else ""
                problems.append(f"{want.rule}{who}: raised {got}, expected {want.count}")
        for (rule, truck), n in counts.items():
            problems.append(
                f"unexpected alert {rule}" + (f" for {truck}" if truck else "") + f" (x{n})"
            )
        return problems + check_alert_times(self.scenario, raised, by_iot)
