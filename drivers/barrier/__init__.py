"""Barrier PLC (gate I/O controller) over Modbus TCP or RTU.

    async with BarrierPlc.tcp("10.0.0.5") as plc:
        inputs = await plc.read_inputs()
        if inputs.arrival_loop: ...
        await plc.open()

Two error channels, as in pymodbus: a broken link or a refused request raises
`BarrierLinkError`; a barrier fault comes back as a value (`BarrierStatus.fault`).
"""

from drivers.barrier.client import (
    BarrierError,
    BarrierLinkError,
    BarrierPlc,
    BarrierStatus,
    LoopInputs,
    PlcSettings,
    ProbeResult,
)
from drivers.barrier.registers import FaultCode, PlcState

__all__ = [
    "BarrierError",
    "BarrierLinkError",
    "BarrierPlc",
    "BarrierStatus",
    "FaultCode",
    "LoopInputs",
    "PlcSettings",
    "PlcState",
    "ProbeResult",
]
