"""One router per resource, mounted under /api/v1."""

from central.api.routes import (
    alert_workflow,
    alerts,
    auth,
    decisions,
    declarations,
    gate_overrides,
    gates,
    health,
    incidents,
    ingest,
    ledger,
    live,
    lookup,
    mission_paths,
    movements,
    notifications,
    passages,
    rrus,
    sites,
    units,
    users,
)
from central.transit import api as transit

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
    transit.movements_router,  # units in transit (docs/transit.md)
    transit.router,
    # the monitoring centre (docs/monitoring.md)
    alert_workflow.router,
    incidents.router,
    rrus.router,
    gate_overrides.router,
    units.router,
    lookup.router,
    sites.router,
    live.router,
    notifications.router,
    users.router,
    auth.router,
]
