"""Typed JSON messages on the bus.

Every message carries `schema_version`, a unique `message_id` and `sent_at`, the
sending device's own clock in UTC. Times on the wire are ISO 8601 with a `Z`
suffix and millisecond precision; positions are WGS84 degrees; units are SI and
named in the field (`speed_mps`, `rssi_dbm`).

Models are frozen and reject unknown fields, so a malformed payload fails
validation instead of being half-read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
)

from contract.topics import ID_PATTERN

SCHEMA_VERSION = 1


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


UtcTime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(_iso_z, return_type=str, when_used="json"),
    Field(description="UTC time, ISO 8601 with offset (sent as ...Z, milliseconds)"),
]
"""A timezone-aware instant, normalised to UTC. Naive times are rejected."""

DeviceId = Annotated[str, Field(pattern=ID_PATTERN, description="id usable as a topic level")]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, description="0..1")]


def utc_now() -> datetime:
    """The current time in UTC, truncated to milliseconds as it travels on the wire."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Message(BaseModel):
    """Fields every message on the bus carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = Field(default=1, description="contract version")
    message_id: UUID = Field(default_factory=uuid4, description="unique; receivers dedupe on it")
    sent_at: UtcTime = Field(default_factory=utc_now, description="sender's clock, UTC")

    def to_json(self) -> bytes:
        """The payload as it goes on the wire."""
        return self.model_dump_json(exclude_none=False).encode()


class _Part(BaseModel):
    """A nested value object (no envelope of its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- passage


class IdentifierKind(StrEnum):
    PLATE = "plate"
    CONTAINER = "container"  # ISO 6346 BIC code, 11 characters, check digit valid
    RFID_TAG = "rfid_tag"  # EPC of the truck's UHF tag, hex
    SEAL = "seal"  # seal number as printed / as reported by an e-seal
    HAZARD = "hazard"  # ADR orange plate: hazard identification number/UN number, "33/1203"


class FusedIdentifier(_Part):
    """One identifier of the unit, fused over all reads of a passage."""

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=64)
    confidence: Confidence = Field(description="fused confidence of this value, 0..1")
    sources: list[str] = Field(min_length=1, description="device ids that read it")
    reads: int = Field(ge=1, description="how many raw reads voted for it")
    detail: dict[str, str] = Field(
        default_factory=dict,
        description="kind-specific extras, e.g. size_type for a container, region for a plate",
    )


class SealState(StrEnum):
    SEALED = "sealed"
    OPENED = "opened"
    TAMPERED = "tampered"
    UNKNOWN = "unknown"


class SealReading(_Part):
    """What the lane's e-seal reader saw of one seal during the passage."""

    seal_id: str = Field(min_length=1, max_length=64)
    state: SealState
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    source: str


class ScanInfo(_Part):
    """NII/X-ray scan taken during the passage, if the lane has a scanner."""

    scan_id: str
    completed: bool


class Passage(Message):
    """One vehicle through one lane: every identifier read, fused."""

    kind: Literal["passage"] = "passage"
    passage_id: UUID = Field(default_factory=uuid4)
    gate_id: DeviceId
    lane_id: DeviceId
    started_at: UtcTime = Field(description="loop detector occupied (device clock)")
    closed_at: UtcTime = Field(description="read window closed, passage fused")
    identifiers: list[FusedIdentifier] = Field(default_factory=list)
    seals: list[SealReading] = Field(default_factory=list)
    scan: ScanInfo | None = None
    key_id: str | None = Field(default=None, description="gate box signing key id")
    signature: str | None = Field(default=None, description="Ed25519, base64 (see signing)")

    def values(self, kind: IdentifierKind) -> list[str]:
        """Fused values of one kind, most confident first."""
        found = [i for i in self.identifiers if i.kind == kind]
        return [i.value for i in sorted(found, key=lambda i: -i.confidence)]


# --------------------------------------------------------------------------- gate state


