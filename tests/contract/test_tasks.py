"""cancel_and_wait: the task ends, and a cancellation of the caller is never swallowed.
within and raise_if_cancelling: a loop ends on the one cancel a TaskGroup sends it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from contract.tasks import cancel_and_wait, raise_if_cancelling, within


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


async def test_within_keeps_a_cancel_that_lands_with_the_answer() -> None:
    # Python 3.11's wait_for returns the answer here and the cancel is lost.
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(within(answer, 5))
    await asyncio.sleep(0)
    answer.set_result("frame")
    task.cancel()
    await asyncio.wait({task}, timeout=2)
    assert task.cancelled()


async def test_within_times_out_like_wait_for() -> None:
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.05)
    assert await within(asyncio.sleep(0, "frame"), None) == "frame"


async def test_a_loop_ends_on_a_cancel_that_a_callee_lost() -> None:
    rounds = 0

    async def poll_for_ever() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            with contextlib.suppress(asyncio.CancelledError):  # a library's wait_for
                await asyncio.sleep(10)
            raise_if_cancelling()

    task = asyncio.create_task(poll_for_ever())
    await asyncio.sleep(0)
    task.cancel()  # once, as a TaskGroup does
    await asyncio.wait({task}, timeout=2)
    assert task.cancelled() and rounds == 1


async def test_a_cancel_taken_back_is_not_a_stop() -> None:
    async def carries_on() -> str:
        with contextlib.suppress(TimeoutError):
            await within(asyncio.Event().wait(), 0.01)  # its own cancel, taken back
        raise_if_cancelling()
        return "polled again"

    assert await carries_on() == "polled again"
