"""How the monitoring centre plugs into central's FastAPI app: the dependency that
finds it, error responses for what it refuses, and the console's static pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from central.auth.service import AuthError
from central.monitoring.errors import MonitoringError
from central.monitoring.service import Monitoring

CONSOLE = Path(__file__).resolve().parent.parent / "console"


def get_monitoring(request: Request) -> Monitoring:
    monitoring: Monitoring = request.app.state.central.monitoring
    return monitoring


MonitoringDep = Annotated[Monitoring, Depends(get_monitoring)]


def install(app: FastAPI) -> None:
    """Error handlers and the console: `/` (operators), `/rru` (response units)."""

    @app.exception_handler(MonitoringError)
    async def refused(request: Request, exc: MonitoringError) -> Response:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(AuthError)
    async def unauthorised(request: Request, exc: AuthError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    app.mount("/console", StaticFiles(directory=CONSOLE), name="console")

    @app.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(CONSOLE / "index.html")

    @app.get("/rru", include_in_schema=False)
    async def rru_page() -> FileResponse:
        return FileResponse(CONSOLE / "rru.html")
