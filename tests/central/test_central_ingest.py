"""The MQTT ingest end to end: real Mosquitto (TLS, credentials, ACLs), real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from central_support import (
    BACKENDS,
    SITE_GATES,
    Live,
    Running,
    central_settings,
    start_central,
    unsigned_passage,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update

from central.tables import AlertRow, DecisionRow, PassageRow, RejectedMessageRow
from contract import topics
from contract.messages import (
    CommandAck,
    GateDecision,
    GatePosition,
    GateStatus,
    HoldReason,
    Receipt,
    SealReading,
    SealState,
    Verdict,
)
from contract.signing import load_public_key, verify
from corridor.broker import Broker

CONTAINER = "CSQU3054383"


async def movement(live: Running, plate: str, **changes: Any) -> dict[str, Any]:
    """A cleared declaration and a movement on the export path."""
    declaration_id = f"DEC-{uuid.uuid4().hex[:8]}"
    body = {"declaration_id": declaration_id, "status": "cleared"}
    assert (await live.http.post("/api/v1/declarations", json=body)).status_code == 201
    fields = {
        "declaration_id": declaration_id,
        "process": "export-container-ship",
        "plate": plate,
        "permits": {"access_permission": True},
    } | changes
    response = await live.http.post("/api/v1/movements", json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("live", BACKENDS, indirect=True)
async def test_passage_gets_a_signed_decision_and_the_ack_advances_the_movement(
    live: Live,
) -> None:
    unit = await movement(live, "AB 123 CD", containers=[CONTAINER], seals=["S-0001"])
    async with live.gate("ct-vittoria") as gate:
        passage = gate.passage(plate="ab-123-cd", container=CONTAINER)
        await gate.send(passage)
        decision = await gate.next_decision()
        receipt = await gate.receipt_for(passage.message_id)

        verify(decision, {"central": live.central_public_key})
        assert decision.verdict is Verdict.RELEASE
        assert decision.reasons == []
        assert (decision.gate_id, decision.lane_id) == ("ct-vittoria", "lane-1")
        assert decision.passage_id == passage.passage_id
        assert str(decision.iot_id) == unit["iot_id"]
        assert (decision.expires_at - decision.issued_at).total_seconds() == 30
        assert receipt.gate_id == "ct-vittoria"

        ack = CommandAck(
            gate_id="ct-vittoria",
            lane_id="lane-1",
            decision_id=decision.message_id,
            passage_id=passage.passage_id,
            executed=True,
            barrier="open",
        )
        await gate.send(ack)
        await gate.receipt_for(ack.message_id)

    moved = await live.http.get(f"/api/v1/movements/{unit['iot_id']}")
    assert moved.json()["position"] == 0
    assert moved.json()["expected_next_nodes"] == ["marisabella"]
    decisions = (await live.http.get("/api/v1/decisions", params={"iot_id": unit["iot_id"]})).json()
    assert [(d["decision_id"], d["executed"]) for d in decisions] == [
        (str(decision.message_id), True)
    ]
    passages = (await live.http.get("/api/v1/passages", params={"gate_id": "ct-vittoria"})).json()
    assert [p["passage_id"] for p in passages] == [str(passage.passage_id)]
    ledger = (await live.http.get("/api/v1/ledger/verify")).json()
    assert (ledger["ok"], ledger["entries"]) == (True, 2)  # the decision and the ack


async def test_hold_reasons_and_alerts_over_the_bus(live: Live) -> None:
    await movement(live, "FR4UD01", containers=[CONTAINER])
    await movement(live, "HONEST1")
    async with live.alerts() as alerts_seen:
        async with live.gate("ct-vittoria") as gate:
            # Fake number plates: the plate of one movement, the container of another.
            await gate.send(gate.passage(plate="HONEST1", container=CONTAINER))
            ambiguous = await gate.next_decision()
            await gate.send(gate.passage(plate="NOBODY9"))
            unknown = await gate.next_decision()
        async with live.gate("ct-levante") as gate:
            tampered = [SealReading(seal_id="X1", state=SealState.TAMPERED, source="es-1")]
            await gate.send(gate.passage(plate="HONEST1", seals=tampered))
            wrong = await gate.next_decision()
        published = [await asyncio.wait_for(alerts_seen.get(), 15) for _ in range(4)]

    assert (ambiguous.verdict, ambiguous.reasons) == (Verdict.HOLD, [HoldReason.AMBIGUOUS_UNIT])
    assert ambiguous.iot_id is None
    assert unknown.reasons == [HoldReason.UNKNOWN_UNIT]
    assert wrong.reasons == [HoldReason.WRONG_NODE, HoldReason.SEAL_TAMPERED]
    rules = ["ambiguous_identity", "mission_path_violation", "seal_tampered", "unknown_unit"]
    stored = (await live.http.get("/api/v1/alerts")).json()
    assert sorted(a["rule"] for a in stored) == rules
    assert sorted(a.rule for a in published) == rules
    ambiguous_alert = next(a for a in stored if a["rule"] == "ambiguous_identity")
    assert ambiguous_alert["severity"] == "critical"
    assert len(ambiguous_alert["details"]["candidates"]) == 2


async def test_bad_payloads_are_rejected_and_the_ingest_goes_on(live: Live) -> None:
    await movement(live, "GOOD001")
    async with live.gate("ct-vittoria") as gate:
        passages = topics.gate_passages("ct-vittoria")
        forged = gate.passage(plate="GOOD001").model_copy(update={"lane_id": "lane-9"})
        other_gate = gate.passage(plate="GOOD001").model_copy(update={"gate_id": "ct-levante"})
        bad = {
            "invalid payload": b"\x00\xffnot json at all",
            "invalid payload ": b'{"kind": "passage", "gate_id": "ct-vittoria"}',
            "bad signature": gate.passage(plate="GOOD001", sign=False).to_json(),
            "bad signature ": forged.to_json(),  # signed, then changed
            "gate mismatch": other_gate.to_json(),
        }
        for payload in bad.values():
            await gate.publish(passages, payload)
        await gate.publish(topics.gate_events("ct-vittoria"), b'{"kind": "command_ack"}')
        good = gate.passage(plate="GOOD001")
        await gate.send(good)
        decision = await gate.next_decision()

    assert decision.passage_id == good.passage_id
    assert decision.verdict is Verdict.RELEASE
    stats = (await live.http.get("/api/v1/ingest/stats")).json()
    assert stats["rejected"] == 6
    assert stats["failed"] == 0
    assert stats["rejected_by_reason"] == {
        "invalid payload": 3,
        "bad signature": 2,
        "gate mismatch": 1,
    }
    async with live.central.sessions() as session:
        rows = (
            await session.scalars(select(RejectedMessageRow).order_by(RejectedMessageRow.id))
        ).all()
        stored = await session.scalar(select(func.count()).select_from(PassageRow))
    assert [r.reason.split(":")[0] for r in rows] == [
        "invalid payload",
        "invalid payload",
        "bad signature",
        "bad signature",
        "gate mismatch",
        "invalid payload",
    ]
    assert rows[0].head == b"\x00\xffnot json at all"
    assert "not signed" in rows[2].reason
    assert "does not verify" in rows[3].reason
    assert stored == 1


async def test_same_passage_twice_is_stored_once_and_decided_as_specified(live: Live) -> None:
    await movement(live, "TWICE01")
    async with live.gate("ct-vittoria") as gate:
        passage = gate.passage(plate="TWICE01")
        await gate.send(passage)
        first = await gate.next_decision()
        await gate.receipt_for(passage.message_id)

        # Resent while the decision is fresh: the same decision again, and a receipt.
        await gate.send(passage)
        again = await gate.next_decision()
        await gate.receipt_for(passage.message_id)
        assert again == first

        # Resent after it expired, never acted on: decided anew.
        async with live.central.sessions.begin() as session:
            await session.execute(
                update(DecisionRow)
                .where(DecisionRow.decision_id == first.message_id)
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        await gate.send(passage)
        fresh = await gate.next_decision()
        assert fresh.message_id != first.message_id
        assert fresh.verdict is Verdict.RELEASE

        # Once the barrier acted on it, a resend only gets its receipt.
        ack = CommandAck(
            gate_id="ct-vittoria",
            lane_id="lane-1",
            decision_id=fresh.message_id,
            passage_id=passage.passage_id,
            executed=True,
        )
        await gate.send(ack)
        await gate.receipt_for(ack.message_id)
        await gate.send(passage)
        await gate.receipt_for(passage.message_id)
        assert gate.decisions.empty()

    async with live.central.sessions() as session:
        passages = await session.scalar(select(func.count()).select_from(PassageRow))
    assert passages == 1
    decisions = (
        await live.http.get("/api/v1/decisions", params={"passage_id": str(passage.passage_id)})
    ).json()
    assert [d["decision_id"] for d in decisions] == [str(fresh.message_id), str(first.message_id)]
    assert [d["executed"] for d in decisions] == [True, None]
    stats = (await live.http.get("/api/v1/ingest/stats")).json()
    assert (stats["duplicates"], stats["decisions"]) == (3, 2)


async def test_a_passage_whose_decision_was_not_sent_gets_no_receipt_until_it_is(
    api: Running,
) -> None:
    """Central stored a passage and decided, but the decision could not be published (the
    broker went away while a batch was being handled). The passage must stay
    unreceipted: its gate box then resends it, and the resend gets the stored decision.
    A receipt would stop the resends, and the lane would wait for a decision that never
    comes."""
    await movement(api, "LOST001")
    passage = unsigned_passage("ct-vittoria", plate="LOST001")
    pipeline = api.central.pipeline
    topic = topics.gate_passages("ct-vittoria")
    assert pipeline.publisher is None  # no broker here: every send fails
    await pipeline.handle(topic, passage.to_json())
    async with api.central.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(DecisionRow))
    assert stored == 1  # decided and stored, only not sent

    sent: list[tuple[str, bytes]] = []

    async def publish(topic: str, payload: bytes) -> None:
        sent.append((topic, payload))

    pipeline.publisher = publish  # the broker is back
    await pipeline.flush_receipts()
    assert sent == []  # no receipt: the gate box keeps the passage due

    await pipeline.handle(topic, passage.to_json())  # its resend
    await pipeline.flush_receipts()
    assert [t for t, _ in sent] == [
        topics.gate_commands("ct-vittoria"),
        topics.gate_receipts("ct-vittoria"),
    ]
    decision = GateDecision.model_validate_json(sent[0][1])
    assert (decision.passage_id, decision.verdict) == (passage.passage_id, Verdict.RELEASE)
    assert passage.message_id in Receipt.model_validate_json(sent[1][1]).message_ids


async def test_an_orange_plate_read_is_kept_with_the_passage(api: Running) -> None:
    """A tanker's ADR plate (hazard number/UN number) travels with the passage, and the
    operator sees it there; its UN number declared, the tanker passes."""
    await movement(api, "TANK001", dangerous_goods=["1203"])
    passage = unsigned_passage("ct-vittoria", plate="TANK001", hazard="33/1203")
    await api.central.pipeline.handle(topics.gate_passages("ct-vittoria"), passage.to_json())
    async with api.central.sessions() as session:
        verdict = await session.scalar(select(DecisionRow.verdict))
    assert verdict == Verdict.RELEASE
    (listed,) = (await api.http.get("/api/v1/passages")).json()
    assert {(i["kind"], i["value"]) for i in listed["identifiers"]} == {
        ("plate", "TANK001"),
        ("hazard", "33/1203"),
    }


async def test_an_orange_plate_of_undeclared_goods_holds_the_tanker(api: Running) -> None:
    registered = await movement(api, "TANK002")
    assert registered["dangerous_goods"] == []
    passage = unsigned_passage("ct-vittoria", plate="TANK002", hazard="33/1203")
    await api.central.pipeline.handle(topics.gate_passages("ct-vittoria"), passage.to_json())
    async with api.central.sessions() as session:
        decision = (await session.scalars(select(DecisionRow))).one()
        rules = set(await session.scalars(select(AlertRow.rule)))
    assert (decision.verdict, decision.reasons) == (
        Verdict.HOLD,
        [HoldReason.UNDECLARED_DANGEROUS_GOODS],
    )
    assert "undeclared_dangerous_goods" in rules
    # Customs amends the declaration: the same tanker's next passage is released.
    amended = await api.http.put(
        f"/api/v1/movements/{registered['iot_id']}/dangerous-goods", json={"un_numbers": ["1203"]}
    )
    assert amended.status_code == 200 and amended.json()["dangerous_goods"] == ["1203"]
    again = unsigned_passage("ct-vittoria", plate="TANK002", hazard="33/1203")
    await api.central.pipeline.handle(topics.gate_passages("ct-vittoria"), again.to_json())
    async with api.central.sessions() as session:
        latest = await session.scalar(
            select(DecisionRow.verdict).where(DecisionRow.passage_id == again.passage_id)
        )
    assert latest == Verdict.RELEASE
    bad = await api.http.put(
        f"/api/v1/movements/{registered['iot_id']}/dangerous-goods", json={"un_numbers": ["12"]}
    )
    assert bad.status_code == 422
    refused = await api.http.post(
        "/api/v1/movements",
        json={"declaration_id": "D1", "process": "export", "plate": "X", "dangerous_goods": ["33"]},
    )
    assert refused.status_code == 422 and "dangerous_goods" in refused.text


async def test_gate_going_offline_raises_an_alert(live: Live) -> None:
    status_topic = topics.gate_status("ct-parking")
    async with live.alerts() as alerts_seen, live.gate("ct-parking") as gate:
        online = GateStatus(gate_id="ct-parking", online=True, agent_version="t")
        await gate.publish(status_topic, online.to_json(), retain=True)
        offline = GateStatus(gate_id="ct-parking", online=False)
        await gate.publish(status_topic, offline.to_json(), retain=True)
        alert = await asyncio.wait_for(alerts_seen.get(), 15)
        await gate.publish(status_topic, b"", retain=True)  # leave no retained status behind

    assert (alert.rule, alert.severity, alert.gate_id) == ("gate_offline", "warning", "ct-parking")
    gates = {g["gate_id"]: g for g in (await live.http.get("/api/v1/gates")).json()}
    assert gates["ct-parking"]["online"] is False
    assert gates["ct-parking"]["node_id"] == "marisabella-parking"


async def test_a_gate_box_away_from_its_node_raises_one_alert_per_episode(live: Live) -> None:
    status_topic = topics.gate_status("ct-parking")
    moved = GatePosition(lat=41.2, lon=16.9, fix_time=datetime.now(UTC), mode=3, error_m=4.0)

    def status(at_node: bool | None) -> bytes:
        position = moved if at_node is not None else None
        return GateStatus(
            gate_id="ct-parking", online=True, position=position, at_node=at_node
        ).to_json()

    async with live.alerts() as alerts_seen, live.gate("ct-parking") as gate:
        # at its node; moved away; still away; no fix for a while; still away
        for at_node in (True, False, False, None, False):
            await gate.publish(status_topic, status(at_node), retain=True)
        first = await asyncio.wait_for(alerts_seen.get(), 15)
        # back at its node, then away again: a second episode
        for at_node in (True, False):
            await gate.publish(status_topic, status(at_node), retain=True)
        second = await asyncio.wait_for(alerts_seen.get(), 15)
        await gate.publish(status_topic, b"", retain=True)  # leave no retained status behind

    assert (first.rule, first.severity, first.gate_id) == (
        "gate_box_off_node",
        "critical",
        "ct-parking",
    )
    assert (first.lat, first.lon) == (41.2, 16.9) and second.rule == "gate_box_off_node"
    listed = (await live.http.get("/api/v1/alerts", params={"rule": "gate_box_off_node"})).json()
    assert len(listed) == 2
    gates = {g["gate_id"]: g for g in (await live.http.get("/api/v1/gates")).json()}
    assert gates["ct-parking"]["at_node"] is False
    assert gates["ct-parking"]["position"]["lat"] == 41.2


async def test_passages_sent_while_central_is_down_are_decided_when_it_returns(
    live: Live,
) -> None:
    """The broker keeps central's persistent session and queues what arrives meanwhile."""
    await movement(live, "LATE001")
    await live.central.stop()
    async with live.gate("ct-vittoria") as gate:
        passage = gate.passage(plate="LATE001")
        await gate.send(passage)
        await live.restart()
        decision = await gate.next_decision()
        await gate.receipt_for(passage.message_id)
    assert decision.passage_id == passage.passage_id
    assert decision.verdict is Verdict.RELEASE


