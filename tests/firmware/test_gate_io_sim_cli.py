"""`corridor sim gate-io` as a process: the firmware on a pty of its own, driven by
the edge's barrier driver, with a loop input set from its console."""

from __future__ import annotations

import asyncio
import sys

from drivers.barrier import BarrierPlc, PlcSettings, PlcState


async def test_the_gate_io_command_serves_the_barrier_driver() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corridor.commands.sim_devices",
        "gate-io", "--travel-s", "0.1", "--duration", "30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        banner = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        port = banner.rsplit(" on ", 1)[1]
        settings = PlcSettings(transport="rtu", serial_port=port, timeout_s=1, retries=1)
        async with BarrierPlc(settings) as plc:
            proc.stdin.write(b"arrival on\n")
            await proc.stdin.drain()
            await asyncio.wait_for(proc.stdout.readline(), 10)
            inputs = await plc.read_inputs()
            await plc.write_timing(motion_time_ms=100, hold_open_ms=5000)
            await plc.open()
            status = await plc.wait_for_state({PlcState.OPEN}, timeout_s=3)
    finally:
        proc.terminate()
        await proc.wait()
    assert inputs.arrival_loop and not inputs.safety_loop
    assert status.state == PlcState.OPEN and status.cycles == 1
