from __future__ import annotations

from fastapi import APIRouter

from central import ledger
from central.api.deps import SessionDep
from central.api.schemas import LedgerVerification

router = APIRouter(prefix="/ledger", tags=["ledger"])


@router.get("/verify", response_model=LedgerVerification)
async def verify_ledger(session: SessionDep) -> LedgerVerification:
    """Walk the hash chain; `first_broken_seq` names the first entry that does not hold."""
    result = await ledger.verify(session)
    return LedgerVerification(
        ok=result.ok,
        entries=result.entries,
        first_broken_seq=result.first_broken_seq,
        reason=result.reason,
    )