async def test_a_whole_mission_path_with_diversion_scan_and_completion(live: Live) -> None:
    unit = await movement(live, "WALK001", permits={})
    iot_id = unit["iot_id"]
    await live.http.put(
        f"/api/v1/declarations/{unit['declaration_id']}/status", json={"scan_required": True}
    )

    async def pass_gate(gate_id: str) -> tuple[Verdict, list[HoldReason], str | None]:
        """One passage; a release is acknowledged as executed, as a gate box would."""
        async with live.gate(gate_id) as gate:
            passage = gate.passage(plate="WALK001")
            await gate.send(passage)
            decision = await gate.next_decision()
            if decision.verdict is Verdict.RELEASE:
                ack = CommandAck(
                    gate_id=gate_id,
                    lane_id=decision.lane_id,
                    decision_id=decision.message_id,
                    passage_id=passage.passage_id,
                    executed=True,
                )
                await gate.send(ack)
                await gate.receipt_for(ack.message_id)
        return decision.verdict, decision.reasons, decision.divert_to

    async def where() -> tuple[int, str | None, list[str], str]:
        m = (await live.http.get(f"/api/v1/movements/{iot_id}")).json()
        return m["position"], m["diverted_to"], m["expected_next_nodes"], m["state"]

    hold, release = Verdict.HOLD, Verdict.RELEASE
    assert await pass_gate("ct-vittoria") == (release, [], None)
    assert await pass_gate("ct-marisabella") == (
        release,
        [HoldReason.PERMIT_MISSING],
        "marisabella-parking",
    )
    assert await where() == (1, "marisabella-parking", ["marisabella-parking"], "active")
    assert await pass_gate("ct-ac1") == (
        hold,
        [HoldReason.WRONG_NODE, HoldReason.PERMIT_MISSING],
        None,
    )
    assert await pass_gate("ct-parking") == (hold, [HoldReason.PERMIT_MISSING], None)

    patched = await live.http.patch(
        f"/api/v1/movements/{iot_id}/permits", json={"access_permission": True}
    )
    assert patched.status_code == 200
    assert await pass_gate("ct-parking") == (release, [], None)
    assert await where() == (1, None, ["san-vito-ac1", "san-vito-ac3"], "active")
    assert await pass_gate("ct-ac3") == (release, [], None)
    assert await pass_gate("ct-levante") == (hold, [HoldReason.SCAN_NOT_VALIDATED], None)

    await live.http.put(
        f"/api/v1/declarations/{unit['declaration_id']}/status", json={"scan_validated": True}
    )
    assert await pass_gate("ct-levante") == (release, [], None)
    assert await where() == (3, None, [], "completed")
    assert await pass_gate("ct-levante") == (hold, [HoldReason.MISSION_COMPLETE], None)
    alerts = (await live.http.get("/api/v1/alerts")).json()
    assert [a["rule"] for a in alerts] == ["mission_path_violation"]


