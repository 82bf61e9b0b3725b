"""Modbus client for the gate I/O controller (pymodbus 3.16)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.barrier import registers as r
from drivers.barrier.registers import FaultCode, PlcState
from drivers.probe import ProbeResult


class BarrierError(Exception):
    """Root of the barrier driver's errors."""


class BarrierLinkError(BarrierError):
    """The controller did not answer, or answered with a Modbus exception."""


class PlcSettings(BaseModel):
    """Where the controller is: Modbus TCP (`host`) or RTU (`serial_port`)."""

    model_config = ConfigDict(extra="forbid")

    transport: Literal["tcp", "rtu"] = Field(default="tcp", description="tcp or rtu")
    host: str = Field(default="127.0.0.1", description="controller address (tcp)")
    port: int = Field(default=502, ge=1, le=65535, description="Modbus TCP port")
    serial_port: str | None = Field(default=None, description="serial device (rtu)")
    baudrate: int = Field(default=19200, description="RTU baud rate")
    device_id: int = Field(default=r.DEVICE_ID, ge=0, le=247, description="Modbus unit id")
    timeout_s: float = Field(default=1.0, gt=0, description="per request")
    retries: int = Field(default=1, ge=0, description="resends before a link error")


class LoopInputs(BaseModel):
    """The controller's discrete inputs at one instant."""

    model_config = ConfigDict(frozen=True)

    arrival_loop: bool
    safety_loop: bool
    open_limit: bool
    closed_limit: bool
    fault: bool
    at: datetime


class BarrierStatus(BaseModel):
    """State and counters read from the input registers."""

    model_config = ConfigDict(frozen=True)

    state: PlcState
    fault_code: FaultCode
    cycles: int
    last_motion_ms: int
    uptime_s: int
    at: datetime

    @property
    def fault(self) -> bool:
        return self.state == PlcState.FAULT or self.fault_code != FaultCode.NONE


def _uint32(high: int, low: int) -> int:
    return (high << 16) | low


