"""The central HTTP service: FastAPI app whose lifespan runs the `Central` process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from central.api.routes import ROUTERS
from central.auth.guard import guard
from central.monitoring import web
from central.service import Central
from central.settings import CentralSettings

log = logging.getLogger(__name__)


def create_app(settings: CentralSettings) -> FastAPI:
    central = Central(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await central.start()
        try:
            yield
        finally:
            await central.stop()

    app = FastAPI(
        title="Corridor central",
        version="1",
        description="Cargo movements, customs status, gate decisions, alerts and the ledger.",
        lifespan=lifespan,
    )
    app.state.central = central

    @app.exception_handler(RequestValidationError)
    async def count_bad_request(request: Request, exc: RequestValidationError) -> Response:
        central.api_rejected += 1
        log.warning("%s %s refused: %s", request.method, request.url.path, exc.errors()[:3])
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(TimeoutError)
    async def database_busy(request: Request, exc: TimeoutError) -> Response:
        return JSONResponse({"detail": "database busy, retry"}, status_code=503)

    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1", dependencies=guard(router))
    web.install(app)  # the console at /, the RRU page at /rru
    return app
