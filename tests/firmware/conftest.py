"""Serial lines for firmware tests: socat pty pairs, as a USB-RS485 adapter would give."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two linked serial devices: firmware on the first, the driver on the second."""
    if shutil.which("socat") is None:
        pytest.fail("socat is missing: run scripts/ensure-system-deps")
    a, b = tmp_path / "line-a", tmp_path / "line-b"
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
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
