"""The gate box against real parts: Mosquitto (TLS, ACL), a Modbus TCP controller, an RFID
reader on a pty and an ANPR feed. The test plays central on the bus, signing decisions
with central's key — and forging, replaying and misaddressing them, which central never does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract import (
    CommandAck,
    GateDecision,
    HoldReason,
    IdentifierKind,
    Passage,
    Receipt,
    Verdict,
    parse_gate_event,
    topics,
    utc_now,
)
from contract.bus import MqttClient, MqttError, client
from contract.signing import sign
from contract.tasks import cancel_and_wait
from corridor.broker import Broker, free_port
from drivers.barrier import PlcSettings
from edge.adapters.anpr import AnprFeedConfig
from edge.adapters.rfid import RfidConfig
from edge.agent import GateAgent
from edge.config import EdgeConfig, LaneConfig
from simulators.anpr import AnprCameraSim
from simulators.barrier import BarrierModel, BarrierPlcSim
from simulators.rfid import RfidReaderSim

TAG = "E28011606000020512345678"


@dataclass
class Lane:
    agent: GateAgent
    plc: BarrierPlcSim
    rfid: RfidReaderSim
    camera: AnprCameraSim
    central: MqttClient | None
    passages: asyncio.Queue[Passage]
    acks: asyncio.Queue[CommandAck]

    @property
    def gate_id(self) -> str:
        return self.agent.gate_id

    async def arrive(self, plate: str = "AB123CD") -> Passage:
        self.rfid.tag_enters(TAG, rssi_dbm=-50)
        self.plc.model.vehicle_arrives(plate)
        await asyncio.sleep(0.1)
        self.camera.present(plate=plate, frames=2)
        return await asyncio.wait_for(self.passages.get(), 10)

    async def send(self, decision: GateDecision) -> CommandAck:
        await _wait(lambda: self.central is not None)
        assert self.central is not None
        await self.central.publish(topics.gate_commands(self.gate_id), decision.to_json(), qos=1)
        while True:
            ack = await asyncio.wait_for(self.acks.get(), 10)
            if ack.decision_id == decision.message_id:
                return ack


def decision_for(passage: Passage, key: Ed25519PrivateKey, **changes: object) -> GateDecision:
    now = utc_now()
    fields: dict[str, object] = {
        "gate_id": passage.gate_id,
        "lane_id": passage.lane_id,
        "passage_id": passage.passage_id,
        "verdict": Verdict.RELEASE,
        "issued_at": now,
        "expires_at": now + timedelta(seconds=30),
    }
    fields.update(changes)
    return sign(GateDecision.model_validate(fields), key, "central-1")


async def _play_central(broker: Broker, gate_id: str, lane: Lane) -> None:
    """Receive the box's messages, receipt them, sort passages and acks into queues.
    Reconnects when the broker goes away (one test kills it)."""
    while True:
        try:
            async with client(broker.settings("central", f"central-{gate_id}")) as central:
                await central.subscribe(topics.gate_passages(gate_id), qos=1)
                await central.subscribe(topics.gate_events(gate_id), qos=1)
                lane.central = central
                await _serve(central, gate_id, lane)
        except MqttError:
            lane.central = None
            await asyncio.sleep(0.2)


async def _serve(central: MqttClient, gate_id: str, lane: Lane) -> None:
    async for message in central.messages:
        topic, payload = str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
        if topic.endswith("/passages"):
            passage = Passage.model_validate_json(payload)
            lane.passages.put_nowait(passage)
            ids = [passage.message_id]
        else:
            event = parse_gate_event(payload)
            if isinstance(event, CommandAck):
                lane.acks.put_nowait(event)
            ids = [event.message_id]
        receipt = Receipt(gate_id=gate_id, message_ids=ids)
        await central.publish(topics.gate_receipts(gate_id), receipt.to_json(), qos=1)


@contextlib.asynccontextmanager
async def gate_box(
    broker: Broker,
    tmp_path: Path,
    gate_id: str,
    central_public: Path,
    metrics_port: int | None = None,
    ask_again_after_s: float = 10.0,
) -> AsyncIterator[Lane]:
    plc_port = free_port()
    model = BarrierModel(motion_time_ms=300, hold_open_ms=300, drive_off_s=0.1, crossing_s=0.2)
    async with (
        BarrierPlcSim(port=plc_port, model=model) as plc,
        RfidReaderSim() as rfid,
        AnprCameraSim() as camera,
    ):
        config = EdgeConfig(
            gate_id=gate_id,
            mqtt=broker.settings(gate_id),
            central_keys={"central-1": central_public},
            outbox_path=tmp_path / f"{gate_id}.sqlite",
            resend_after_s=2,
            metrics_port=metrics_port,
            lanes=[
                LaneConfig(
                    lane_id="lane-1",
                    plc=PlcSettings(port=plc_port),
                    devices=[
                        RfidConfig(name="rfid-1", port=rfid.port),
                        AnprFeedConfig(name="anpr-1", host="127.0.0.1", port=camera.port),
                    ],
                    read_window_s=0.5,
                    ask_again_after_s=ask_again_after_s,
                )
            ],
        )
        agent = GateAgent(config)
        lane = Lane(agent, plc, rfid, camera, None, asyncio.Queue(), asyncio.Queue())
        tasks = [
            asyncio.create_task(_play_central(broker, gate_id, lane)),
            asyncio.create_task(agent.run()),
        ]
        try:
            await _wait(
                lambda: (
                    camera.connected > 0
                    and agent.lanes["lane-1"].plc.connected
                    and lane.central is not None
                )
            )
            yield lane
        finally:
            await asyncio.gather(*(cancel_and_wait(task) for task in tasks))


async def _wait(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def central_private(central_signing):  # type: ignore[no-untyped-def]
    return central_signing[0]


async def test_a_valid_release_opens_the_barrier_once(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path], central_private
) -> None:
    metrics_port = free_port()
    async with gate_box(broker, tmp_path, "gate-a", central_key[1], metrics_port) as lane:
        passage = await lane.arrive("AB123CD")
        assert passage.values(IdentifierKind.PLATE) == ["AB123CD"]
        assert passage.values(IdentifierKind.RFID_TAG) == [TAG]
        release = decision_for(passage, central_private)
        ack = await lane.send(release)
        assert ack.executed and ack.rejected_because is None
        assert lane.plc.model.cycles == 1
        await _wait(lambda: lane.plc.model.passed == ["AB123CD"])

        # The same signed release again, with the next vehicle waiting: a replay.
        lane.rfid.tag_leaves(TAG)
        second = await lane.arrive("XY987ZW")
        assert second.values(IdentifierKind.PLATE) == ["XY987ZW"]
        replay_ack = await lane.send(release)
        assert not replay_ack.executed and replay_ack.rejected_because == "replayed"
        assert lane.plc.model.cycles == 1
        assert second.passage_id != passage.passage_id

        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'corridor_edge_passages_total{lane="lane-1"} 2.0' in text
        assert 'corridor_edge_decisions_total{lane="lane-1",outcome="opened"} 1.0' in text
        assert 'corridor_edge_decisions_total{lane="lane-1",outcome="replayed"} 1.0' in text
        assert 'corridor_edge_release_latency_seconds_count{lane="lane-1"} 1.0' in text


@pytest.mark.parametrize(
    ("tamper", "because"),
    [
        ("forged", "bad_signature"),
        ("expired", "expired"),
        ("wrong_gate", "wrong_gate"),
        ("wrong_passage", "wrong_passage"),
        ("hold", "hold"),
    ],
)
async def test_an_invalid_release_never_opens_the_barrier(
    broker: Broker,
    tmp_path: Path,
    central_key: tuple[Path, Path],
    central_private,
    tamper: str,
    because: str,
) -> None:
    from uuid import uuid4

    async with gate_box(broker, tmp_path, "gate-b", central_key[1]) as lane:
        passage = await lane.arrive()
        past = utc_now() - timedelta(minutes=2)
        decision = {
            "forged": lambda: decision_for(passage, Ed25519PrivateKey.generate()),
            "expired": lambda: decision_for(
                passage, central_private, issued_at=past, expires_at=past + timedelta(seconds=30)
            ),
            "wrong_gate": lambda: decision_for(passage, central_private, gate_id="gate-c"),
            "wrong_passage": lambda: decision_for(passage, central_private, passage_id=uuid4()),
            "hold": lambda: decision_for(
                passage, central_private, verdict=Verdict.HOLD, reasons=[HoldReason.NOT_CLEARED]
            ),
        }[tamper]()
        ack = await lane.send(decision)
        assert not ack.executed and ack.rejected_because == because
        await asyncio.sleep(0.3)
        assert lane.plc.model.cycles == 0 and lane.plc.model.position == 0.0


async def test_a_passage_central_never_answered_is_sent_again_until_it_is(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path], central_private
) -> None:
    """The played central receipts every passage and decides only when the test sends a
    decision: as if central's decision had been lost after the broker took it."""
    async with gate_box(broker, tmp_path, "gate-e", central_key[1], ask_again_after_s=1) as lane:
        passage = await lane.arrive()
        forged = await lane.send(decision_for(passage, Ed25519PrivateKey.generate()))
        assert forged.rejected_because == "bad_signature"  # not an answer from central
        again = await asyncio.wait_for(lane.passages.get(), 10)
        assert again == passage
        ack = await lane.send(decision_for(passage, central_private))
        assert ack.executed and lane.plc.model.cycles == 1
        # Answered: not sent again.
        while not lane.passages.empty():  # sent again while the release was on its way
            assert lane.passages.get_nowait() == passage
        await asyncio.sleep(2.5)
        assert lane.passages.empty()
        asked = lane.agent.metrics.registry.get_sample_value(
            "corridor_edge_passages_asked_again_total", {"lane": "lane-1"}
        )
        assert asked is not None and asked >= 1


