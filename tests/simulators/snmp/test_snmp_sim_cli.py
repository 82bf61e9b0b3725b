"""`corridor sim snmp` as a process: polled by the driver, and a link taken down on
its console arrives as a linkDown trap."""

from __future__ import annotations

import asyncio
import sys

from drivers.snmp import SnmpDevice, SnmpTarget, SwitchReading, TrapKind, TrapReceiver, TrapSettings


async def test_the_snmp_command_answers_polls_and_sends_traps() -> None:
    async with TrapReceiver(TrapSettings(port=0)) as receiver:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "corridor.commands.sim_devices",
            "snmp", "--profile", "switch", "--name", "sw-lane-2", "--port", "0",
            "--trap-to", f"127.0.0.1:{receiver.port}", "--duration", "30",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            banner = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert banner.startswith("SNMP switch sw-lane-2 on 127.0.0.1:")
            port = int(banner.split(":")[1].split()[0])
            target = SnmpTarget(name="sw-lane-2", kind="switch", host="127.0.0.1", port=port)
            async with SnmpDevice(target) as switch:
                proc.stdin.write(b"link 2 off\n")
                await proc.stdin.drain()
                await asyncio.wait_for(proc.stdout.readline(), 10)
                traps = receiver.traps()
                trap = await asyncio.wait_for(anext(traps), 10)
                await traps.aclose()
                reading = await switch.poll()
        finally:
            proc.terminate()
            await proc.wait()
    assert trap.kind == TrapKind.LINK_DOWN and trap.if_index == 2
    assert isinstance(reading, SwitchReading)
    assert [i.index for i in reading.links_down] == [2]
