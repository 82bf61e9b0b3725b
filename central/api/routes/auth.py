"""Log in (console and RRU page) and ask who you are."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from central.api.deps import CentralDep
from central.auth.guard import PrincipalDep
from central.auth.roles import permissions_of
from central.monitoring.schemas import LoginBody, Me

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=Me)
async def login(body: LoginBody, central: CentralDep) -> Me:
    """A session token for a user with a password (`auth.session_hours` long)."""
    ttl = timedelta(hours=central.settings.auth.session_hours)
    token, expires_at, principal = await central.auth.login(body.username, body.password, ttl)
    return Me(
        username=principal.name,
        role=principal.role,
        unit_id=principal.unit_id,
        open_mode=False,
        permissions=sorted(p.value for p in permissions_of(principal.role)),
        token=token,
        expires_at=expires_at,
    )


@router.get("/me", response_model=Me)
async def me(principal: PrincipalDep) -> Me:
    """The caller; `open_mode` true when central has no users (anyone may do anything)."""
    return Me(
        username=principal.name,
        role=principal.role,
        unit_id=principal.unit_id,
        open_mode=principal.open_mode,
        permissions=sorted(p.value for p in permissions_of(principal.role)),
    )
