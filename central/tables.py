"""Table models (SQLAlchemy 2). Wire models for the API live in `central.api.schemas`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC instant on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Corridor stores UTC instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(64)


class Base(DeclarativeBase):
    pass


# --------------------------------------------------------------------------- site


class NodeRow(Base):
    __tablename__ = "site_nodes"

    node_id: Mapped[str] = mapped_column(ID, primary_key=True)
    site: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))


class GateRow(Base):
    __tablename__ = "site_gates"

    gate_id: Mapped[str] = mapped_column(ID, primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("site_nodes.node_id", ondelete="CASCADE"))


class MissionPathRow(Base):
    __tablename__ = "mission_paths"

    process: Mapped[str] = mapped_column(ID, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[Any]] = mapped_column(JSON)


# --------------------------------------------------------------------------- customs


class DeclarationRow(Base):
    __tablename__ = "declarations"

    declaration_id: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    scan_required: Mapped[bool] = mapped_column(Boolean, default=False)
    scan_validated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MovementRow(Base):
    __tablename__ = "movements"

    iot_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.declaration_id"))
    process: Mapped[str] = mapped_column(ForeignKey("mission_paths.process"))
    plate: Mapped[str | None] = mapped_column(ID)
    rfid_tag: Mapped[str | None] = mapped_column(ID)
    containers: Mapped[list[str]] = mapped_column(JSON)
    seals: Mapped[list[str]] = mapped_column(JSON)
    permits: Mapped[dict[str, bool]] = mapped_column(JSON)
    # Declared UN numbers; movements registered before the column declare none.
    dangerous_goods: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    position: Mapped[int] = mapped_column(Integer, default=-1)
    diverted_to: Mapped[str | None] = mapped_column(ID)
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MovementKeyRow(Base):
    """Normalised identifiers of a movement, to resolve passages by any of them."""

    __tablename__ = "movement_keys"
    __table_args__ = (Index("ix_movement_keys_lookup", "kind", "value"),)

    iot_id: Mapped[UUID] = mapped_column(
        ForeignKey("movements.iot_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(ID, primary_key=True)


# --------------------------------------------------------------------------- ingest


class IngestedMessageRow(Base):
    """Every edge message id stored; central is idempotent on it."""

    __tablename__ = "ingested_messages"

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RejectedMessageRow(Base):
    __tablename__ = "rejected_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    head: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PassageRow(Base):
    __tablename__ = "passages"

    passage_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    message_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    gate_id: Mapped[str] = mapped_column(ID, index=True)
    lane_id: Mapped[str] = mapped_column(ID)
    node_id: Mapped[str | None] = mapped_column(ID)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    identifiers: Mapped[list[Any]] = mapped_column(JSON)
    seals: Mapped[list[Any]] = mapped_column(JSON)
    scan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    key_id: Mapped[str | None] = mapped_column(ID)


class DecisionRow(Base):
    __tablename__ = "decisions"

    decision_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    passage_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    gate_id: Mapped[str] = mapped_column(ID, index=True)
    lane_id: Mapped[str] = mapped_column(ID)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    divert_to: Mapped[str | None] = mapped_column(ID)
    message: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[str] = mapped_column(Text)  # the signed GateDecision as published
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    executed: Mapped[bool | None] = mapped_column(Boolean)
    rejected_because: Mapped[str | None] = mapped_column(String(64))


class CommandAckRow(Base):
    __tablename__ = "command_acks"

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    decision_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    passage_id: Mapped[UUID] = mapped_column(Uuid)
    gate_id: Mapped[str] = mapped_column(ID)
    lane_id: Mapped[str] = mapped_column(ID)
    executed: Mapped[bool] = mapped_column(Boolean)
    rejected_because: Mapped[str | None] = mapped_column(String(64))
    barrier: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BarrierEventRow(Base):
    __tablename__ = "barrier_events"

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    gate_id: Mapped[str] = mapped_column(ID, index=True)
    lane_id: Mapped[str] = mapped_column(ID)
    state: Mapped[str] = mapped_column(String(16))
    fault_code: Mapped[int] = mapped_column(Integer, default=0)
    cycles: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GateStatusRow(Base):
    """The last status each gate box reported (the last one received wins)."""

    __tablename__ = "gate_status"

    gate_id: Mapped[str] = mapped_column(ID, primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    lanes: Mapped[list[Any]] = mapped_column(JSON)
    outbox_pending: Mapped[int] = mapped_column(Integer, default=0)
    agent_version: Mapped[str] = mapped_column(String(64), default="")
    message_id: Mapped[UUID] = mapped_column(Uuid)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Gate-level devices (SNMP health) and the box's own GNSS position and node check.
    devices: Mapped[dict[str, bool] | None] = mapped_column(JSON, nullable=True)
    position: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at_node: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class AlertRow(Base):
    __tablename__ = "alerts"

    alert_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid)
    gate_id: Mapped[str | None] = mapped_column(ID)
    passage_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload: Mapped[str] = mapped_column(Text)  # the Alert as published


# --------------------------------------------------------------------------- ledger


class LedgerRow(Base):
    """Hash-chained, append-only. seq is assigned by the one writer, never by the DB."""

    __tablename__ = "ledger"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# The transit tables live beside their code; importing them here registers them on Base.
from central.transit import tables as _transit_tables  # noqa: E402, F401
