"""Nothing is lost: kill the broker in the middle of a port's day and bring it back."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from corridor.broker import free_port as broker_free_port
from corridor.rehearsal import Rehearsal
from simulators.scenario import load

SCENARIOS = Path(__file__).resolve().parent.parent / "simulators" / "scenarios"


@pytest.mark.slow
async def test_killing_the_broker_mid_scenario_loses_no_passage(tmp_path: Path) -> None:
    scenario = load(SCENARIOS / "bari-export-container-ship.yaml")
    async with Rehearsal(scenario, tmp_path / "run") as rehearsal:
        assert rehearsal.broker is not None
        broker = rehearsal.broker

        async def outage() -> None:
            await asyncio.sleep(4)
            broker.kill()  # SIGKILL: no clean shutdown, no will delivered by a client
            await asyncio.sleep(5)
            broker.start()

        outage_task = asyncio.create_task(outage())
        outcome = await rehearsal.run()
        await outage_task
        assert outcome.passed, outcome.report()
        async with httpx.AsyncClient(base_url=rehearsal.central_url) as http:
            stored = (await http.get("/api/v1/passages", params={"limit": 1000})).json()
        published = {a.passage.passage_id for a in outcome.arrivals if a.passage}
        assert len(published) == len(scenario.timeline) - 2  # every arrival made one passage
        assert {p["passage_id"] for p in stored} >= {str(i) for i in published}


@pytest.mark.slow
async def test_central_moves_to_another_port_when_its_own_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # free_port() says a port is free; another process binds it before central does.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(
            "corridor.rehearsal.free_port", lambda: next(ports, None) or broker_free_port()
        )
        scenario = load(SCENARIOS / "bari-import-ferry-extra-eu.yaml")
        async with Rehearsal(scenario, tmp_path / "run") as rehearsal:
            assert not rehearsal.central_url.endswith(f":{taken}")
            async with httpx.AsyncClient(base_url=rehearsal.central_url) as http:
                assert (await http.get("/api/v1/health")).json()["mqtt_connected"]
