"""`corridor sim eseal` as a process: the driver opens its pty, and a shackle cut on
its console shows in the seal's signed status."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from contract.messages import SealState
from corridor.commands.sim_devices import DEMO_ISSUER_KEY
from drivers.eseal import EsealReader, EsealSettings, derive_tag_key


async def test_the_eseal_command_serves_the_driver(tmp_path: Path) -> None:
    link = tmp_path / "eseal-reader"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corridor.commands.sim_devices",
        "eseal", "--node-id", "KHI-EAST-1", "--seal", "ES0000777", "--link", str(link),
        "--duration", "30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    keys = {"ES0000777": derive_tag_key(DEMO_ISSUER_KEY.encode(), "ES0000777")}
    try:
        banner = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert banner.startswith(f"e-seal reader (node KHI-EAST-1) on {link} -> /dev/pts/")
        settings = EsealSettings(port=str(link), timeout_s=2, poll_interval_s=None)
        async with EsealReader(settings, keys=keys) as reader:
            assert reader.info is not None and reader.info.node_id == "KHI-EAST-1"
            before = await reader.read_status("ES0000777")
            proc.stdin.write(b"cut ES0000777\n")
            await proc.stdin.drain()
            assert b"shackle cut" in await asyncio.wait_for(proc.stdout.readline(), 10)
            await asyncio.sleep(0.2)
            after = await reader.read_status("ES0000777")
    finally:
        proc.terminate()
        await proc.wait()
    assert before is not None and before.verified and before.state == SealState.SEALED
    assert after is not None and after.state == SealState.OPENED  # unarmed: the loop as it is
