"""The hash-chained ledger: every decision, alert and command ack, append-only.

Entry n stores `hash = sha256(prev_hash || "\\n" seq "\\n" at "\\n" kind "\\n" || body)`
where `body` is the canonical JSON text exactly as stored and `prev_hash` is entry
n-1's hash (64 zeros for the first). Changing any byte of any stored field breaks
the chain at that entry, which `verify` reports.

One writer: on PostgreSQL an advisory lock held to the end of the appending
transaction; on SQLite the write lock every transaction takes (BEGIN IMMEDIATE).
`seq` and `prev_hash` are unique, so a second writer could never fork the chain,
only fail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from central.tables import LedgerRow

GENESIS = "0" * 64
_LOCK_KEY = 0x436F7272  # "Corr": the PostgreSQL advisory lock that serialises appends
_PAGE = 1000


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(prev_hash: str, seq: int, at: datetime, kind: str, body: str) -> str:
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(f"\n{seq}\n{stamp}\n{kind}\n".encode())
    digest.update(body.encode("utf-8"))
    return digest.hexdigest()


async def append(session: AsyncSession, kind: str, body: dict[str, Any], at: datetime) -> int:
    """Append one entry inside the caller's transaction; returns its seq."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = (
        await session.execute(select(LedgerRow.seq, LedgerRow.hash).order_by(LedgerRow.seq.desc()))
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at = at.astimezone(UTC)
    text_body = canonical_json(body)
    session.add(
        LedgerRow(
            seq=seq,
            at=at,
            kind=kind,
            body=text_body,
            prev_hash=prev_hash,
            hash=entry_hash(prev_hash, seq, at, kind, text_body),
        )
    )
    await session.flush()
    return seq


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession) -> Verification:
    """Walk the chain from the first entry; stop at the first one that does not hold."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    while True:
        rows = (
            await session.scalars(
                select(LedgerRow)
                .where(LedgerRow.seq >= expected_seq)
                .order_by(LedgerRow.seq)
                .limit(_PAGE)
            )
        ).all()
        if not rows:
            return Verification(True, count)
        for row in rows:
            problem = _check(row, expected_seq, prev_hash)
            if problem:
                return Verification(False, count, expected_seq, problem)
            expected_seq, prev_hash, count = row.seq + 1, row.hash, count + 1


def _check(row: LedgerRow, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (next is {row.seq})"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry's hash"
    if row.hash != entry_hash(row.prev_hash, row.seq, row.at, row.kind, row.body):
        return "hash does not match the entry's content"
    return None
