"""The gate box's durable outbox (SQLite), and its memory of decisions already acted on.

Every event is written here, fsynced, before it is sent. It is resent until
central's receipt names it, so a broker restart, a central restart or an hour
without network loses nothing; central dedupes on message id. Decisions acted
on are remembered here too, so a replayed release is refused even after a
reboot.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from contract import Message

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    message_id   TEXT PRIMARY KEY,
    topic        TEXT NOT NULL,
    payload      BLOB NOT NULL,
    created_at   REAL NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_sent_at REAL,
    receipted_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_unreceipted ON outbox (receipted_at, created_at);
CREATE TABLE IF NOT EXISTS decisions_seen (
    decision_id TEXT PRIMARY KEY,
    seen_at     REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    topic: str
    payload: bytes
    attempts: int


class Outbox:
    """Not thread-safe: one asyncio loop owns it. Every call is a short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        # WAL + synchronous=FULL: a committed put survives power loss.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def put(self, topic: str, message: Message) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (message_id, topic, payload, created_at) "
            "VALUES (?, ?, ?, ?)",
            (str(message.message_id), topic, message.to_json(), time.time()),
        )

    def due(self, *, resend_after_s: float, limit: int = 100) -> list[Outgoing]:
        """Unreceipted messages never sent, or sent longer than `resend_after_s` ago."""
        cutoff = time.time() - resend_after_s
        rows = self._db.execute(
            "SELECT message_id, topic, payload, attempts FROM outbox "
            "WHERE receipted_at IS NULL AND (last_sent_at IS NULL OR last_sent_at < ?) "
            "ORDER BY created_at LIMIT ?",
            (cutoff, limit),
        ).fetchall()
        return [Outgoing(*row) for row in rows]

    def mark_sent(self, message_id: str) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? WHERE message_id = ?",
            (time.time(), message_id),
        )

    def mark_receipted(self, message_ids: Iterable[UUID | str]) -> int:
        now = time.time()
        with self._db:
            cursor = self._db.executemany(
                "UPDATE outbox SET receipted_at = ? WHERE message_id = ? AND receipted_at IS NULL",
                [(now, str(i)) for i in message_ids],
            )
        return cursor.rowcount

    def send_again(self, message_id: str) -> bool:
        """Send a receipted message once more, now; False if it is not receipted (the
        resend schedule has it) or not here."""
        cursor = self._db.execute(
            "UPDATE outbox SET receipted_at = NULL, last_sent_at = NULL "
            "WHERE message_id = ? AND receipted_at IS NOT NULL",
            (message_id,),
        )
        return cursor.rowcount == 1

    def resend_all(self) -> None:
        """After a reconnect: everything unreceipted is due now."""
        self._db.execute("UPDATE outbox SET last_sent_at = NULL WHERE receipted_at IS NULL")

    def pending(self) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM outbox WHERE receipted_at IS NULL"
        ).fetchone()
        return int(count)

    def purge(self, *, older_than_s: float) -> int:
        """Drop receipted messages and remembered decisions older than `older_than_s`."""
        cutoff = time.time() - older_than_s
        with self._db:
            n = self._db.execute(
                "DELETE FROM outbox WHERE receipted_at IS NOT NULL AND receipted_at < ?",
                (cutoff,),
            ).rowcount
            self._db.execute("DELETE FROM decisions_seen WHERE seen_at < ?", (cutoff,))
        return n

    # ------------------------------------------------------------ replay memory

    def remember_decision(self, decision_id: UUID) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO decisions_seen (decision_id, seen_at) VALUES (?, ?)",
            (str(decision_id), time.time()),
        )

    def __contains__(self, decision_id: object) -> bool:
        """`decision_id in outbox`: was this decision already acted on?"""
        row = self._db.execute(
            "SELECT 1 FROM decisions_seen WHERE decision_id = ?", (str(decision_id),)
        ).fetchone()
        return row is not None
