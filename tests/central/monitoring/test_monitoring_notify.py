"""Notifications: email to a real local SMTP server (aiosmtpd), signed webhooks to a real
HTTP receiver that verifies the signature, retries with back-off, per-unit preferences."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from monitoring_support import Monitored, Server, WebhookReceiver

from corridor.broker import free_port

UNIT_SECRET = "unit-webhook-secret-0123456789"
SYSTEM_SECRET = "system-webhook-secret-9876543210"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port (aiosmtpd, in its own thread)."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    hooks = WebhookReceiver({"/unit": UNIT_SECRET, "/systems": SYSTEM_SECRET})
    async with Server(hooks.app) as server:
        yield hooks, server.url


def _notifications(smtp_port: int, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": "centre@corridor.test"},
        "webhook_secret": UNIT_SECRET,
        "webhooks": [{"url": f"{url}/systems", "secret": SYSTEM_SECRET}],
        "supervisor_emails": ["duty-supervisor@corridor.test"],
        **extra,
    }


def _units(url: str, channels: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "unit_id": "rru-a",
            "name": "Unit A",
            "base_lat": 41.13,
            "base_lon": 16.86,
            "channels": channels,
            "email": "crew-a@corridor.test",
            "webhook_url": f"{url}/unit",
        }
    ]


async def _incident(m: Monitored) -> str:
    await m.movement("AB123CD")
    await m.passage("ct-marisabella", plate="AB123CD")
    (incident,) = await m.incidents()
    return str(incident["incident_id"])


async def test_dispatch_mails_and_calls_the_unit_and_the_systems(
    monitored_factory: Callable[..., Awaitable[Monitored]],
    smtp: tuple[Inbox, int],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    (inbox, port), (hooks, url) = smtp, receiver
    m = await monitored_factory(
        notifications=_notifications(port, url), units=_units(url, ["email", "webhook"])
    )
    incident_id = await _incident(m)
    await m.monitoring.step()
    assert [h["event"] for h in hooks.received["/systems"]] == ["alert", "incident"]
    assert hooks.received["/systems"][1]["body"]["data"]["incident_id"] == incident_id
    await m.ok("POST", f"/api/v1/incidents/{incident_id}/dispatch", json={"unit_id": "rru-a"})
    await m.monitoring.step()
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["crew-a@corridor.test"]
    parsed = message_from_bytes(mail.content)
    assert "dispatched" in parsed["Subject"] and "mission_path_violation" in parsed["Subject"]
    assert incident_id in parsed.get_payload()
    (notice,) = hooks.received["/unit"]
    assert notice["event"] == "dispatched"
    assert (notice["body"]["incident_id"], notice["body"]["unit_id"]) == (incident_id, "rru-a")
    assert notice["body"]["lat"] == pytest.approx(41.134)
    sent = await m.ok("GET", "/api/v1/notifications")
    assert {(n["channel"], n["status"]) for n in sent} == {("email", "sent"), ("webhook", "sent")}
    assert hooks.refused == 0


async def test_the_receiver_refuses_a_bad_signature(receiver: tuple[WebhookReceiver, str]) -> None:
    hooks, url = receiver
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            f"{url}/unit",
            content=b'{"event":"dispatched"}',
            headers={"X-Corridor-Timestamp": "1", "X-Corridor-Signature": "sha256=00"},
        )
    assert forged.status_code == 401 and hooks.refused == 1 and hooks.received["/unit"] == []


async def test_failed_deliveries_are_retried_with_back_off(
    monitored_factory: Callable[..., Awaitable[Monitored]],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hooks, url = receiver
    closed_port = free_port()  # nothing listens there: every mail attempt fails
    m = await monitored_factory(
        notifications=_notifications(closed_port, url, max_attempts=3, webhooks=[]),
        units=_units(url, ["email", "webhook"]),
    )
    hooks.fail_first = 2
    incident_id = await _incident(m)
    await m.ok("POST", f"/api/v1/incidents/{incident_id}/dispatch", json={"unit_id": "rru-a"})

    async def rows() -> dict[str, dict[str, Any]]:
        return {n["channel"]: n for n in await m.ok("GET", "/api/v1/notifications")}

    await m.monitoring.step()
    first = await rows()
    assert (first["webhook"]["status"], first["webhook"]["attempts"]) == ("pending", 1)
    assert "503" in first["webhook"]["last_error"]
    await m.monitoring.step()  # not due yet: nothing is tried
    assert (await rows())["webhook"]["attempts"] == 1
    m.clock.advance(seconds=2)  # retry_base_s
    await m.monitoring.step()
    assert (await rows())["webhook"]["attempts"] == 2
    m.clock.advance(seconds=3)  # the second wait is 4 s
    await m.monitoring.step()
    assert (await rows())["webhook"]["attempts"] == 2
    m.clock.advance(seconds=1)
    await m.monitoring.step()
    done = await rows()
    assert (done["webhook"]["status"], done["webhook"]["attempts"]) == ("sent", 3)
    assert len(hooks.received["/unit"]) == 1
    assert (done["email"]["status"], done["email"]["attempts"]) == ("failed", 3)
    assert (
        "Connection refused" in done["email"]["last_error"] or "111" in done["email"]["last_error"]
    )


async def test_a_unit_gets_only_the_channels_it_prefers(
    monitored_factory: Callable[..., Awaitable[Monitored]],
    smtp: tuple[Inbox, int],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    (inbox, port), (hooks, url) = smtp, receiver
    m = await monitored_factory(
        notifications=_notifications(port, url, webhooks=[]), units=_units(url, ["console"])
    )
    incident_id = await _incident(m)
    await m.ok("POST", f"/api/v1/incidents/{incident_id}/dispatch", json={"unit_id": "rru-a"})
    await m.monitoring.step()
    assert await m.ok("GET", "/api/v1/notifications") == []
    assert inbox.messages == [] and hooks.received["/unit"] == []
    # the crew turns email on; the next event (withdrawn, on close) is mailed
    await m.ok("PATCH", "/api/v1/rrus/rru-a", json={"channels": ["console", "email"]})
    await m.ok("POST", f"/api/v1/incidents/{incident_id}/close", json={"note": "called off"})
    await m.monitoring.step()
    (mail,) = inbox.messages
    assert "withdrawn" in message_from_bytes(mail.content)["Subject"]


async def test_supervisors_are_mailed_when_the_clock_runs_out(
    monitored_factory: Callable[..., Awaitable[Monitored]],
    smtp: tuple[Inbox, int],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    (inbox, port), (_, url) = smtp, receiver
    m = await monitored_factory(
        notifications=_notifications(port, url, webhooks=[]), units=_units(url, ["console"])
    )
    await _incident(m)
    m.clock.advance(minutes=61)
    await m.monitoring.step()
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["duty-supervisor@corridor.test"]
    assert "ESCALATED" in message_from_bytes(mail.content)["Subject"]
