"""Stopping a background task: it really ends, and the caller's own cancellation stands.

`task.cancel()` then `with suppress(CancelledError): await task` is the common way
to stop a helper task, and it has two holes. When the caller is itself cancelled
while it waits (a lane shutting down, a test tearing down), the suppress swallows
that cancellation too, and the caller carries on as if nothing had asked it to stop
(a device session that should end goes on and opens its device again). And Python
3.11's `asyncio.wait_for` (inside aiomqtt and pymodbus) can swallow a cancellation
that lands just as the awaited reply arrives, so the task runs on.

Cancelling again only helps a task that is cancelled directly. A loop under an
`asyncio.TaskGroup` (the gate agent's bus session, a lane's device adapters) gets one
cancel, when the group aborts; the group absorbs every later cancel of its parent
while it waits for its children. So such a loop must end on that first cancel:
our own code times out with `within` (`asyncio.timeout`, which never loses a
cancel), and a loop that calls a library using `wait_for` checks
`raise_if_cancelling()` before it goes round again or reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


async def cancel_and_wait(task: asyncio.Future[Any], *, every_s: float = 1.0) -> None:
    """Cancel `task` (again every `every_s` while it runs on) and wait until it ends.

    Its CancelledError is the expected end; any other error it ends with is logged,
    not raised (closing must go on). If the caller is cancelled while it waits,
    `asyncio.wait` raises CancelledError as usual: nothing here swallows it.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=every_s)
    with contextlib.suppress(asyncio.CancelledError):
        error = task.exception()
        if error is not None:
            log.warning("a stopped task ended with an error: %r", error, exc_info=error)


def raise_if_cancelling() -> None:
    """Raise CancelledError if the current task was asked to stop and a callee lost it.

    `Task.cancelling()` still counts a cancel that `wait_for` swallowed (nothing
    takes it back), while the cancels that `asyncio.timeout` and a TaskGroup send
    for their own ends are taken back (`uncancel`) and no longer counted.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def within(awaitable: Awaitable[T], timeout_s: float | None) -> T:
    """`asyncio.wait_for(awaitable, timeout_s)` that never loses a cancel: TimeoutError
    past `timeout_s` (None: no limit), CancelledError whenever the task is cancelled."""
    async with asyncio.timeout(timeout_s):
        return await awaitable
