"""The gate I/O controller's logic: barrier state machine and its Modbus map.

Fail secure. The barrier relay is energised only while the barrier is opening
or held open; de-energised, the barrier drive closes the arm (and a reset or a
power cut de-energises it). A fault drops the relay and refuses open commands
until FAULT_RESET, and FAULT_RESET clears only a fault whose cause has gone.

The map (device id 1) is the one in docs/devices.md and drivers/barrier/registers.py:
coils 0 OPEN_CMD, 1 CLOSE_CMD, 2 FAULT_RESET; discrete inputs 0 arrival loop,
1 safety loop, 2 open limit, 3 closed limit, 4 fault; input registers 0 state,
1 fault code, 2-3 cycles, 4 last motion ms, 5-6 uptime s; holding registers
0 motion time ms, 1 hold open ms, 2 force inputs, 3 force enable.
"""

from firmware.gate_io.modbus_rtu import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, ModbusError

CLOSED = 0
OPENING = 1
OPEN = 2
CLOSING = 3
FAULT = 4

FAULT_NONE = 0
FAULT_MOTOR_OVERCURRENT = 1
FAULT_LIMIT_TIMEOUT = 2
FAULT_POWER_LOSS = 3
FAULT_SAFETY_LOOP_STUCK = 4
FAULT_WATCHDOG = 5

COIL_OPEN_CMD = 0
COIL_CLOSE_CMD = 1
COIL_FAULT_RESET = 2
COIL_COUNT = 3
DI_COUNT = 5
IR_COUNT = 7
HR_MOTION_TIME_MS = 0
HR_HOLD_OPEN_MS = 1
HR_FORCE_INPUTS = 2
HR_FORCE_ENABLE = 3
HR_COUNT = 4

DEFAULT_MOTION_TIME_MS = 2000
DEFAULT_HOLD_OPEN_MS = 5000
MOTION_TIME_RANGE_MS = (100, 60000)
# A limit switch not reached in twice the configured travel time means a jammed arm
# or a broken switch: either way the controller can no longer tell where the arm is.
LIMIT_TIMEOUT_FACTOR = 2
# A safety loop occupied this long is a stuck detector, not a vehicle.
SAFETY_STUCK_MS = 10 * 60 * 1000


