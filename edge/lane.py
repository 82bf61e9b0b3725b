"""One lane's pipeline: loop trips -> reads collected -> fused passage -> decision -> barrier.

The lane owns its gate I/O controller (the loop detector that starts a passage
and the barrier it may open) and its reader adapters. It never opens the
barrier on its own say-so: only `on_decision` with a release that passes
`edge.release.check_decision` pulses the open coil.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contract import (
    BarrierState,
    BarrierStateEvent,
    CommandAck,
    GateDecision,
    LaneStatus,
    Message,
    Passage,
    utc_now,
)
from contract.bus import backoff_s
from contract.signing import sign
from contract.tasks import cancel_and_wait, raise_if_cancelling
from drivers.barrier import BarrierError, BarrierPlc, BarrierStatus, PlcState
from edge import adapters
from edge.adapters.base import Trip
from edge.adapters.camera import CameraAdapter
from edge.config import LaneConfig
from edge.fusion import fuse
from edge.health import DeviceHealth
from edge.metrics import EdgeMetrics
from edge.observations import IdentifierRead, Observation, ScanObservation, SealObservation
from edge.release import Refusal, check_decision

log = logging.getLogger(__name__)

PLC_TO_BARRIER = {
    PlcState.CLOSED: BarrierState.CLOSED,
    PlcState.OPENING: BarrierState.OPENING,
    PlcState.OPEN: BarrierState.OPEN,
    PlcState.CLOSING: BarrierState.CLOSING,
    PlcState.FAULT: BarrierState.FAULT,
}

Emit = Callable[[Message], None]


class Lane:
    def __init__(
        self,
        gate_id: str,
        config: LaneConfig,
        *,
        emit: Emit,
        central_keys: dict[str, Ed25519PublicKey],
        seen_decisions: object,
        remember_decision: Callable[[UUID], None],
        signing: tuple[Ed25519PrivateKey, str] | None,
        clock_skew: timedelta,
        metrics: EdgeMetrics | None = None,
    ) -> None:
        self.gate_id, self.config, self.lane_id = gate_id, config, config.lane_id
        self._emit = emit
        self._keys = central_keys
        self._seen = seen_decisions
        self._remember = remember_decision
        self._signing = signing
        self._skew = clock_skew
        self.metrics = metrics or EdgeMetrics()
        self.plc = BarrierPlc(config.plc)
        self.plc_health = DeviceHealth(f"{gate_id}/{self.lane_id}/plc")
        self.devices = [adapters.build(d, self._observe) for d in config.devices]
        for device in self.devices:
            if isinstance(device, CameraAdapter):
                device.on_burst = partial(self._camera_burst_read, device.name)
        self._buffer: deque[Observation] = deque(maxlen=2000)
        self.pending: Passage | None = None
        self._answered: UUID | None = None  # the last passage central's decision named
        self.barrier = BarrierState.UNKNOWN
        self._cycles = 0
        self._arrival = False
        self._collecting = False
        self._consumed_until = datetime.min.replace(tzinfo=UTC)
        self._lane_cleared_at = datetime.min.replace(tzinfo=UTC)  # reads before: last vehicle
        self._occupied = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._decisions = asyncio.Lock()
        self.released: list[tuple[UUID, float]] = []  # passage id, perf_counter at coil write
        self.on_passage: Callable[[Passage], None] | None = None
        # perf_counter when the outbox first handed a message to the broker, by message id
        self.published_at: Callable[[str], float | None] = lambda _message_id: None
        # Send a receipted passage again; False if it is still on the resend schedule.
        self.ask_again: Callable[[Passage], bool] = lambda _passage: False

    def _camera_burst_read(self, device: str, reading_s: float, reported: int) -> None:
        self.metrics.camera_read_seconds.labels(device).observe(reading_s)
        self.metrics.camera_bursts.labels(device, "read" if reported else "nothing").inc()

    # ------------------------------------------------------------ observations

    def _observe(self, observation: Observation) -> None:
        self._buffer.append(observation)

    def _collect(self, since: datetime, until: datetime) -> list[Observation]:
        return [o for o in self._buffer if since <= o.at <= until]

    def status(self) -> LaneStatus:
        devices = {d.name: bool(d.health.available) for d in self.devices}
        devices[self.plc_health.name] = bool(self.plc_health.available)
        for name, up in devices.items():
            self.metrics.device_up.labels(name).set(int(up))
        return LaneStatus(lane_id=self.lane_id, barrier=self.barrier, devices=devices)

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for device in self.devices:
                tasks.create_task(device.run(), name=f"{self.lane_id}:{device.name}")
            tasks.create_task(self._watch_controller(), name=f"{self.lane_id}:plc")

    async def _watch_controller(self) -> None:
        attempt = 0
        while True:
            try:
                if not self.plc.connected:
                    await self.plc.connect()
                await self._poll_forever()
            except BarrierError as err:
                self.plc_health.down(str(err))
                self._set_barrier(BarrierState.UNKNOWN, 0, 0)
                raise_if_cancelling()  # a lost stop is never a reason to reconnect
                attempt += 1
                await asyncio.sleep(backoff_s(min(attempt, 5), cap_s=5.0))

    async def _poll_forever(self) -> None:
        while True:
            inputs = await self.plc.read_inputs()
            status = await self.plc.read_status()
            self.plc_health.up()
            self._set_barrier(PLC_TO_BARRIER[status.state], status.fault_code, status.cycles)
            arrived = inputs.arrival_loop and not self._arrival
            left = not inputs.arrival_loop and self._arrival and not inputs.safety_loop
            if arrived and self.pending is None and not self._collecting:
                self._collecting = True  # the loop may flicker during the read window
                task = asyncio.create_task(self._passage(inputs.at), name=f"{self.lane_id}:read")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif left and self.pending is not None:
                log.info("%s/%s: vehicle left without release", self.gate_id, self.lane_id)
                self.pending = None
            self._arrival = inputs.arrival_loop
            occupied = inputs.arrival_loop or inputs.safety_loop
            if self._occupied and not occupied:
                self._lane_cleared_at = inputs.at
            self._occupied = occupied
            await asyncio.sleep(self.config.poll_interval_s)
            # Python 3.11's wait_for (inside pymodbus) can swallow a cancellation that
            # lands as the reply arrives; without this the lane would never stop.
            raise_if_cancelling()

    def _set_barrier(self, state: BarrierState, fault_code: int, cycles: int) -> None:
        if state == self.barrier and cycles == self._cycles:
            return
        self.barrier, self._cycles = state, cycles
        self._emit(
            BarrierStateEvent(
                gate_id=self.gate_id,
                lane_id=self.lane_id,
                state=state,
                fault_code=int(fault_code),
                cycles=cycles,
            )
        )

    # ------------------------------------------------------------ passages

    async def _passage(self, started_at: datetime) -> None:
        try:
            window = self.config.read_window_s + self.config.trip_timeout_s
            trip = Trip(
                passage_id=uuid4(),
                lane_id=self.lane_id,
                at=started_at,
                closes_by=started_at + timedelta(seconds=window),
            )
            triggered = [asyncio.create_task(self._trip(d, trip)) for d in self.devices]
            await asyncio.sleep(self.config.read_window_s)
            pending = [t for t in triggered if not t.done()]
            if pending:  # a camera still reading its burst: its reads belong to this passage
                await asyncio.wait(pending, timeout=self.config.trip_timeout_s)
            closed_at = utc_now()
            # Reads before the trip count (a camera sees the truck coming), but never reads
            # that belonged to the previous vehicle's passage.
            since = max(
                started_at - timedelta(seconds=self.config.lookback_s),
                self._consumed_until,
                self._lane_cleared_at,
            )
            self._consumed_until = closed_at
            passage = self._build(
                trip.passage_id, started_at, closed_at, self._collect(since, closed_at)
            )
        finally:
            self._collecting = False
        self.pending = passage
        log.info(
            "%s/%s passage %s: %s",
            self.gate_id,
            self.lane_id,
            passage.passage_id,
            ", ".join(f"{i.kind}={i.value}({i.confidence:.2f})" for i in passage.identifiers)
            or "no identifiers read",
        )
        self._emit(passage)
        self.metrics.passages.labels(self.lane_id).inc()
        task = asyncio.create_task(self._ask_until_answered(passage), name=f"{self.lane_id}:ask")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.on_passage:
            self.on_passage(passage)

    async def _ask_until_answered(self, passage: Passage) -> None:
        """Send the passage again while the vehicle waits and central has receipted it but
        its decision never came: a broker restarted without persistence after accepting
        the decision loses it, and the vehicle would wait at the closed barrier until it
        backed out. Central answers a passage it has seen with its stored decision (or
        decides again once that expired), so asking again is safe; the release is checked
        as any other."""
        while True:
            await asyncio.sleep(self.config.ask_again_after_s)
            if self.pending is not passage or self._answered == passage.passage_id:
                return
            if self.ask_again(passage):
                self.metrics.asked_again.labels(self.lane_id).inc()
                log.warning(
                    "%s/%s passage %s: receipted, no decision in %.0f s; sent again",
                    self.gate_id,
                    self.lane_id,
                    passage.passage_id,
                    self.config.ask_again_after_s,
                )

    async def _trip(self, device: adapters.Adapter, trip: Trip) -> None:
        try:
            await device.on_trip(trip)
        except Exception as err:  # a failing reader must not lose the passage
            log.warning(
                "%s/%s: %s failed on the trigger: %s", self.gate_id, self.lane_id, device.name, err
            )

    def _build(
        self,
        passage_id: UUID,
        started_at: datetime,
        closed_at: datetime,
        observations: list[Observation],
    ) -> Passage:
        reads = [o for o in observations if isinstance(o, IdentifierRead)]
        seals = {
            o.reading.seal_id: o.reading for o in observations if isinstance(o, SealObservation)
        }
        # A scan triggered for another passage (one that completed late) never joins this one.
        scans = [
            o.scan
            for o in observations
            if isinstance(o, ScanObservation) and o.passage_id in (None, passage_id)
        ]
        passage = Passage(
            passage_id=passage_id,
            gate_id=self.gate_id,
            lane_id=self.lane_id,
            started_at=started_at,
            closed_at=closed_at,
            identifiers=fuse(reads),
            seals=list(seals.values()),
            scan=scans[-1] if scans else None,
        )
        if self._signing:
            key, key_id = self._signing
            passage = sign(passage, key, key_id)
        return passage

    # ------------------------------------------------------------ decisions

    async def on_decision(self, decision: GateDecision) -> None:
        async with self._decisions:  # one decision at a time per lane
            pending = self.pending.passage_id if self.pending else None
            refusal = check_decision(
                decision,
                gate_id=self.gate_id,
                lane_id=self.lane_id,
                pending_passage=pending,
                keys=self._keys,
                seen_decisions=self._seen,  # type: ignore[arg-type]
                now=utc_now(),
                clock_skew=self._skew,
            )
            if refusal in (None, Refusal.HOLD):
                self._answered = decision.passage_id  # (`_ask_until_answered`)
            if refusal is None:
                await self._open(decision)
                return
            if refusal == Refusal.HOLD:
                self._remember(decision.message_id)
                log.info(
                    "%s/%s hold for passage %s: %s %s",
                    self.gate_id,
                    self.lane_id,
                    decision.passage_id,
                    ",".join(decision.reasons),
                    decision.message,
                )
            else:
                log.warning(
                    "%s/%s refused decision %s: %s",
                    self.gate_id,
                    self.lane_id,
                    decision.message_id,
                    refusal,
                )
            self._ack(decision, executed=False, because=str(refusal))

    async def _open(self, decision: GateDecision) -> None:
        self._remember(decision.message_id)  # before acting: a replay can never open twice
        published = self.published_at(str(self.pending.message_id)) if self.pending else None
        try:
            await self.plc.open()
            coil_written = time.perf_counter()
            self.released.append((decision.passage_id, coil_written))
            if published is not None:
                self.metrics.release_latency.labels(self.lane_id).observe(coil_written - published)
                log.info(
                    "%s/%s passage %s published->coil %.1f ms",
                    self.gate_id,
                    self.lane_id,
                    decision.passage_id,
                    (coil_written - published) * 1000,
                )
            status = await self.plc.wait_for_state(
                {PlcState.OPENING, PlcState.OPEN}, timeout_s=self.config.confirm_timeout_s
            )
        except BarrierError as err:
            log.error("%s/%s cannot open: %s", self.gate_id, self.lane_id, err)
            self._ack(decision, executed=False, because="plc_error")
            return
        opened = status.state in (PlcState.OPENING, PlcState.OPEN)
        self._report_open(decision, status, opened)

    def _report_open(self, decision: GateDecision, status: BarrierStatus, opened: bool) -> None:
        state = PLC_TO_BARRIER[status.state]
        if opened:
            self.pending = None  # this passage is done; the next trip is a new vehicle
            log.info(
                "%s/%s released passage %s%s",
                self.gate_id,
                self.lane_id,
                decision.passage_id,
                f" -> divert to {decision.divert_to}" if decision.divert_to else "",
            )
        else:
            log.error("%s/%s barrier did not open: %s", self.gate_id, self.lane_id, status)
        self._ack(decision, executed=opened, because=None if opened else "plc_error", state=state)

    def _ack(
        self,
        decision: GateDecision,
        *,
        executed: bool,
        because: str | None,
        state: BarrierState | None = None,
    ) -> None:
        outcome = "opened" if executed else (because or "refused")
        self.metrics.decisions.labels(self.lane_id, outcome).inc()
        self._emit(
            CommandAck(
                gate_id=self.gate_id,
                lane_id=self.lane_id,
                decision_id=decision.message_id,
                passage_id=decision.passage_id,
                executed=executed,
                rejected_because=because,
                barrier=state or self.barrier,
            )
        )

    async def close(self) -> None:
        # A passage being read or waiting for its answer ends with the lane.
        await asyncio.gather(*(cancel_and_wait(task) for task in list(self._tasks)))
        with contextlib.suppress(Exception):
            self.plc.close_link()