async def test_a_hold_answers_a_passage(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path], central_private
) -> None:
    async with gate_box(broker, tmp_path, "gate-f", central_key[1], ask_again_after_s=1) as lane:
        passage = await lane.arrive()
        assert await asyncio.wait_for(lane.passages.get(), 10) == passage  # asked again
        hold = decision_for(
            passage, central_private, verdict=Verdict.HOLD, reasons=[HoldReason.NOT_CLEARED]
        )
        ack = await lane.send(hold)
        assert ack.rejected_because == "hold"
        while not lane.passages.empty():  # sent again before the hold came
            assert lane.passages.get_nowait() == passage
        await asyncio.sleep(2.5)
        assert lane.passages.empty() and lane.plc.model.cycles == 0


async def test_without_central_the_barrier_stays_closed(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path]
) -> None:
    async with gate_box(broker, tmp_path, "gate-c", central_key[1]) as lane:
        await lane.arrive()
        await asyncio.sleep(1.5)
        assert lane.plc.model.cycles == 0 and lane.plc.model.open_commands == []


async def test_passages_wait_in_the_outbox_while_the_broker_is_down(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path]
) -> None:
    async with gate_box(broker, tmp_path, "gate-d", central_key[1]) as lane:
        broker.kill()
        try:
            lane.plc.model.vehicle_arrives("AB123CD")
            await _wait(lambda: lane.agent.outbox.pending() >= 1)
        finally:
            broker.start()
        # After the restart the box reconnects and resends; the receipt clears it.
        passage = await asyncio.wait_for(lane.passages.get(), 30)
        assert passage.gate_id == "gate-d"
        await _wait(lambda: lane.agent.outbox.pending() == 0, timeout_s=20)
