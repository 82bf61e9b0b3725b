"""The gate I/O controller's Modbus map (device id 1). Documented in docs/devices.md.

The firmware (firmware/gate_io), the simulator (simulators/barrier.py) and this
driver all use these numbers; a test runs the driver against both.
"""

from __future__ import annotations

from enum import IntEnum

DEVICE_ID = 1

# Coils (FC1 read, FC5/FC15 write). Commands are latched and the coil reset to 0.
COIL_OPEN_CMD = 0
COIL_CLOSE_CMD = 1
COIL_FAULT_RESET = 2
COIL_COUNT = 3

# Discrete inputs (FC2).
DI_LOOP_ARRIVAL = 0  # vehicle on the arrival loop before the barrier
DI_LOOP_SAFETY = 1  # vehicle under the barrier: closing inhibited
DI_BARRIER_OPEN = 2  # limit switch
DI_BARRIER_CLOSED = 3  # limit switch
DI_FAULT = 4
DI_COUNT = 5

# Input registers (FC4).
IR_STATE = 0
IR_FAULT_CODE = 1
IR_CYCLES_HI = 2  # uint32, high word first
IR_CYCLES_LO = 3
IR_LAST_MOTION_MS = 4
IR_UPTIME_HI = 5
IR_UPTIME_LO = 6
IR_COUNT = 7

# Holding registers (FC3/FC6/FC16).
HR_MOTION_TIME_MS = 0  # arm travel time, default 2000
# The arm closes as soon as a vehicle has crossed the safety loop (one opening, one vehicle),
# or HOLD_OPEN_MS after both loops are clear when nobody comes. Default 5000.
HR_HOLD_OPEN_MS = 1
HR_FORCE_INPUTS = 2  # bit0 arrival loop, bit1 safety loop (commissioning / simulation)
HR_FORCE_ENABLE = 3  # 0/1
HR_COUNT = 4

DEFAULT_MOTION_TIME_MS = 2000
DEFAULT_HOLD_OPEN_MS = 5000


class PlcState(IntEnum):
    CLOSED = 0
    OPENING = 1
    OPEN = 2
    CLOSING = 3
    FAULT = 4


class FaultCode(IntEnum):
    NONE = 0
    MOTOR_OVERCURRENT = 1
    LIMIT_SWITCH_TIMEOUT = 2
    POWER_LOSS = 3
    SAFETY_LOOP_STUCK = 4
    WATCHDOG = 5
