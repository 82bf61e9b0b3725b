"""Real transports for the tracker simulator tests: socat pty pairs and a bare gpsd."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _binary(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/ensure-system-deps")
    return found


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two linked serial devices (a socat pty pair): a receiver on one end, us on the other."""
    a, b = tmp_path / "gnss-a", tmp_path / "gnss-b"
    proc = subprocess.Popen(
        [_binary("socat"), f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def gpsd(tmp_path: Path) -> Iterator[Callable[[str], int]]:
    """Start a bare gpsd reading a device (read-only, loopback only); returns its port."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(device: str) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [_binary("gpsd"), "-N", "-n", "-b", "-S", str(port),
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
