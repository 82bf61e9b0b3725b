"""Fixtures shared by the whole suite: a real Mosquitto (TLS, credentials, ACLs), keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.signing import generate_keypair, load_private_key, load_public_key
from corridor.broker import Broker

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CORRIDOR_SHARED_DATA", REPO.parent / "shared" / "data"))

# Gate ids every test may use; more can be added with broker.add_gate().
TEST_GATES = [f"gate-{c}" for c in "abcdefgh"]


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One Mosquitto for the session, on a free port, TLS on, anonymous off, ACLs on."""
    instance = Broker(tmp_path_factory.mktemp("mosquitto"), TEST_GATES)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def central_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Central's signing key pair (private, public) as PEM files."""
    directory = tmp_path_factory.mktemp("central-keys")
    private, public = directory / "central.key", directory / "central.pub"
    generate_keypair(private, public)
    return private, public


@pytest.fixture(scope="session")
def central_signing(central_key: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    private, public = central_key
    return load_private_key(private), load_public_key(public)
