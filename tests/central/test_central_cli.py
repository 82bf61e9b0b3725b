"""`corridor central run` as a separate process, driven as a black box (HTTP + MQTT)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import yaml
from central_support import CORRIDOR, SITE_FILE

from corridor.broker import Broker, free_port


@contextlib.asynccontextmanager
async def central_process(
    broker: Broker, central_key: tuple[Path, Path], tmp_path: Path, client_id: str
) -> AsyncIterator[httpx.AsyncClient]:
    """`corridor central run` as a process (one API token, `customs: s3cret`), healthy
    and connected; an HTTP client to it; stopped after."""
    config = tmp_path / "central.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite+aiosqlite:///{tmp_path / 'central.db'}",
                "mqtt": broker.settings("central", client_id=client_id).model_dump(),
                "signing": {"private_key_file": str(central_key[0])},
                "site_file": str(SITE_FILE),
                "api_tokens": {"customs": "s3cret"},
            }
        )
    )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(CORRIDOR), "central", "run", "--config", str(config), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            health = await _wait_healthy(http)
            assert health == {"status": "ok", "mqtt_connected": True, "database": "ok"}
            yield http
    finally:
        process.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_central_run_serves_the_api_and_connects_to_the_broker(
    site_broker: Broker, central_key: tuple[Path, Path], tmp_path: Path
) -> None:
    async with central_process(site_broker, central_key, tmp_path, "central-cli-test") as http:
        body = {"declaration_id": "DEC-CLI-1", "status": "cleared"}
        refused = await http.post("/api/v1/declarations", json=body)
        assert refused.status_code == 401
        created = await http.post(
            "/api/v1/declarations", json=body, headers={"Authorization": "Bearer s3cret"}
        )
        assert created.status_code == 201
        auth = {"Authorization": "Bearer s3cret"}  # reads need a token too, once one is set
        assert (await http.get("/api/v1/declarations/DEC-CLI-1")).status_code == 401
        read = await http.get("/api/v1/declarations/DEC-CLI-1", headers=auth)
        assert read.status_code == 200
        assert (await http.get("/docs")).status_code == 200


async def _wait_healthy(http: httpx.AsyncClient, attempts: int = 150) -> object:
    for _ in range(attempts):
        with contextlib.suppress(httpx.TransportError):
            response = await http.get("/api/v1/health")
            if response.json().get("mqtt_connected"):
                return response.json()
        await asyncio.sleep(0.1)
    raise AssertionError("central did not become healthy and connected")


async def test_the_customs_feeder_pushes_a_feed_and_refuses_a_bad_one(
    site_broker: Broker, central_key: tuple[Path, Path], tmp_path: Path
) -> None:
    """`corridor sim customs` against a running central: as a customs system pushes."""
    from central_support import run_cli

    feed = tmp_path / "feed.yaml"
    feed.write_text(
        yaml.safe_dump(
            {
                "declarations": [{"declaration_id": "DEC-FEED-1", "status": "lodged"}],
                "movements": [
                    {
                        "declaration_id": "DEC-FEED-1",
                        "process": "export-container-ship",
                        "plate": "AB123CD",
                        "containers": ["CSQU3054383"],
                    }
                ],
                "status": [{"declaration_id": "DEC-FEED-1", "status": "cleared"}],
            }
        )
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"movements": [{"declaration_id": "DEC-FEED-1",
                                                  "process": "no-such-process"}]}))  # fmt: skip
    async with central_process(site_broker, central_key, tmp_path, "central-feed") as http:
        url = str(http.base_url).rstrip("/")
        ok = await run_cli("sim", "customs", "--central", url, "--token", "s3cret", str(feed))
        assert ok.returncode == 0, ok.stderr
        assert "declared DEC-FEED-1" in ok.stdout
        assert "DEC-FEED-1: {'status': 'cleared'}" in ok.stdout
        auth = {"Authorization": "Bearer s3cret"}
        got = (await http.get("/api/v1/declarations/DEC-FEED-1", headers=auth)).json()
        assert got["status"] == "cleared"

        refused = await run_cli("sim", "customs", "--central", url, "--token", "s3cret", str(bad))
        assert refused.returncode == 1
        assert "422" in refused.stderr and "no-such-process" in refused.stderr
        anonymous = await run_cli("sim", "customs", "--central", url, str(feed))
        assert anonymous.returncode == 1 and "401" in anonymous.stderr