class BarrierState(StrEnum):
    CLOSED = "closed"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    FAULT = "fault"
    UNKNOWN = "unknown"


class LaneStatus(_Part):
    lane_id: DeviceId
    barrier: BarrierState = BarrierState.UNKNOWN
    devices: dict[str, bool] = Field(default_factory=dict, description="device id -> reachable")


class GatePosition(_Part):
    """Where the gate box itself is: its latest GNSS fix with a position."""

    lat: float = Field(ge=-90, le=90, description="WGS84 degrees")
    lon: float = Field(ge=-180, le=180, description="WGS84 degrees")
    fix_time: UtcTime = Field(description="time of the fix (receiver, UTC)")
    mode: Literal[2, 3] = Field(description="2: 2D fix, 3: 3D fix")
    error_m: float | None = Field(
        default=None, ge=0, description="radius of the uncertainty disc used for at_node, metres"
    )


class GateStatus(Message):
    """Retained on the gate's status topic. The MQTT last will is one with online=false."""

    kind: Literal["gate_status"] = "gate_status"
    gate_id: DeviceId
    online: bool
    lanes: list[LaneStatus] = Field(default_factory=list)
    devices: dict[str, bool] = Field(
        default_factory=dict,
        description="gate-level device id -> reachable (SNMP health: UPS, switch, cameras, box)",
    )
    outbox_pending: int = Field(default=0, ge=0)
    agent_version: str = ""
    position: GatePosition | None = Field(
        default=None, description="the box's own GNSS position (None: no receiver or no fix)"
    )
    at_node: bool | None = Field(
        default=None,
        description="the box is at its logistic node: false only once a fix's whole "
        "uncertainty disc was outside the node fence (None: no current fix)",
    )


# --------------------------------------------------------------------------- decisions


class Verdict(StrEnum):
    RELEASE = "release"
    HOLD = "hold"


class HoldReason(StrEnum):
    """Machine-readable reasons a unit may not pass (or is diverted)."""

    UNKNOWN_UNIT = "unknown_unit"  # no movement matches the identifiers read
    AMBIGUOUS_UNIT = "ambiguous_unit"  # identifiers match more than one movement
    WRONG_NODE = "wrong_node"  # this node is not the expected next node of the path
    NOT_CLEARED = "not_cleared"  # customs status does not allow passing (hold, pending)
    EXAMINATION_REQUIRED = "examination_required"  # red channel: physical examination
    SCAN_NOT_VALIDATED = "scan_not_validated"  # NII scan required and not yet validated
    SEAL_MISMATCH = "seal_mismatch"  # seal read differs from the declared seal
    SEAL_TAMPERED = "seal_tampered"  # e-seal reports opened or tampered
    # An ADR orange plate shows a UN number the movement does not declare.
    UNDECLARED_DANGEROUS_GOODS = "undeclared_dangerous_goods"
    PERMIT_MISSING = "permit_missing"  # access permission / ferry ticket missing: divert
    MISSION_COMPLETE = "mission_complete"  # movement already at its destination
    MANUAL_HOLD = "manual_hold"  # an operator holds the lane


class GateDecision(Message):
    """Central -> edge. Signed; the edge opens the barrier only on a valid release."""

    kind: Literal["gate_decision"] = "gate_decision"
    gate_id: DeviceId
    lane_id: DeviceId
    passage_id: UUID = Field(description="the passage this decision answers")
    iot_id: UUID | None = Field(default=None, description="movement resolved, if any")
    verdict: Verdict
    reasons: list[HoldReason] = Field(default_factory=list)
    divert_to: str | None = Field(default=None, description="node the unit must go to instead")
    message: str = Field(default="", description="text for the lane display")
    issued_at: UtcTime
    expires_at: UtcTime
    key_id: str | None = None
    signature: str | None = None


