"""Wire models of the HTTP API (XCreate / XUpdate / XPublic), separate from the tables."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import UUID4, BaseModel, ConfigDict, Field, field_validator, model_validator

from central.identifiers import container_code_error, normalise
from central.rules.gate import CustomsStatus
from central.site import MissionStep
from contract.messages import DeviceId, HoldReason, UtcTime, Verdict

Channel = Literal["green", "yellow", "red"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --------------------------------------------------------------------------- declarations


class DeclarationCreate(_In):
    declaration_id: DeviceId = Field(description="customs declaration number")
    status: CustomsStatus = Field(description="lodged | cleared | hold | examination_required")
    channel: Channel | None = Field(default=None, description="risk channel set by customs")
    scan_required: bool = Field(default=False, description="an NII scan must be validated")
    scan_validated: bool = Field(default=False, description="the image analyst validated it")


class DeclarationUpdate(_In):
    """Only the fields given change; `channel: null` clears the channel."""

    status: CustomsStatus | None = None
    channel: Channel | None = None
    scan_required: bool | None = None
    scan_validated: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> DeclarationUpdate:
        for name in ("status", "scan_required", "scan_validated"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class DeclarationPublic(_Out):
    declaration_id: str
    status: CustomsStatus
    channel: Channel | None
    scan_required: bool
    scan_validated: bool
    created_at: UtcTime
    updated_at: UtcTime


# --------------------------------------------------------------------------- movements


UnNumber = Annotated[str, Field(pattern=r"^[0-9]{4}$", description="UN number, 4 digits")]


class DangerousGoods(_In):
    un_numbers: list[UnNumber] = Field(description="UN numbers declared (ADR), e.g. 1203")


class MovementCreate(_In):
    iot_id: UUID4 | None = Field(default=None, description="RFC 4122 v4; generated when absent")
    declaration_id: DeviceId
    process: DeviceId = Field(description="customs process; names the mission path")
    plate: str | None = Field(default=None, min_length=1, max_length=64)
    containers: list[str] = Field(default_factory=list, description="ISO 6346 codes")
    seals: list[str] = Field(default_factory=list, description="declared seal numbers")
    rfid_tag: str | None = Field(default=None, min_length=1, max_length=64)
    permits: dict[str, bool] = Field(default_factory=dict, description="e.g. access_permission")
    dangerous_goods: list[UnNumber] = Field(
        default_factory=list,
        description="UN numbers of the dangerous goods declared (ADR), e.g. 1203; an orange "
        "plate showing another holds the unit",
    )

    @field_validator("containers")
    @classmethod
    def _iso6346(cls, containers: list[str]) -> list[str]:
        for code in containers:
            error = container_code_error(code)
            if error:
                raise ValueError(error)
        return [normalise(code) for code in containers]

    @field_validator("seals")
    @classmethod
    def _seals(cls, seals: list[str]) -> list[str]:
        if any(not normalise(seal) for seal in seals):
            raise ValueError("a seal number needs letters or digits")
        return seals

    @model_validator(mode="after")
    def _identifiable(self) -> MovementCreate:
        if not (self.plate or self.containers or self.rfid_tag):
            raise ValueError("a movement needs at least one of plate, containers, rfid_tag")
        return self


class MovementPublic(_Out):
    iot_id: UUID
    declaration_id: str
    process: str
    plate: str | None
    containers: list[str]
    seals: list[str]
    rfid_tag: str | None
    permits: dict[str, bool]
    dangerous_goods: list[str] = Field(description="declared UN numbers (ADR)")
    position: int = Field(description="index of the last mission step completed; -1 before")
    expected_next_nodes: list[str]
    diverted_to: str | None
    state: Literal["active", "completed"]
    created_at: UtcTime
    updated_at: UtcTime


# --------------------------------------------------------------------------- gate traffic


class PassagePublic(_Out):
    passage_id: UUID
    message_id: UUID
    gate_id: str
    lane_id: str
    node_id: str | None
    iot_id: UUID | None
    started_at: UtcTime
    closed_at: UtcTime
    received_at: UtcTime
    identifiers: list[dict[str, Any]]
    seals: list[dict[str, Any]]
    scan: dict[str, Any] | None
    key_id: str | None


class DecisionPublic(_Out):
    decision_id: UUID
    verdict: Verdict
    reasons: list[HoldReason]
    divert_to: str | None
    passage_id: UUID
    gate_id: str
    lane_id: str
    iot_id: UUID | None
    message: str
    issued_at: UtcTime
    expires_at: UtcTime
    executed: bool | None = Field(
        description="from the gate's ack: true, false, or null (none yet)"
    )
    rejected_because: str | None


class AlertPublic(_Out):
    alert_id: UUID
    rule: str
    severity: str
    raised_at: UtcTime
    iot_id: UUID | None
    gate_id: str | None
    passage_id: UUID | None
    summary: str
    details: dict[str, Any]


class GatePublic(BaseModel):
    gate_id: str
    node_id: str | None
    online: bool | None = Field(description="null: never heard from")
    lanes: list[dict[str, Any]] = Field(default_factory=list)
    outbox_pending: int | None = None
    agent_version: str | None = None
    sent_at: UtcTime | None = None
    received_at: UtcTime | None = None
    devices: dict[str, bool] = Field(
        default_factory=dict, description="gate-level device id -> reachable (SNMP health)"
    )
    position: dict[str, Any] | None = Field(
        default=None, description="the box's own GNSS position (lat, lon, fix_time, mode, error_m)"
    )
    at_node: bool | None = Field(
        default=None, description="false: the box reported itself away from its node"
    )


class MissionPathPublic(BaseModel):
    process: str
    description: str
    steps: list[MissionStep]


# --------------------------------------------------------------------------- service


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    mqtt_connected: bool
    database: str


class LedgerVerification(BaseModel):
    ok: bool
    entries: int
    first_broken_seq: int | None
    reason: str | None


class IngestStatsPublic(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int
    failed: int
    decisions: int
    alerts: int
    rejected_by_reason: dict[str, int]
    api_rejected: int = Field(description="HTTP requests refused for a bad body or query")
