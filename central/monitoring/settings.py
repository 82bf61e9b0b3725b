"""Settings of the monitoring centre (`monitoring:` in central's settings file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "critical"]
Channel = Literal["console", "email", "webhook", "mqtt"]
CHANNELS: tuple[Channel, ...] = ("console", "email", "webhook", "mqtt")
DEFAULT_CHANNELS: tuple[Channel, ...] = ("console", "mqtt")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpSettings(_Settings):
    host: str = Field(default="127.0.0.1", description="SMTP server")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    sender: str = Field(default="corridor@localhost", description="From: address")
    username: str | None = Field(default=None, description="SMTP login, if the server wants one")
    password: str | None = Field(default=None, description="password for `username`")
    starttls: bool = Field(default=False, description="upgrade the connection with STARTTLS")
    timeout_s: float = Field(default=10, gt=0, le=120, description="per connection")


class WebhookSettings(_Settings):
    url: str = Field(description="http(s) URL that receives a POST per event")
    secret: str = Field(min_length=16, description="HMAC-SHA256 key the receiver verifies with")


class NotificationSettings(_Settings):
    smtp: SmtpSettings | None = Field(default=None, description="email: off when absent")
    webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        description="HMAC-SHA256 key for the units' own webhook URLs; their webhooks are "
        "off without it",
    )
    webhooks: list[WebhookSettings] = Field(
        default_factory=list, description="systems that receive every alert and incident event"
    )
    supervisor_emails: list[str] = Field(
        default_factory=list, description="who is mailed when a response clock runs out"
    )
    max_attempts: int = Field(default=8, ge=1, le=50, description="then a notification fails")
    retry_base_s: float = Field(default=2, gt=0, description="first retry after this")
    retry_cap_s: float = Field(default=300, gt=0, description="back-off never waits longer")


class ResponseUnitSettings(_Settings):
    unit_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="unit id")
    name: str = Field(default="", description="display name")
    base_lat: float = Field(ge=-90, le=90, description="the unit's base, WGS84")
    base_lon: float = Field(ge=-180, le=180, description="the unit's base, WGS84")
    channels: list[Channel] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS), description="how the unit is notified"
    )
    email: str | None = Field(default=None, description="the unit's email address")
    webhook_url: str | None = Field(default=None, description="the unit's webhook URL")


class MonitoringSettings(_Settings):
    """The monitoring centre: response clock, alert folding, units, notifications."""

    sla_minutes: float = Field(
        default=60,
        gt=0,
        description="response clock: incident opened to a unit on scene (RECTS: 60)",
    )
    escalate_every_minutes: float = Field(
        default=15, gt=0, description="after the clock ran out, escalate again this often"
    )
    debounce_s: float = Field(
        default=60,
        ge=0,
        description="a repeat of a closed alert within this long of its last occurrence "
        "is folded into it, not raised again",
    )
    severity: dict[str, Severity] = Field(
        default_factory=dict, description="rule -> severity, overriding what the rule says"
    )
    poll_interval_s: float = Field(
        default=0.5, gt=0, le=3600, description="how often new alerts, clocks and outbox run"
    )
    position_fresh_s: float = Field(
        default=600, gt=0, description="a unit's live position older than this: use its base"
    )
    unit_sets: list[str] = Field(
        default_factory=list,
        description="shipped sets of response units to load (bari, northern-corridor)",
    )
    units: list[ResponseUnitSettings] = Field(
        default_factory=list, description="response units, added or updated at start"
    )
    gate_locations: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="gate or node id -> (lon, lat), where alerts at that gate are; "
        "node features of the shipped geofence sites are used otherwise",
    )
    map_sites: list[str] | None = Field(
        default=None, description="geofence sites drawn on the console (null: every shipped one)"
    )
    public_url: str | None = Field(
        default=None,
        description="central's address as units reach it, for links in notifications "
        "(e.g. https://central.example.org)",
    )
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="email, webhooks, retries"
    )


class AuthSettings(_Settings):
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="a console login lasts this long"
    )
