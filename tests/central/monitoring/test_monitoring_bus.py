"""The monitoring centre on the real broker: incidents pushed to a unit's device, the
broker's ACL confining each device to its own topics, units' positions over MQTT,
the live map's trackers, and a manual gate override signed and sent to the gate box."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from central_support import Live

from contract import bus, topics
from contract.messages import CommandAck, IncidentNotice, PositionFix, Verdict, utc_now
from contract.signing import verify


async def until(condition: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def device(live: Live, user: str, *subscriptions: str) -> AsyncIterator[Any]:
    """A unit's device (its own broker user), collecting what it receives."""
    settings = live.broker.settings(user, client_id=f"{user}-device-{time.monotonic_ns()}")
    received: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    async with bus.client(settings) as client:
        for topic in subscriptions:
            await client.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in client.messages:
                await received.put((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]

        reader = asyncio.create_task(read())
        try:
            yield client, received
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _incident(live: Live, plate: str) -> str:
    http = live.http
    declaration = f"DEC-{plate}"
    await http.post(
        "/api/v1/declarations", json={"declaration_id": declaration, "status": "cleared"}
    )
    movement = {"declaration_id": declaration, "process": "export-container-ship", "plate": plate}
    assert (await http.post("/api/v1/movements", json=movement)).status_code == 201
    async with live.gate("ct-marisabella") as gate:
        await gate.send(gate.passage(plate=plate))  # wrong node: held, alert, incident
        await gate.next_decision()

    async def incident() -> str | None:
        found = [i for i in (await http.get("/api/v1/incidents")).json() if plate in i["title"]]
        return found[0]["incident_id"] if found else None

    return str(await until(incident, f"an incident for {plate}"))


async def test_a_dispatched_unit_gets_the_incident_on_its_device_and_no_one_elses(
    monitored_live: Live,
) -> None:
    live = monitored_live
    mine, theirs = topics.rru_notifications("rru-a"), topics.rru_notifications("rru-b")
    async with (
        device(live, "rru-a", mine, theirs) as (_, inbox_a),
        device(live, "rru-b", theirs) as (_, inbox_b),
    ):
        first = await _incident(live, "AA111AA")
        second = await _incident(live, "BB222BB")
        ok = await live.http.post(f"/api/v1/incidents/{first}/dispatch", json={"unit_id": "rru-a"})
        assert ok.status_code == 200
        ok = await live.http.post(f"/api/v1/incidents/{second}/dispatch", json={"unit_id": "rru-b"})
        assert ok.status_code == 200
        topic, payload = await asyncio.wait_for(inbox_a.get(), 10)
        notice = IncidentNotice.model_validate_json(payload)
        assert (topic, notice.incident_id.hex, notice.event) == (mine, first.replace("-", ""),
                                                                 "dispatched")  # fmt: skip
        assert notice.due_at is not None and notice.lat is not None
        _, payload_b = await asyncio.wait_for(inbox_b.get(), 10)
        assert IncidentNotice.model_validate_json(payload_b).unit_id == "rru-b"
        await asyncio.sleep(0.5)  # rru-b's notice went out; rru-a's device may not read it
        assert inbox_a.empty()


async def test_units_report_positions_over_mqtt_only_under_their_own_name(
    monitored_live: Live,
) -> None:
    live = monitored_live
    async with device(live, "rru-a") as (client, _):
        fix = PositionFix(device_id="rru-a", fixed_at=utc_now(), lat=41.1311, lon=16.8611)
        await client.publish(topics.rru_positions("rru-a"), fix.to_json(), qos=1)
        forged = PositionFix(device_id="rru-b", fixed_at=utc_now(), lat=1.0, lon=1.0)
        await client.publish(topics.rru_positions("rru-b"), forged.to_json(), qos=1)  # ACL: no
        await client.publish(topics.rru_positions("rru-a"), b'{"lat": "north"}', qos=1)

    async def moved() -> Any:
        unit = (await live.http.get("/api/v1/rrus/rru-a")).json()
        return unit if unit["lat"] is not None else None

    unit = await until(moved, "rru-a's position")
    assert (unit["lat"], unit["lon"]) == (41.1311, 16.8611)
    await until(
        lambda: _true(live.central.monitoring.stats["rejected_messages"] >= 1), "the bad payload"
    )
    assert (await live.http.get("/api/v1/rrus/rru-b")).json()["lat"] is None


async def _true(value: bool) -> bool:
    return value


async def test_trackers_appear_on_the_live_map(monitored_live: Live) -> None:
    live = monitored_live
    async with device(live, "telematics") as (client, _):
        fix = PositionFix(
            device_id="trk-77", fixed_at=utc_now(), lat=-1.29, lon=36.82, speed_mps=11
        )
        await client.publish(topics.unit_positions("trk-77"), fix.to_json(), qos=1)

    async def seen() -> Any:
        return [
            u for u in (await live.http.get("/api/v1/units")).json() if u["device_id"] == "trk-77"
        ]

    (unit,) = await until(seen, "trk-77 on the map")
    assert (unit["lat"], unit["lon"], unit["speed_mps"]) == (-1.29, 36.82, 11)


async def test_a_manual_override_is_a_signed_decision_for_the_pending_passage(
    monitored_live: Live,
) -> None:
    live = monitored_live
    async with live.gate("ct-vittoria") as gate:
        passage = gate.passage(plate="ZZ999ZZ")  # no movement: held unknown_unit
        await gate.send(passage)
        held = await gate.next_decision()
        assert held.verdict == Verdict.HOLD
        url = "/api/v1/gates/ct-vittoria/lanes/lane-1/override"
        for body in ({"verdict": "release"}, {"verdict": "release", "reason": "   ok  "}):
            assert (await live.http.post(url, json=body)).status_code == 422
        assert (await live.http.post(
            "/api/v1/gates/ct-vittoria/lanes/lane-9/override",
            json={"verdict": "release", "reason": "no truck in that lane"},
        )).status_code == 404  # fmt: skip
        reason = "driver shows a valid permit; plate camera dirty"
        response = await live.http.post(url, json={"verdict": "release", "reason": reason})
        assert response.status_code == 201, response.text
        override = response.json()
        assert (override["published"], override["reason"], override["actor"]) == (
            True,
            reason,
            "anonymous",
        )
        released = await gate.next_decision()
        verify(released, {"central": live.central_public_key})  # raises unless signed by central
        assert released.key_id == "central"
        assert (released.verdict, released.passage_id) == (Verdict.RELEASE, passage.passage_id)
        assert released.message_id.hex == override["decision_id"].replace("-", "")
        assert released.expires_at > utc_now()
        # the barrier opened on it: the passage is gone, nothing more to override
        ack = CommandAck(gate_id="ct-vittoria", lane_id="lane-1", decision_id=released.message_id,
                         passage_id=passage.passage_id, executed=True)  # fmt: skip
        await gate.send(ack)
        await gate.receipt_for(ack.message_id)
        again = await live.http.post(url, json={"verdict": "hold", "reason": "second thoughts"})
        assert again.status_code == 409 and "went through" in again.json()["detail"]
    decisions = (
        await live.http.get("/api/v1/decisions", params={"passage_id": str(passage.passage_id)})
    ).json()
    assert sorted(d["verdict"] for d in decisions) == ["hold", "release"]
    listed = (await live.http.get("/api/v1/gates/ct-vittoria/overrides")).json()
    assert [o["reason"] for o in listed] == [reason]
    verified = (await live.http.get("/api/v1/ledger/verify")).json()
    assert verified["ok"] is True
