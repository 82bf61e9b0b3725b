"""Table models of the transit side: bindings, tracks, seal events, rule state.

Registered on central's one `Base`, so migrations and the model check see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from central.tables import ID, Base, UtcDateTime


class TransitPlanRow(Base):
    """What a customs system bound to a movement for its journey."""

    __tablename__ = "transit_plans"

    iot_id: Mapped[UUID] = mapped_column(
        ForeignKey("movements.iot_id", ondelete="CASCADE"), primary_key=True
    )
    corridor_id: Mapped[str | None] = mapped_column(ID)  # corridor fence the unit must follow
    nodes: Mapped[list[str]] = mapped_column(JSON)  # node fences in order, the last = destination
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TransitDeviceRow(Base):
    """A tracker or e-seal bound to one movement (a device serves one movement at a time)."""

    __tablename__ = "transit_devices"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # tracker | eseal
    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    iot_id: Mapped[UUID] = mapped_column(
        ForeignKey("movements.iot_id", ondelete="CASCADE"), index=True
    )
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TransitFixRow(Base):
    """The track: every position fix received, judged or not. Idempotent on message_id."""

    __tablename__ = "transit_fixes"
    __table_args__ = (
        Index("ix_transit_fixes_movement_time", "iot_id", "fixed_at"),
        Index("ix_transit_fixes_device_time", "device_id", "fixed_at"),
    )

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    device_id: Mapped[str] = mapped_column(ID)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid)
    fixed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    course_deg: Mapped[float | None] = mapped_column(Float)
    mode: Mapped[int] = mapped_column(Integer)
    hdop: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    judged: Mapped[bool] = mapped_column(Boolean)  # false: late, no GNSS fix, or unbound


class TransitSealEventRow(Base):
    """Every e-seal event received. Idempotent on message_id."""

    __tablename__ = "transit_seal_events"
    __table_args__ = (Index("ix_transit_seal_events_seal_time", "seal_id", "occurred_at"),)

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    seal_id: Mapped[str] = mapped_column(ID)
    iot_id: Mapped[UUID | None] = mapped_column(Uuid, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    battery_pct: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class TransitStateRow(Base):
    """The transit rules' state of one movement (JSON of `central.transit.model.TransitState`),
    written in the same transaction as the fix or tick that changed it."""

    __tablename__ = "transit_state"

    iot_id: Mapped[UUID] = mapped_column(
        ForeignKey("movements.iot_id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
