"""Users and their tokens. Only a token's hash is stored; the token is shown once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.tables import ID, Base, UtcDateTime


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[str | None] = mapped_column(ID)  # the rapid response unit of an RRU user
    password_hash: Mapped[str | None] = mapped_column(Text)  # scrypt; None: tokens only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UserTokenRow(Base):
    __tablename__ = "user_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(64), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the secret part
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