async def test_ingest_reconnects_after_the_broker_restarts(
    tmp_path: Path,
    gate_keys: tuple[Path, dict[str, Ed25519PrivateKey]],
    central_key: tuple[Path, Path],
) -> None:
    """Its own broker, so killing it disturbs no other test."""
    keys_dir, keys = gate_keys
    with Broker(tmp_path / "mosquitto", SITE_GATES) as broker:
        settings = central_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'central.db'}",
            mqtt=broker.settings("central", client_id="central-reconnect").model_dump()
            | {"enabled": True},
            signing={"private_key_file": central_key[0]},
            gate_keys_dir=keys_dir,
        )
        central, http = await start_central(settings)
        live = Live(central, http, broker, keys, load_public_key(central_key[1]), settings)
        try:
            await live.wait_connected()
            await movement(live, "BACK001")
            broker.kill()
            for _ in range(600):  # until central notices (keepalive or socket close)
                if not live.central.mqtt_connected:
                    break
                await asyncio.sleep(0.05)
            assert not live.central.mqtt_connected
            await asyncio.to_thread(broker.start)
            await live.wait_connected(timeout_s=60)
            async with live.gate("ct-vittoria") as gate:
                passage = gate.passage(plate="BACK001")
                await gate.send(passage)
                decision = await gate.next_decision()
            assert decision.passage_id == passage.passage_id
            assert decision.verdict is Verdict.RELEASE
        finally:
            await http.aclose()
            await central.stop()
