"""Fixtures shared by the whole suite: a real Mosquitto (TLS, credentials, ACLs), keys."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract.signing import generate_keypair, load_private_key, load_public_key
from corridor.broker import Broker, free_port

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


def system_binary(name: str) -> str:
    """A Debian binary the tests drive (socat, gpsd...), or a clear failure."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/ensure-system-deps")
    return found


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two linked serial lines (a socat pty pair), as a USB serial adapter would give:
    the device (or its simulator, or firmware) on one end, the driver on the other."""
    a, b = tmp_path / "line-a", tmp_path / "line-b"
    proc = subprocess.Popen(
        [system_binary("socat"), f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not (a.exists() and b.exists()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("socat did not create the pty pair")
        time.sleep(0.01)
    try:
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def gpsd(tmp_path: Path) -> Iterator[Callable[[str], int]]:
    """Start a bare gpsd reading a device (read-only, loopback only); returns its port."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(device: str) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [system_binary("gpsd"), "-N", "-n", "-b", "-S", str(port),
             "-F", str(tmp_path / f"gpsd-{port}.sock"), device],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"gpsd exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        pytest.fail("gpsd did not listen in 10 s")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=5)
