"""The live feed of the console and the RRU page: an in-process fan-out of events.

Each subscriber has a bounded queue; one that falls behind is cut off (its page
reconnects and reloads), so a slow browser never holds central up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveEvent:
    kind: str  # alert, incident, positions, unit, decision, override
    data: dict[str, Any]
    unit_id: str | None = None  # the response unit an incident event concerns


@dataclass(eq=False)
class Subscriber:
    accepts: Callable[[LiveEvent], bool]
    queue: asyncio.Queue[LiveEvent | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    overflowed: bool = False


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: dict[str, Any], unit_id: str | None = None) -> None:
        event = LiveEvent(kind, data, unit_id)
        for subscriber in list(self._subscribers):
            if not subscriber.accepts(event):
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("a live subscriber fell behind; cutting it off")
                subscriber.overflowed = True
                self._subscribers.discard(subscriber)
                subscriber.queue.get_nowait()
                subscriber.queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(
        self, accepts: Callable[[LiveEvent], bool] = lambda _: True
    ) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(accepts)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every stream (central is stopping)."""
        for subscriber in list(self._subscribers):
            if subscriber.queue.full():
                subscriber.queue.get_nowait()
            subscriber.queue.put_nowait(None)
        self._subscribers.clear()
