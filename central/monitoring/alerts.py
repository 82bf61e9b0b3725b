"""The alert workflow: fold repeats (dedupe, debounce), keep severity, and record every
action (acknowledge, assign, comment, escalate, close, reopen) with who and when, in
`alert_actions` and on the ledger.

An alert is folded into an earlier one with the same key (rule + subject) while that
one is not closed, or within `debounce_s` of its last occurrence after it was closed;
the repeat is kept (status `duplicate`, `duplicate_of`) and the earlier one counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from central import ledger
from central.identifiers import normalise
from central.monitoring.errors import MonitoringError, conflict, not_found
from central.monitoring.tables import AlertActionRow, AlertStateRow
from contract.messages import Alert

SEVERITIES = ("info", "warning", "critical")
OPEN, ACKNOWLEDGED, CLOSED, DUPLICATE = "open", "acknowledged", "closed", "duplicate"
SYSTEM = "central"  # the actor of what central does by itself

Action = Literal["acknowledge", "assign", "comment", "escalate", "close", "reopen"]


def max_severity(a: str, b: str) -> str:
    return max(a, b, key=_rank)


def raise_severity(severity: str) -> str:
    return SEVERITIES[min(_rank(severity) + 1, len(SEVERITIES) - 1)]


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def subject_of(alert: Alert) -> str:
    """What the alert is about: a cargo movement, else a device, else what a gate read."""
    if alert.iot_id is not None:
        return f"iot:{alert.iot_id}"
    if alert.device_id:
        return f"device:{alert.device_id}"
    if alert.gate_id:
        identifiers = alert.details.get("identifiers")
        values = sorted(
            normalise(str(i.get("value", "")))
            for i in identifiers or []
            if isinstance(i, dict) and i.get("value")
        )
        return f"gate:{alert.gate_id}" + (":" + ",".join(values) if values else "")
    return f"alert:{alert.alert_id}"


def dedupe_key(alert: Alert) -> str:
    return f"{alert.rule}|{subject_of(alert)}"[:300]


@dataclass
class Absorbed:
    state: AlertStateRow  # the new alert's own state
    shown: AlertStateRow  # the alert an operator sees: itself, or the one it was folded into

    @property
    def new(self) -> bool:
        return self.state is self.shown


async def absorb(
    session: AsyncSession,
    alert: Alert,
    now: datetime,
    *,
    severity_overrides: dict[str, str],
    debounce: timedelta,
) -> Absorbed:
    """Give a raised alert its workflow state, folding it into an earlier one if it repeats."""
    key = dedupe_key(alert)
    severity = severity_overrides.get(alert.rule, alert.severity)
    state = AlertStateRow(
        alert_id=alert.alert_id,
        status=OPEN,
        dedupe_key=key,
        severity=severity,
        occurrences=1,
        first_raised_at=alert.raised_at,
        last_raised_at=alert.raised_at,
        seen_at=now,
        escalation_level=0,
        updated_at=now,
    )
    previous = await session.scalar(
        select(AlertStateRow)
        .where(AlertStateRow.dedupe_key == key, AlertStateRow.status != DUPLICATE)
        .order_by(AlertStateRow.last_raised_at.desc())
        .limit(1)
    )
    if previous is not None and (
        previous.status != CLOSED or alert.raised_at - previous.last_raised_at <= debounce
    ):
        previous.occurrences += 1
        previous.last_raised_at = max(previous.last_raised_at, alert.raised_at)
        previous.severity = max_severity(previous.severity, severity)
        previous.updated_at = now
        state.status, state.duplicate_of = DUPLICATE, previous.alert_id
        state.incident_id = previous.incident_id
        session.add(state)
        _record(
            session, previous.alert_id, "repeated", SYSTEM, now, "", {"alert": str(alert.alert_id)}
        )
        return Absorbed(state, previous)
    session.add(state)
    _record(session, alert.alert_id, "raised", SYSTEM, now, alert.summary, {})
    return Absorbed(state, state)


async def act(
    session: AsyncSession,
    alert_id: object,
    action: Action,
    actor: str,
    now: datetime,
    *,
    note: str = "",
    assignee: str | None = None,
) -> AlertStateRow:
    """One operator action on an alert, recorded with who and when (and on the ledger)."""
    state = await session.get(AlertStateRow, alert_id, with_for_update=True)
    if state is None:
        raise not_found(f"alert {alert_id} in the monitoring centre (yet)")
    if state.status == DUPLICATE:
        raise conflict(f"alert {alert_id} repeats alert {state.duplicate_of}: act on that one")
    closed = state.status == CLOSED
    if action == "acknowledge":
        if state.status != OPEN:
            raise conflict(f"alert {alert_id} is {state.status}, not open")
        state.status, state.acknowledged_at, state.acknowledged_by = ACKNOWLEDGED, now, actor
    elif action == "assign":
        if closed:
            raise conflict(f"alert {alert_id} is closed")
        if not assignee:
            raise MonitoringError(422, "assign needs an assignee")
        state.assignee = assignee
    elif action == "comment":
        if not note.strip():
            raise MonitoringError(422, "a comment needs a note")
    elif action == "escalate":
        if closed:
            raise conflict(f"alert {alert_id} is closed")
        state.escalation_level += 1
        state.severity = raise_severity(state.severity)
    elif action == "close":
        if closed:
            raise conflict(f"alert {alert_id} is closed already")
        state.status, state.closed_at, state.closed_by = CLOSED, now, actor
    elif action == "reopen":
        if not closed:
            raise conflict(f"alert {alert_id} is not closed")
        state.status, state.closed_at, state.closed_by = OPEN, None, None
        state.acknowledged_at = state.acknowledged_by = None
    else:  # pragma: no cover - the API only accepts the actions above
        raise MonitoringError(422, f"unknown action {action}")
    state.updated_at = now
    data: dict[str, object] = {"assignee": assignee} if action == "assign" else {}
    if action == "escalate":
        data = {"level": state.escalation_level, "severity": state.severity}
    _record(session, state.alert_id, _past(action), actor, now, note, data)
    await ledger.append(
        session,
        "alert_action",
        {
            "alert_id": str(state.alert_id),
            "action": _past(action),
            "actor": actor,
            "note": note,
            **{k: v for k, v in data.items() if v is not None},
        },
        now,
    )
    return state


def _past(action: str) -> str:
    return {
        "acknowledge": "acknowledged",
        "assign": "assigned",
        "comment": "commented",
        "escalate": "escalated",
        "close": "closed",
        "reopen": "reopened",
    }.get(action, action)


def _record(
    session: AsyncSession,
    alert_id: object,
    action: str,
    actor: str,
    now: datetime,
    note: str,
    data: dict[str, object],
) -> None:
    session.add(
        AlertActionRow(alert_id=alert_id, action=action, actor=actor, at=now, note=note, data=data)
    )
