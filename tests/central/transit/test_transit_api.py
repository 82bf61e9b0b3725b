"""Central's transit side on a real database (SQLite and PostgreSQL): binding trackers and
e-seals to movements over HTTP, fixes stored and judged, bad input refused, state kept
across a restart, the manual clock, tracks and corridors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from conftest import StartTransit, TransitCentral
from sqlalchemy import func, select, update
from transit_support import T0, at, position

from central.tables import MovementRow, RejectedMessageRow
from central.transit.tables import TransitFixRow, TransitStateRow
from contract import topics


async def count(transit: TransitCentral, table: type, **where: object) -> int:
    async with transit.central.sessions() as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return int(await session.scalar(query) or 0)


async def drive_out_of_port(transit: TransitCentral, device: str, t0: float = 0) -> float:
    """Five minutes loading in the port, then out to km 5; returns the next free second."""
    t = t0
    for _ in range(6):
        await transit.send(position(device, t, 0.0, speed_mps=0.0))
        t += 60
    for km in range(6):
        await transit.send(position(device, t, float(km)))
        t += 60
    return t


# --------------------------------------------------------------------------- binding


async def test_a_customs_system_binds_trackers_seals_corridor_and_nodes(
    transit: TransitCentral,
) -> None:
    iot_id = await transit.movement(seals=["KE-0412 345"])
    r = await transit.bind(iot_id, "trk-a1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["trackers"] == ["trk-a1"]
    assert body["seals"] == ["KE0412345"]  # the declared seal, normalised
    assert body["corridor_id"] == "test-road" and body["nodes"] == ["depot"]
    assert body["status"]["next_node"] == "depot" and body["status"]["started_at"] is None
    again = await transit.http.get(f"/api/v1/movements/{iot_id}/transit")
    assert again.json() == body
    # binding again replaces the devices
    r = await transit.bind(iot_id, "trk-a2", seals=["S-1"])
    assert (r.json()["trackers"], r.json()["seals"]) == (["trk-a2"], ["S-1"])


async def test_binding_refuses_what_central_cannot_follow(transit_sqlite: TransitCentral) -> None:
    transit = transit_sqlite
    iot_id = await transit.movement()
    nobody = "6f1c1f7e-3b7a-4c1e-9a0e-2f6f0c7a1b2c"
    assert (await transit.bind(nobody, "trk-b1")).status_code == 404
    r = await transit.bind(iot_id, "trk-b1", corridor_id="a109")
    assert r.status_code == 422 and "corridor a109" in r.text
    r = await transit.bind(iot_id, "trk-b1", nodes=["depot", "test-road", "nowhere"])
    assert r.status_code == 422 and "test-road" in r.text and "nowhere" in r.text
    r = await transit.http.put(f"/api/v1/movements/{iot_id}/transit", json={"trackers": []})
    assert r.status_code == 422 and "at least one tracker" in r.text
    r = await transit.http.put(f"/api/v1/movements/{iot_id}/transit", json={"trackers": ["bad/id"]})
    assert r.status_code == 422
    assert (await transit.bind(iot_id, "trk-b1")).status_code == 200
    # a tracker serves one active movement at a time ...
    other = await transit.movement()
    r = await transit.bind(other, "trk-b1")
    assert r.status_code == 409 and iot_id in r.text
    # ... and may be moved on once its movement is completed
    async with transit.central.sessions.begin() as session:
        await session.execute(
            update(MovementRow).where(MovementRow.iot_id == UUID(iot_id)).values(state="completed")
        )
    assert (await transit.bind(other, "trk-b1")).status_code == 200


# --------------------------------------------------------------------------- ingest


async def test_fixes_are_stored_once_judged_and_alerts_stored_on_the_ledger(
    transit: TransitCentral,
) -> None:
    iot_id = await transit.movement(status="lodged")  # not cleared: leaving the port is an alert
    await transit.bind(iot_id, "trk-c1")
    t = await drive_out_of_port(transit, "trk-c1")
    assert await count(transit, TransitFixRow, device_id="trk-c1") == 12
    alerts = await transit.alerts("left_controlled_area")
    assert len(alerts) == 1
    assert alerts[0]["iot_id"] == iot_id and alerts[0]["severity"] == "critical"
    assert alerts[0]["raised_at"] == "2026-03-02T06:09:00.000Z"  # km 2 at 480 s, + dwell
    assert alerts[0]["details"]["device_id"] == "trk-c1"
    # the same message again (an outbox resend): one row, no second alert
    again = position("trk-c1", t, 6.0)
    await transit.send(again)
    await transit.send(again)
    stats = transit.pipeline.stats
    assert stats.duplicates == 1 and stats.stored == 13
    assert await count(transit, TransitFixRow, device_id="trk-c1") == 13
    assert len(await transit.alerts("left_controlled_area")) == 1
    verified = (await transit.http.get("/api/v1/ledger/verify")).json()
    assert verified["ok"] and verified["entries"] >= 1


async def test_bad_input_is_refused_counted_stored_for_review_and_changes_nothing(
    transit: TransitCentral,
) -> None:
    iot_id = await transit.movement()
    await transit.bind(iot_id, "trk-d1")
    await drive_out_of_port(transit, "trk-d1")
    async with transit.central.sessions() as session:
        state_before = (await session.get(TransitStateRow, UUID(iot_id))).state  # type: ignore[union-attr]
    good = position("trk-d1", 10_000, 7.0).to_json()
    bad = {
        "not json": b"{nope",
        "latitude out of range": good.replace(b'"lat":-1.0', b'"lat":-91.0'),
        "unknown field": good[:-1] + b',"altitude_ft":3}',
        "naive time": good.replace(
            b'"fixed_at":"2026-03-02T08:46:40.000Z"', b'"fixed_at":"2026-03-02T08:46:40"'
        ),
    }
    assert bad["latitude out of range"] != good and bad["naive time"] != good
    for payload in bad.values():
        await transit.pipeline.handle(topics.unit_positions("trk-d1"), payload)
    # the topic names another device than the payload
    await transit.pipeline.handle(topics.unit_positions("trk-other"), good)
    await transit.pipeline.handle(f"{topics.ROOT}/units/trk-d1", good)  # no device level kind
    stats = transit.pipeline.stats
    assert stats.rejected == 6 and stats.failed == 0
    assert stats.rejected_by_reason["invalid payload"] == 4
    assert stats.rejected_by_reason["device mismatch"] == 1
    assert await count(transit, RejectedMessageRow) == 6
    assert await count(transit, TransitFixRow, device_id="trk-d1") == 12
    async with transit.central.sessions() as session:
        row = await session.get(TransitStateRow, UUID(iot_id))
        assert row is not None and row.state == state_before
    await transit.pipeline.handle(topics.unit_positions("trk-d1"), good)  # still working
    assert await count(transit, TransitFixRow, device_id="trk-d1") == 13


async def test_unbound_devices_and_late_fixes_are_stored_but_not_judged(
    transit_sqlite: TransitCentral,
) -> None:
    transit = transit_sqlite
    await transit.send(position("trk-nobody", 0, 3.0))
    assert transit.pipeline.stats.unbound == 1
    iot_id = await transit.movement()
    await transit.bind(iot_id, "trk-e1")
    t = await drive_out_of_port(transit, "trk-e1")
    await transit.send(position("trk-e1", t - 90, 4.5))  # older than the newest judged fix
    await transit.send(position("trk-e1", t, 6.0, mode=1))  # no GNSS fix
    stats = transit.pipeline.stats
    assert (stats.late, stats.unusable) == (1, 1)
    track = (
        await transit.http.get(f"/api/v1/movements/{iot_id}/track", params={"limit": 100})
    ).json()
    assert len(track) == 14
    assert [f["judged"] for f in track[-4:]] == [True, False, True, False]  # device-time order
    assert [f["fixed_at"] for f in track] == sorted(f["fixed_at"] for f in track)
    window = await transit.http.get(
        f"/api/v1/movements/{iot_id}/track",
        params={"since": "2026-03-02T06:06:00Z", "until": "2026-03-02T06:08:00Z"},
    )
    assert [f["fixed_at"] for f in window.json()] == [
        "2026-03-02T06:06:00.000Z",
        "2026-03-02T06:07:00.000Z",
    ]
    naive = await transit.http.get(
        f"/api/v1/movements/{iot_id}/track", params={"since": "2026-03-02T06:06:00"}
    )
    assert naive.status_code == 422


# --------------------------------------------------------------------------- clock, restart


async def test_the_manual_clock_moves_forward_only_and_sweeps_for_silence(
    transit_sqlite: TransitCentral,
) -> None:
    transit = transit_sqlite
    iot_id = await transit.movement()
    await transit.bind(iot_id, "trk-f1")
    t = await drive_out_of_port(transit, "trk-f1")
    last = t - 60
    clock = (await transit.http.get("/api/v1/transit/clock")).json()
    assert clock == {"now": "2026-03-02T06:00:00.000Z", "manual": True}
    assert (await transit.set_clock(at(last + 900))).status_code == 200
    assert await transit.alerts("signal_loss") == []
    r = await transit.set_clock(at(last + 960))
    assert r.json()["now"] == "2026-03-02T06:27:00.000Z"
    found = await transit.alerts("signal_loss")
    assert [a["raised_at"] for a in found] == ["2026-03-02T06:26:00.000Z"]  # last fix + 900 s
    r = await transit.set_clock(at(last))
    assert r.status_code == 409 and "never goes back" in r.text
    status = (await transit.http.get(f"/api/v1/movements/{iot_id}/transit")).json()["status"]
    assert status["signal_lost"] is True


async def test_a_system_clock_cannot_be_set(
    start_transit: StartTransit, fresh_database_url: Callable[[str], Awaitable[str]]
) -> None:
    transit = await start_transit(
        await fresh_database_url("sqlite"), transit={"fences": [], "clock": {"mode": "system"}}
    )
    r = await transit.set_clock(T0)
    assert r.status_code == 409 and "system clock" in r.text


async def test_an_open_episode_survives_a_restart_and_is_not_raised_again(
    start_transit: StartTransit, database_url: str
) -> None:
    first = await start_transit(database_url)
    iot_id = await first.movement()
    await first.bind(iot_id, "trk-g1")
    t = await drive_out_of_port(first, "trk-g1")
    await first.set_clock(at(t + 3600))
    assert len(await first.alerts("signal_loss")) == 1
    await first.stop()

    second = await start_transit(database_url)
    assert second.pipeline.states  # picked up from the database
    await second.set_clock(at(t + 7200))  # central's clock starts again at T0; moved on
    assert len(await second.alerts("signal_loss")) == 1
    # a fresh fix ends the episode; a new silence is a new one
    await second.set_clock(at(t + 7300))
    await second.send(position("trk-g1", t + 7300, 30.0))
    await second.set_clock(at(t + 7300 + 1000))
    assert len(await second.alerts("signal_loss")) == 2


# --------------------------------------------------------------------------- reading


async def test_corridors_show_the_tolerances_in_effect(transit_sqlite: TransitCentral) -> None:
    corridors = (await transit_sqlite.http.get("/api/v1/transit/corridors")).json()
    assert [c["corridor_id"] for c in corridors] == ["test-road"]
    road = corridors[0]
    assert road["buffer_m"] == 500.0 and 54_000 < road["length_m"] < 56_000
    assert road["tolerances"]["stop_after_s"] == 1200  # the corridor's own property
    assert road["tolerances"]["signal_loss_after_s"] == 900  # the default
    stats = (await transit_sqlite.http.get("/api/v1/transit/stats")).json()
    assert stats["received"] == 0 and stats["timeseries"] is None
