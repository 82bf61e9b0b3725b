"""The gate I/O controller's logic and RTU framing on a manual clock (no threads),
and the RTU parser fuzzed: line noise never raises and never changes state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.gate_io import controller as c
from firmware.gate_io.crc16 import crc16, with_crc
from firmware.gate_io.hal_cpython import TICKS_PERIOD, SimulatedGateHardware, ticks_diff
from firmware.gate_io.main import GateIo


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lane() -> Iterator[tuple[GateIo, ManualClock]]:
    clock = ManualClock()
    hardware = SimulatedGateHardware(travel_s=1.0, clock=clock)
    try:
        yield GateIo(hardware), clock
    finally:
        hardware.close()


def run_for(gate: GateIo, clock: ManualClock, seconds: float, step_s: float = 0.01) -> None:
    for _ in range(round(seconds / step_s)):
        clock.now += step_s
        gate.controller.tick(gate.hal.ticks_ms())


def snapshot(gate: GateIo) -> tuple[object, ...]:
    ctrl = gate.controller
    return (
        ctrl.state,
        ctrl.fault_code,
        ctrl.motion_time_ms,
        ctrl.hold_open_ms,
        ctrl.force_inputs,
        ctrl.force_enable,
        ctrl._open_latched,
        ctrl._close_latched,
        ctrl._reset_latched,
    )


def test_modbus_crc_of_a_known_frame() -> None:
    # Read 1 holding register at 0 from unit 1: 01 03 00 00 00 01 84 0A.
    assert with_crc(bytes.fromhex("010300000001")) == bytes.fromhex("010300000001840a")
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value


def test_ticks_diff_across_the_wrap() -> None:
    assert ticks_diff(5, TICKS_PERIOD - 5) == 10
    assert ticks_diff(TICKS_PERIOD - 5, 5) == -10


def test_a_full_cycle_counts_once_and_measures_the_motion(
    lane: tuple[GateIo, ManualClock],
) -> None:
    gate, clock = lane
    gate.controller.motion_time_ms = 1000
    gate.controller.command_open()
    run_for(gate, clock, 1.2)
    assert gate.controller.state == c.OPEN
    assert 950 <= gate.controller.last_motion_ms <= 1100  # the arm's 1 s travel
    run_for(gate, clock, 5.0 + 1.2)  # HOLD_OPEN_MS, then the close travel
    assert gate.controller.state == c.CLOSED
    assert gate.controller.cycles == 1


def test_a_safety_loop_occupied_for_ten_minutes_is_a_stuck_detector(
    lane: tuple[GateIo, ManualClock],
) -> None:
    gate, clock = lane
    gate.hal.safety = True  # type: ignore[attr-defined]
    run_for(gate, clock, 599.0, step_s=1.0)
    assert gate.controller.state == c.CLOSED
    run_for(gate, clock, 3.0, step_s=1.0)
    assert (gate.controller.state, gate.controller.fault_code) == (
        c.FAULT,
        c.FAULT_SAFETY_LOOP_STUCK,
    )


def test_open_while_faulted_is_refused_and_forgotten(lane: tuple[GateIo, ManualClock]) -> None:
    gate, clock = lane
    gate.hal.arm.jammed = True  # type: ignore[attr-defined]
    gate.controller.command_open()
    run_for(gate, clock, 4.5)
    assert gate.controller.fault_code == c.FAULT_LIMIT_TIMEOUT
    gate.controller.command_open()
    run_for(gate, clock, 0.1)
    gate.hal.arm.jammed = False  # type: ignore[attr-defined]
    gate.controller.command_fault_reset()
    run_for(gate, clock, 2.0)
    # The refused open did not come back after the reset: the arm went to closed.
    assert gate.controller.state == c.CLOSED
    assert gate.controller.refused_opens == 1


def test_boot_with_the_arm_not_closed_drives_it_closed(lane: tuple[GateIo, ManualClock]) -> None:
    gate, clock = lane
    gate.hal.set_barrier_relay(True)
    clock.now += 0.5  # half open when the board resets
    rebooted = GateIo(gate.hal)
    assert rebooted.controller.state == c.CLOSING
    assert gate.hal.relay is False  # type: ignore[attr-defined]
    run_for(rebooted, clock, 0.6)
    assert rebooted.controller.state == c.CLOSED


def request(function: int, address: int, value: int) -> bytes:
    return with_crc(bytes([1, function, address >> 8, address & 0xFF, value >> 8, value & 0xFF]))


@settings(max_examples=300, deadline=None)
@given(noise=st.binary(max_size=300), cut=st.integers(min_value=1, max_value=40))
def test_line_noise_never_raises_and_changes_nothing_without_a_valid_frame(
    noise: bytes, cut: int
) -> None:
    clock = ManualClock()
    hardware = SimulatedGateHardware(clock=clock)
    try:
        gate = GateIo(hardware)
        before = snapshot(gate)
        for start in range(0, len(noise), cut):
            clock.now += 0.001
            gate.slave.process(noise[start : start + cut], hardware.ticks_ms(), ticks_diff)
        clock.now += 0.1  # a silence flushes any partial frame
        gate.slave.process(None, hardware.ticks_ms(), ticks_diff)
        if gate.slave.frames_ok == 0:
            assert snapshot(gate) == before
        # Whatever came before, a clean request after a silence is understood.
        clock.now += 0.1
        reply = gate.slave.process(request(3, 0, 1), hardware.ticks_ms(), ticks_diff)
        assert reply is not None and reply[:3] == bytes([1, 3, 2])
    finally:
        hardware.close()


@settings(max_examples=200, deadline=None)
@given(
    function=st.sampled_from([5, 6]),
    address=st.integers(0, 3),
    value=st.integers(0, 0xFFFF),
    position=st.integers(0, 7),
    flip=st.integers(1, 255),
)
def test_one_corrupted_byte_is_never_executed(
    function: int, address: int, value: int, position: int, flip: int
) -> None:
    clock = ManualClock()
    hardware = SimulatedGateHardware(clock=clock)
    try:
        gate = GateIo(hardware)
        before = snapshot(gate)
        frame = bytearray(request(function, address, value))
        frame[position] ^= flip
        reply = gate.slave.process(bytes(frame), hardware.ticks_ms(), ticks_diff)
        clock.now += 0.1
        reply = reply or gate.slave.process(None, hardware.ticks_ms(), ticks_diff)
        assert reply is None
        assert snapshot(gate) == before
    finally:
        hardware.close()
