"""Stream helpers for the GNSS transport tests: play a receiver, collect fixes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import serial_asyncio_fast

from drivers.gnss import Fix


async def write_lines(port: str, lines: list[bytes], pause_s: float = 0.0) -> None:
    """Play the part of a receiver: write lines into one end of the pty pair."""
    _, writer = await serial_asyncio_fast.open_serial_connection(url=port, baudrate=9600)
    try:
        for line in lines:
            writer.write(line)
            await writer.drain()
            if pause_s:
                await asyncio.sleep(pause_s)
    finally:
        writer.close()


async def collect(fixes: AsyncIterator[Fix], count: int, timeout_s: float = 10.0) -> list[Fix]:
    got: list[Fix] = []

    async def run() -> None:
        async for fix in fixes:
            got.append(fix)
            if len(got) == count:
                return

    await asyncio.wait_for(run(), timeout_s)
    return got


def log_lines(log: Path) -> list[bytes]:
    return [
        line.rstrip(b"\r\n") + b"\r\n"
        for line in log.read_bytes().splitlines()
        if line.strip() and not line.startswith(b"#")
    ]
