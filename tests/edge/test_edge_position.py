"""The gate box's own position: NMEA over a real pty pair (socat) or a real gpsd, checked
against the Bari node `vittoria`, published by the gate box through the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import serial_asyncio_fast
import yaml
from edge_support import logged, running, until

from contract import GateStatus, topics
from contract.bus import client
from contract.tasks import cancel_and_wait
from corridor.broker import Broker, free_port
from drivers.barrier import PlcSettings
from edge.agent import GateAgent
from edge.config import EdgeConfig, LaneConfig
from edge.metrics import EdgeMetrics
from edge.position import GnssConfig, NodeFence, PositionMonitor
from simulators.barrier import BarrierPlcSim
from simulators.tracker import nmea

# The node `vittoria` is a small rotated rectangle (about 60 m x 30 m). Points on the
# line from its centre through the middle of its south-west edge: t=0 is the centre,
# t=1 the edge (about 15 m out), t=1.2 about 3 m outside, t=11 about 150 m outside.
CENTRE = (16.8590000, 41.1308000)
EDGE_MIDPOINT = ((16.8586792 + 16.8593829) / 2, (41.1306201 + 41.1307139) / 2)


def along(t: float) -> tuple[float, float]:
    """(lon, lat) at `t` on the centre -> edge line."""
    return (
        CENTRE[0] + t * (EDGE_MIDPOINT[0] - CENTRE[0]),
        CENTRE[1] + t * (EDGE_MIDPOINT[1] - CENTRE[1]),
    )


class Receiver:
    """Plays the box's GNSS receiver on one end of a serial line: NMEA cycles from the
    tracker simulator's encoder, one second apart."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.at = datetime.now(UTC).replace(microsecond=0)

    async def send(
        self, t: float, *, sigma_m: float = 1.0, hdop: float = 0.8, cycles: int = 2
    ) -> None:
        # Two cycles at the same place: the decoder closes the first when the second
        # begins, so the fix arrives without waiting for the receiver's idle flush.
        lon, lat = along(t)
        lines: list[str] = []
        for _ in range(cycles):
            self.at += timedelta(seconds=1)
            lines += nmea.cycle(
                self.at, lat, lon, speed_mps=0.0, course_deg=0.0, alt_m=5.0,
                hdop=hdop, sigma_m=sigma_m,
            )  # fmt: skip
        self.writer.write("".join(lines).encode())
        await self.writer.drain()

    async def garbage(self) -> None:
        self.writer.write(b"\x00\xff\xfe binary noise\r\n$GPGGA,123519,4807.038,N*00\r\n")
        await self.writer.drain()


@contextlib.asynccontextmanager
async def receiver_on(port: str) -> AsyncIterator[Receiver]:
    _, writer = await serial_asyncio_fast.open_serial_connection(url=port, baudrate=9600)
    try:
        yield Receiver(writer)
    finally:
        writer.close()


def gnss(receiver: dict[str, object]) -> GnssConfig:
    return GnssConfig.model_validate({"receiver": receiver, "site": "bari", "node": "vittoria"})


# ----------------------------------------------------------------------------- geometry


def test_the_test_points_are_where_the_tests_say() -> None:
    fence = NodeFence.load("bari", "vittoria")
    centre = fence.check(*along(0), 2.8)
    assert centre.centre_inside and centre.surely is True and centre.boundary_m > 10
    just_out = fence.check(*along(1.2), 56.0)
    assert not just_out.centre_inside and 1 < just_out.boundary_m < 6
    assert just_out.surely is None  # the disc straddles the edge
    just_in = fence.check(*along(0.8), 56.0)
    assert just_in.centre_inside and just_in.surely is None
    far = fence.check(*along(11), 2.8)
    assert not far.centre_inside and far.surely is False and far.boundary_m > 100
    assert "vittoria" not in far.fences and "vittoria" in centre.fences


def test_config_refuses_an_unknown_node_and_a_corridor() -> None:
    with pytest.raises(ValueError, match="no fence of site 'bari'"):
        GnssConfig.model_validate({"receiver": {"type": "gpsd"}, "site": "bari", "node": "x"})
    with pytest.raises(ValueError, match="is a corridor"):
        GnssConfig.model_validate(
            {"receiver": {"type": "gpsd"}, "site": "bari", "node": "road-vittoria-marisabella"}
        )
    with pytest.raises(ValueError, match="neither a shipped site"):
        GnssConfig.model_validate(
            {"receiver": {"type": "gpsd"}, "site": "/nonexistent.geojson", "node": "vittoria"}
        )


# ----------------------------------------------------------------------------- serial NMEA


