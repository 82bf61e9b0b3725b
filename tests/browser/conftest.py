"""Browser tests: central served by uvicorn on a free port (real broker, real SQLite),
driven through Debian's Chromium by Playwright. A failing test leaves a screenshot of
every page it opened under test-artifacts/browser/ (git-ignored)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from central.app import create_app
from central.service import Central
from central.settings import load_settings
from contract import bus, signing, topics
from contract.messages import FusedIdentifier, GateDecision, IdentifierKind, Passage, utc_now
from contract.tasks import cancel_and_wait
from corridor.broker import Broker, free_port

REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "tests" / "central" / "site.yaml"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GATES = ["ct-vittoria", "ct-marisabella"]
UNITS = [
    {"unit_id": "rru-a", "name": "Unit A", "base_lat": 41.1300, "base_lon": 16.8600},
    {"unit_id": "rru-b", "name": "Unit B", "base_lat": 41.2000, "base_lon": 16.9500},
]


@dataclass(frozen=True)
class GateKeys:
    directory: Path
    private: dict[str, Any]


@dataclass
class Served:
    url: str
    central: Central
    broker: Broker
    gate_keys: GateKeys
    api: httpx.AsyncClient
    pages: list[Page] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def gate(self, gate_id: str) -> AsyncIterator[GateBox]:
        box = GateBox(self, gate_id)
        async with box:
            yield box


class GateBox:
    """A gate box as far as central can tell: its own broker user, signed passages."""

    def __init__(self, served: Served, gate_id: str) -> None:
        self.gate_id = gate_id
        self.key = served.gate_keys.private[gate_id]
        self.settings = served.broker.settings(gate_id, f"{gate_id}-{uuid.uuid4().hex[:6]}")
        self.decisions: asyncio.Queue[GateDecision] = asyncio.Queue()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> GateBox:
        self.client = await self._stack.enter_async_context(bus.client(self.settings))
        await self.client.subscribe(topics.gate_commands(self.gate_id), qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(self._reader)
        await self._stack.aclose()

    async def _read(self) -> None:
        async for message in self.client.messages:
            await self.decisions.put(GateDecision.model_validate_json(bytes(message.payload)))  # type: ignore[arg-type]

    async def passage(self, plate: str, lane_id: str = "lane-1") -> Passage:
        now = utc_now()
        passage = Passage(
            gate_id=self.gate_id,
            lane_id=lane_id,
            started_at=now,
            closed_at=now,
            identifiers=[
                FusedIdentifier(
                    kind=IdentifierKind.PLATE,
                    value=plate,
                    confidence=0.96,
                    sources=["cam-1"],
                    reads=3,
                )
            ],
        )
        signed = signing.sign(passage, self.key, self.gate_id)
        await self.client.publish(topics.gate_passages(self.gate_id), signed.to_json(), qos=1)
        return signed

    async def next_decision(self, timeout_s: float = 15) -> GateDecision:
        return await asyncio.wait_for(self.decisions.get(), timeout_s)


@contextlib.asynccontextmanager
async def serve(
    broker: Broker, tmp: Path, gate_keys: GateKeys, **extra: Any
) -> AsyncIterator[Served]:
    signing.generate_keypair(tmp / "central.key", tmp / "central.pub")
    for gate_id in GATES:
        broker.add_gate(gate_id)
    mqtt = broker.settings("central", client_id=f"central-browser-{uuid.uuid4().hex[:6]}")
    settings = load_settings(
        None,
        database_url=f"sqlite+aiosqlite:///{tmp / 'central.db'}",
        site_file=SITE_FILE,
        mqtt=mqtt.model_dump() | {"enabled": True},
        signing={"private_key_file": tmp / "central.key", "key_id": "central"},
        gate_keys_dir=gate_keys.directory,
        monitoring={
            "poll_interval_s": 0.2,
            "units": UNITS,
            "gate_locations": {"ct-marisabella": (16.8620, 41.1340)},
        },
        **extra,
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve(), name="browser-test-central")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    central: Central = app.state.central
    assert central.ingest is not None
    await asyncio.wait_for(central.ingest.ready.wait(), 15)
    await asyncio.wait_for(central.monitoring.connected.wait(), 15)
    url = f"http://127.0.0.1:{port}"
    # uvicorn closes an idle connection after 5 s, httpx keeps one 5 s: a request sent on
    # a connection the server is closing fails with ReadError (a flaky test under load).
    # The client lets its idle connections go first.
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=url, limits=limits) as api:
        try:
            yield Served(url, central, broker, gate_keys, api)
        finally:
            server.should_exit = True
            await task


@pytest.fixture(scope="module")
def gate_keys(tmp_path_factory: pytest.TempPathFactory) -> GateKeys:
    """Key pairs of the gate boxes; central reads the public ones from `directory`."""
    directory = tmp_path_factory.mktemp("browser-gate-keys")
    for gate_id in GATES:
        signing.generate_keypair(directory / f"{gate_id}.key", directory / f"{gate_id}.pub")
    return GateKeys(directory, {g: signing.load_private_key(directory / f"{g}.key") for g in GATES})


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (one stat, before anything runs)
        pytest.fail(
            "Debian chromium is missing: run `make test` (installs it) or "
            "`apt-get install -y chromium`"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[BrowserContext]:
    """A fresh browser context; on failure, a screenshot of each of its pages."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 860})
    errors: list[str] = []
    ctx.on("page", lambda page: page.on("pageerror", lambda err: errors.append(str(err))))
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        for i, page in enumerate(ctx.pages):
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)
        (ARTIFACTS / f"{name}-errors.txt").write_text("\n".join(errors))
    await ctx.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
