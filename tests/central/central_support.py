"""Helpers for central's tests (imported by the tests and conftest.py)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from central.app import create_app
from central.service import Central
from central.settings import CentralSettings, load_settings

HERE = Path(__file__).parent
SITE_FILE = HERE / "site.yaml"


def central_settings(database_url: str, **overrides: Any) -> CentralSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "site_file": SITE_FILE,
        "mqtt": {"enabled": False},
    }
    values.update(overrides)
    return load_settings(None, **values)


class Running:
    """A started central with an HTTP client on its app (in process, real database)."""

    def __init__(self, central: Central, http: httpx.AsyncClient) -> None:
        self.central = central
        self.http = http


async def start_central(settings: CentralSettings) -> tuple[Central, httpx.AsyncClient]:
    app = create_app(settings)
    central: Central = app.state.central
    await central.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central")
    return central, http


CORRIDOR = Path(sys.executable).parent / "corridor"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(*args: str, timeout_s: float = 60) -> CliResult:
    """Run the installed `corridor` command as a separate process."""
    process = await asyncio.create_subprocess_exec(
        str(CORRIDOR), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())
