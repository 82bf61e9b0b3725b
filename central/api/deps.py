"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from central.service import Central


def get_central(request: Request) -> Central:
    central: Central = request.app.state.central
    return central


CentralDep = Annotated[Central, Depends(get_central)]


async def get_session(central: CentralDep) -> AsyncIterator[AsyncSession]:
    async with central.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="one of the configured api_tokens")


def require_token(
    central: CentralDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The caller's token name; routes that change state need one when any is configured."""
    tokens = central.settings.api_tokens
    if not tokens:
        return None
    if credentials is not None:
        offered = credentials.credentials.encode()
        for name, token in tokens.items():
            if hmac.compare_digest(offered, token.encode()):
                return name
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


WriterDep = Annotated[str | None, Depends(require_token)]
LimitDep = Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")]
