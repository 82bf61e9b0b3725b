"""Stopping a background task: it really ends, and the caller's own cancellation stands.

`task.cancel()` then `with suppress(CancelledError): await task` is the common way
to stop a helper task, and it has two holes. When the caller is itself cancelled
while it waits (a lane shutting down, a test tearing down), the suppress swallows
that cancellation too, and the caller carries on as if nothing had asked it to stop
(a device session that should end goes on and opens its device again). And Python
3.11's `asyncio.wait_for` (inside aiomqtt and pymodbus) can swallow a cancellation
that lands just as the awaited reply arrives, so the task runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


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
