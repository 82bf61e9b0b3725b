"""Incidents: alerts grouped per movement; dispatch to the nearest available unit; the
response clock and its escalation (central's clock, moved by the test); the unit's
reports with evidence; closing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from monitoring_support import Monitored
from sqlalchemy import select

from central.monitoring.incidents import distance_m, rank_units
from central.monitoring.tables import IncidentRow, ResponseUnitRow
from central.tables import LedgerRow
from contract import topics
from contract.messages import SealEvent, SealReading, SealState, utc_now


def test_distance_and_ranking() -> None:
    # Mombasa to Nairobi, great circle: about 440 km
    assert distance_m(-4.0435, 39.6682, -1.2864, 36.8172) == pytest.approx(439_600, rel=0.01)
    now = utc_now()
    fresh = timedelta(minutes=10)

    def unit(uid: str, lat: float, status: str = "available", live: float | None = None,
             age_min: float = 0) -> ResponseUnitRow:  # fmt: skip
        return ResponseUnitRow(
            unit_id=uid, name=uid, base_lat=lat, base_lon=0.0, status=status,
            lat=live, lon=0.0 if live is not None else None,
            position_at=now - timedelta(minutes=age_min) if live is not None else None,
        )  # fmt: skip

    units = [
        unit("far", 1.0),
        unit("near-busy", 0.01, status="busy"),
        unit("near-off", 0.02, status="off_duty"),
        unit("moved-close", 2.0, live=0.05),  # base far, live position close and fresh
        unit("stale-live", 3.0, live=0.001, age_min=30),  # close live fix too old: base counts
    ]
    ranked = rank_units(units, 0.0, 0.0, now, fresh)
    assert [c.unit.unit_id for c in ranked] == ["moved-close", "far", "stale-live"]
    assert ranked[0].live and not ranked[2].live
    assert [c.unit.unit_id for c in rank_units(units, None, None, now, fresh)] == [
        "far",
        "moved-close",
        "stale-live",
    ]


async def test_alerts_of_one_movement_make_one_incident(monitored_both: Monitored) -> None:
    m = monitored_both
    iot_id = await m.movement("AB123CD")
    await m.passage("ct-marisabella", plate="AB123CD")  # wrong node: first step is vittoria
    await m.passage("ct-levante", plate="AB123CD")  # wrong node again, another gate
    (incident,) = await m.incidents()
    assert incident["iot_id"] == iot_id
    assert incident["status"] == "open"
    assert (incident["lat"], incident["lon"]) == (41.1340, 16.8620)  # ct-marisabella's place
    detail = await m.ok("GET", f"/api/v1/incidents/{incident['incident_id']}")
    assert len(detail["alerts"]) == 1  # the second one repeats the first (same rule, movement)
    assert detail["alerts"][0]["occurrences"] == 2
    await m.passage("ct-marisabella", plate="AB123CD", seals=[
        SealReading(seal_id="S-1", state=SealState.TAMPERED, source="eseal-1")])  # fmt: skip
    detail = await m.ok("GET", f"/api/v1/incidents/{incident['incident_id']}")
    assert sorted(a["rule"] for a in detail["alerts"]) == [
        "mission_path_violation",
        "seal_tampered",
    ]
    assert detail["severity"] == "critical"
    assert [e["action"] for e in detail["events"]] == ["opened", "alert_added"]


async def test_a_gate_alert_without_cargo_opens_no_incident_until_asked(
    monitored: Monitored,
) -> None:
    m = monitored
    await m.passage("ct-vittoria", plate="ZZ999ZZ")  # unknown unit: warning, no movement
    assert await m.incidents() == []
    (alert,) = await m.queue()
    incident = await m.ok("POST", f"/api/v1/alerts/{alert['alert_id']}/incident")
    assert incident["gate_id"] == "ct-vittoria"
    assert (await m.ok("GET", f"/api/v1/alerts/{alert['alert_id']}"))["incident_id"] == incident[
        "incident_id"
    ]
    again = await m.ok("POST", f"/api/v1/alerts/{alert['alert_id']}/incident")
    assert again["incident_id"] == incident["incident_id"]


async def test_dispatch_nearest_then_the_response_clock_escalates(monitored: Monitored) -> None:
    m = monitored
    await m.movement("AB123CD")
    await m.passage("ct-marisabella", plate="AB123CD")
    (incident,) = await m.incidents()
    url = f"/api/v1/incidents/{incident['incident_id']}"
    candidates = await m.ok("GET", f"{url}/candidates")
    assert [c["unit_id"] for c in candidates] == ["rru-a", "rru-b"]  # rru-a's base is nearer
    # rru-b reports a live position right at the gate: now it is the nearest
    await m.ok("POST", "/api/v1/rrus/rru-b/position", json={"lat": 41.1341, "lon": 16.8621})
    dispatched = await m.ok("POST", f"{url}/dispatch")
    assert (dispatched["status"], dispatched["unit_id"]) == ("dispatched", "rru-b")
    assert (await m.ok("GET", "/api/v1/rrus/rru-b"))["status"] == "busy"
    step = (await m.ok("GET", url))["events"][-1]
    assert step["action"] == "dispatched" and step["data"]["from"] == "live position"
    assert step["data"]["distance_m"] < 50

    m.clock.advance(minutes=59)
    await m.monitoring.step()
    assert (await m.ok("GET", url))["escalation_level"] == 0
    m.clock.advance(minutes=2)  # 61 minutes: nobody on scene
    await m.monitoring.step()
    escalated = await m.ok("GET", url)
    assert (escalated["escalation_level"], escalated["severity"]) == (1, "critical")
    assert escalated["events"][-1]["action"] == "escalated"
    assert escalated["events"][-1]["actor"] == "central"
    m.clock.advance(minutes=5)
    await m.monitoring.step()
    assert (await m.ok("GET", url))["escalation_level"] == 1  # not again before 15 minutes
    m.clock.advance(minutes=11)
    await m.monitoring.step()
    assert (await m.ok("GET", url))["escalation_level"] == 2
    await m.ok("POST", f"{url}/on-scene", json={"note": "late, but here"})
    m.clock.advance(minutes=60)
    await m.monitoring.step()
    final = await m.ok("GET", url)
    assert final["escalation_level"] == 2  # the clock stopped on scene
    on_scene = next(e for e in final["events"] if e["action"] == "on_scene")
    assert on_scene["data"]["within_sla"] is False
    async with m.central.sessions() as session:
        kinds = (await session.scalars(select(LedgerRow.kind))).all()
    assert kinds.count("incident") >= 5  # opened, dispatched, escalated x2, on_scene


async def test_the_unit_reports_with_evidence_and_resolves(monitored: Monitored) -> None:
    m = monitored
    iot_id = await m.movement("AB123CD", seals=["S-77"])
    now = utc_now()
    for i in range(3):
        await m.fix("trk-9", 41.13 + i * 0.001, 16.86, now - timedelta(minutes=3 - i))
    seal = SealEvent(seal_id="S-77", occurred_at=now, state=SealState.OPENED, event="opened")
    await m.monitoring.on_message(topics.seal_events("S-77"), seal.to_json())
    await m.passage("ct-marisabella", plate="AB123CD")
    (incident,) = await m.incidents()
    url = f"/api/v1/incidents/{incident['incident_id']}"
    assert (await m.call("POST", f"{url}/on-scene")).status_code == 409  # not dispatched yet
    await m.ok("POST", f"{url}/dispatch", json={"unit_id": "rru-a"})
    assert (await m.call("POST", f"{url}/dispatch", json={"unit_id": "rru-a"})).status_code == 409
    await m.ok("POST", f"{url}/acknowledge")
    m.clock.advance(minutes=20)
    await m.ok("POST", f"{url}/on-scene", json={"note": "truck stopped at the gate"})
    refused = await m.call("POST", f"{url}/resolve", json={"note": ""})
    assert refused.status_code == 422  # a resolution needs a report
    await m.ok("POST", f"{url}/resolve", json={"note": "plate misread; unit escorted"})
    detail = await m.ok("GET", url)
    assert detail["status"] == "resolved"
    on_scene = next(e for e in detail["events"] if e["action"] == "on_scene")
    assert on_scene["data"]["within_sla"] is True and on_scene["data"]["response_s"] == 1200
    evidence = next(e for e in detail["events"] if e["action"] == "resolved")["data"]["evidence"]
    assert [p["gate_id"] for p in evidence["passages"]] == ["ct-marisabella"]
    assert evidence["passages"][0]["identifiers"][0]["value"] == "AB123CD"
    assert [s["event"] for s in evidence["seal_events"]] == ["opened"]
    assert (await m.ok("GET", "/api/v1/rrus/rru-a"))["status"] == "available"
    assert (await m.ok("GET", f"/api/v1/units/{iot_id}/timeline"))["entries"]
    closed = await m.ok("POST", f"{url}/close", json={"note": "report filed"})
    assert closed["status"] == "closed"
    assert await m.queue() == []  # the incident's alerts closed with it


async def test_evidence_track_comes_from_the_unit_tracker(monitored: Monitored) -> None:
    m = monitored
    now = utc_now()
    await m.fix("trk-5", 41.10, 16.80, now - timedelta(minutes=2))
    await m.fix("trk-5", 41.11, 16.81, now - timedelta(minutes=1))
    await m.fix("trk-5", 41.11, 16.81, now - timedelta(minutes=5))  # late: out of order, dropped
    async with m.central.sessions.begin() as session:
        incident = IncidentRow(
            incident_id=uuid.uuid4(), subject="device:trk-5", device_id="trk-5",
            title="test", severity="warning", status="open", opened_at=m.clock.now(),
            due_at=m.clock.now(), escalation_level=0, updated_at=m.clock.now(),
        )  # fmt: skip
        session.add(incident)
    evidence = await m.ok("GET", f"/api/v1/incidents/{incident.incident_id}/evidence")
    assert [(p["lat"], p["lon"]) for p in evidence["track"]["points"]] == [
        (41.10, 16.80),
        (41.11, 16.81),
    ]


async def test_dispatch_refusals(monitored: Monitored) -> None:
    m = monitored
    await m.passage("gate-x", plate="ZZ999ZZ")  # a gate of no node: no place, no location
    (alert,) = await m.queue()
    incident = await m.ok("POST", f"/api/v1/alerts/{alert['alert_id']}/incident")
    url = f"/api/v1/incidents/{incident['incident_id']}"
    no_place = await m.call("POST", f"{url}/dispatch")
    assert no_place.status_code == 409 and "no location" in no_place.json()["detail"]
    assert (await m.call("POST", f"{url}/dispatch", json={"unit_id": "rru-zz"})).status_code == 404
    bad = await m.call("PUT", f"{url}/location", json={"lat": 91, "lon": 0})
    assert bad.status_code == 422
    await m.ok("PUT", f"{url}/location", json={"lat": 41.2, "lon": 16.95, "note": "caller"})
    for unit in ("rru-a", "rru-b"):
        await m.ok("PATCH", f"/api/v1/rrus/{unit}", json={"status": "off_duty"})
    none_left = await m.call("POST", f"{url}/dispatch")
    assert none_left.status_code == 409 and "no response unit" in none_left.json()["detail"]
    await m.ok("PATCH", "/api/v1/rrus/rru-b", json={"status": "available"})
    assert (await m.ok("POST", f"{url}/dispatch"))["unit_id"] == "rru-b"
    busy = await m.call("PATCH", "/api/v1/rrus/rru-b", json={"status": "off_duty"})
    assert busy.status_code == 409  # on an incident: resolve it first
    assert (await m.ok("GET", url))["status"] == "dispatched"


async def test_the_track_excerpt_is_cut_on_device_time_not_central_clock(
    monitored: Monitored,
) -> None:
    m = monitored
    m.clock.advance(days=30)  # central's clock far from the devices' (a scaled rehearsal)
    now = utc_now()
    await m.fix("trk-6", 41.10, 16.80, now - timedelta(hours=2))  # before the window
    await m.fix("trk-6", 41.12, 16.82, now - timedelta(minutes=10))
    await m.movement("AB123CD")
    await m.passage("ct-marisabella", plate="AB123CD", closed_at=now)
    (incident,) = await m.incidents()
    async with m.central.sessions.begin() as session:
        row = await session.get(IncidentRow, uuid.UUID(incident["incident_id"]))
        assert row is not None
        row.device_id = "trk-6"  # the tracker bound to the movement
    evidence = await m.ok("GET", f"/api/v1/incidents/{incident['incident_id']}/evidence")
    assert [(p["lat"], p["lon"]) for p in evidence["track"]["points"]] == [(41.12, 16.82)]
