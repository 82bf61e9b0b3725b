from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from central.api.deps import CentralDep, SessionDep
from central.api.schemas import Health

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health)
async def health(central: CentralDep, session: SessionDep, response: Response) -> Health:
    """Liveness of the service, its broker connection and its database."""
    try:
        await session.execute(text("SELECT 1"))
        database = "ok"
    except (SQLAlchemyError, OSError) as err:
        database = f"unavailable: {type(err).__name__}"
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(
        status="ok" if database == "ok" else "degraded",
        mqtt_connected=central.mqtt_connected,
        database=database,
    )
