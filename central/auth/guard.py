"""The permission check on every API route, as FastAPI dependencies.

Routers of the older resources do not check permissions themselves: `guard(router)`
gives each a family check by its prefix (reads need one permission, changes
another). Routers in `SELF_GUARDED` check per route with `require(...)`. A router
in neither list is admin-only, so a new resource is closed until it is listed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central.auth.roles import Permission, Role
from central.auth.service import Authenticator, AuthError, Principal

log = logging.getLogger(__name__)

P = Permission
_bearer = HTTPBearer(
    auto_error=False,
    description="a user token (`corridor users token`), a console session token, "
    "or one of the configured api_tokens (customs systems)",
)

PUBLIC = {"/health", "/auth"}  # /auth checks itself: login is public, /auth/me is not
SELF_GUARDED = {
    "/alerts",
    "/incidents",
    "/rrus",
    "/users",
    "/live",
    "/sites",
    "/units",
    "/lookup",
    "/notifications",
    "/overrides",
}
# prefix -> (permission to read, permission to change)
FAMILIES: dict[str, tuple[Permission, Permission | None]] = {
    "/declarations": (P.CUSTOMS_READ, P.CUSTOMS_WRITE),
    "/movements": (P.CUSTOMS_READ, P.CUSTOMS_WRITE),
    "/passages": (P.TRAFFIC_READ, None),
    "/decisions": (P.TRAFFIC_READ, None),
    "/gates": (P.TRAFFIC_READ, P.GATES_OVERRIDE),
    "/mission-paths": (P.TRAFFIC_READ, None),
    "/ledger": (P.LEDGER_READ, None),
    "/ingest": (P.SYSTEM_READ, None),
}
_READS = {"GET", "HEAD", "OPTIONS"}


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from its bearer token; 401 when one is needed and missing or bad."""
    authenticator: Authenticator = request.app.state.central.auth
    try:
        principal = await authenticator.principal(credentials.credentials if credentials else None)
    except AuthError as err:
        raise HTTPException(err.status, err.detail, headers={"WWW-Authenticate": "Bearer"}) from err
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def forbid(principal: Principal, what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not {what}")


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, when it holds `permission` (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            raise forbid(principal, permission.value)
        return principal

    return check


def guard(router: APIRouter) -> list[Any]:
    """The dependencies that `include_router` adds to every route of `router`."""
    prefix = router.prefix
    if prefix in PUBLIC:
        return []
    if prefix in SELF_GUARDED:
        return [Depends(current_principal)]
    family = FAMILIES.get(prefix)
    if family is None:
        log.warning("routes under %s have no permission entry: admin only", prefix)

    async def check_family(request: Request, principal: PrincipalDep) -> None:
        if family is None:
            if principal.role is not Role.ADMIN:
                raise forbid(principal, f"use {prefix} (admin only)")
            return
        read, write = family
        needed = read if request.method in _READS else write
        if needed is None or not principal.can(needed):
            raise forbid(principal, f"{request.method} {prefix}")

    return [Depends(check_family)]
