"""Tracks and telemetry through influxdb-client's batching write API into a real
VictoriaMetrics (Debian's victoria-metrics, InfluxDB v2 write API), read back with its
export API. The fixture starts the server on a free port with a retention long enough
for the old device timestamps the tests write."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from central_support import central_settings, start_central

from central.timeseries import TimeSeriesSettings, TimeSeriesWriter
from contract import topics
from contract.messages import PositionFix, SealEvent, SealState
from corridor.broker import free_port

T0 = datetime(2019, 7, 1, 6, 0, tzinfo=UTC)  # years back: the store must keep old points


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A VictoriaMetrics server's base URL."""
    binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
    if not Path(binary).exists():
        pytest.fail("victoria-metrics is not installed: run `bash scripts/ensure-system-deps`")
    directory = tmp_path_factory.mktemp("victoria-metrics")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"-storageDataPath={directory}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).text.strip() == "OK":
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"victoria-metrics did not start: {(directory / 'log').read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def exported(url: str, metric: str) -> list[dict[str, Any]]:
    """Every series of `metric` with its points (flushed to search first)."""
    httpx.get(f"{url}/internal/force_flush", timeout=10).raise_for_status()
    response = httpx.post(
        f"{url}/api/v1/export", data={"match[]": metric, "start": "0"}, timeout=10
    )
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def fix(device: str, minute: int, **fields: Any) -> PositionFix:
    return PositionFix(
        device_id=device,
        fixed_at=T0 + timedelta(minutes=minute),
        lat=-1.0 + minute / 1000,
        lon=36.0 + minute / 100,
        speed_mps=16.5,
        hdop=0.9,
        accuracy_m=3.0,
        **fields,
    )


def test_fixes_and_seal_telemetry_are_written_in_batches_with_device_time(victoria: str) -> None:
    writer = TimeSeriesWriter(TimeSeriesSettings(url=victoria, batch_size=2, flush_interval_ms=50))
    for minute in range(5):
        writer.write_fix(fix("trk-ts1", minute), None)
    writer.write_seal_event(
        SealEvent(
            seal_id="KRA0000901",
            occurred_at=T0 + timedelta(minutes=3),
            state=SealState.OPENED,
            event="opened",
            battery_pct=81.5,
        ),
        None,
    )
    writer.close()
    assert (writer.stats.queued, writer.stats.written, writer.stats.failed) == (6, 6, 0)
    [lat] = exported(victoria, 'unit_position_lat{device_id="trk-ts1"}')
    assert lat["timestamps"] == [
        int((T0 + timedelta(minutes=m)).timestamp() * 1000) for m in range(5)
    ]
    assert lat["values"] == [pytest.approx(-1.0 + m / 1000) for m in range(5)]
    [speed] = exported(victoria, 'unit_position_speed_mps{device_id="trk-ts1"}')
    assert speed["values"] == [16.5] * 5
    [battery] = exported(victoria, 'seal_status_battery_pct{device_id="KRA0000901"}')
    [opened] = exported(victoria, 'seal_status_opened{device_id="KRA0000901"}')
    assert (battery["values"], opened["values"]) == ([81.5], [1])


def test_a_store_that_is_down_is_counted_and_stops_nothing() -> None:
    writer = TimeSeriesWriter(
        TimeSeriesSettings(
            url=f"http://127.0.0.1:{free_port()}",
            max_retries=0,
            flush_interval_ms=10,
            close_wait_ms=5000,
        )
    )
    for minute in range(3):
        writer.write_fix(fix("trk-ts2", minute), None)
    writer.close()
    assert (writer.stats.queued, writer.stats.written, writer.stats.failed) == (3, 0, 3)


async def test_central_writes_each_track_with_its_movement(victoria: str, tmp_path: Path) -> None:
    settings = central_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'central.db'}",
        transit={"fences": []},
        timeseries={"url": victoria, "flush_interval_ms": 50},
    )
    central, http = await start_central(settings)
    try:
        r = await http.post(
            "/api/v1/declarations", json={"declaration_id": "TS-1", "status": "cleared"}
        )
        assert r.status_code == 201
        r = await http.post(
            "/api/v1/movements",
            json={"declaration_id": "TS-1", "process": "export-container-ship", "plate": "KTS001"},
        )
        iot_id = r.json()["iot_id"]
        r = await http.put(f"/api/v1/movements/{iot_id}/transit", json={"trackers": ["trk-ts3"]})
        assert r.status_code == 200, r.text
        assert central.transit is not None
        for minute in range(4):
            message = fix("trk-ts3", minute)
            await central.transit.pipeline.handle(
                topics.unit_positions("trk-ts3"), message.to_json()
            )
        # a duplicate is not written twice
        await central.transit.pipeline.handle(topics.unit_positions("trk-ts3"), message.to_json())
    finally:
        await http.aclose()
        await central.stop()  # flushes the writer
    [series] = exported(victoria, 'unit_position_lon{device_id="trk-ts3"}')
    assert series["metric"]["iot_id"] == iot_id
    assert len(series["values"]) == 4
