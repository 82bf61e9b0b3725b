"""One router per resource, mounted under /api/v1."""

from central.api.routes import (
    alerts,
    decisions,
    declarations,
    gates,
    health,
    ingest,
    ledger,
    mission_paths,
    movements,
    passages,
)

ROUTERS = [
    health.router,
    declarations.router,
    movements.router,
    passages.router,
    decisions.router,
    alerts.router,
    gates.router,
    mission_paths.router,
    ledger.router,
    ingest.router,
]
