"""Migrations and the hash-chained ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from central_support import CliResult, run_cli
from sqlalchemy import Connection, text, update

from central import database, ledger
from central.tables import Base, LedgerRow

# The one head of the shipped migrations (raises if two heads appeared).
HEAD = ScriptDirectory.from_config(database._alembic_config()).get_current_head()


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_apply_and_match_the_tables(database_url: str) -> None:
    engine = database.create_engine(database_url)
    try:
        assert await database.current_revision(engine) is None
        await database.migrate(engine)
        await database.migrate(engine)  # idempotent
        assert await database.current_revision(engine) == HEAD
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_migrate_command(database_url: str) -> None:
    result = await run_cli("central", "migrate", "--database-url", database_url)
    assert result.returncode == 0, result.stderr
    assert f"revision {HEAD}" in result.stdout


async def _fill_ledger(database_url: str, entries: int) -> None:
    engine = database.create_engine(database_url)
    await database.migrate(engine)
    start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    try:
        for n in range(entries):
            async with database.sessionmaker(engine).begin() as session:
                body = {"n": n, "verdict": "release", "reasons": [], "gate_id": "gate-a"}
                await ledger.append(session, "decision", body, start + timedelta(seconds=n))
    finally:
        await engine.dispose()


async def _tamper(database_url: str, statement: str) -> None:
    engine = database.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _verify_cli(database_url: str) -> CliResult:
    return await run_cli("ledger", "verify", "--database-url", database_url)


async def test_ledger_chain_verifies_and_detects_one_changed_byte(database_url: str) -> None:
    await _fill_ledger(database_url, 6)
    ok = await _verify_cli(database_url)
    assert ok.returncode == 0, ok.stderr
    assert "ledger ok: 6 entries" in ok.stdout

    # One byte of history: "release" -> "releasf" in entry 4's body.
    await _tamper(
        database_url, "UPDATE ledger SET body = REPLACE(body, 'release', 'releasf') WHERE seq = 4"
    )
    broken = await _verify_cli(database_url)
    assert broken.returncode == 1
    assert "broken at seq 4" in broken.stdout


async def test_ledger_detects_changed_time_kind_and_removed_entry(database_url: str) -> None:
    await _fill_ledger(database_url, 5)
    engine = database.create_engine(database_url)
    sessions = database.sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            await session.execute(
                update(LedgerRow)
                .where(LedgerRow.seq == 2)
                .values(at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        async with sessions() as session:
            result = await ledger.verify(session)
        assert (result.ok, result.first_broken_seq, result.entries) == (False, 2, 1)

        await _tamper(database_url, "DELETE FROM ledger WHERE seq = 2")
        async with sessions() as session:
            result = await ledger.verify(session)
        assert (result.first_broken_seq, result.reason) == (2, "entry 2 is missing (next is 3)")
    finally:
        await engine.dispose()


async def test_ledger_appends_in_order_from_concurrent_writers(database_url: str) -> None:
    """Appends from many tasks at once keep one unbroken chain (one writer at a time)."""
    engine = database.create_engine(database_url)
    await database.migrate(engine)
    sessions = database.sessionmaker(engine)
    now = datetime.now(UTC)

    async def append(n: int) -> None:
        async with sessions.begin() as session:
            await ledger.append(session, "alert", {"n": n}, now)

    try:
        await asyncio.gather(*(append(n) for n in range(20)))
        async with sessions() as session:
            result = await ledger.verify(session)
        assert (result.ok, result.entries) == (True, 20)
    finally:
        await engine.dispose()
