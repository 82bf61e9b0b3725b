"""The live feed (server-sent events) over a real HTTP server: operators get every event,
an RRU only its own unit's incidents, roles without live:read nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from monitoring_support import Monitored, Server

from central.app import create_app
from contract.tasks import cancel_and_wait


@asynccontextmanager
async def stream(url: str, token: str) -> AsyncIterator[asyncio.Queue[tuple[str, Any]]]:
    """Read the live feed in the background; events land in the queue as (kind, data)."""
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    opened = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(timeout=None) as http,
            http.stream(
                "GET", f"{url}/api/v1/live", headers={"Authorization": f"Bearer {token}"}
            ) as response,  # fmt: skip
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    await events.put((kind, json.loads(line[5:])))
                    opened.set()

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(opened.wait(), 10)
        assert (await events.get())[0] == "hello"
        yield events
    finally:
        await cancel_and_wait(reader)


async def next_of(events: asyncio.Queue[tuple[str, Any]], kind: str) -> Any:
    while True:
        got, data = await asyncio.wait_for(events.get(), 10)
        if got == kind:
            return data


@pytest.fixture
async def served(closed: Monitored) -> AsyncIterator[tuple[Monitored, str]]:
    app = create_app(closed.central.settings)
    app.state.central = closed.central  # the started central (its lifespan is not run twice)
    async with Server(app) as server:
        yield closed, server.url


async def test_operators_see_alerts_and_incidents_as_they_come(
    served: tuple[Monitored, str],
) -> None:
    m, url = served
    async with stream(url, m.tokens["operator"]) as events:
        await m.movement("AB123CD")
        await m.passage("ct-marisabella", plate="AB123CD")
        alert = await next_of(events, "alert")
        assert (alert["rule"], alert["status"]) == ("mission_path_violation", "open")
        incident = await next_of(events, "incident")
        await m.ok("POST", f"/api/v1/alerts/{alert['alert_id']}/acknowledge", "operator")
        acknowledged = await next_of(events, "alert")
        assert (acknowledged["alert_id"], acknowledged["status"]) == (
            alert["alert_id"],
            "acknowledged",
        )
        await m.fix("trk-1", 41.1, 16.8)
        await m.monitoring.step()
        positions = await next_of(events, "positions")
        assert [u["device_id"] for u in positions["units"]] == ["trk-1"]
    assert incident["status"] == "open"


async def test_an_rru_stream_carries_only_its_own_incidents(served: tuple[Monitored, str]) -> None:
    m, url = served
    await m.movement("AA111AA")
    await m.movement("BB222BB")
    await m.passage("ct-marisabella", plate="AA111AA")
    await m.passage("ct-marisabella", plate="BB222BB")
    first, second = sorted(await m.incidents("operator"), key=lambda i: i["title"])
    async with stream(url, m.tokens["rru"]) as events:  # the rru user belongs to rru-a
        await m.ok("POST", f"/api/v1/incidents/{first['incident_id']}/dispatch", "operator",
                   {"unit_id": "rru-b"})  # fmt: skip
        await m.ok("POST", f"/api/v1/incidents/{second['incident_id']}/dispatch", "operator",
                   {"unit_id": "rru-a"})  # fmt: skip
        kind, data = await asyncio.wait_for(events.get(), 10)
        # the first dispatch (to rru-b) and its unit update never reach rru-a's stream
        assert kind == "incident" and data["incident_id"] == second["incident_id"]
        assert data["unit_id"] == "rru-a"
        kind, data = await asyncio.wait_for(events.get(), 10)
        assert (kind, data["unit_id"], data["status"]) == ("unit", "rru-a", "busy")


async def test_roles_without_live_read_are_refused(served: tuple[Monitored, str]) -> None:
    m, url = served
    async with httpx.AsyncClient() as http:
        refused = await http.get(f"{url}/api/v1/live", headers=m.auth("customs"))
        anonymous = await http.get(f"{url}/api/v1/live")
    assert (refused.status_code, anonymous.status_code) == (403, 401)