class GateController:
    """Barrier state machine. Call `tick(now_ms)` from the main loop."""

    def __init__(self, hal):
        self.hal = hal
        hal.set_barrier_relay(False)  # first thing after any reset: barrier closed
        # Commissioned timings live in flash; forcing never survives a reset (safety).
        saved = hal.load_settings()
        if saved and _valid_timing(saved[0], saved[1]):
            self.motion_time_ms, self.hold_open_ms = saved
        else:
            self.motion_time_ms = DEFAULT_MOTION_TIME_MS
            self.hold_open_ms = DEFAULT_HOLD_OPEN_MS
        self.force_inputs = 0
        self.force_enable = 0
        self.cycles = 0
        self.last_motion_ms = 0
        self.refused_opens = 0
        self._uptime_ms = 0
        self._last_tick_ms = hal.ticks_ms()
        self._motion_since_ms = self._last_tick_ms
        self._clear_since_ms = None
        self._safety_since_ms = None
        self._open_latched = False
        self._close_latched = False
        self._reset_latched = False
        self.fault_code = FAULT_NONE
        self.state = CLOSED
        if hal.reset_by_watchdog():
            self._enter_fault(FAULT_WATCHDOG)
        elif not hal.limit_closed():
            self._start_motion(CLOSING)

    # ------------------------------------------------------------------ inputs

    def arrival_loop(self):
        if self.force_enable:
            return bool(self.force_inputs & 1)
        return self.hal.loop_arrival()

    def safety_loop(self):
        if self.force_enable:
            return bool(self.force_inputs & 2)
        return self.hal.loop_safety()

    def uptime_s(self):
        return self._uptime_ms // 1000

    # ------------------------------------------------------------------ commands

    def command_open(self):
        self._open_latched = True

    def command_close(self):
        self._close_latched = True

    def command_fault_reset(self):
        self._reset_latched = True

    # ------------------------------------------------------------------ the loop

    def tick(self, now_ms):
        """One pass: latched commands, fault detection, state machine, relay output."""
        diff = self.hal.ticks_diff
        self._uptime_ms += max(0, diff(now_ms, self._last_tick_ms))
        self._last_tick_ms = now_ms
        self._take_fault_reset()
        self._detect_faults(now_ms)
        self._take_open(now_ms)
        if self.state in (CLOSED, FAULT):
            self._close_latched = False  # nothing to close
        if self.state == OPENING:
            self._while_opening(now_ms)
        elif self.state == OPEN:
            self._while_open(now_ms)
        elif self.state == CLOSING:
            self._while_closing(now_ms)
        self.hal.set_barrier_relay(self.state in (OPENING, OPEN))

    def _take_fault_reset(self):
        if not self._reset_latched:
            return
        self._reset_latched = False
        if self.state != FAULT or self._fault_cause() != FAULT_NONE:
            return  # the cause is still there: the fault stays latched
        self.fault_code = FAULT_NONE
        if self.hal.limit_closed():
            self.state = CLOSED
        else:
            self._start_motion(CLOSING)

    def _fault_cause(self):
        """A fault condition present on the inputs right now, or FAULT_NONE."""
        if not self.hal.mains_ok():
            return FAULT_POWER_LOSS
        if self.hal.motor_overcurrent():
            return FAULT_MOTOR_OVERCURRENT
        return FAULT_NONE

    def _detect_faults(self, now_ms):
        cause = self._fault_cause()
        if cause != FAULT_NONE and self.state != FAULT:
            self._enter_fault(cause)
        if self.safety_loop():
            if self._safety_since_ms is None:
                self._safety_since_ms = now_ms
            elif (
                self.hal.ticks_diff(now_ms, self._safety_since_ms) > SAFETY_STUCK_MS
                and self.state != FAULT
            ):
                self._enter_fault(FAULT_SAFETY_LOOP_STUCK)
        else:
            self._safety_since_ms = None

    def _take_open(self, now_ms):
        if not self._open_latched:
            return
        self._open_latched = False
        if self.state == FAULT:
            self.refused_opens += 1  # fail secure: no opening until FAULT_RESET
            return
        self._clear_since_ms = None
        if self.state == CLOSED:
            self.cycles += 1
            self._start_motion(OPENING)
        elif self.state == CLOSING:
            self._start_motion(OPENING)

    def _while_opening(self, now_ms):
        if self.hal.limit_open():
            self.last_motion_ms = self._motion_elapsed(now_ms)
            self.state = OPEN
            self._clear_since_ms = None
        elif self._motion_overdue(now_ms):
            self._enter_fault(FAULT_LIMIT_TIMEOUT)

    def _while_open(self, now_ms):
        occupied = self.arrival_loop() or self.safety_loop()
        if self._close_latched and not self.safety_loop():
            self._close_latched = False
            self._start_motion(CLOSING)
            return
        if occupied:
            self._clear_since_ms = None
        elif self._clear_since_ms is None:
            self._clear_since_ms = now_ms
        elif self.hal.ticks_diff(now_ms, self._clear_since_ms) >= self.hold_open_ms:
            self._start_motion(CLOSING)

    def _while_closing(self, now_ms):
        self._close_latched = False
        if self.safety_loop():
            self._start_motion(OPENING)  # never close on a vehicle: reverse
        elif self.hal.limit_closed():
            self.last_motion_ms = self._motion_elapsed(now_ms)
            self.state = CLOSED
        elif self._motion_overdue(now_ms):
            self._enter_fault(FAULT_LIMIT_TIMEOUT)

    def _start_motion(self, state):
        self.state = state
        self._motion_since_ms = self.hal.ticks_ms()

    def _motion_elapsed(self, now_ms):
        return max(0, self.hal.ticks_diff(now_ms, self._motion_since_ms))

    def _motion_overdue(self, now_ms):
        return self._motion_elapsed(now_ms) > LIMIT_TIMEOUT_FACTOR * self.motion_time_ms

    def _enter_fault(self, code):
        self.state = FAULT
        self.fault_code = code
        self._open_latched = False
        self._close_latched = False
        self.hal.set_barrier_relay(False)


