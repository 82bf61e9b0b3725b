"""The gate box stops when told to, even when the stop lands just as the broker answers.

Python 3.11's `wait_for` (inside aiomqtt) returns the answer and drops a cancel that
lands with it, and the agent's TaskGroup hands each of its loops only one cancel: a
bus session that went on after it would keep the box from ever shutting down. Real
Mosquitto and a simulated barrier controller; the broker's SUBACK is only watched,
to send the stop in the same turn of the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from contract.tasks import cancel_and_wait
from corridor.broker import Broker, free_port
from drivers.barrier import PlcSettings
from edge.agent import GateAgent
from edge.config import EdgeConfig, LaneConfig
from simulators.barrier import BarrierPlcSim


async def test_the_agent_stops_when_the_stop_lands_as_the_broker_answers(
    broker: Broker,
    tmp_path: Path,
    central_key: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker.add_gate("gate-stop")  # its own: no retained status or session from other tests
    plc_port = free_port()
    async with BarrierPlcSim(port=plc_port):
        agent = GateAgent(
            EdgeConfig(
                gate_id="gate-stop",
                mqtt=broker.settings("gate-stop"),
                central_keys={"central-1": central_key[1]},
                outbox_path=tmp_path / "outbox.sqlite",
                lanes=[LaneConfig(lane_id="lane-1", plc=PlcSettings(port=plc_port))],
            )
        )
        stops: list[asyncio.Task[None]] = []
        answered = aiomqtt.Client._on_subscribe

        def stop_as_the_broker_answers(client: aiomqtt.Client, *args: Any) -> None:
            answered(client, *args)  # the subscribe's reply is in...
            if stops:
                stops.pop().cancel()  # ...and the box is told to stop in the same turn

        monkeypatch.setattr(aiomqtt.Client, "_on_subscribe", stop_as_the_broker_answers)
        run = asyncio.create_task(agent.run())
        stops.append(run)
        try:
            await asyncio.wait({run}, timeout=10)
            assert not stops, "the agent never subscribed"
            assert run.cancelled(), "the gate box went on after it was told to stop"
        finally:
            # Bounded: where a loop lost its stop, no number of cancels reaches it.
            await asyncio.wait({asyncio.ensure_future(cancel_and_wait(run))}, timeout=3)
