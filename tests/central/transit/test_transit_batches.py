"""Messages that arrive together are judged in order and stored in one transaction:
the outcome (rows, states, alerts, counts) is what one message at a time gives."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from conftest import TransitCentral
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from transit_support import position

from central.tables import RejectedMessageRow
from central.transit import store
from central.transit.tables import TransitFixRow, TransitStateRow
from contract import topics
from contract.messages import PositionFix


def journey(device: str) -> list[tuple[str, bytes]]:
    """Loading in the port, out to km 5 (not cleared: an alert), a fix that arrives
    late, one without a GNSS fix, then on to km 8."""
    fixes = [position(device, 60.0 * i, 0.0, speed_mps=0.0) for i in range(6)]
    fixes += [position(device, 360.0 + 60 * km, float(km)) for km in range(6)]
    fixes.append(position(device, 630.0, 4.5))  # older than the newest judged fix
    fixes.append(position(device, 720.0, 6.0, mode=1))
    fixes += [position(device, 720.0 + 60 * n, 6.0 + n) for n in range(1, 3)]
    return [(topics.unit_positions(device), f.to_json()) for f in fixes]


async def outcome(transit: TransitCentral, iot_id: str, device: str) -> dict[str, Any]:
    async with transit.central.sessions() as session:
        fixes = await session.scalar(
            select(func.count()).select_from(TransitFixRow).where(TransitFixRow.device_id == device)
        )
        judged = await session.scalar(
            select(func.count())
            .select_from(TransitFixRow)
            .where(TransitFixRow.device_id == device, TransitFixRow.judged)
        )
        state = await session.get(TransitStateRow, UUID(iot_id))
    alerts = [a for a in await transit.alerts() if a["iot_id"] == iot_id]
    assert state is not None
    return {
        "fixes": fixes,
        "judged": judged,
        "state": state.state,
        "alerts": sorted((a["rule"], a["raised_at"]) for a in alerts),
    }


async def test_a_batch_comes_out_as_one_message_at_a_time_would(
    transit: TransitCentral,
) -> None:
    one, many = await transit.movement(status="lodged"), await transit.movement(status="lodged")
    await transit.bind(one, "trk-one")
    await transit.bind(many, "trk-many")
    for topic, payload in journey("trk-one"):
        await transit.pipeline.handle(topic, payload)
    singly = await outcome(transit, one, "trk-one")
    before = transit.pipeline.stats.stored

    messages = journey("trk-many")
    resend = messages[3]
    batches = [
        [*messages[:5], resend],  # a resend inside the batch
        [(topics.unit_positions("trk-many"), b"{nope"), *messages[5:9]],  # garbage among them
        [resend, *messages[9:]],  # a resend of a fix stored by an earlier batch
    ]
    for batch in batches:
        done = await transit.pipeline.handle_batch(batch)
        assert len(done) == len(batch)
    together = await outcome(transit, many, "trk-many")

    assert singly["alerts"] == [("left_controlled_area", "2026-03-02T06:09:00.000Z")]
    assert together["alerts"] == singly["alerts"]
    assert (
        (together["fixes"], together["judged"]) == (singly["fixes"], singly["judged"]) == (16, 14)
    )
    assert together["state"] == singly["state"]
    stats = transit.pipeline.stats
    assert stats.transactions == 16 + 3 and stats.batches_retried == 0  # one per batch
    assert stats.stored - before == 16 and stats.duplicates == 2 and stats.late == 2
    assert stats.rejected == 1 and stats.failed == 0
    assert stats.received == stats.handled == 16 + sum(len(b) for b in batches)
    async with transit.central.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RejectedMessageRow)) == 1
    verified = (await transit.http.get("/api/v1/ledger/verify")).json()
    assert verified["ok"]


async def test_a_batch_that_fails_to_store_keeps_nothing_and_runs_one_at_a_time(
    transit_sqlite: TransitCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    transit = transit_sqlite
    iot_id = await transit.movement(status="lodged")
    await transit.bind(iot_id, "trk-race")
    messages = journey("trk-race")
    await transit.pipeline.handle_batch(messages[:6])
    # Another central process (a second worker) stores the next fix, and this one's
    # check for resends runs before that commit: it sees nothing; its own commit fails.
    other = PositionFix.model_validate_json(messages[6][1])
    async with transit.central.sessions.begin() as session:
        session.add(
            TransitFixRow(
                message_id=other.message_id,
                device_id=other.device_id,
                fixed_at=other.fixed_at,
                received_at=other.fixed_at,
                lat=other.lat,
                lon=other.lon,
                mode=other.mode,
                judged=False,
            )
        )

    async def sees_nothing(*_: object) -> set[UUID]:
        return set()

    monkeypatch.setattr(store, "stored_ids", sees_nothing)
    await transit.pipeline.handle_batch(messages[6:])
    monkeypatch.undo()

    result = await outcome(transit, iot_id, "trk-race")
    assert result["fixes"] == 16 and result["judged"] == 13  # the other process's row
    assert [rule for rule, _ in result["alerts"]] == ["left_controlled_area"]
    stats = transit.pipeline.stats
    assert stats.batches_retried == 1 and stats.transactions == 1 + 9
    assert stats.duplicates == 1 and stats.stored == 6 + 9 and stats.failed == 0
    assert (stats.late, stats.unusable) == (1, 1)  # counted once, not again on the rerun


async def test_a_batch_whose_resends_cannot_be_looked_up_runs_one_at_a_time(
    transit_sqlite: TransitCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    transit = transit_sqlite
    iot_id = await transit.movement(status="lodged")
    await transit.bind(iot_id, "trk-locked")

    async def database_trouble(*_: object) -> set[UUID]:
        raise OperationalError("SELECT message_id", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "stored_ids", database_trouble)
    done = await transit.pipeline.handle_batch(journey("trk-locked"))
    monkeypatch.undo()

    assert len(done) == 16 and all(i.message is not None for i in done)
    result = await outcome(transit, iot_id, "trk-locked")
    assert (result["fixes"], result["judged"]) == (16, 14)
    assert result["alerts"] == [("left_controlled_area", "2026-03-02T06:09:00.000Z")]
    stats = transit.pipeline.stats
    assert stats.batches_retried == 1 and stats.transactions == 16 and stats.failed == 0
    assert stats.received == stats.handled == 16 and stats.unusable == 1
