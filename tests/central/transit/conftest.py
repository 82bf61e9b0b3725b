"""Central with the transit side on the synthetic test road (transit_support), a manual
clock, on a real database; with or without the MQTT ingest on the suite's broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from central_support import central_settings, start_central
from transit_support import T0, collection

from central.service import Central
from central.settings import CentralSettings
from contract import topics
from contract.messages import PositionFix
from corridor.broker import Broker


class TransitCentral:
    """A started central, its HTTP client, and shortcuts for transit tests."""

    def __init__(
        self, central: Central, http: httpx.AsyncClient, settings: CentralSettings
    ) -> None:
        self.central, self.http, self.settings = central, http, settings

    @property
    def pipeline(self):  # type: ignore[no-untyped-def]
        assert self.central.transit is not None
        return self.central.transit.pipeline

    async def movement(self, *, status: str = "cleared", seals: list[str] | None = None) -> str:
        """A declaration and a movement for it; returns the iot_id."""
        declaration = f"D-{uuid.uuid4().hex[:8]}"
        r = await self.http.post(
            "/api/v1/declarations", json={"declaration_id": declaration, "status": status}
        )
        assert r.status_code == 201, r.text
        r = await self.http.post(
            "/api/v1/movements",
            json={
                "declaration_id": declaration,
                "process": "export-container-ship",
                "plate": f"KC{uuid.uuid4().hex[:5]}",
                "seals": seals or [],
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["iot_id"])

    async def bind(self, iot_id: str, tracker: str, **extra: Any) -> httpx.Response:
        body = {"trackers": [tracker], "corridor_id": "test-road", "nodes": ["depot"], **extra}
        return await self.http.put(f"/api/v1/movements/{iot_id}/transit", json=body)

    async def send(self, fix: PositionFix) -> None:
        """Through the transit pipeline in process, as the MQTT ingest would."""
        await self.pipeline.handle(topics.unit_positions(fix.device_id), fix.to_json())

    async def set_clock(self, at: Any) -> httpx.Response:
        return await self.http.put("/api/v1/transit/clock", json={"now": _iso(at)})

    async def alerts(self, rule: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 1000} | ({"rule": rule} if rule else {})
        r = await self.http.get("/api/v1/alerts", params=params)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def stop(self) -> None:
        await self.http.aclose()
        await self.central.stop()


def _iso(at: Any) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="session")
def test_road(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("transit-fences") / "test-road.geojson"
    path.write_text(json.dumps(collection(stop_after_s=1200)))
    return path


def transit_settings(database_url: str, test_road: Path, **overrides: Any) -> CentralSettings:
    transit = {"fences": [str(test_road)], "clock": {"mode": "manual", "start": _iso(T0)}}
    transit |= overrides.pop("transit", {})
    return central_settings(database_url, transit=transit, **overrides)


StartTransit = Callable[..., Awaitable[TransitCentral]]


@pytest.fixture
async def start_transit(test_road: Path) -> AsyncIterator[StartTransit]:
    """Call with a database URL (and settings overrides): a started central; stopped after."""
    started: list[TransitCentral] = []

    async def start(database_url: str, **overrides: Any) -> TransitCentral:
        settings = transit_settings(database_url, test_road, **overrides)
        central, http = await start_central(settings)
        running = TransitCentral(central, http, settings)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.central.transit is not None and not running.http.is_closed:
            await running.stop()


@pytest.fixture
async def transit(start_transit: StartTransit, database_url: str) -> TransitCentral:
    """On each backend in turn."""
    return await start_transit(database_url)


@pytest.fixture
async def transit_sqlite(
    start_transit: StartTransit, fresh_database_url: Callable[[str], Awaitable[str]]
) -> TransitCentral:
    return await start_transit(await fresh_database_url("sqlite"))


@pytest.fixture
async def transit_live(
    start_transit: StartTransit,
    broker: Broker,
    fresh_database_url: Callable[[str], Awaitable[str]],
) -> TransitCentral:
    """With the MQTT ingest on the suite's broker (as user `central`)."""
    mqtt = broker.settings("central", client_id=f"central-{uuid.uuid4().hex[:8]}")
    running = await start_transit(
        await fresh_database_url("sqlite"), mqtt=mqtt.model_dump() | {"enabled": True}
    )
    assert running.central.ingest is not None
    await asyncio.wait_for(running.central.ingest.ready.wait(), 15)
    return running
