"""The gate I/O firmware, running under CPython behind its HAL, as a Modbus RTU slave
on a socat pty pair, driven by pymodbus's RTU client exactly as the edge would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from firmware.gate_io import controller as c
from firmware.gate_io.crc16 import with_crc
from firmware.gate_io.host import GateIoHost

UNIT = 1


@pytest.fixture
def host(pty_pair: tuple[str, str]) -> Iterator[GateIoHost]:
    with GateIoHost(pty_pair[0], travel_s=0.15, wdt_timeout_ms=300) as running:
        yield running


@pytest.fixture
async def client(
    host: GateIoHost, pty_pair: tuple[str, str]
) -> AsyncIterator[AsyncModbusSerialClient]:
    modbus = AsyncModbusSerialClient(pty_pair[1], baudrate=19200, timeout=0.5, retries=0)
    assert await modbus.connect()
    # Travel 150 ms: set the expected motion time to match, hold open 200 ms.
    rr = await modbus.write_registers(c.HR_MOTION_TIME_MS, [150, 200], device_id=UNIT)
    assert not rr.isError()
    try:
        yield modbus
    finally:
        modbus.close()


async def read_state(modbus: AsyncModbusSerialClient) -> tuple[int, int]:
    rr = await modbus.read_input_registers(0, count=2, device_id=UNIT)
    assert not rr.isError()
    return rr.registers[0], rr.registers[1]


async def wait_for_state(
    modbus: AsyncModbusSerialClient, wanted: int, timeout_s: float = 3.0
) -> tuple[int, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        state = await read_state(modbus)
        if state[0] == wanted or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.02)


async def open_coil(modbus: AsyncModbusSerialClient) -> None:
    rr = await modbus.write_coil(c.COIL_OPEN_CMD, True, device_id=UNIT)
    assert not rr.isError()


async def test_power_on_state_and_defaults(pty_pair: tuple[str, str]) -> None:
    with GateIoHost(pty_pair[0]):
        modbus = AsyncModbusSerialClient(pty_pair[1], baudrate=19200, timeout=0.5, retries=0)
        assert await modbus.connect()
        try:
            hr = await modbus.read_holding_registers(0, count=4, device_id=UNIT)
            di = await modbus.read_discrete_inputs(0, count=5, device_id=UNIT)
            ir = await modbus.read_input_registers(0, count=7, device_id=UNIT)
        finally:
            modbus.close()
    assert hr.registers == [2000, 5000, 0, 0]
    assert di.bits[:5] == [False, False, False, True, False]  # closed limit only
    assert ir.registers[:4] == [c.CLOSED, c.FAULT_NONE, 0, 0]


async def test_open_cycle_then_auto_close_after_loops_clear(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    host.hardware.arrival = True
    await open_coil(client)
    coils = await client.read_coils(0, count=3, device_id=UNIT)
    assert coils.bits[:3] == [False, False, False]  # latched and reset
    assert (await wait_for_state(client, c.OPEN))[0] == c.OPEN
    assert host.hardware.relay is True
    di = await client.read_discrete_inputs(0, count=5, device_id=UNIT)
    assert di.bits[:5] == [True, False, True, False, False]

    await asyncio.sleep(0.4)  # longer than HOLD_OPEN_MS, but the truck is still there
    assert (await read_state(client))[0] == c.OPEN
    host.hardware.arrival = False  # the truck has gone through
    assert (await wait_for_state(client, c.CLOSED))[0] == c.CLOSED
    assert host.hardware.relay is False

    ir = await client.read_input_registers(0, count=7, device_id=UNIT)
    assert (ir.registers[2] << 16) | ir.registers[3] == 1  # one open cycle
    assert 0 < ir.registers[4] < 2 * 150 + 100  # last motion took about the travel time


async def test_close_waits_for_safety_loop_and_closing_reverses(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    await client.write_register(c.HR_HOLD_OPEN_MS, 60000, device_id=UNIT)
    await open_coil(client)
    await wait_for_state(client, c.OPEN)
    host.hardware.safety = True  # truck under the barrier
    await client.write_coil(c.COIL_CLOSE_CMD, True, device_id=UNIT)
    await asyncio.sleep(0.3)
    assert (await read_state(client))[0] == c.OPEN  # close inhibited, not forgotten
    host.hardware.safety = False
    assert (await wait_for_state(client, c.CLOSING))[0] in (c.CLOSING, c.CLOSED)

    # While it closes, a vehicle rolls under it: the arm goes back up.
    await open_coil(client)
    await wait_for_state(client, c.OPEN)
    await client.write_coil(c.COIL_CLOSE_CMD, True, device_id=UNIT)
    await wait_for_state(client, c.CLOSING)
    host.hardware.safety = True
    assert (await wait_for_state(client, c.OPEN))[0] == c.OPEN
    host.hardware.safety = False


async def test_power_loss_closes_and_refuses_open_until_reset(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    await client.write_register(c.HR_HOLD_OPEN_MS, 60000, device_id=UNIT)
    await open_coil(client)
    await wait_for_state(client, c.OPEN)
    host.hardware.mains = False  # on UPS battery
    assert await wait_for_state(client, c.FAULT) == (c.FAULT, c.FAULT_POWER_LOSS)
    assert host.hardware.relay is False
    await asyncio.sleep(0.3)
    assert host.hardware.limit_closed()  # the arm fell closed

    await open_coil(client)  # refused: fail secure
    await client.write_coil(c.COIL_FAULT_RESET, True, device_id=UNIT)  # cause still there
    await asyncio.sleep(0.1)
    assert await read_state(client) == (c.FAULT, c.FAULT_POWER_LOSS)
    assert host.gate.controller.refused_opens == 1

    host.hardware.mains = True
    await client.write_coil(c.COIL_FAULT_RESET, True, device_id=UNIT)
    assert await wait_for_state(client, c.CLOSED) == (c.CLOSED, c.FAULT_NONE)
    await open_coil(client)
    assert (await wait_for_state(client, c.OPEN))[0] == c.OPEN


async def test_jammed_arm_is_a_limit_switch_timeout(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    host.hardware.arm.jammed = True
    await open_coil(client)
    assert await wait_for_state(client, c.FAULT) == (c.FAULT, c.FAULT_LIMIT_TIMEOUT)
    di = await client.read_discrete_inputs(0, count=5, device_id=UNIT)
    assert di.bits[4] is True
    assert host.hardware.relay is False


async def test_motor_overcurrent_faults(host: GateIoHost, client: AsyncModbusSerialClient) -> None:
    await open_coil(client)
    host.hardware.overcurrent = True
    assert await wait_for_state(client, c.FAULT) == (c.FAULT, c.FAULT_MOTOR_OVERCURRENT)
    host.hardware.overcurrent = False
    await client.write_coil(c.COIL_FAULT_RESET, True, device_id=UNIT)
    assert (await wait_for_state(client, c.CLOSED))[0] == c.CLOSED


async def test_stalled_main_loop_is_reset_by_the_watchdog(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    await client.write_registers(c.HR_HOLD_OPEN_MS, [60000, 1, 1], device_id=UNIT)
    await open_coil(client)
    await wait_for_state(client, c.OPEN)
    host.stall(0.6)  # longer than the 300 ms watchdog
    await asyncio.sleep(0.45)
    assert host.hardware.relay is False  # released by the reset, mid-stall
    await asyncio.sleep(0.3)
    assert host.resets == 1
    assert await read_state(client) == (c.FAULT, c.FAULT_WATCHDOG)
    hr = await client.read_holding_registers(0, count=4, device_id=UNIT)
    assert hr.registers == [150, 60000, 0, 0]  # timings kept in flash, forcing dropped
    await client.write_coil(c.COIL_FAULT_RESET, True, device_id=UNIT)
    assert (await wait_for_state(client, c.CLOSED))[0] == c.CLOSED


async def test_forced_loop_inputs(host: GateIoHost, client: AsyncModbusSerialClient) -> None:
    await client.write_registers(c.HR_FORCE_INPUTS, [0b11, 1], device_id=UNIT)
    di = await client.read_discrete_inputs(0, count=2, device_id=UNIT)
    assert di.bits[:2] == [True, True]
    await client.write_register(c.HR_FORCE_ENABLE, 0, device_id=UNIT)
    di = await client.read_discrete_inputs(0, count=2, device_id=UNIT)
    assert di.bits[:2] == [False, False]


async def test_counters_are_uint32_high_word_first(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    host.gate.controller.cycles = 70000
    rr = await client.read_input_registers(2, count=2, device_id=UNIT)  # IR 2-3: CYCLES
    assert rr.registers == [70000 >> 16, 70000 & 0xFFFF]


async def test_device_faults_come_back_as_modbus_exceptions(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    beyond = await client.read_input_registers(5, count=3, device_id=UNIT)
    assert beyond.isError() and beyond.exception_code == 2  # illegal data address
    bad_value = await client.write_register(c.HR_MOTION_TIME_MS, 5, device_id=UNIT)
    assert bad_value.isError() and bad_value.exception_code == 3  # illegal data value
    no_coil = await client.write_coil(7, True, device_id=UNIT)
    assert no_coil.isError() and no_coil.exception_code == 2
    hr = await client.read_holding_registers(0, count=1, device_id=UNIT)
    assert hr.registers == [150]  # the refused write changed nothing


async def test_another_unit_id_gets_no_answer(
    host: GateIoHost, client: AsyncModbusSerialClient
) -> None:
    with pytest.raises(ModbusIOException):
        await client.read_input_registers(0, count=1, device_id=7)
    assert (await read_state(client))[0] == c.CLOSED


def raw_exchange(port: str, request: bytes, wait_s: float = 0.15) -> bytes:
    with serial.Serial(port, baudrate=19200, timeout=wait_s) as line:
        line.write(request)
        return bytes(line.read(64))


def test_line_noise_is_dropped_counted_and_changes_nothing(
    host: GateIoHost, pty_pair: tuple[str, str]
) -> None:
    slave = host.gate.slave
    write_hold = bytes([UNIT, 6, 0, 1, 0x03, 0xE8])  # HOLD_OPEN_MS := 1000
    bad_crc = bytearray(with_crc(write_hold))
    bad_crc[-1] ^= 0xFF
    assert raw_exchange(pty_pair[1], bytes(bad_crc)) == b""
    assert raw_exchange(pty_pair[1], with_crc(write_hold)[:5]) == b""  # truncated
    assert raw_exchange(pty_pair[1], b"\x00\xff\x13garbage\x99") == b""
    assert slave.frames_bad_crc >= 1
    assert slave.bytes_dropped >= 5
    assert host.gate.controller.hold_open_ms == 5000

    # The line recovers: the next clean frame is answered (an echo for FC6).
    assert raw_exchange(pty_pair[1], with_crc(write_hold)) == with_crc(write_hold)
    assert host.gate.controller.hold_open_ms == 1000


def test_unknown_function_code_gets_illegal_function(
    host: GateIoHost, pty_pair: tuple[str, str]
) -> None:
    reply = raw_exchange(pty_pair[1], with_crc(bytes([UNIT, 0x2B, 0x0E, 0x01, 0x00])))
    assert reply == with_crc(bytes([UNIT, 0xAB, 0x01]))