async def test_an_unsure_fix_keeps_the_last_sure_answer(
    pty_pair: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    receiver_end, box_end = pty_pair
    changes: list[bool | None] = []
    monitor = PositionMonitor(gnss({"type": "nmea", "port": box_end}))
    monitor.on_change = lambda: changes.append(monitor.at_node)
    async with running(monitor.run), receiver_on(receiver_end) as rx:
        await until(lambda: monitor.connected, 30)  # opening the line flushes its input
        assert monitor.at_node is None  # no fix yet
        await rx.send(0)
        await until(lambda: monitor.at_node is True)
        # 3 m outside the edge, with a 1-sigma error of 20 m each way: not surely out
        await rx.garbage()
        await rx.send(1.2, sigma_m=20, hdop=8)
        await until(lambda: monitor.check is not None and not monitor.check.centre_inside)
        assert monitor.check is not None and monitor.check.surely is None
        assert monitor.at_node is True
        assert logged(caplog, "away from its node") == 0
        # 150 m out, a good fix: surely outside
        await rx.send(11)
        await until(lambda: monitor.at_node is False)
        # 3 m inside the edge, large error: not surely back
        await rx.send(0.8, sigma_m=20, hdop=8)
        await until(lambda: monitor.check is not None and monitor.check.centre_inside)
        assert monitor.check is not None and monitor.check.surely is None
        assert monitor.at_node is False
        await rx.send(0)
        await until(lambda: monitor.at_node is True)
        report = monitor.report()
        assert report is not None and report.mode == 3
        assert report.lat == pytest.approx(CENTRE[1], abs=1e-6)
        assert report.lon == pytest.approx(CENTRE[0], abs=1e-6)
        assert report.error_m is not None and report.error_m < 5
        assert monitor.rejected_lines() >= 2  # the garbage was counted, never fatal
    assert logged(caplog, "gate box is away from its node vittoria") == 1
    assert logged(caplog, "gate box is back at its node vittoria") == 1
    # each change of at_node once (the receiver's availability came first, at_node None)
    assert [c for c in changes if c is not None] == [True, False, True]


async def test_a_receiver_that_is_not_there_yet_drops_out_once_and_returns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    a, b = tmp_path / "gnss-a", tmp_path / "gnss-b"
    monitor = PositionMonitor(gnss({"type": "nmea", "port": str(b)}))
    socat: asyncio.subprocess.Process | None = None
    try:
        async with running(monitor.run):
            await until(lambda: monitor.health.available is False, 30)
            socat_binary = shutil.which("socat")
            if socat_binary is None:
                pytest.fail("socat is missing: run scripts/ensure-system-deps")
            socat = await asyncio.create_subprocess_exec(
                socat_binary, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await until(lambda: a.exists() and b.exists())
            async with receiver_on(str(a)) as rx:
                while monitor.at_node is None:  # until the monitor's next try opens the line
                    await rx.send(0)
                    await asyncio.sleep(0.3)
            assert monitor.health.available is True
    finally:
        if socat is not None:
            socat.terminate()
            await asyncio.wait_for(socat.wait(), 5)
    assert logged(caplog, "gnss dropped out") == 1
    assert logged(caplog, "gnss is back") == 1


async def test_a_silent_receiver_makes_at_node_unknown(
    pty_pair: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    receiver_end, box_end = pty_pair
    config = gnss({"type": "nmea", "port": box_end}).model_copy(update={"stale_after_s": 2.0})
    monitor = PositionMonitor(config)
    async with running(monitor.run), receiver_on(receiver_end) as rx:
        await until(lambda: monitor.connected, 30)
        # one fix (closed by the driver's 1.5 s idle flush, within stale_after_s), then silence
        await rx.send(0, cycles=1)
        await until(lambda: monitor.at_node is True)
        await until(lambda: monitor.at_node is None)
        await until(lambda: monitor.health.available is False)
        assert monitor.report() is not None  # the last position stays, with its fix time
    assert logged(caplog, "gnss dropped out: no fix for 2 s") == 1


# ----------------------------------------------------------------------------- gpsd


async def test_gpsd_first_unsure_fix_is_at_node_then_surely_away(
    pty_pair: tuple[str, str], gpsd: Callable[[str], int]
) -> None:
    receiver_end, gpsd_end = pty_pair
    port = gpsd(gpsd_end)
    metrics = EdgeMetrics()
    monitor = PositionMonitor(gnss({"type": "gpsd", "port": port}), metrics=metrics)
    async with running(monitor.run), receiver_on(receiver_end) as rx:
        await until(monitor.ready.is_set, 30)
        # gpsd needs a few sentences to recognise NMEA: repeat until a fix comes through
        while monitor.check is None:
            await rx.send(1.2, sigma_m=20, hdop=8)
            await asyncio.sleep(0.2)
        assert not monitor.check.centre_inside and monitor.check.surely is None
        assert monitor.at_node is True  # not known to be away
        while monitor.at_node is not False:
            await rx.send(11)
            await asyncio.sleep(0.2)
        assert monitor.health.available is True
        assert metrics.at_node._value.get() == 0.0
        assert 0 <= monitor.fix_age_s() < 60


# ----------------------------------------------------------------------------- the box


async def test_the_gate_box_publishes_at_node_true_then_false(
    broker: Broker,
    tmp_path: Path,
    central_key: tuple[Path, Path],
    pty_pair: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver_end, box_end = pty_pair
    plc_port, metrics_port = free_port(), free_port()
    async with BarrierPlcSim(port=plc_port), receiver_on(receiver_end) as rx:
        config = EdgeConfig(
            gate_id="gate-g",
            mqtt=broker.settings("gate-g"),
            central_keys={"central-1": central_key[1]},
            outbox_path=tmp_path / "outbox.sqlite",
            status_interval_s=60,  # a change, not the heartbeat, must publish the status
            metrics_port=metrics_port,
            gnss=gnss({"type": "nmea", "port": box_end}),
            lanes=[LaneConfig(lane_id="lane-1", plc=PlcSettings(port=plc_port))],
        )
        agent = GateAgent(config)
        statuses: asyncio.Queue[GateStatus] = asyncio.Queue()

        async def watch() -> None:
            async with client(broker.settings("central", "central-position-test")) as central:
                await central.subscribe(topics.gate_status("gate-g"), qos=1)
                async for message in central.messages:
                    statuses.put_nowait(GateStatus.model_validate_json(bytes(message.payload)))

        async def next_status(at_node: bool | None) -> GateStatus:
            while True:
                status = await asyncio.wait_for(statuses.get(), 20)
                if status.online and status.at_node is at_node and status.position:
                    return status

        tasks = [asyncio.create_task(watch()), asyncio.create_task(agent.run())]
        try:
            assert agent.position is not None
            await until(lambda: agent.position is not None and agent.position.connected, 30)
            await rx.send(0)
            inside = await next_status(True)
            assert inside.devices == {"gnss": True}
            assert inside.position is not None
            assert inside.position.lat == pytest.approx(CENTRE[1], abs=1e-6)
            assert inside.position.mode == 3
            await rx.send(11)
            outside = await next_status(False)
            assert outside.position is not None
            assert outside.position.fix_time > inside.position.fix_time
            assert outside.position.lon == pytest.approx(along(11)[0], abs=1e-6)
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            assert "corridor_edge_at_node 0.0" in text
            assert 'corridor_edge_device_up{device="gnss"} 1.0' in text
            age = next(
                line for line in text.splitlines() if line.startswith("corridor_edge_gnss_fix_age")
            )
            assert 0 <= float(age.split()[1]) < 60
        finally:
            await asyncio.gather(*(cancel_and_wait(task) for task in tasks))
    assert logged(caplog, "gate box is away from its node vittoria") == 1


# ----------------------------------------------------------------------------- diagnose


async def _diagnose(config: Path, *options: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corridor", "edge", "diagnose", "--config", str(config), *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_diagnose_probes_the_receiver_and_the_node(
    broker: Broker,
    tmp_path: Path,
    central_key: tuple[Path, Path],
    pty_pair: tuple[str, str],
    gpsd: Callable[[str], int],
) -> None:
    receiver_end, gpsd_end = pty_pair
    port = gpsd(gpsd_end)
    plc_port = free_port()
    where = {"t": 0.0}

    async def play(rx: Receiver) -> None:
        while True:
            await rx.send(where["t"], hdop=0.5)  # gpsd's eph: about 19 m per unit of hdop
            await asyncio.sleep(0.3)

    async with BarrierPlcSim(port=plc_port), receiver_on(receiver_end) as rx:
        player = asyncio.create_task(play(rx))
        try:
            config: dict[str, Any] = {
                "gate_id": "gate-f",
                "mqtt": broker.settings("gate-f").model_dump(),
                "central_keys": {"central": str(central_key[1])},
                "outbox_path": str(tmp_path / "outbox.sqlite"),
                "gnss": {"receiver": {"type": "gpsd", "port": port}, "site": "bari",
                         "node": "vittoria"},
                "lanes": [{"lane_id": "lane-1", "plc": {"port": plc_port}}],
            }  # fmt: skip
            path = tmp_path / "gate.yaml"
            path.write_text(yaml.safe_dump(config))
            code, out = await _diagnose(path, "--skip-serial")  # gpsd is probed all the same
            assert code == 0, out
            assert "[  ok] gnss/gnss (gpsd): 3D fix 41.130800, 16.859000" in out
            assert "inside node vittoria" in out

            where["t"] = 11
            code, out = await _diagnose(path)
            assert code == 1, out
            assert "[FAIL] gnss/gnss (gpsd)" in out
            assert "surely OUTSIDE node vittoria" in out
        finally:
            await cancel_and_wait(player)

    config["gnss"]["receiver"] = {"type": "nmea", "port": "/dev/null-gnss"}
    path.write_text(yaml.safe_dump(config))
    _, out = await _diagnose(path, "--skip-serial")
    assert "[skip] gnss/gnss (nmea)" in out, out
    assert "] gnss/gnss (nmea):" not in out.replace("[skip] gnss/gnss (nmea):", "")
