"""The edge's barrier driver (drivers/barrier, Modbus RTU) against the gate I/O
controller firmware running under CPython on the other end of a socat pty pair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from drivers.barrier import BarrierLinkError, BarrierPlc, FaultCode, PlcSettings, PlcState
from firmware.gate_io.host import GateIoHost


@pytest.fixture
def host(pty_pair: tuple[str, str]) -> Iterator[GateIoHost]:
    with GateIoHost(pty_pair[0], travel_s=0.15, wdt_timeout_ms=300) as running:
        yield running


@pytest.fixture
async def plc(host: GateIoHost, pty_pair: tuple[str, str]) -> AsyncIterator[BarrierPlc]:
    settings = PlcSettings(transport="rtu", serial_port=pty_pair[1], timeout_s=0.5, retries=0)
    async with BarrierPlc(settings) as connected:
        await connected.write_timing(motion_time_ms=150, hold_open_ms=300)
        yield connected


async def test_the_driver_reads_the_firmware_map(plc: BarrierPlc) -> None:
    status = await plc.read_status()
    assert status.state == PlcState.CLOSED and status.fault_code == FaultCode.NONE
    inputs = await plc.read_inputs()
    assert inputs.closed_limit and not inputs.open_limit and not inputs.fault
    assert await plc.read_config() == {
        "motion_time_ms": 150,
        "hold_open_ms": 300,
        "force_inputs": 0,
        "force_enable": 0,
    }
    probe = await plc.probe()
    assert probe.ok and "state closed" in probe.detail


async def test_open_cycle_through_the_driver(host: GateIoHost, plc: BarrierPlc) -> None:
    await plc.force_loops(arrival=True)
    assert (await plc.read_inputs()).arrival_loop
    await plc.open()
    status = await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)
    assert status.state == PlcState.OPEN and status.cycles == 1
    assert host.hardware.relay is True
    await plc.force_loops(arrival=None)  # the truck has passed: auto-close
    status = await plc.wait_for_state({PlcState.CLOSED}, timeout_s=3)
    # 150 ms of travel, measured by the controller's own loop: late ticks on a busy
    # machine add to it, so only its order of magnitude is checked.
    assert status.state == PlcState.CLOSED and 150 <= status.last_motion_ms < 1500


async def test_a_fault_comes_back_as_a_value_and_blocks_opening(
    host: GateIoHost, plc: BarrierPlc
) -> None:
    host.hardware.mains = False
    status = await plc.wait_for_state({PlcState.FAULT}, timeout_s=3)
    assert status.fault and status.fault_code == FaultCode.POWER_LOSS
    await plc.open()  # accepted on the wire, refused by the controller
    await asyncio.sleep(0.1)
    assert (await plc.read_status()).state == PlcState.FAULT
    assert not (await plc.probe()).ok

    host.hardware.mains = True
    await plc.reset_fault()
    status = await plc.wait_for_state({PlcState.CLOSED}, timeout_s=3)
    assert status.state == PlcState.CLOSED and not status.fault


async def test_watchdog_reset_seen_by_the_driver(host: GateIoHost, plc: BarrierPlc) -> None:
    host.stall(0.6)
    await asyncio.sleep(0.8)
    status = await plc.read_status()
    assert status.fault_code == FaultCode.WATCHDOG and host.resets == 1


async def test_a_refused_write_is_a_link_error_from_the_driver(plc: BarrierPlc) -> None:
    with pytest.raises(BarrierLinkError, match="refused"):
        await plc.write_timing(motion_time_ms=5, hold_open_ms=300)  # below the 100 ms floor


async def test_a_dead_line_is_a_link_error(host: GateIoHost, plc: BarrierPlc) -> None:
    host.stop()  # the controller is gone: nothing answers on the line
    with pytest.raises(BarrierLinkError, match="no valid answer"):
        await plc.read_status()
