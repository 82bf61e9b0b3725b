"""Tables of the monitoring centre: the alert workflow, incidents, rapid response units,
the notification outbox, gate overrides. Raw alerts stay in `alerts` (central.tables);
their workflow state lives beside them here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from central.tables import ID, Base, UtcDateTime


class AlertStateRow(Base):
    """Where an alert stands. A repeat of an open alert is `duplicate` of it."""

    __tablename__ = "alert_states"

    alert_id: Mapped[UUID] = mapped_column(
        ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True
    )
    # open | acknowledged | closed | duplicate
    status: Mapped[str] = mapped_column(String(16), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), index=True)
    severity: Mapped[str] = mapped_column(String(16))  # effective: after overrides, escalation
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)  # central's clock
    duplicate_of: Mapped[UUID | None] = mapped_column(Uuid)
    assignee: Mapped[str | None] = mapped_column(ID)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    incident_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(ID)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(ID)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlertActionRow(Base):
    """Every action on an alert: who, when, what."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(ID)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class IncidentRow(Base):
    """Alerts about one subject (a cargo movement, else a device, else a gate)."""

    __tablename__ = "incidents"

    incident_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    device_id: Mapped[str | None] = mapped_column(ID)
    gate_id: Mapped[str | None] = mapped_column(ID)
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unit_id: Mapped[str | None] = mapped_column(ID, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the response clock runs out
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IncidentEventRow(Base):
    """Every step of an incident: opened, alert added, dispatched, reports, escalations."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(ID)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ResponseUnitRow(Base):
    """A rapid response unit: its base, its live position, whether it can take a call."""

    __tablename__ = "response_units"

    unit_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    base_lat: Mapped[float] = mapped_column(Float)
    base_lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # available|busy|off_duty
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    channels: Mapped[list[str]] = mapped_column(JSON)  # console, email, webhook, mqtt
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotificationRow(Base):
    """The outbox of notifications: sent with retries and back-off."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # email|webhook|mqtt
    target: Mapped[str] = mapped_column(String(500))
    event: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str | None] = mapped_column(ID)
    incident_id: Mapped[UUID | None] = mapped_column(Uuid)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GateOverrideRow(Base):
    """A manual gate decision: who, why, and the signed decision it became."""

    __tablename__ = "gate_overrides"

    override_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    gate_id: Mapped[str] = mapped_column(ID, index=True)
    lane_id: Mapped[str] = mapped_column(ID)
    passage_id: Mapped[UUID] = mapped_column(Uuid)
    decision_id: Mapped[UUID] = mapped_column(Uuid)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(ID)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class MonitoringCursorRow(Base):
    """How far the monitoring centre has read the ledger (it follows alerts and decisions)."""

    __tablename__ = "monitoring_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
