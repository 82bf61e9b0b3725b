"""`corridor sim scanner` as a process: the driver connects to it, and a fault typed
on its console reaches the driver as a value."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from drivers.scanner import NiiScanner, ScannerFault, ScannerSettings


@pytest.fixture
async def sim_process() -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corridor.commands.sim_devices",
        "scanner", "--port", "0", "--scan-s", "0.1", "--duration", "30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        banner = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        yield proc, banner
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def test_the_scanner_command_serves_the_driver(
    sim_process: tuple[asyncio.subprocess.Process, str],
) -> None:
    proc, banner = sim_process
    assert banner.startswith("NII scanner on 127.0.0.1:")
    port = int(banner.rsplit(":", 1)[1])
    assert proc.stdin is not None and proc.stdout is not None
    async with NiiScanner(ScannerSettings(port=port, timeout_s=2)) as scanner:
        assert (await scanner.trigger(uuid4(), lane_id="L1")).accepted
        proc.stdin.write(b"fault conveyor_stopped\n")
        await proc.stdin.drain()
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == (
            b"fault conveyor_stopped"
        )
        stream = scanner.readings()
        events = [await asyncio.wait_for(anext(stream), 5) for _ in range(3)]
        await stream.aclose()
    faults = [e for e in events if isinstance(e, ScannerFault)]
    assert [f.code for f in faults] == ["conveyor_stopped"]

    proc.stdin.write(b"nonsense\n")
    await proc.stdin.drain()
    assert b"unknown command" in await asyncio.wait_for(proc.stdout.readline(), 10)
