"""Nothing is lost: kill the broker in the middle of a port's day and bring it back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

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
