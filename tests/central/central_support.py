"""Helpers for central's tests (imported by the tests and conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from central.app import create_app
from central.service import Central
from central.settings import CentralSettings, load_settings
from contract import bus, signing, topics
from contract.bus import BrokerSettings
from contract.messages import (
    Alert,
    FusedIdentifier,
    GateDecision,
    IdentifierKind,
    Message,
    Passage,
    Receipt,
    SealReading,
    utc_now,
)
from corridor.broker import Broker

HERE = Path(__file__).parent
SITE_FILE = HERE / "site.yaml"
BACKENDS = ["sqlite", "postgres"]


def central_settings(database_url: str, **overrides: Any) -> CentralSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "site_file": SITE_FILE,
        "mqtt": {"enabled": False},
    }
    values.update(overrides)
    return load_settings(None, **values)


class Running:
    """A started central with an HTTP client on its app (in process, real database)."""

    def __init__(self, central: Central, http: httpx.AsyncClient) -> None:
        self.central = central
        self.http = http


async def start_central(settings: CentralSettings) -> tuple[Central, httpx.AsyncClient]:
    app = create_app(settings)
    central: Central = app.state.central
    await central.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central")
    return central, http


CORRIDOR = Path(sys.executable).parent / "corridor"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(*args: str, timeout_s: float = 60) -> CliResult:
    """Run the installed `corridor` command as a separate process."""
    process = await asyncio.create_subprocess_exec(
        str(CORRIDOR), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


SITE_GATES = ["ct-vittoria", "ct-marisabella", "ct-parking", "ct-ac1", "ct-ac3", "ct-levante"]


def unsigned_passage(
    gate_id: str,
    lane_id: str = "lane-1",
    seals: list[SealReading] | None = None,
    *,
    closed_at: datetime | None = None,
    **identifiers: str,
) -> Passage:
    """A passage of `gate_id` with the given identifiers, e.g. plate="AB123CD", read
    over the two seconds before `closed_at` (now)."""
    at = closed_at or utc_now()
    return Passage(
        gate_id=gate_id,
        lane_id=lane_id,
        started_at=at - timedelta(seconds=2),
        closed_at=at,
        identifiers=[
            FusedIdentifier(
                kind=IdentifierKind(kind),
                value=value,
                confidence=0.97,
                sources=["cam-1"],
                reads=3,
            )
            for kind, value in identifiers.items()
        ],
        seals=seals or [],
    )


class GateBox:
    """Just enough of a gate box to drive central over the real broker: it publishes
    as its gate id and collects the decisions and receipts central sends it."""

    def __init__(self, settings: BrokerSettings, gate_id: str, key: Ed25519PrivateKey) -> None:
        self.gate_id = gate_id
        self.key = key
        self.settings = settings.model_copy(
            update={"client_id": f"{gate_id}-{uuid.uuid4().hex[:6]}"}
        )
        self.decisions: asyncio.Queue[GateDecision] = asyncio.Queue()
        self.receipts: asyncio.Queue[Receipt] = asyncio.Queue()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> GateBox:
        self.client = await self._stack.enter_async_context(bus.client(self.settings))
        await self.client.subscribe(topics.gate_commands(self.gate_id), qos=1)
        await self.client.subscribe(topics.gate_receipts(self.gate_id), qos=1)
        self._reader = asyncio.create_task(self._read(), name=f"test-gate-{self.gate_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._stack.aclose()

    async def _read(self) -> None:
        async for message in self.client.messages:
            payload = bytes(message.payload)
            if str(message.topic).endswith("/commands"):
                await self.decisions.put(GateDecision.model_validate_json(payload))
            else:
                await self.receipts.put(Receipt.model_validate_json(payload))

    def passage(
        self,
        lane_id: str = "lane-1",
        sign: bool = True,
        seals: list[SealReading] | None = None,
        **identifiers: str,
    ) -> Passage:
        """A passage with the given identifiers, e.g. plate="AB123CD", container="..."."""
        passage = unsigned_passage(self.gate_id, lane_id, seals, **identifiers)
        return signing.sign(passage, self.key, self.gate_id) if sign else passage

    async def send(self, message: Message, topic: str | None = None) -> None:
        kind = "passages" if isinstance(message, Passage) else "events"
        await self.publish(topic or f"{topics.ROOT}/gates/{self.gate_id}/{kind}", message.to_json())

    async def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        await self.client.publish(topic, payload, qos=1, retain=retain)

    async def next_decision(self, timeout_s: float = 15) -> GateDecision:
        return await asyncio.wait_for(self.decisions.get(), timeout_s)

    async def receipt_for(self, message_id: uuid.UUID, timeout_s: float = 15) -> Receipt:
        """The first receipt naming `message_id` (skipping others)."""
        async with asyncio.timeout(timeout_s):
            while True:
                receipt = await self.receipts.get()
                if message_id in receipt.message_ids:
                    return receipt


class Live(Running):
    """A started central connected to the broker, and how to act as its gate boxes."""

    def __init__(
        self,
        central: Central,
        http: httpx.AsyncClient,
        broker: Broker,
        gate_keys: dict[str, Ed25519PrivateKey],
        central_public_key: Ed25519PublicKey,
        settings: CentralSettings,
    ) -> None:
        super().__init__(central, http)
        self.broker = broker
        self.gate_keys = gate_keys
        self.central_public_key = central_public_key
        self.settings = settings

    async def wait_connected(self, timeout_s: float = 15) -> None:
        assert self.central.ingest is not None
        await asyncio.wait_for(self.central.ingest.ready.wait(), timeout_s)

    async def restart(self) -> None:
        """Start a new central on the same settings (database, MQTT client id)."""
        await self.http.aclose()
        self.central, self.http = await start_central(self.settings)
        await self.wait_connected()

    def gate(self, gate_id: str) -> GateBox:
        return GateBox(self.broker.settings(gate_id), gate_id, self.gate_keys[gate_id])

    def alerts(self) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Alert]]:
        return alert_listener(self.broker)


@contextlib.asynccontextmanager
async def alert_listener(broker: Broker) -> AsyncIterator[asyncio.Queue[Alert]]:
    """Alerts central publishes, read as the telematics user (which may read alerts/#)."""
    queue: asyncio.Queue[Alert] = asyncio.Queue()
    settings = broker.settings("telematics", client_id=f"alerts-{uuid.uuid4().hex[:6]}")
    async with bus.client(settings) as client:
        await client.subscribe(topics.ALL_ALERTS, qos=1)

        async def read() -> None:
            async for message in client.messages:
                await queue.put(Alert.model_validate_json(bytes(message.payload)))

        reader = asyncio.create_task(read(), name="test-alert-listener")
        try:
            yield queue
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
