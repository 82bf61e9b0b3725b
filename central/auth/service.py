"""Finding the caller from its bearer token; users, passwords and tokens.

A token is `ctk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is
compared in constant time. Secrets are 256 random bits, so a plain hash is
enough; passwords (for the console's login) are hashed with scrypt.
Tokens from `api_tokens` in the settings still work: each is a customs system.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.auth.roles import Permission, Role, permissions_of
from central.auth.tables import UserRow, UserTokenRow
from central.errors import CentralError
from contract.messages import utc_now
from contract.topics import check_id

TOKEN_PREFIX = "ctk"
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


class AuthError(CentralError):
    """The caller is not who it says (401) or may not do this (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, a customs system from `api_tokens`, or anyone in open mode."""

    name: str
    role: Role
    unit_id: str | None = None
    open_mode: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in permissions_of(self.role)


OPEN = Principal("anonymous", Role.ADMIN, open_mode=True)


# --------------------------------------------------------------------------- secrets


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "scrypt$" + _b64(salt) + "$" + _b64(digest)


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt_bytes = base64.urlsafe_b64decode(salt)
    candidate = hashlib.scrypt(password.encode(), salt=salt_bytes, n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(_b64(candidate), digest)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split_token(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


# --------------------------------------------------------------------------- users


async def add_user(
    session: AsyncSession,
    username: str,
    role: Role,
    *,
    display_name: str = "",
    unit_id: str | None = None,
    password: str | None = None,
) -> UserRow:
    """A new user; raises AuthError(409) if the name is taken, (422) if it is unusable."""
    try:
        check_id(username)
        if unit_id is not None:
            check_id(unit_id)
    except ValueError as err:
        raise AuthError(422, str(err)) from err
    if role is Role.RRU and unit_id is None:
        raise AuthError(422, "an rru user needs the unit it belongs to (unit_id)")
    if await session.get(UserRow, username) is not None:
        raise AuthError(409, f"user {username} exists already")
    row = UserRow(
        username=username,
        role=role.value,
        display_name=display_name,
        unit_id=unit_id,
        password_hash=await asyncio.to_thread(hash_password, password) if password else None,
        active=True,
        created_at=utc_now(),
    )
    session.add(row)
    await session.flush()
    return row


async def issue_token(
    session: AsyncSession,
    username: str,
    *,
    label: str = "",
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[str, UserTokenRow]:
    """A new token for `username`: returns the token text (shown once) and its row."""
    user = await session.get(UserRow, username)
    if user is None:
        raise AuthError(404, f"no user {username}")
    now = now or utc_now()
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = UserTokenRow(
        token_id=token_id,
        username=username,
        label=label[:64],
        secret_hash=_secret_hash(secret),
        created_at=now,
        expires_at=now + ttl if ttl else None,
    )
    session.add(row)
    await session.flush()
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", row


class Authenticator:
    """Turns a bearer token (or none) into a Principal, for every request."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], api_tokens: dict[str, str]
    ) -> None:
        self.sessions = sessions
        self.api_tokens = api_tokens
        self._enforced = bool(api_tokens)  # once enforced, never open again in this process

    async def enforced(self) -> bool:
        """True when any user or api_token exists: then every call needs a token."""
        if not self._enforced:
            async with self.sessions() as session:
                self._enforced = await session.scalar(select(UserRow.username).limit(1)) is not None
        return self._enforced

    async def principal(self, token: str | None) -> Principal:
        if token is None:
            if await self.enforced():
                raise AuthError(401, "a valid bearer token is required")
            return OPEN
        for name, configured in self.api_tokens.items():
            if hmac.compare_digest(token.encode(), configured.encode()):
                return Principal(name, Role.CUSTOMS)
        found = await self._user_token(token)
        if found is None:
            raise AuthError(401, "the bearer token is unknown, expired or revoked")
        return found

    async def _user_token(self, token: str) -> Principal | None:
        split = _split_token(token)
        if split is None:
            return None
        token_id, secret = split
        now = utc_now()
        async with self.sessions() as session:
            row = await session.get(UserTokenRow, token_id)
            if row is None or not hmac.compare_digest(row.secret_hash, _secret_hash(secret)):
                return None
            if row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
                return None
            user = await session.get(UserRow, row.username)
            if user is None or not user.active:
                return None
            principal = Principal(user.username, Role(user.role), user.unit_id)
            if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
                row.last_used_at = now
                await session.commit()
        self._enforced = True
        return principal

    async def login(
        self, username: str, password: str, ttl: timedelta
    ) -> tuple[str, datetime, Principal]:
        """A session token for the console, for a user with a password."""
        async with self.sessions() as session:
            user = await session.get(UserRow, username)
            stored = user.password_hash if user is not None and user.active else None
            ok = stored is not None and await asyncio.to_thread(check_password, password, stored)
            if user is None or not ok:
                raise AuthError(401, "unknown user or wrong password")
            token, row = await issue_token(session, username, label="console session", ttl=ttl)
            await session.commit()
        assert row.expires_at is not None
        return token, row.expires_at, Principal(user.username, Role(user.role), user.unit_id)
