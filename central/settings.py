"""Central's settings: one pydantic tree, read from a YAML file, overridden by
environment variables `CORRIDOR_CENTRAL__<FIELD>` (nested with `__`, e.g.
`CORRIDOR_CENTRAL__MQTT__PORT=8883`). Relative paths in the file are relative
to the file. `docs/central.md` documents every field (`corridor central config-doc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from central.errors import ConfigError
from central.monitoring.settings import AuthSettings, MonitoringSettings
from central.timeseries import TimeSeriesSettings
from central.transit.settings import TransitSettings
from contract.bus import BrokerSettings


class MqttSettings(BrokerSettings):
    """The broker central subscribes to; TLS is on when `ca_file` is set."""

    port: int = Field(default=1883, ge=1, le=65535, description="broker port")
    client_id: str | None = Field(
        default="corridor-central",
        description="fixed MQTT client id: the broker keeps this session while central is down",
    )
    enabled: bool = Field(default=True, description="run the MQTT ingest (false: HTTP API only)")
    session_expiry_s: int = Field(
        default=86400,
        ge=1,
        description="how long the broker queues QoS 1 messages for central while it is away",
    )


class SigningSettings(BaseModel):
    """Central's Ed25519 key for signing gate decisions."""

    model_config = ConfigDict(extra="forbid")

    private_key_file: Path | None = Field(
        default=None,
        description="PEM private key (`corridor keys generate central`); without it an "
        "ephemeral key is made at start and no gate box will trust its decisions",
    )
    key_id: str = Field(default="central", description="key id gate boxes know the key by")


class CentralSettings(BaseSettings):
    """Settings of `corridor central run`."""

    model_config = SettingsConfigDict(
        extra="forbid",
        env_prefix="CORRIDOR_CENTRAL__",
        env_nested_delimiter="__",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/central.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT broker")
    signing: SigningSettings = Field(default_factory=SigningSettings, description="decision key")
    gate_keys_dir: Path | None = Field(
        default=None, description="directory of gate box public keys `<gate_id>.pub`"
    )
    require_signed_passages: bool | None = Field(
        default=None,
        description="reject passages that are unsigned or do not verify; "
        "default: true when gate_keys_dir is set, else false",
    )
    decision_ttl_s: float = Field(
        default=30, gt=0, le=3600, description="a decision expires this long after issue"
    )
    site_file: Path | None = Field(
        default=None, description="site YAML (nodes, gates, mission paths), synced at start"
    )
    api_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="bearer tokens of customs systems (role customs), name -> token; once any "
        "is set (or any user exists) every route but /health needs `Authorization: Bearer`",
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings, description="monitoring centre (docs/monitoring.md)"
    )
    auth: AuthSettings = Field(default_factory=AuthSettings, description="users and logins")
    transit: TransitSettings = Field(
        default_factory=TransitSettings, description="units in transit (docs/transit.md)"
    )
    timeseries: TimeSeriesSettings = Field(
        default_factory=TimeSeriesSettings, description="tracks and telemetry (optional)"
    )

    @model_validator(mode="after")
    def _signed_passages_default(self) -> CentralSettings:
        if self.require_signed_passages is None:
            self.require_signed_passages = self.gate_keys_dir is not None
        if self.require_signed_passages and self.gate_keys_dir is None:
            raise ValueError("require_signed_passages needs gate_keys_dir")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; nothing else is read (no .env, no secrets dir).
        return (env_settings, init_settings)


def load_settings(config_file: Path | None = None, **overrides: Any) -> CentralSettings:
    """Settings from a YAML file (optional), the environment and explicit overrides."""
    values: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} not found")
        values = _resolve_paths(_read_yaml(config_file), config_file.parent)
    values.update(overrides)
    try:
        return CentralSettings(**values)
    except ValidationError as err:
        raise ConfigError(f"invalid central settings: {err}") from err


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from err
    if not isinstance(values, dict):
        raise ConfigError(f"invalid central settings: {path} must hold a mapping of fields")
    return values


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = dict(values)
    for key in ("gate_keys_dir", "site_file"):
        if resolved.get(key):
            resolved[key] = base / Path(resolved[key])
    signing = dict(resolved.get("signing") or {})
    if signing.get("private_key_file"):
        signing["private_key_file"] = base / Path(signing["private_key_file"])
        resolved["signing"] = signing
    transit = dict(resolved.get("transit") or {})
    if transit.get("fences"):
        transit["fences"] = [
            f if str(f).startswith("site:") else str(base / Path(f)) for f in transit["fences"]
        ]
        resolved["transit"] = transit
    mqtt = dict(resolved.get("mqtt") or {})
    if mqtt.get("ca_file"):
        mqtt["ca_file"] = str(base / Path(mqtt["ca_file"]))
        resolved["mqtt"] = mqtt
    return resolved


def settings_reference() -> str:
    """Every settings field as Markdown rows: dotted name, type, default, description."""
    rows = ["| field | type | default | description |", "|---|---|---|---|"]
    rows += _rows(CentralSettings, "")
    return "\n".join(rows)


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{prefix}{name}.")
            continue
        plain = isinstance(annotation, type) and not getattr(annotation, "__args__", None)
        type_name = annotation.__name__ if plain and annotation else str(annotation)
        type_name = type_name.replace("pathlib.", "").replace("|", "\\|")
        factory = info.default_factory
        default = repr(factory() if factory else info.default)  # type: ignore[call-arg]
        description = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{prefix}{name}` | `{type_name}` | `{default}` | {description} |")
    return rows
