"""Customs declarations: customs systems push status here; the NII analyst validates scans."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from central.api.deps import SessionDep, WriterDep
from central.api.schemas import DeclarationCreate, DeclarationPublic, DeclarationUpdate
from central.tables import DeclarationRow
from contract.messages import utc_now

router = APIRouter(prefix="/declarations", tags=["declarations"])


@router.post("", response_model=DeclarationPublic, status_code=status.HTTP_201_CREATED)
async def create_declaration(
    body: DeclarationCreate, session: SessionDep, _: WriterDep
) -> DeclarationRow:
    if await session.get(DeclarationRow, body.declaration_id) is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"declaration {body.declaration_id} exists already"
        )
    now = utc_now()
    row = DeclarationRow(**body.model_dump(), created_at=now, updated_at=now)
    session.add(row)
    await session.commit()
    return row


@router.put("/{declaration_id}/status", response_model=DeclarationPublic)
async def update_status(
    declaration_id: str, body: DeclarationUpdate, session: SessionDep, _: WriterDep
) -> DeclarationRow:
    """Change only the fields given; the next gate decision sees the new status."""
    row = await _get(session, declaration_id, for_update=True)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    row.updated_at = utc_now()
    await session.commit()
    return row


@router.get("/{declaration_id}", response_model=DeclarationPublic)
async def get_declaration(declaration_id: str, session: SessionDep) -> DeclarationRow:
    return await _get(session, declaration_id)


async def _get(
    session: SessionDep, declaration_id: str, for_update: bool = False
) -> DeclarationRow:
    row = await session.get(DeclarationRow, declaration_id, with_for_update=for_update)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no declaration {declaration_id}")
    return row
