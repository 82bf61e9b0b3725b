"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from central.auth.guard import PrincipalDep
from central.service import Central


def get_central(request: Request) -> Central:
    central: Central = request.app.state.central
    return central


CentralDep = Annotated[Central, Depends(get_central)]


async def get_session(central: CentralDep) -> AsyncIterator[AsyncSession]:
    async with central.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def require_token(principal: PrincipalDep) -> str | None:
    """The caller's name (None in open mode). Which role may change what is checked by
    the route family's guard (`central.auth.guard`); this only names the writer."""
    return None if principal.open_mode else principal.name


WriterDep = Annotated[str | None, Depends(require_token)]
LimitDep = Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")]
