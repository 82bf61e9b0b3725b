from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import SessionDep
from central.api.schemas import MissionPathPublic
from central.tables import MissionPathRow

router = APIRouter(prefix="/mission-paths", tags=["site"])


@router.get("", response_model=list[MissionPathPublic])
async def list_mission_paths(session: SessionDep) -> list[MissionPathPublic]:
    rows = (await session.scalars(select(MissionPathRow).order_by(MissionPathRow.process))).all()
    return [
        MissionPathPublic.model_validate(
            {"process": r.process, "description": r.description, "steps": r.steps}
        )
        for r in rows
    ]
