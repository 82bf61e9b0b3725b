"""The barrier driver against the simulated controller over real Modbus TCP."""

from __future__ import annotations

import asyncio

import pytest

from corridor.broker import free_port
from drivers.barrier import BarrierLinkError, BarrierPlc, FaultCode, PlcSettings, PlcState
from simulators.barrier import BarrierModel, BarrierPlcSim


def quick() -> BarrierModel:
    return BarrierModel(motion_time_ms=200, hold_open_ms=300, drive_off_s=0.05, crossing_s=0.1)


async def test_open_cycle_vehicle_through_and_close_behind_it() -> None:
    port = free_port()
    async with (
        BarrierPlcSim(port=port, model=quick()) as sim,
        BarrierPlc(PlcSettings(port=port)) as plc,
    ):
        sim.model.vehicle_arrives("T1")
        inputs = await plc.read_inputs()
        assert inputs.arrival_loop and inputs.closed_limit and not inputs.open_limit
        await plc.open()
        status = await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)
        assert status.state == PlcState.OPEN and status.cycles == 1
        assert (await plc.read_inputs()).open_limit
        closed = await plc.wait_for_state({PlcState.CLOSED}, timeout_s=5, poll_s=0.02)
        assert closed.state == PlcState.CLOSED
        assert sim.model.passed == ["T1"]
        assert closed.last_motion_ms == 200


async def test_the_arm_reverses_when_a_vehicle_is_under_it() -> None:
    port = free_port()
    async with (
        BarrierPlcSim(port=port, model=quick()) as sim,
        BarrierPlc(PlcSettings(port=port)) as plc,
    ):
        await plc.open()
        await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)
        await plc.close()
        await plc.wait_for_state({PlcState.CLOSING}, timeout_s=1, poll_s=0.01)
        await plc.force_loops(arrival=False, safety=True)  # a car under the arm
        reopened = await plc.wait_for_state({PlcState.OPEN, PlcState.OPENING}, timeout_s=1)
        assert reopened.state in (PlcState.OPEN, PlcState.OPENING)
        assert sim.model.position > 0


async def test_a_faulted_controller_refuses_to_open_until_reset() -> None:
    port = free_port()
    async with (
        BarrierPlcSim(port=port, model=quick()) as sim,
        BarrierPlc(PlcSettings(port=port)) as plc,
    ):
        sim.model.inject_fault(FaultCode.MOTOR_OVERCURRENT, at_next_motion=True)
        await plc.open()
        status = await plc.read_status()
        assert status.fault and status.fault_code == FaultCode.MOTOR_OVERCURRENT
        assert (await plc.read_inputs()).closed_limit  # fail secure: the arm is down
        await plc.open()
        assert sim.model.refused_commands == 1
        assert (await plc.read_status()).state == PlcState.FAULT
        await plc.reset_fault()
        await plc.open()
        assert (await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)).state == PlcState.OPEN


async def test_power_loss_drops_the_arm_and_is_reported_as_a_value() -> None:
    port = free_port()
    async with (
        BarrierPlcSim(port=port, model=quick()) as sim,
        BarrierPlc(PlcSettings(port=port)) as plc,
    ):
        await plc.open()
        await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)
        sim.model.inject_fault(FaultCode.POWER_LOSS)
        status = await plc.read_status()
        assert status.state == PlcState.FAULT and status.fault_code == FaultCode.POWER_LOSS
        assert (await plc.probe()).ok is False


async def test_out_of_range_settings_are_refused_and_change_nothing() -> None:
    port = free_port()
    async with BarrierPlcSim(port=port, model=quick()), BarrierPlc(PlcSettings(port=port)) as plc:
        before = await plc.read_config()
        with pytest.raises(BarrierLinkError, match="refused"):
            await plc.write_timing(motion_time_ms=5, hold_open_ms=100)
        assert await plc.read_config() == before
        await plc.write_timing(motion_time_ms=1500, hold_open_ms=4000)
        assert (await plc.read_config())["motion_time_ms"] == 1500


async def test_a_dead_controller_is_a_link_error() -> None:
    port = free_port()
    plc = BarrierPlc(PlcSettings(port=port, timeout_s=0.3, retries=0))
    with pytest.raises(BarrierLinkError):
        await plc.connect()
    sim = BarrierPlcSim(port=port, model=quick())
    await sim.start()
    try:
        await plc.connect()
        assert (await plc.read_status()).state == PlcState.CLOSED
    finally:
        await sim.stop()
    await asyncio.sleep(0.2)
    with pytest.raises(BarrierLinkError):
        await plc.read_status()
    plc.close_link()