class CommandAck(Message):
    """Edge -> central: what the box did with a decision."""

    kind: Literal["command_ack"] = "command_ack"
    gate_id: DeviceId
    lane_id: DeviceId
    decision_id: UUID
    passage_id: UUID
    executed: bool
    rejected_because: str | None = Field(
        default=None,
        description="bad_signature, unknown_key, expired, wrong_gate, wrong_lane, "
        "wrong_passage, replayed, hold, plc_error",
    )
    barrier: BarrierState = BarrierState.UNKNOWN


class BarrierStateEvent(Message):
    """Edge -> central: the barrier changed state (read back from the PLC)."""

    kind: Literal["barrier_state"] = "barrier_state"
    gate_id: DeviceId
    lane_id: DeviceId
    state: BarrierState
    fault_code: int = 0
    cycles: int = Field(default=0, ge=0, description="barrier open cycles counted by the PLC")


GateEvent = Annotated[CommandAck | BarrierStateEvent, Field(discriminator="kind")]
_gate_event = TypeAdapter[CommandAck | BarrierStateEvent](GateEvent)


def parse_gate_event(payload: bytes | str) -> CommandAck | BarrierStateEvent:
    """Validate a payload from a gate's events topic."""
    return _gate_event.validate_json(payload)


class Receipt(Message):
    """Central -> edge: these outbox messages are stored; the box may stop resending."""

    kind: Literal["receipt"] = "receipt"
    gate_id: DeviceId
    message_ids: list[UUID] = Field(min_length=1, max_length=1000)


# --------------------------------------------------------------------------- transit


class PositionFix(Message):
    """A GNSS fix of a unit on the move (tracker or e-seal)."""

    kind: Literal["position_fix"] = "position_fix"
    device_id: DeviceId
    fixed_at: UtcTime = Field(description="time of the fix (GNSS time, UTC)")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    speed_mps: float | None = Field(default=None, ge=0)
    course_deg: float | None = Field(default=None, ge=0, lt=360)
    mode: Literal[1, 2, 3] = Field(default=3, description="1 no fix, 2 2D, 3 3D")
    hdop: float | None = Field(default=None, ge=0)
    accuracy_m: float | None = Field(default=None, ge=0, description="horizontal, 1 sigma")


class SealEvent(Message):
    """An e-seal state change (ISO 18185 semantics), from the seal's own log."""

    kind: Literal["seal_event"] = "seal_event"
    seal_id: str = Field(min_length=1, max_length=64)
    occurred_at: UtcTime
    state: SealState
    event: Literal["armed", "disarmed", "opened", "tampered", "battery_low", "status"]
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    declaration_id: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Alert(Message):
    """Central -> consoles and RRU devices."""

    kind: Literal["alert"] = "alert"
    alert_id: UUID = Field(default_factory=uuid4)
    rule: str = Field(description="e.g. corridor_deviation, unauthorized_stop, seal_tampered")
    severity: Literal["info", "warning", "critical"]
    raised_at: UtcTime = Field(description="device time of the event that raised it")
    iot_id: UUID | None = None
    gate_id: str | None = None
    device_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    summary: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class IncidentNotice(Message):
    """Central -> a rapid response unit's device: an incident for it, or news of one."""

    kind: Literal["incident_notice"] = "incident_notice"
    incident_id: UUID
    unit_id: DeviceId
    event: Literal["dispatched", "escalated", "updated", "withdrawn"]
    severity: Literal["info", "warning", "critical"]
    title: str = ""
    iot_id: UUID | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    due_at: UtcTime | None = Field(default=None, description="the response clock runs out")
    url: str | None = Field(default=None, description="the incident on the RRU page")


ALL_MESSAGES: tuple[type[Message], ...] = (
    Passage,
    GateStatus,
    GateDecision,
    CommandAck,
    BarrierStateEvent,
    Receipt,
    PositionFix,
    SealEvent,
    Alert,
    IncidentNotice,
)
