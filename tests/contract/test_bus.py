"""Helpers of the bus wrapper that do not need a broker."""

from __future__ import annotations

import asyncio

from contract.bus import backoff_s, cancel_and_wait


async def test_cancel_and_wait_ends_a_task_that_swallowed_a_cancel() -> None:
    swallowed = 0

    async def stubborn() -> None:
        # What Python 3.11's wait_for can do when the reply lands with the cancel.
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed >= 2:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task, every_s=0.05), 5)
    assert task.cancelled() and swallowed == 2


def test_backoff_is_jittered_and_capped() -> None:
    delays = [backoff_s(attempt, base_s=0.5, cap_s=4.0) for attempt in range(12) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jitter: a fleet does not retry in step
