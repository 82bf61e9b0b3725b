"""The gate box configuration: one YAML file, validated strictly (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from contract.bus import BrokerSettings
from contract.topics import check_id
from drivers.barrier import PlcSettings
from edge.adapters import DeviceConfig
from edge.position import GnssConfig
from edge.snmp_health import HealthConfig


class EdgeConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LaneConfig(_Strict):
    lane_id: str = Field(description="lane id, unique within the gate")
    plc: PlcSettings = Field(description="the lane's gate I/O controller (barrier, loops)")
    devices: list[DeviceConfig] = Field(default_factory=list, description="readers of the lane")
    read_window_s: float = Field(
        default=1.2, gt=0, le=30, description="reads are collected this long after the loop trips"
    )
    lookback_s: float = Field(
        default=2.0, ge=0, le=30, description="reads this long before the trip count too"
    )
    poll_interval_s: float = Field(
        default=0.05, gt=0, le=5, description="how often the loop detector inputs are read"
    )
    trip_timeout_s: float = Field(
        default=3.0, gt=0, description="longest wait for triggered readers (cameras) to report"
    )
    confirm_timeout_s: float = Field(
        default=3.0, gt=0, description="wait this long for the barrier to report opening"
    )
    ask_again_after_s: float = Field(
        default=10.0,
        gt=0,
        description="a passage central receipted but never answered is sent again this often "
        "while the vehicle waits (central answers a passage it has seen with its decision)",
    )

    @field_validator("lane_id")
    @classmethod
    def _lane_id(cls, value: str) -> str:
        return check_id(value)


class SigningConfig(_Strict):
    private_key_file: Path = Field(description="this box's Ed25519 key (PEM) for passages")
    key_id: str = Field(description="id central knows this key by (usually the gate id)")


class EdgeConfig(_Strict):
    gate_id: str = Field(description="gate id; also this box's MQTT username")
    mqtt: BrokerSettings = Field(description="broker connection")
    central_keys: dict[str, Path] = Field(
        description="trusted central signing keys: key id -> public key file (PEM)"
    )
    signing: SigningConfig | None = Field(
        default=None, description="sign passages with this key (recommended)"
    )
    outbox_path: Path = Field(
        default=Path("var/edge/outbox.sqlite"), description="durable outbox (SQLite)"
    )
    resend_after_s: float = Field(
        default=5.0, gt=0, description="resend an unreceipted message after this long"
    )
    clock_skew_s: float = Field(
        default=5.0, ge=0, description="tolerated difference between box and central clocks"
    )
    status_interval_s: float = Field(default=30.0, gt=0, description="status heartbeat period")
    metrics_port: int | None = Field(
        default=None, description="serve Prometheus metrics on this port (127.0.0.1)"
    )
    health: HealthConfig = Field(
        default_factory=HealthConfig,
        description="gate-level devices watched over SNMP (not lane devices)",
    )
    gnss: GnssConfig | None = Field(
        default=None,
        description="the box's own GNSS receiver and the node it is installed at (omit: none)",
    )
    lanes: list[LaneConfig] = Field(min_length=1, description="the lanes this box runs")

    @field_validator("gate_id")
    @classmethod
    def _gate_id(cls, value: str) -> str:
        return check_id(value)

    @model_validator(mode="after")
    def _gate_device_names(self) -> EdgeConfig:
        if self.gnss and self.gnss.name in {t.name for t in self.health.targets}:
            raise ValueError(f"gnss.name {self.gnss.name!r} is also a health target name")
        return self


def load(path: Path) -> EdgeConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise EdgeConfigError(f"cannot read {path}: {err}") from err
    try:
        config = EdgeConfig.model_validate(raw)
    except ValidationError as err:
        raise EdgeConfigError(f"{path} is not a valid gate box configuration:\n{err}") from err
    lane_ids = [lane.lane_id for lane in config.lanes]
    if len(set(lane_ids)) != len(lane_ids):
        raise EdgeConfigError(f"{path}: lane ids must be unique, got {lane_ids}")
    return config
