"""Helpers the edge tests share: wait for a condition, run a long-lived task for a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from contract.tasks import cancel_and_wait


async def until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(
    run: Callable[[], Awaitable[object]], ready: Callable[[], object] | None = None
) -> AsyncIterator[None]:
    """`run()` as a task for the block (once `ready()` holds), cancelled after it."""
    task = asyncio.create_task(run())
    try:
        if ready is not None:
            await until(ready)
        yield
    finally:
        await cancel_and_wait(task)


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(1 for r in caplog.records if text in r.getMessage())
