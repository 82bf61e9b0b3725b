"""The live feed (server-sent events): alerts, incidents, unit positions, response units,
gate decisions. An RRU user receives only its own unit's incidents and unit updates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.roles import Role
from central.auth.service import Principal
from central.monitoring.live import LiveEvent
from central.monitoring.web import MonitoringDep
from contract.messages import utc_now

router = APIRouter(prefix="/live", tags=["live"])

Viewer = Annotated[Principal, Depends(require(P.LIVE_READ))]
RRU_KINDS = {"incident", "unit"}


def _filter(principal: Principal) -> Any:
    if principal.role is Role.RRU:
        unit = principal.unit_id
        return lambda event: event.kind in RRU_KINDS and event.unit_id == unit
    return lambda event: True


@router.get("", response_class=EventSourceResponse)
async def live(request: Request, monitoring: MonitoringDep, principal: Viewer) -> Any:
    """`text/event-stream`: a `hello` event, then `alert`, `incident`, `positions`, `unit`,
    `decision` events with JSON data. Reload state on (re)connect."""

    async def events() -> AsyncIterator[dict[str, str]]:
        async with monitoring.hub.subscribe(_filter(principal)) as subscriber:
            hello = {"at": utc_now().isoformat(), "open_mode": principal.open_mode}
            yield {"event": "hello", "data": json.dumps(hello)}
            while True:
                event: LiveEvent | None = await subscriber.queue.get()
                if event is None or await request.is_disconnected():
                    return
                yield {"event": event.kind, "data": json.dumps(event.data)}

    return EventSourceResponse(events(), ping=15)
