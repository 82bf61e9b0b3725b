"""What the monitoring centre refuses, with the HTTP status that says why."""

from __future__ import annotations

from central.errors import CentralError


class MonitoringError(CentralError):
    """A refused action: 404 (no such thing), 409 (not in this state), 422 (bad request)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def not_found(what: str) -> MonitoringError:
    return MonitoringError(404, f"no {what}")


def conflict(detail: str) -> MonitoringError:
    return MonitoringError(409, detail)
