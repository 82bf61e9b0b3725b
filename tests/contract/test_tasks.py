"""cancel_and_wait: the task ends, and a cancellation of the caller is never swallowed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from contract.tasks import cancel_and_wait


async def slow_to_stop(cleaned: asyncio.Event) -> None:
    """A task that needs a moment to clean up when it is cancelled (a stream to close)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(0.2)
        cleaned.set()
        raise


async def test_the_task_is_cancelled_and_waited_for() -> None:
    cleaned = asyncio.Event()
    task = asyncio.create_task(slow_to_stop(cleaned))
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and cleaned.is_set()


async def test_an_error_the_task_ends_with_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails_on_stop() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("stream would not close") from None

    task = asyncio.create_task(fails_on_stop())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.done() and not task.cancelled()
    assert "stream would not close" in caplog.text


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


async def closer(task: asyncio.Task[None], after: list[str], stop: object) -> None:
    await stop(task)  # type: ignore[operator]
    after.append("carried on")


async def suppressing_stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("stop", "swallowed"), [(cancel_and_wait, False), (suppressing_stop, True)]
)
async def test_the_callers_own_cancellation_stands(stop: object, swallowed: bool) -> None:
    # The caller is cancelled while it waits for the helper task to clean up. The
    # usual suppress() loses that cancellation (shown here, as the reason for the
    # helper); cancel_and_wait does not.
    inner = asyncio.create_task(slow_to_stop(asyncio.Event()))
    await asyncio.sleep(0)
    after: list[str] = []
    outer = asyncio.create_task(closer(inner, after, stop))
    await asyncio.sleep(0.05)  # the caller is now waiting for the inner task
    outer.cancel()
    await asyncio.gather(outer, return_exceptions=True)
    assert outer.cancelled() is not swallowed
    assert (after == ["carried on"]) is swallowed
    await asyncio.wait({inner}, timeout=2)  # asked to stop, it ends on its own
    assert inner.cancelled()