class BarrierPlc:
    """One gate I/O controller. Use as `async with`."""

    def __init__(self, settings: PlcSettings) -> None:
        self.settings = settings
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if settings.transport == "rtu":
            if not settings.serial_port:
                raise BarrierError("an RTU controller needs serial_port")
            self._client = AsyncModbusSerialClient(
                settings.serial_port,
                baudrate=settings.baudrate,
                timeout=settings.timeout_s,
                retries=settings.retries,
                reconnect_delay=0.2,
                reconnect_delay_max=5,
            )
        else:
            self._client = AsyncModbusTcpClient(
                settings.host,
                port=settings.port,
                timeout=settings.timeout_s,
                retries=settings.retries,
                reconnect_delay=0.2,
                reconnect_delay_max=5,
            )
        # One request at a time: the poll loop and a command must not interleave on RTU.
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> BarrierPlc:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_link()

    async def connect(self) -> None:
        if not await self._client.connect():
            raise BarrierLinkError(f"cannot connect to the controller ({self._where()})")

    def close_link(self) -> None:
        self._client.close()

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    def _where(self) -> str:
        s = self.settings
        return f"{s.host}:{s.port}" if s.transport == "tcp" else f"{s.serial_port}"

    async def _call(self, what: str, request: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        async with self._lock:
            try:
                # pymodbus raises at call time when the link is down, so call inside the try.
                response = await request()
            except (TimeoutError, ModbusException, OSError) as err:
                raise BarrierLinkError(
                    f"{what}: no valid answer from {self._where()}: {err}"
                ) from err
        if response.isError():
            raise BarrierLinkError(f"{what}: controller refused the request: {response}")
        return response

    # ---------------------------------------------------------------- reads

    async def read_inputs(self) -> LoopInputs:
        c, dev = self._client, self.settings.device_id
        rr = await self._call(
            "read inputs", lambda: c.read_discrete_inputs(0, count=r.DI_COUNT, device_id=dev)
        )
        bits = rr.bits
        return LoopInputs(
            arrival_loop=bits[r.DI_LOOP_ARRIVAL],
            safety_loop=bits[r.DI_LOOP_SAFETY],
            open_limit=bits[r.DI_BARRIER_OPEN],
            closed_limit=bits[r.DI_BARRIER_CLOSED],
            fault=bits[r.DI_FAULT],
            at=datetime.now(UTC),
        )

    async def read_status(self) -> BarrierStatus:
        c, dev = self._client, self.settings.device_id
        rr = await self._call(
            "read status", lambda: c.read_input_registers(0, count=r.IR_COUNT, device_id=dev)
        )
        regs = rr.registers
        try:
            state, fault = PlcState(regs[r.IR_STATE]), FaultCode(regs[r.IR_FAULT_CODE])
        except ValueError as err:
            raise BarrierLinkError(f"controller reported an unknown state: {regs[:2]}") from err
        return BarrierStatus(
            state=state,
            fault_code=fault,
            cycles=_uint32(regs[r.IR_CYCLES_HI], regs[r.IR_CYCLES_LO]),
            last_motion_ms=regs[r.IR_LAST_MOTION_MS],
            uptime_s=_uint32(regs[r.IR_UPTIME_HI], regs[r.IR_UPTIME_LO]),
            at=datetime.now(UTC),
        )

    async def read_config(self) -> dict[str, int]:
        c, dev = self._client, self.settings.device_id
        rr = await self._call(
            "read config", lambda: c.read_holding_registers(0, count=r.HR_COUNT, device_id=dev)
        )
        regs = rr.registers
        return {
            "motion_time_ms": regs[r.HR_MOTION_TIME_MS],
            "hold_open_ms": regs[r.HR_HOLD_OPEN_MS],
            "force_inputs": regs[r.HR_FORCE_INPUTS],
            "force_enable": regs[r.HR_FORCE_ENABLE],
        }

    # ---------------------------------------------------------------- commands

    async def _pulse(self, what: str, coil: int) -> None:
        c, dev = self._client, self.settings.device_id
        await self._call(what, lambda: c.write_coil(coil, True, device_id=dev))

    async def open(self) -> None:
        """Start an open cycle. Returns once the controller has latched the command."""
        await self._pulse("open", r.COIL_OPEN_CMD)

    async def close(self) -> None:
        await self._pulse("close", r.COIL_CLOSE_CMD)

    async def reset_fault(self) -> None:
        await self._pulse("fault reset", r.COIL_FAULT_RESET)

    async def write_timing(self, *, motion_time_ms: int, hold_open_ms: int) -> None:
        c, dev = self._client, self.settings.device_id
        await self._call(
            "write timing",
            lambda: c.write_registers(
                r.HR_MOTION_TIME_MS, [motion_time_ms, hold_open_ms], device_id=dev
            ),
        )

    async def force_loops(self, *, arrival: bool | None, safety: bool = False) -> None:
        """Commissioning: force the loop inputs (None releases the force)."""
        c, dev = self._client, self.settings.device_id
        mask = int(bool(arrival)) | (int(safety) << 1)
        enable = 0 if arrival is None else 1
        await self._call(
            "force loops",
            lambda: c.write_registers(r.HR_FORCE_INPUTS, [mask, enable], device_id=dev),
        )

    async def wait_for_state(
        self, wanted: set[PlcState], *, timeout_s: float, poll_s: float = 0.05
    ) -> BarrierStatus:
        """Poll until the barrier is in one of `wanted` (or faults); the last status read."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = await self.read_status()
            if status.state in wanted or status.fault or time.monotonic() >= deadline:
                return status
            await asyncio.sleep(poll_s)

    async def probe(self) -> ProbeResult:
        """Is the controller there and sane? For field diagnostics."""
        started = time.perf_counter()
        try:
            if not self.connected:
                await self.connect()
            status = await self.read_status()
        except BarrierError as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = (time.perf_counter() - started) * 1000
        detail = (
            f"state {status.state.name.lower()}, fault {status.fault_code.name.lower()}, "
            f"{status.cycles} cycles, up {status.uptime_s} s"
        )
        return ProbeResult(ok=not status.fault, detail=detail, round_trip_ms=round(rtt, 1))
