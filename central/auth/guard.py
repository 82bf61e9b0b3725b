"""The permission check on every API route, as FastAPI dependencies.

Every route gets `check_route` (added by `include_router(..., dependencies=guard(router))`).
It finds the route family from the first path segment after /api/v1 and:
- PUBLIC families need no token (/health for probes, /auth whose login is public);
- SELF_GUARDED families need a caller; each route checks its own permission (`require`);
- FAMILIES name the permission to read (GET) and to change (anything else);
- any other family is admin-only, so a new resource is closed until it is listed here.
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

PUBLIC = {"/health", "/auth"}  # /auth/me asks for its caller itself
SELF_GUARDED = {
    "/incidents",
    "/rrus",
    "/users",
    "/live",
    "/sites",
    "/units",
    "/lookup",
    "/notifications",
}
# family -> (permission to read, permission to change; None: admin only)
FAMILIES: dict[str, tuple[Permission, Permission | None]] = {
    "/declarations": (P.CUSTOMS_READ, P.CUSTOMS_WRITE),
    "/movements": (P.CUSTOMS_READ, P.CUSTOMS_WRITE),  # also binding a tracker (transit)
    "/passages": (P.TRAFFIC_READ, None),
    "/decisions": (P.TRAFFIC_READ, None),
    "/alerts": (P.ALERTS_READ, P.ALERTS_ACT),
    "/gates": (P.TRAFFIC_READ, P.GATES_OVERRIDE),
    "/mission-paths": (P.TRAFFIC_READ, None),
    "/transit": (P.TRAFFIC_READ, None),
    "/ledger": (P.LEDGER_READ, None),
    "/ingest": (P.SYSTEM_READ, None),
}
_READS = {"GET", "HEAD", "OPTIONS"}


async def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authenticator: Authenticator = request.app.state.central.auth
    try:
        principal = await authenticator.principal(credentials.credentials if credentials else None)
    except AuthError as err:
        raise HTTPException(err.status, err.detail, headers={"WWW-Authenticate": "Bearer"}) from err
    request.state.principal = principal
    return principal


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    """The caller, from its bearer token; 401 when one is needed and missing or bad."""
    return await _authenticate(request, credentials)


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


def family_of(path: str) -> str:
    """`/api/v1/movements/{iot_id}/transit` -> `/movements`."""
    parts = path.split("/")
    return "/" + parts[3] if len(parts) > 3 and parts[1:3] == ["api", "v1"] else path


async def check_route(request: Request, credentials: Credentials) -> None:
    """Run before every API route: authenticate, then check the family's permission."""
    family = family_of(request.url.path)
    if family in PUBLIC:
        return
    principal = await _authenticate(request, credentials)
    if family in SELF_GUARDED:
        return
    read, write = FAMILIES.get(family, (None, None))
    needed = read if request.method in _READS else write
    if needed is None:
        if principal.role is not Role.ADMIN:
            raise forbid(principal, f"{request.method} {family} (admin only)")
    elif not principal.can(needed):
        raise forbid(principal, f"{request.method} {family}")


def guard(router: APIRouter) -> list[Any]:
    """The dependencies that `include_router` adds to every route of `router`."""
    for route in router.routes:
        family = (
            "/" + router.prefix.strip("/")
            if router.prefix
            else family_of("/api/v1" + str(getattr(route, "path", "")))
        )
        if family not in PUBLIC | SELF_GUARDED | set(FAMILIES):
            log.warning("routes under %s have no permission entry: admin only", family)
    return [Depends(check_route)]
