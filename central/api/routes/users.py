"""Users and their tokens (admins only). Tokens are shown once; only a hash is kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from central.api.deps import CentralDep, SessionDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal, add_user, issue_token
from central.auth.tables import UserRow, UserTokenRow
from central.monitoring.errors import not_found
from central.monitoring.schemas import TokenCreate, TokenIssued, UserCreate, UserView
from contract.messages import utc_now

router = APIRouter(prefix="/users", tags=["users"])

Admin = Annotated[Principal, Depends(require(P.USERS_MANAGE))]


@router.get("", response_model=list[UserView])
async def list_users(session: SessionDep, _: Admin) -> Sequence[UserRow]:
    return (await session.scalars(select(UserRow).order_by(UserRow.username))).all()


@router.post("", response_model=UserView, status_code=status.HTTP_201_CREATED)
async def create_user(
    body: UserCreate, session: SessionDep, central: CentralDep, _: Admin
) -> UserRow:
    user = await add_user(
        session,
        body.username,
        body.role,
        display_name=body.display_name,
        unit_id=body.unit_id,
        password=body.password,
    )
    await session.commit()
    central.auth._enforced = True  # the API is closed from now on
    return user


@router.post("/{username}/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
async def create_token(
    username: str, session: SessionDep, _: Admin, body: TokenCreate | None = None
) -> TokenIssued:
    body = body or TokenCreate()
    ttl = timedelta(days=body.ttl_days) if body.ttl_days else None
    token, row = await issue_token(session, username, label=body.label, ttl=ttl)
    await session.commit()
    return TokenIssued(
        token=token, token_id=row.token_id, username=username, expires_at=row.expires_at
    )


@router.delete("/{username}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(username: str, token_id: str, session: SessionDep, _: Admin) -> None:
    row = await session.get(UserTokenRow, token_id)
    if row is None or row.username != username:
        raise not_found(f"token {token_id} of {username}")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        await session.commit()