class GateRegisters:
    """The controller as a Modbus register bank (see firmware.gate_io.modbus_rtu)."""

    def __init__(self, controller):
        self.ctrl = controller

    def read_bits(self, table, address, count):
        bits = self._coils() if table == "coils" else self._discrete_inputs()
        return _window(bits, address, count)

    def read_words(self, table, address, count):
        words = self._input_registers() if table == "input" else self._holding_registers()
        return _window(words, address, count)

    def write_coil(self, address, value):
        if not 0 <= address < COIL_COUNT:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        if not value:
            return  # writing 0 cancels nothing: commands are edges, latched on 1
        if address == COIL_OPEN_CMD:
            self.ctrl.command_open()
        elif address == COIL_CLOSE_CMD:
            self.ctrl.command_close()
        else:
            self.ctrl.command_fault_reset()

    def write_registers(self, address, values):
        if address < 0 or address + len(values) > HR_COUNT:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        for offset, value in enumerate(values):
            _check_holding(address + offset, value)
        ctrl = self.ctrl
        timing = (ctrl.motion_time_ms, ctrl.hold_open_ms)
        for offset, value in enumerate(values):
            register = address + offset
            if register == HR_MOTION_TIME_MS:
                ctrl.motion_time_ms = value
            elif register == HR_HOLD_OPEN_MS:
                ctrl.hold_open_ms = value
            elif register == HR_FORCE_INPUTS:
                ctrl.force_inputs = value
            else:
                ctrl.force_enable = value
        if (ctrl.motion_time_ms, ctrl.hold_open_ms) != timing:
            ctrl.hal.save_settings(ctrl.motion_time_ms, ctrl.hold_open_ms)  # only on change

    def _coils(self):
        c = self.ctrl
        return [c._open_latched, c._close_latched, c._reset_latched]

    def _discrete_inputs(self):
        c = self.ctrl
        return [
            c.arrival_loop(),
            c.safety_loop(),
            c.hal.limit_open(),
            c.hal.limit_closed(),
            c.state == FAULT,
        ]

    def _input_registers(self):
        c = self.ctrl
        cycles, uptime = c.cycles & 0xFFFFFFFF, c.uptime_s() & 0xFFFFFFFF
        return [
            c.state,
            c.fault_code,
            cycles >> 16,
            cycles & 0xFFFF,
            min(c.last_motion_ms, 0xFFFF),
            uptime >> 16,
            uptime & 0xFFFF,
        ]

    def _holding_registers(self):
        c = self.ctrl
        return [c.motion_time_ms, c.hold_open_ms, c.force_inputs, c.force_enable]


def _window(values, address, count):
    if address < 0 or address + count > len(values):
        raise ModbusError(ILLEGAL_DATA_ADDRESS)
    return values[address : address + count]


def _valid_timing(motion_time_ms, hold_open_ms):
    low, high = MOTION_TIME_RANGE_MS
    return low <= motion_time_ms <= high and 0 <= hold_open_ms <= 0xFFFF


def _check_holding(register, value):
    low, high = MOTION_TIME_RANGE_MS
    if register == HR_MOTION_TIME_MS and not low <= value <= high:
        raise ModbusError(ILLEGAL_DATA_VALUE)
    if register == HR_FORCE_INPUTS and value > 3:
        raise ModbusError(ILLEGAL_DATA_VALUE)
    if register == HR_FORCE_ENABLE and value > 1:
        raise ModbusError(ILLEGAL_DATA_VALUE)
