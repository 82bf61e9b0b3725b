"""Fixtures of the monitoring centre's tests (the database ones come from tests/central)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from central_support import Live, central_settings, start_central
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from monitoring_support import Monitored

from central.monitoring.clock import ManualClock
from contract.messages import utc_now
from contract.signing import load_public_key
from corridor.broker import Broker

LEGACY = "a-customs-token-from-the-old-settings"  # an api_tokens entry: a customs system
# Two gates of the test site get places, so alerts raised there have a location.
GATE_PLACES = {"ct-marisabella": (16.8620, 41.1340), "ct-vittoria": (16.8590, 41.1352)}
UNITS = [
    {"unit_id": "rru-a", "name": "Unit A", "base_lat": 41.1300, "base_lon": 16.8600},
    {"unit_id": "rru-b", "name": "Unit B", "base_lat": 41.2000, "base_lon": 16.9500},
]


async def start_monitored(
    database_url: str, central: dict[str, Any] | None = None, **monitoring: Any
) -> Monitored:
    """`central`: other central settings (api_tokens...); the rest: monitoring settings."""
    settings = central_settings(
        database_url,
        monitoring={
            "poll_interval_s": 3600,  # the test runs the rounds (Monitored.passage, step())
            "gate_locations": GATE_PLACES,
            "units": UNITS,
            **monitoring,
        },
        **(central or {}),
    )
    central, http = await start_central(settings)
    clock = ManualClock(utc_now())
    central.monitoring.clock = clock
    return Monitored(central, http, clock)


@pytest.fixture
async def monitored_factory(
    fresh_database_url: Callable[[str], Awaitable[str]],
) -> AsyncIterator[Callable[..., Awaitable[Monitored]]]:
    """Call with a backend ("sqlite", "postgres") and monitoring settings."""
    started: list[Monitored] = []

    async def make(backend: str = "sqlite", **monitoring: Any) -> Monitored:
        result = await start_monitored(await fresh_database_url(backend), **monitoring)
        started.append(result)
        return result

    yield make
    for m in started:
        await m.http.aclose()
        await m.central.stop()


@pytest.fixture
async def monitored(monitored_factory: Callable[..., Awaitable[Monitored]]) -> Monitored:
    """Central on SQLite, open mode (no users), monitoring clock in the test's hand."""
    return await monitored_factory()


@pytest.fixture
async def closed(monitored_factory: Callable[..., Awaitable[Monitored]]) -> Monitored:
    """Central with a user and token per role, and a legacy api_tokens entry."""
    m = await monitored_factory(central={"api_tokens": {"customs-legacy": LEGACY}})
    await m.add_users(password="correct horse battery")
    m.tokens["legacy"] = LEGACY
    return m


@pytest.fixture(params=["sqlite", "postgres"])
async def monitored_both(
    request: pytest.FixtureRequest, monitored_factory: Callable[..., Awaitable[Monitored]]
) -> Monitored:
    return await monitored_factory(request.param)


@pytest.fixture
async def monitored_live(
    site_broker: Broker,
    gate_keys: tuple[Path, dict[str, Ed25519PrivateKey]],
    central_key: tuple[Path, Path],
    fresh_database_url: Callable[[str], Awaitable[str]],
) -> AsyncIterator[Live]:
    """Central on the real broker (SQLite), its monitoring loop running every 0.1 s.
    The response units rru-a and rru-b have broker users of their own (their devices)."""
    for unit in ("rru-a", "rru-b"):
        site_broker.add_gate(unit)  # one credential per device; the ACL patterns do the rest
    keys_dir, keys = gate_keys
    mqtt = site_broker.settings("central", client_id=f"central-{uuid.uuid4().hex[:8]}")
    settings = central_settings(
        await fresh_database_url("sqlite"),
        mqtt=mqtt.model_dump() | {"enabled": True},
        signing={"private_key_file": central_key[0], "key_id": "central"},
        gate_keys_dir=keys_dir,
        monitoring={"poll_interval_s": 0.1, "gate_locations": GATE_PLACES, "units": UNITS},
    )
    central, http = await start_central(settings)
    live = Live(central, http, site_broker, keys, load_public_key(central_key[1]), settings)
    try:
        await live.wait_connected()
        await asyncio.wait_for(central.monitoring.connected.wait(), 15)
        yield live
    finally:
        await live.http.aclose()
        await live.central.stop()
