"""The alert workflow: repeats folded (dedupe, debounce), severity, every action recorded
with who and when and put on the ledger; refused actions change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from monitoring_support import Monitored
from sqlalchemy import select

from central import ledger
from central.tables import LedgerRow
from contract.messages import utc_now


async def test_a_repeat_is_folded_into_the_open_alert(monitored_both: Monitored) -> None:
    m = monitored_both
    await m.passage("ct-vittoria", plate="ZZ999ZZ")  # no movement: unknown_unit
    await m.passage("ct-vittoria", plate="ZZ999ZZ")
    await m.passage("ct-vittoria", plate="YY111YY")  # another unit: its own alert
    raw = await m.ok("GET", "/api/v1/alerts?rule=unknown_unit")
    assert len(raw) == 3  # every raw alert is kept
    queue = await m.queue()
    assert sorted((a["rule"], a["occurrences"]) for a in queue) == [
        ("unknown_unit", 1),
        ("unknown_unit", 2),
    ]
    folded = next(a for a in queue if a["occurrences"] == 2)
    duplicate = next(
        a for a in await m.queue(status=["duplicate"]) if a["duplicate_of"] == folded["alert_id"]
    )
    assert duplicate["status"] == "duplicate"
    actions = await m.ok("GET", f"/api/v1/alerts/{folded['alert_id']}/actions")
    assert [a["action"] for a in actions] == ["raised", "repeated"]


async def test_debounce_folds_a_quick_repeat_of_a_closed_alert_and_not_a_later_one(
    monitored: Monitored,
) -> None:
    m = monitored
    first = utc_now()
    await m.passage("ct-vittoria", plate="ZZ999ZZ", closed_at=first)
    (alert,) = await m.queue()
    await m.ok("POST", f"/api/v1/alerts/{alert['alert_id']}/close", json={"note": "known truck"})
    await m.passage("ct-vittoria", plate="ZZ999ZZ", closed_at=first + timedelta(seconds=30))
    assert await m.queue() == []  # within 60 s of the last occurrence: folded
    closed = await m.ok("GET", f"/api/v1/alerts/{alert['alert_id']}")
    assert (closed["status"], closed["occurrences"]) == ("closed", 2)
    await m.passage("ct-vittoria", plate="ZZ999ZZ", closed_at=first + timedelta(seconds=200))
    (again,) = await m.queue()
    assert again["alert_id"] != alert["alert_id"]
    assert again["status"] == "open"


async def test_severity_override_from_the_settings(
    monitored_factory: Callable[..., Awaitable[Monitored]],
) -> None:
    m = await monitored_factory(severity={"unknown_unit": "critical"})
    await m.passage("ct-vittoria", plate="ZZ999ZZ")
    (alert,) = await m.queue()
    assert (alert["severity"], alert["raised_severity"]) == ("critical", "warning")


async def test_every_action_is_recorded_with_who_and_when_and_on_the_ledger(
    monitored_both: Monitored,
) -> None:
    m = monitored_both
    await m.passage("ct-vittoria", plate="ZZ999ZZ")
    (alert,) = await m.queue()
    url = f"/api/v1/alerts/{alert['alert_id']}"
    await m.ok("POST", f"{url}/acknowledge")
    m.clock.advance(minutes=1)
    await m.ok("POST", f"{url}/assign", json={"assignee": "maria"})
    await m.ok("POST", f"{url}/comment", json={"note": "driver called: wrong plate read"})
    escalated = await m.ok("POST", f"{url}/escalate", json={"note": "supervisor please"})
    assert (escalated["severity"], escalated["escalation_level"]) == ("critical", 1)
    closed = await m.ok("POST", f"{url}/close", json={"note": "plate corrected"})
    assert closed["status"] == "closed" and closed["closed_by"] == "anonymous"
    reopened = await m.ok("POST", f"{url}/reopen")
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    actions = await m.ok("GET", f"{url}/actions")
    assert [a["action"] for a in actions] == [
        "raised",
        "acknowledged",
        "assigned",
        "commented",
        "escalated",
        "closed",
        "reopened",
    ]
    assert {a["actor"] for a in actions[1:]} == {"anonymous"}
    assert actions[2]["data"] == {"assignee": "maria"}
    assert actions[3]["note"] == "driver called: wrong plate read"
    assert actions[2]["at"] > actions[1]["at"]  # the clock moved a minute between them
    async with m.central.sessions() as session:
        bodies = (
            await session.scalars(select(LedgerRow.body).where(LedgerRow.kind == "alert_action"))
        ).all()
        assert len(bodies) == 6
        assert (await ledger.verify(session)).ok


async def test_refused_actions_say_why_and_change_nothing(monitored: Monitored) -> None:
    m = monitored
    await m.passage("ct-vittoria", plate="ZZ999ZZ")
    (alert,) = await m.queue()
    url = f"/api/v1/alerts/{alert['alert_id']}"
    await m.ok("POST", f"{url}/acknowledge")
    cases = [
        (f"{url}/acknowledge", {}, 409),  # acknowledged already
        (f"{url}/comment", {"note": "  "}, 422),  # a comment needs a note
        (f"{url}/assign", {}, 422),  # assign needs an assignee
        (f"{url}/assign", {"assignee": "no spaces allowed"}, 422),
        (f"{url}/reopen", {}, 409),  # not closed
        (f"{url}/frobnicate", {}, 422),  # no such action
        (f"{url}/close", {"note": "x", "extra": 1}, 422),  # unknown field
        ("/api/v1/alerts/3fa85f64-5717-4562-b3fc-2c963f66afa6/close", {}, 404),
        ("/api/v1/alerts/not-a-uuid/close", {}, 422),
    ]
    for path, body, status in cases:
        response = await m.call("POST", path, json=body)
        assert response.status_code == status, (path, response.text)
        assert response.json()["detail"]
    after = await m.ok("GET", f"{url}/actions")
    assert [a["action"] for a in after] == ["raised", "acknowledged"]
    assert (await m.ok("GET", url))["status"] == "acknowledged"
