"""Central's fixtures: fresh SQLite and PostgreSQL databases, and a running central.

`postgres_server` is useful to anyone: the PostgreSQL at 127.0.0.1:5432 (trust
auth, user postgres) when it answers, else a throw-away cluster started with
initdb + pg_ctl on a free port in a temp dir and stopped after the session.
`fresh_database_url(backend)` makes an empty database per call (dropped after).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from central_support import BACKENDS, SITE_GATES, Live, Running, central_settings, start_central
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.signing import generate_keypair, load_private_key, load_public_key
from corridor.broker import Broker, free_port

# --------------------------------------------------------------------------- PostgreSQL


async def _can_connect(dsn: str) -> bool:
    try:
        connection = await asyncpg.connect(dsn, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}")) or [shutil.which(tool) or ""]
    if not found[-1]:
        pytest.fail(f"PostgreSQL is not installed ({tool} not found): apt-get install postgresql")
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DSN of a PostgreSQL server (no database part), user postgres, trust auth."""
    default = "postgresql://postgres@127.0.0.1:5432"
    if asyncio.run(_can_connect(f"{default}/postgres")):
        yield default
        return
    directory = tmp_path_factory.mktemp("postgres")
    data, port = directory / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = _pg_bin("pg_ctl")
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(directory / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), check=False
        )


async def _admin(server: str, sql: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def fresh_database_url(
    postgres_server: str, tmp_path: Path
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Call with "sqlite" or "postgres": an async URL of a new, empty database."""
    created: list[str] = []

    async def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / f'central-{uuid.uuid4().hex[:8]}.db'}"
        name = f"corridor_test_{uuid.uuid4().hex[:12]}"
        await _admin(postgres_server, f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"{postgres_server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"

    yield make
    for name in created:
        await _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, fresh_database_url: Callable[[str], Awaitable[str]]
) -> str:
    """A new, empty database on each backend in turn."""
    return await fresh_database_url(request.param)


# --------------------------------------------------------------------------- central


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Running]:
    """Central without MQTT, on each backend, with the test site loaded."""
    central, http = await start_central(central_settings(database_url))
    try:
        yield Running(central, http)
    finally:
        await http.aclose()
        await central.stop()


# --------------------------------------------------------------------------- with the broker


@pytest.fixture(scope="session")
def site_broker(broker: Broker) -> Broker:
    """The suite's Mosquitto (TLS, credentials, ACLs) with the test site's gate boxes added."""
    for gate_id in SITE_GATES:
        broker.add_gate(gate_id)
    return broker


@pytest.fixture(scope="session")
def gate_keys(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Ed25519PrivateKey]]:
    """A key pair per site gate: the public keys in a directory central reads."""
    directory = tmp_path_factory.mktemp("gate-keys")
    for gate_id in SITE_GATES:
        generate_keypair(directory / f"{gate_id}.key", directory / f"{gate_id}.pub")
    return directory, {g: load_private_key(directory / f"{g}.key") for g in SITE_GATES}


@pytest.fixture
async def live(
    request: pytest.FixtureRequest,
    site_broker: Broker,
    gate_keys: tuple[Path, dict[str, Ed25519PrivateKey]],
    central_key: tuple[Path, Path],
    fresh_database_url: Callable[[str], Awaitable[str]],
) -> AsyncIterator[Live]:
    """Central with the MQTT ingest on the real broker (SQLite unless parametrised)."""
    backend = getattr(request, "param", "sqlite")
    keys_dir, keys = gate_keys
    mqtt = site_broker.settings("central", client_id=f"central-{uuid.uuid4().hex[:8]}")
    settings = central_settings(
        await fresh_database_url(backend),
        mqtt=mqtt.model_dump() | {"enabled": True},
        signing={"private_key_file": central_key[0], "key_id": "central"},
        gate_keys_dir=keys_dir,
    )
    central, http = await start_central(settings)
    result = Live(central, http, site_broker, keys, load_public_key(central_key[1]), settings)
    try:
        await result.wait_connected()
        yield result
    finally:
        await result.http.aclose()
        await result.central.stop()
