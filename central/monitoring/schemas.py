"""Wire models of the monitoring API (requests `XBody`/`XCreate`, responses `XView`)."""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from central.auth.roles import Role
from central.monitoring.settings import DEFAULT_CHANNELS, Channel
from central.monitoring.tables import (
    AlertStateRow,
    IncidentRow,
    ResponseUnitRow,
)
from central.tables import AlertRow
from contract.messages import DeviceId, UtcTime, Verdict

UnitStatus = Literal["available", "busy", "off_duty"]
IncidentStatus = Literal["open", "dispatched", "acknowledged", "on_scene", "resolved", "closed"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _text(limit: int, *, required: bool = False) -> Any:
    return Field(default=... if required else "", max_length=limit)


# --------------------------------------------------------------------------- alerts


class AlertView(BaseModel):
    alert_id: UUID
    rule: str
    severity: str = Field(description="effective severity (overrides, escalation)")
    raised_severity: str = Field(description="what the rule said")
    raised_at: UtcTime
    iot_id: UUID | None
    gate_id: str | None
    device_id: str | None
    passage_id: UUID | None
    lat: float | None
    lon: float | None
    summary: str
    details: dict[str, Any]
    status: Literal["open", "acknowledged", "closed", "duplicate", "new"] = Field(
        description="new: not yet taken in by the monitoring centre"
    )
    occurrences: int
    last_raised_at: UtcTime
    assignee: str | None
    escalation_level: int
    incident_id: UUID | None
    duplicate_of: UUID | None
    acknowledged_at: UtcTime | None
    acknowledged_by: str | None
    closed_at: UtcTime | None
    closed_by: str | None


def alert_view(row: AlertRow, state: AlertStateRow | None) -> AlertView:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = {}
    return AlertView(
        alert_id=row.alert_id,
        rule=row.rule,
        severity=state.severity if state else row.severity,
        raised_severity=row.severity,
        raised_at=row.raised_at,
        iot_id=row.iot_id,
        gate_id=row.gate_id,
        device_id=payload.get("device_id"),
        passage_id=row.passage_id,
        lat=payload.get("lat"),
        lon=payload.get("lon"),
        summary=row.summary,
        details=row.details,
        status=state.status if state else "new",
        occurrences=state.occurrences if state else 1,
        last_raised_at=state.last_raised_at if state else row.raised_at,
        assignee=state.assignee if state else None,
        escalation_level=state.escalation_level if state else 0,
        incident_id=state.incident_id if state else None,
        duplicate_of=state.duplicate_of if state else None,
        acknowledged_at=state.acknowledged_at if state else None,
        acknowledged_by=state.acknowledged_by if state else None,
        closed_at=state.closed_at if state else None,
        closed_by=state.closed_by if state else None,
    )


class AlertActionBody(_In):
    note: str = _text(2000)
    assignee: DeviceId | None = Field(default=None, description="assign: the user to assign")


class ActionView(_Out):
    action: str
    actor: str
    at: UtcTime
    note: str
    data: dict[str, Any]


# --------------------------------------------------------------------------- incidents


class IncidentView(_Out):
    incident_id: UUID
    subject: str
    iot_id: UUID | None
    device_id: str | None
    gate_id: str | None
    title: str
    severity: str
    status: IncidentStatus
    lat: float | None
    lon: float | None
    opened_at: UtcTime
    unit_id: str | None
    dispatched_at: UtcTime | None
    due_at: UtcTime | None = Field(description="the response clock runs out (SLA)")
    acknowledged_at: UtcTime | None
    on_scene_at: UtcTime | None
    resolved_at: UtcTime | None
    closed_at: UtcTime | None
    escalation_level: int
    escalated_at: UtcTime | None
    updated_at: UtcTime


def incident_view(row: IncidentRow) -> IncidentView:
    return IncidentView.model_validate(row)


class IncidentDetail(IncidentView):
    events: list[ActionView]
    alerts: list[AlertView]


class DispatchBody(_In):
    unit_id: DeviceId | None = Field(default=None, description="absent: the nearest available")


class LocationBody(_In):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    note: str = _text(2000)


class ReportBody(_In):
    note: str = _text(4000)


class CloseBody(_In):
    note: str = Field(min_length=1, max_length=2000, description="why it is closed")


class CandidateView(BaseModel):
    unit_id: str
    name: str
    distance_m: float | None
    live: bool = Field(description="measured from the live position (else the base)")


class IncidentOpenBody(_In):
    note: str = _text(2000)


# --------------------------------------------------------------------------- units


class UnitView(_Out):
    unit_id: str
    name: str
    base_lat: float
    base_lon: float
    status: UnitStatus
    lat: float | None
    lon: float | None
    position_at: UtcTime | None
    channels: list[str]
    email: str | None
    webhook_url: str | None


def unit_view(row: ResponseUnitRow) -> UnitView:
    return UnitView.model_validate(row)


class UnitCreate(_In):
    unit_id: DeviceId
    name: str = _text(200)
    base_lat: float = Field(ge=-90, le=90)
    base_lon: float = Field(ge=-180, le=180)
    status: UnitStatus = "available"
    channels: list[Channel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")


class UnitUpdate(_In):
    """Only the fields given change. An RRU may change its own status and preferences."""

    name: str | None = Field(default=None, max_length=200)
    base_lat: float | None = Field(default=None, ge=-90, le=90)
    base_lon: float | None = Field(default=None, ge=-180, le=180)
    status: Literal["available", "off_duty"] | None = None
    channels: list[Channel] | None = None
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")

    @field_validator("channels")
    @classmethod
    def _unique(cls, channels: list[str] | None) -> list[str] | None:
        return sorted(set(channels)) if channels is not None else None


class PositionBody(_In):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: UtcTime | None = Field(default=None, description="fix time; default: now")


class UnitInTransit(BaseModel):
    device_id: str
    lat: float
    lon: float
    at: UtcTime
    speed_mps: float | None
    course_deg: float | None


class TimelineEntry(BaseModel):
    at: UtcTime
    kind: str
    summary: str
    data: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    subject: str
    iot_id: UUID | None
    device_id: str | None
    movement: dict[str, Any] | None
    entries: list[TimelineEntry]
    track: list[dict[str, Any]]


# --------------------------------------------------------------------------- gates, customs


class OverrideBody(_In):
    verdict: Verdict
    reason: str = Field(min_length=5, max_length=2000, description="why (mandatory)")
    passage_id: UUID | None = Field(default=None, description="default: the lane's latest")

    @field_validator("reason")
    @classmethod
    def _reason(cls, reason: str) -> str:
        if len(reason.strip()) < 5:
            raise ValueError("a reason of at least 5 characters is required")
        return reason.strip()


class OverrideView(_Out):
    override_id: UUID
    gate_id: str
    lane_id: str
    passage_id: UUID
    decision_id: UUID
    verdict: str
    reason: str
    actor: str
    at: UtcTime
    published: bool | None = None


class LookupHit(BaseModel):
    iot_id: UUID
    declaration_id: str
    customs_status: str | None
    channel: str | None
    scan_required: bool | None
    scan_validated: bool | None
    process: str
    plate: str | None
    containers: list[str]
    seals: list[str]
    state: str
    position: int
    matched: list[str] = Field(description="the identifiers that matched the query")


class NotificationView(_Out):
    id: int
    channel: str
    target: str
    event: str
    unit_id: str | None
    incident_id: UUID | None
    status: str
    attempts: int
    next_attempt_at: UtcTime
    last_error: str | None
    created_at: UtcTime
    sent_at: UtcTime | None


# --------------------------------------------------------------------------- users


class UserCreate(_In):
    username: DeviceId
    role: Role
    display_name: str = _text(200)
    unit_id: DeviceId | None = Field(default=None, description="rru users: their unit")
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserView(_Out):
    username: str
    role: Role
    display_name: str
    unit_id: str | None
    active: bool
    created_at: UtcTime


class TokenCreate(_In):
    label: str = _text(64)
    ttl_days: float | None = Field(default=None, gt=0, le=3650)


class TokenIssued(BaseModel):
    token: str = Field(description="shown once; only its hash is kept")
    token_id: str
    username: str
    expires_at: UtcTime | None


class LoginBody(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    username: str
    role: Role
    unit_id: str | None
    open_mode: bool
    permissions: list[str]
    token: str | None = None
    expires_at: UtcTime | None = None
