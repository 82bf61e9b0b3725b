"""Evidence for an incident report: the passages of the movement (with images when the
gate sent them), a track excerpt, seal events, and the alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from central.identifiers import normalise
from central.monitoring.tables import AlertStateRow, IncidentRow
from central.monitoring.tracks import Tracks
from central.tables import AlertRow, MovementRow, PassageRow

TRACK_BEFORE = timedelta(hours=1)  # how much track before the first alert
MAX_PASSAGES = 20


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def collect(session: AsyncSession, incident: IncidentRow, tracks: Tracks) -> dict[str, Any]:
    rows = (
        await session.execute(
            select(AlertRow, AlertStateRow.status)
            .join(AlertStateRow, AlertStateRow.alert_id == AlertRow.alert_id)
            .where(AlertStateRow.incident_id == incident.incident_id)
            .order_by(AlertRow.raised_at)
        )
    ).all()
    # repeats are not listed again, but the passages that repeated them are evidence
    alerts = [row for row, status in rows if status != "duplicate"]
    passage_ids = {row.passage_id for row, _ in rows if row.passage_id is not None}
    conditions: list[ColumnElement[bool]] = (
        [PassageRow.passage_id.in_(passage_ids)] if passage_ids else []
    )
    if incident.iot_id is not None:
        conditions.append(PassageRow.iot_id == incident.iot_id)
    passages = (
        (
            await session.scalars(
                select(PassageRow)
                .where(or_(*conditions))
                .order_by(PassageRow.closed_at.desc())
                .limit(MAX_PASSAGES)
            )
        ).all()
        if conditions
        else []
    )
    seal_ids: set[str] = set()
    if incident.iot_id is not None:
        movement = await session.get(MovementRow, incident.iot_id)
        if movement is not None:
            seal_ids |= {normalise(s) for s in movement.seals}
    for passage in passages:
        seal_ids |= {normalise(str(s.get("seal_id", ""))) for s in passage.seals}
    seal_ids.discard("")
    # Device time, as the fixes carry it: from an hour before the first alert
    # (central's clock may differ, e.g. in a rehearsal running in scaled time).
    first = min((a.raised_at for a in alerts), default=incident.opened_at)
    track = (
        tracks.excerpt(incident.device_id, since=first - TRACK_BEFORE) if incident.device_id else []
    )
    return {
        "alerts": [
            {
                "alert_id": str(a.alert_id),
                "rule": a.rule,
                "severity": a.severity,
                "raised_at": _iso(a.raised_at),
                "summary": a.summary,
            }
            for a in alerts
        ],
        "passages": [_passage(p) for p in passages],
        "track": {"device_id": incident.device_id, "points": [p.public() for p in track]},
        "seal_events": [e.model_dump(mode="json") for e in tracks.seal_events(seal_ids)],
    }


def _passage(passage: PassageRow) -> dict[str, Any]:
    images = [
        value
        for identifier in passage.identifiers
        for key, value in (identifier.get("detail") or {}).items()
        if key.startswith("image")
    ]
    return {
        "passage_id": str(passage.passage_id),
        "gate_id": passage.gate_id,
        "lane_id": passage.lane_id,
        "closed_at": _iso(passage.closed_at),
        "identifiers": [
            {"kind": i.get("kind"), "value": i.get("value"), "confidence": i.get("confidence")}
            for i in passage.identifiers
        ],
        "seals": passage.seals,
        "images": images,
    }
