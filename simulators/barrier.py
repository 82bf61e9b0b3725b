"""A simulated gate I/O controller: barrier arm, loop detectors, Modbus TCP/RTU server.

It implements the map in `drivers.barrier.registers` on a real pymodbus server,
so the edge cannot tell it from the controller: the arm takes MOTION_TIME_MS to
travel, auto-closes HOLD_OPEN_MS after the loops clear, reverses when the
safety loop is occupied while closing, counts cycles, and can be given faults.

A simple vehicle model drives the loops: `vehicle_arrives()` occupies the
arrival loop; once the arm is open the vehicle drives through (safety loop for
`crossing_s`) and leaves; `vehicle_backs_out()` clears a held vehicle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from drivers.barrier import registers as r
from drivers.barrier.registers import FaultCode, PlcState

log = logging.getLogger(__name__)

TICK_S = 0.01
COIL_FCS = {1, 5, 15}
HR_FCS = {3, 6, 16, 22, 23}


@dataclass
class Vehicle:
    label: str
    arrived_at: float
    drive_off_at: float | None = None  # when the arm was seen open
    crossing_since: float | None = None


@dataclass
class BarrierModel:
    """The controller and the lane in front of it. Times are time.monotonic()."""

    motion_time_ms: int = r.DEFAULT_MOTION_TIME_MS
    hold_open_ms: int = r.DEFAULT_HOLD_OPEN_MS
    drive_off_s: float = 0.4  # driver reaction once the arm is up
    crossing_s: float = 0.8  # truck over the safety loop

    state: PlcState = PlcState.CLOSED
    fault_code: FaultCode = FaultCode.NONE
    position: float = 0.0  # 0 closed .. 1 open
    cycles: int = 0
    last_motion_ms: int = 0
    started_at: float = field(default_factory=time.monotonic)
    force_inputs: int = 0
    force_enable: int = 0
    pending_fault: FaultCode = FaultCode.NONE  # fires at the next motion (motor faults)
    vehicles: list[Vehicle] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    open_commands: list[float] = field(default_factory=list)  # wall time of each latch
    refused_commands: int = 0
    _motion_since: float = 0.0
    _clear_since: float | None = None
    _crossed: bool = False  # a vehicle crossed since the arm opened: one opening, one vehicle
    # Called when a vehicle leaves the arrival zone: it drives through the barrier, or backs
    # out. What travels with it (its RFID tag, its e-seals) leaves the readers' field then.
    on_vehicle_left: list[Callable[[str], None]] = field(default_factory=list)

    # ------------------------------------------------------------- inputs

    @property
    def arrival_loop(self) -> bool:
        if self.force_enable:
            return bool(self.force_inputs & 1)
        return any(v.crossing_since is None for v in self.vehicles)

    @property
    def safety_loop(self) -> bool:
        if self.force_enable:
            return bool(self.force_inputs & 2)
        return any(v.crossing_since is not None for v in self.vehicles)

    def discrete_inputs(self) -> list[bool]:
        bits = [False] * 16
        bits[r.DI_LOOP_ARRIVAL] = self.arrival_loop
        bits[r.DI_LOOP_SAFETY] = self.safety_loop
        bits[r.DI_BARRIER_OPEN] = self.position >= 1.0
        bits[r.DI_BARRIER_CLOSED] = self.position <= 0.0
        bits[r.DI_FAULT] = self.state == PlcState.FAULT
        return bits

    def input_registers(self) -> list[int]:
        uptime = int(time.monotonic() - self.started_at)
        return [
            int(self.state),
            int(self.fault_code),
            (self.cycles >> 16) & 0xFFFF,
            self.cycles & 0xFFFF,
            min(self.last_motion_ms, 0xFFFF),
            (uptime >> 16) & 0xFFFF,
            uptime & 0xFFFF,
        ]

    def holding_registers(self) -> list[int]:
        return [self.motion_time_ms, self.hold_open_ms, self.force_inputs, self.force_enable]

    # ------------------------------------------------------------- commands

    def command_open(self) -> bool:
        """Latch an open command. Refused (False) while faulted: fail secure."""
        if self.state == PlcState.FAULT:
            self.refused_commands += 1
            return False
        self.open_commands.append(time.time())
        if self.state in (PlcState.CLOSED, PlcState.CLOSING):
            self._start_motion(PlcState.OPENING)
            self.cycles += 1
        self._clear_since = None
        self._crossed = False
        return True

    def command_close(self) -> bool:
        if self.state in (PlcState.OPEN, PlcState.OPENING) and not self.safety_loop:
            self._start_motion(PlcState.CLOSING)
            return True
        return False

    def command_fault_reset(self) -> None:
        if self.state == PlcState.FAULT:
            self.fault_code = FaultCode.NONE
            self.state = PlcState.CLOSED if self.position <= 0 else PlcState.CLOSING
            self._motion_since = time.monotonic()
            log.info("barrier fault reset")

    def inject_fault(self, code: FaultCode, *, at_next_motion: bool = False) -> None:
        """A fault now (power loss, safety loop stuck) or at the next motion (motor)."""
        if at_next_motion:
            self.pending_fault = code
            return
        self._enter_fault(code)

    def _enter_fault(self, code: FaultCode) -> None:
        log.warning("barrier fault: %s", code.name)
        self.state, self.fault_code = PlcState.FAULT, code
        # Fail secure: the arm drops closed (spring return), and stays so until reset.
        self.position = 0.0

    def _start_motion(self, state: PlcState) -> None:
        if self.pending_fault != FaultCode.NONE:
            code, self.pending_fault = self.pending_fault, FaultCode.NONE
            self._enter_fault(code)
            return
        self.state = state
        self._motion_since = time.monotonic()

    # ------------------------------------------------------------- vehicles

    def vehicle_arrives(self, label: str = "vehicle") -> None:
        self.vehicles.append(Vehicle(label=label, arrived_at=time.monotonic()))

    def vehicle_backs_out(self) -> str | None:
        """The first waiting vehicle leaves the lane without passing (a held truck)."""
        for v in self.vehicles:
            if v.crossing_since is None:
                self.vehicles.remove(v)
                self._left(v.label)
                return v.label
        return None

    def _left(self, label: str) -> None:
        for callback in self.on_vehicle_left:
            callback(label)

    # ------------------------------------------------------------- time

    def tick(self, now: float) -> None:
        self._move_arm(now)
        self._move_vehicles(now)
        self._auto_close(now)

    def _move_arm(self, now: float) -> None:
        if self.state not in (PlcState.OPENING, PlcState.CLOSING):
            return
        travel = (now - self._motion_since) * 1000 / max(self.motion_time_ms, 1)
        if self.state == PlcState.CLOSING and self.safety_loop:
            # Safety reversal: never close on a vehicle.
            self._motion_since = now - (1 - self.position) * self.motion_time_ms / 1000
            self.state = PlcState.OPENING
            return
        if self.state == PlcState.OPENING:
            self.position = min(1.0, travel)
            if self.position >= 1.0:
                self.state, self.last_motion_ms = PlcState.OPEN, self.motion_time_ms
        else:
            self.position = max(0.0, 1.0 - travel)
            if self.position <= 0.0:
                self.state, self.last_motion_ms = PlcState.CLOSED, self.motion_time_ms

    def _move_vehicles(self, now: float) -> None:
        for v in list(self.vehicles):
            if v.crossing_since is not None:
                if now - v.crossing_since >= self.crossing_s:
                    self.vehicles.remove(v)
                    self.passed.append(v.label)
                    self._crossed = True
                continue
            if self.position >= 1.0 and v is self.vehicles[0]:
                v.drive_off_at = v.drive_off_at or now
                if now - v.drive_off_at >= self.drive_off_s:
                    v.crossing_since = now
                    self._left(v.label)
            else:
                v.drive_off_at = None

    def _auto_close(self, now: float) -> None:
        """Close as soon as the vehicle has crossed (no tailgating), or HOLD_OPEN_MS after
        both loops are clear when nobody comes."""
        if self.state != PlcState.OPEN:
            self._clear_since = None
            return
        if self.safety_loop:
            self._clear_since = None
            return
        if self._crossed:
            self._crossed = False
            self._start_motion(PlcState.CLOSING)
            return
        if self.arrival_loop:
            self._clear_since = None
            return
        self._clear_since = self._clear_since or now
        if (now - self._clear_since) * 1000 >= self.hold_open_ms:
            self._start_motion(PlcState.CLOSING)


class BarrierPlcSim:
    """Runs a `BarrierModel` behind a real Modbus TCP (or RTU) server."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5020,
        serial_port: str | None = None,
        device_id: int = r.DEVICE_ID,
        model: BarrierModel | None = None,
    ) -> None:
        self.model = model or BarrierModel()
        self.host, self.port, self.serial_port = host, port, serial_port
        device = SimDevice(
            id=device_id,
            simdata=(
                [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                [SimData(0, count=r.HR_COUNT, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=r.IR_COUNT, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._on_request,
        )
        self._server: ModbusTcpServer | ModbusSerialServer
        if serial_port:
            self._server = ModbusSerialServer(device, framer=FramerType.RTU, port=serial_port)
        else:
            self._server = ModbusTcpServer(device, address=(host, port))
        self._ticker: asyncio.Task[None] | None = None

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this before every read or write of a block."""
        m = self.model
        if function_code == 2:
            registers[0] = SimUtils.bitsToRegisters(m.discrete_inputs())[0]
        elif function_code == 4:
            registers[: r.IR_COUNT] = m.input_registers()
        elif function_code in COIL_FCS and set_values is not None:
            self._on_coil_write(address, set_values)
        elif function_code in HR_FCS:
            if set_values is not None:
                return self._on_config_write(address, [int(v) for v in set_values])
            registers[: r.HR_COUNT] = m.holding_registers()
        return None

    def _on_coil_write(self, address: int, values: list[int] | list[bool]) -> None:
        commands = {
            r.COIL_OPEN_CMD: self.model.command_open,
            r.COIL_CLOSE_CMD: self.model.command_close,
            r.COIL_FAULT_RESET: self.model.command_fault_reset,
        }
        for i, value in enumerate(values):
            command = commands.get(address + i)
            if value and command is not None:
                command()
            values[i] = False  # commands are latched; the coil reads back 0

    def _on_config_write(self, address: int, values: list[int]) -> ExcCodes | None:
        m = self.model
        proposed = m.holding_registers()
        for i, value in enumerate(values):
            if address + i < r.HR_COUNT:
                proposed[address + i] = value
        motion, hold, force, enable = proposed
        if not (100 <= motion <= 60000 and 0 <= hold <= 600000 and force < 4 and enable < 2):
            return ExcCodes.ILLEGAL_VALUE
        m.motion_time_ms, m.hold_open_ms, m.force_inputs, m.force_enable = proposed
        return None

    async def _tick_forever(self) -> None:
        while True:
            self.model.tick(time.monotonic())
            await asyncio.sleep(TICK_S)

    async def start(self) -> None:
        await self._server.serve_forever(background=True)
        self._ticker = asyncio.create_task(self._tick_forever(), name="barrier-sim-tick")
        where = self.serial_port or f"{self.host}:{self.port}"
        log.info("barrier controller simulator on %s", where)

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            self._ticker = None
        await self._server.shutdown()

    async def __aenter__(self) -> BarrierPlcSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
