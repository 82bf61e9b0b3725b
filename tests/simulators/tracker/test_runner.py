"""The simulator on real transports: NMEA on a pty read by our driver and by gpsd;
PositionFix over MQTT through the TLS broker, as a telematics gateway publishes them."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tracker_helpers import ROUTES, START

from contract import bus, topics
from contract.messages import PositionFix
from corridor.broker import Broker
from drivers.gnss import Fix, GpsdClient, NmeaSerialReceiver
from simulators.tracker import (
    Journey,
    LateBurst,
    MqttSink,
    NmeaSink,
    Silence,
    SpeedProfile,
    load_route,
    plan_track,
    run_tracker,
)

SPUR = load_route(ROUTES / "mombasa_voi.geojson", "kipevu-spur")  # 1.4 km of port road


def spur_journey(interval_s: float = 1.0, faults: list[Any] | None = None, **kw: Any) -> Journey:
    kw.setdefault("device_id", "truck-9")
    kw.setdefault("start", START)
    return Journey(
        route=SPUR,
        speed=SpeedProfile.constant_kmh(36.0),
        interval_s=interval_s,
        faults=faults or [],
        seed=9,
        **kw,
    )


async def take(fixes: AsyncIterator[Fix], count: int, timeout_s: float) -> list[Fix]:
    got: list[Fix] = []

    async def run() -> None:
        async for fix in fixes:
            got.append(fix)
            if len(got) == count:
                return

    await asyncio.wait_for(run(), timeout_s)
    return got


async def test_nmea_on_a_pty_is_read_back_by_our_receiver(pty_pair: tuple[str, str]) -> None:
    sim_end, receiver_end = pty_pair
    journey = spur_journey()
    plan = plan_track(journey)
    async with NmeaSerialReceiver(receiver_end, 9600, idle_flush_s=0.3) as rx:
        sim = asyncio.create_task(run_tracker(journey, NmeaSink(sim_end), time_scale=None))
        fixes = await take(rx.fixes(), len(plan.points), timeout_s=20)
        report = await sim
        assert sum(rx.stats.rejected.values()) == 0
    assert report.sent == {"truck-9": len(plan.points)}
    assert [f.time for f in fixes] == [p.device_time(journey) for p in plan.points]
    for fix, point in zip(fixes, plan.points, strict=True):
        assert math.isclose(fix.lat or 0, point.lat, abs_tol=2e-7)
        assert math.isclose(fix.lon or 0, point.lon, abs_tol=2e-7)


async def test_gpsd_cannot_tell_the_simulator_from_a_receiver(
    pty_pair: tuple[str, str], gpsd: Callable[[str], int]
) -> None:
    sim_end, gpsd_end = pty_pair
    port = gpsd(gpsd_end)
    journey = spur_journey()
    planned = {p.device_time(journey): p for p in plan_track(journey).points}
    async with GpsdClient("127.0.0.1", port, idle_flush_s=0.5) as client:
        sim = asyncio.create_task(run_tracker(journey, NmeaSink(sim_end), time_scale=None))
        fixes = await take(client.fixes(), len(planned) - 3, timeout_s=30)
        await sim
    assert len({f.time for f in fixes}) == len(fixes) >= len(planned) - 3
    for fix in fixes:
        point = planned[fix.time]
        assert math.isclose(fix.lat or 0, point.lat, abs_tol=2e-7)
        assert math.isclose(fix.lon or 0, point.lon, abs_tol=2e-7)
        assert math.isclose(fix.speed_mps or 0, point.speed_mps, abs_tol=3e-4)
        assert fix.lat_err_m == point.sigma_m or fix.lat_err_m is None  # GST if gpsd reports it


async def subscribe_positions(
    broker: Broker, expected: int, ready: asyncio.Event
) -> list[tuple[str, PositionFix, int]]:
    got: list[tuple[str, PositionFix, int]] = []
    async with bus.connected(broker.settings("central", client_id="central-positions")) as mqtt:
        await mqtt.subscribe(topics.ALL_UNIT_POSITIONS, qos=1)
        ready.set()
        async for message in mqtt.messages:
            got.append(
                (str(message.topic), PositionFix.model_validate_json(message.payload), message.qos)  # type: ignore[arg-type]
            )
            if len(got) == expected:
                return got
    return got


async def test_fixes_over_mqtt_with_a_silence_and_a_late_burst(broker: Broker) -> None:
    burst, silence = LateBurst(at_s=40, duration_s=30), Silence(at_s=90, duration_s=20)
    journeys = [
        spur_journey(5.0, [burst, silence]),
        spur_journey(5.0, device_id="truck-10", start=START + timedelta(minutes=3)),
    ]
    plans = [plan_track(j) for j in journeys]
    expected = sum(len(p.points) for p in plans)
    ready = asyncio.Event()
    listener = asyncio.create_task(subscribe_positions(broker, expected, ready))
    await asyncio.wait_for(ready.wait(), 10)
    report = await run_tracker(journeys, MqttSink(broker.settings("telematics")), time_scale=None)
    got = await asyncio.wait_for(listener, 20)

    assert report.dropped == {"truck-9": 4, "truck-10": 0} and report.late["truck-9"] == 6
    assert all(qos == 1 for _, _, qos in got)
    truck9 = [fix for topic, fix, _ in got if topic == topics.unit_positions("truck-9")]
    assert len(truck9) == len(plans[0].points) and all(f.device_id == "truck-9" for f in truck9)
    fixed = [(f.fixed_at - START).total_seconds() for f in truck9]
    late = [f for f in truck9 if f.sent_at > f.fixed_at]
    assert sorted((f.fixed_at - START).total_seconds() for f in late) == [40, 45, 50, 55, 60, 65]
    assert {f.sent_at - START for f in late} == {timedelta(seconds=70)}
    assert fixed != sorted(fixed)  # the burst arrived out of order, with original times
    assert not any(90 <= t < 110 for t in fixed)  # the silence lost its fixes
    truck10 = [fix for topic, fix, _ in got if topic == topics.unit_positions("truck-10")]
    assert truck10[0].fixed_at == START + timedelta(minutes=3)


async def test_the_simulate_command_publishes_over_tls(broker: Broker, tmp_path: Path) -> None:
    plan = plan_track(spur_journey(10.0))
    ready = asyncio.Event()
    listener = asyncio.create_task(subscribe_positions(broker, len(plan.points), ready))
    await asyncio.wait_for(ready.wait(), 10)
    settings = broker.settings("telematics")
    command = [
        sys.executable, "-c", "from corridor.cli import main; main()", "gnss", "simulate",
        "--route", str(ROUTES / "mombasa_voi.geojson"), "--route-name", "kipevu-spur",
        "--device-id", "truck-9", "--speed", "36", "--interval", "10s",
        "--start", START.isoformat(), "--seed", "9", "--time-scale", "0",
        "--mqtt-port", str(settings.port), "--ca-file", str(settings.ca_file),
    ]  # fmt: skip
    env = {**os.environ, "CORRIDOR_MQTT_PASSWORD": settings.password or ""}
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    got = await asyncio.wait_for(listener, 20)
    assert [fix.fixed_at for _, fix, _ in got] == [p.device_time(plan.journey) for p in plan.points]
    assert f"truck-9: sent {len(plan.points)} fixes" in err.decode()


async def test_a_broker_that_is_not_there_is_a_clear_error() -> None:
    from simulators.tracker import TrackerError

    settings = bus.BrokerSettings(port=1, username="telematics", password="x")
    with pytest.raises(TrackerError, match="cannot connect to the broker"):
        await run_tracker(spur_journey(), MqttSink(settings), time_scale=None)
