from __future__ import annotations

from fastapi import APIRouter

from central.api.deps import CentralDep
from central.api.schemas import IngestStatsPublic

router = APIRouter(prefix="/ingest", tags=["service"])


@router.get("/stats", response_model=IngestStatsPublic)
async def ingest_stats(central: CentralDep) -> IngestStatsPublic:
    """Counters since start: received, stored, duplicates, rejected (by reason), failures."""
    stats = central.pipeline.stats
    return IngestStatsPublic(
        received=stats.received,
        stored=stats.stored,
        duplicates=stats.duplicates,
        rejected=stats.rejected,
        failed=stats.failed,
        decisions=stats.decisions,
        alerts=stats.alerts,
        rejected_by_reason=dict(stats.rejected_by_reason),
        api_rejected=central.api_rejected,
    )
