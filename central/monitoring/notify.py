"""Notifications: an outbox in the database, sent with retries and exponential back-off.

Channels: email (SMTP), webhooks (JSON POST signed with HMAC-SHA256), MQTT to a
unit's device (`corridor/v1/rru/{unit}/notifications`, QoS 1). The console gets
every event live (`central.monitoring.live`) and needs no outbox.

A webhook carries `X-Corridor-Timestamp` (Unix seconds) and
`X-Corridor-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`;
a receiver recomputes it over the raw body and rejects old timestamps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.monitoring.settings import NotificationSettings, SmtpSettings
from central.monitoring.tables import IncidentRow, NotificationRow, ResponseUnitRow
from contract import topics
from contract.messages import IncidentNotice

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None]]
PENDING, SENT, FAILED = "pending", "sent", "failed"
BATCH = 50


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class DeliveryError(Exception):
    """One attempt failed; the outbox retries later."""


class Notifier:
    def __init__(
        self,
        settings: NotificationSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        publish: Publish | None = None,
        page_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.publish = publish  # set while the monitoring MQTT client is connected
        self.page_url = page_url  # where the RRU page is, for links in notifications
        self._http = httpx.AsyncClient(timeout=10)

    async def aclose(self) -> None:
        await self._http.aclose()

    # ----------------------------------------------------------------- planning

    def _add(
        self,
        session: AsyncSession,
        now: datetime,
        channel: str,
        target: str,
        event: str,
        payload: dict[str, Any] | str,
        *,
        unit_id: str | None = None,
        incident_id: Any = None,
    ) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True)
        session.add(
            NotificationRow(
                channel=channel,
                target=target[:500],
                event=event,
                unit_id=unit_id,
                incident_id=incident_id,
                payload=text,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def for_unit(
        self,
        session: AsyncSession,
        unit: ResponseUnitRow,
        incident: IncidentRow,
        event: str,
        now: datetime,
    ) -> None:
        """Tell a unit, on each channel its preferences name and central can use."""
        notice = IncidentNotice(
            incident_id=incident.incident_id,
            unit_id=unit.unit_id,
            event=event,
            severity=incident.severity,
            title=incident.title[:500],
            iot_id=incident.iot_id,
            lat=incident.lat,
            lon=incident.lon,
            due_at=incident.due_at,
            url=f"{self.page_url}#{incident.incident_id}" if self.page_url else None,
        )
        channels = set(unit.channels)
        if "mqtt" in channels:
            topic = topics.rru_notifications(unit.unit_id)
            self._add(
                session,
                now,
                "mqtt",
                topic,
                event,
                notice.to_json().decode(),
                unit_id=unit.unit_id,
                incident_id=incident.incident_id,
            )
        if "email" in channels and unit.email and self.settings.smtp is not None:
            mail = _mail([unit.email], f"[Corridor] incident {event}: {incident.title}", notice)
            self._add(
                session,
                now,
                "email",
                unit.email,
                event,
                mail,
                unit_id=unit.unit_id,
                incident_id=incident.incident_id,
            )
        if "webhook" in channels and unit.webhook_url and self.settings.webhook_secret:
            body = notice.model_dump(mode="json")
            self._add(
                session,
                now,
                "webhook",
                unit.webhook_url,
                event,
                body,
                unit_id=unit.unit_id,
                incident_id=incident.incident_id,
            )

    def for_systems(
        self, session: AsyncSession, event: str, body: dict[str, Any], now: datetime
    ) -> None:
        """Every configured webhook receives every alert and incident event."""
        for index, hook in enumerate(self.settings.webhooks):
            payload = {"event": event, "data": body, "webhook": index}
            self._add(session, now, "webhook", hook.url, event, payload)

    def for_supervisors(self, session: AsyncSession, incident: IncidentRow, now: datetime) -> None:
        if not self.settings.supervisor_emails or self.settings.smtp is None:
            return
        notice = IncidentNotice(
            incident_id=incident.incident_id,
            unit_id=incident.unit_id or "none",
            event="escalated",
            severity="critical",
            title=incident.title[:500],
            iot_id=incident.iot_id,
            lat=incident.lat,
            lon=incident.lon,
            due_at=incident.due_at,
        )
        subject = f"[Corridor] ESCALATED (level {incident.escalation_level}): {incident.title}"
        mail = _mail(self.settings.supervisor_emails, subject, notice)
        self._add(
            session,
            now,
            "email",
            ",".join(self.settings.supervisor_emails),
            "escalated",
            mail,
            incident_id=incident.incident_id,
        )

    # ----------------------------------------------------------------- delivery

    async def deliver_due(self, now: datetime) -> int:
        """Try every notification that is due; returns how many went out."""
        async with self.sessions() as session:
            due = (
                await session.scalars(
                    select(NotificationRow)
                    .where(
                        NotificationRow.status == PENDING, NotificationRow.next_attempt_at <= now
                    )
                    .order_by(NotificationRow.id)
                    .limit(BATCH)
                )
            ).all()
        sent = 0
        for row in due:
            # The network call happens outside any transaction (SQLite holds its write lock).
            try:
                await self._send(row)
                error = None
            except DeliveryError as err:
                error = str(err)[:2000]
            async with self.sessions.begin() as session:
                stored = await session.get(NotificationRow, row.id)
                if stored is None:
                    continue
                stored.attempts += 1
                if error is None:
                    stored.status, stored.sent_at, stored.last_error = SENT, now, None
                    sent += 1
                    continue
                stored.last_error = error
                if stored.attempts >= self.settings.max_attempts:
                    stored.status = FAILED
                    log.error("notification %d (%s to %s) failed: %s", row.id, row.channel,
                              row.target, error)  # fmt: skip
                else:
                    stored.next_attempt_at = now + self.backoff(stored.attempts)
                    log.warning("notification %d (%s) attempt %d failed: %s", row.id,
                                row.channel, stored.attempts, error)  # fmt: skip
        return sent

    def backoff(self, attempts: int) -> timedelta:
        """Wait before the next attempt: base * 2^(attempts-1), capped."""
        seconds = self.settings.retry_base_s * 2 ** (attempts - 1)
        return timedelta(seconds=min(self.settings.retry_cap_s, seconds))

    async def _send(self, row: NotificationRow) -> None:
        if row.channel == "mqtt":
            if self.publish is None:
                raise DeliveryError("not connected to the broker")
            try:
                await self.publish(row.target, row.payload.encode())
            except Exception as err:
                raise DeliveryError(f"publish failed: {err}") from err
        elif row.channel == "email":
            smtp = self.settings.smtp
            if smtp is None:
                raise DeliveryError("no smtp settings")
            await asyncio.to_thread(_send_mail, smtp, json.loads(row.payload))
        elif row.channel == "webhook":
            await self._post(row)
        else:
            raise DeliveryError(f"unknown channel {row.channel}")

    async def _post(self, row: NotificationRow) -> None:
        payload = json.loads(row.payload)
        index = payload.pop("webhook", None) if isinstance(payload, dict) else None
        if index is not None and index < len(self.settings.webhooks):
            secret = self.settings.webhooks[index].secret
        else:
            secret = self.settings.webhook_secret or ""
        if not secret:
            raise DeliveryError("no webhook secret configured")
        body = json.dumps(payload, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Corridor-Event": row.event,
            "X-Corridor-Timestamp": timestamp,
            "X-Corridor-Signature": signature(secret, timestamp, body),
        }
        try:
            response = await self._http.post(row.target, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise DeliveryError(f"POST {row.target}: {err!r}") from err
        if response.status_code >= 300:
            raise DeliveryError(f"POST {row.target} -> {response.status_code}")


def _mail(to: list[str], subject: str, notice: IncidentNotice) -> dict[str, Any]:
    lines = [
        notice.title,
        "",
        f"incident: {notice.incident_id}",
        f"event:    {notice.event}",
        f"severity: {notice.severity}",
        f"unit:     {notice.unit_id}",
    ]
    if notice.iot_id:
        lines.append(f"movement: {notice.iot_id}")
    if notice.lat is not None and notice.lon is not None:
        lines.append(f"where:    {notice.lat:.5f}, {notice.lon:.5f}")
    if notice.due_at:
        lines.append(f"respond by: {notice.due_at.isoformat()}")
    if notice.url:
        lines.append(f"open: {notice.url}")
    return {"to": to, "subject": subject[:200], "body": "\n".join(lines)}


def _send_mail(smtp: SmtpSettings, mail: dict[str, Any]) -> None:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(mail["to"])
    message["Subject"] = mail["subject"]
    message.set_content(mail["body"])
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {err!r}") from err
