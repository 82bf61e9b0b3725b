"""Gate-level SNMP health against simulated devices (real pysnmp agents on UDP loopback,
real traps), and the gate box publishing it in its retained status and its metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import httpx
import pytest
from edge_support import logged, running, until

from contract import GateStatus, topics
from contract.bus import client
from contract.tasks import cancel_and_wait
from corridor.broker import Broker, free_port
from drivers.barrier import PlcSettings
from drivers.snmp import SnmpTarget, TrapSettings
from edge.agent import GateAgent
from edge.config import EdgeConfig, LaneConfig
from edge.metrics import EdgeMetrics
from edge.snmp_health import HealthConfig, SnmpHealthMonitor
from simulators.barrier import BarrierPlcSim
from simulators.snmp import SnmpDeviceSim


def target(sim: SnmpDeviceSim, *, poll_interval_s: float = 30.0) -> SnmpTarget:
    return SnmpTarget(
        name=sim.name,
        kind=sim.profile,
        host=sim.host,
        port=sim.port,
        timeout_s=0.3,
        retries=0,
        poll_interval_s=poll_interval_s,
    )


def monitoring(monitor: SnmpHealthMonitor) -> contextlib.AbstractAsyncContextManager[None]:
    traps = monitor.config.traps is not None
    return running(monitor.run, (lambda: monitor.receiver is not None) if traps else None)


async def test_traps_bring_problems_in_at_once_and_each_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        SnmpDeviceSim("ups", name="ups-1", drain_pct_per_s=0.1) as ups,
        SnmpDeviceSim("switch", name="sw-1", ports=4) as switch,
    ):
        metrics = EdgeMetrics()
        changes: list[int] = []
        config = HealthConfig(targets=[target(ups), target(switch)], traps=TrapSettings(port=0))
        monitor = SnmpHealthMonitor(config, metrics=metrics, on_change=lambda: changes.append(1))
        async with monitoring(monitor):
            await until(lambda: monitor.availability() == {"ups-1": True, "sw-1": True})
            assert monitor.problems == {"ups-1": set(), "sw-1": set()}
            assert monitor.receiver is not None
            ups.trap_to = switch.trap_to = ("127.0.0.1", monitor.receiver.port)

            # Polls are 30 s apart: only the trap can bring these in this fast.
            await ups.mains_lost()
            await until(lambda: "on battery" in monitor.problems["ups-1"])
            await switch.set_link(3, False)
            await until(lambda: "port 3 (GigabitEthernet0/3) down" in monitor.problems["sw-1"])
            await switch.set_link(4, False)  # a second trap: polls again, nothing logged twice
            await until(lambda: len(monitor.problems["sw-1"]) == 2)
            await ups.send_garbage_trap()  # counted by the receiver, never fatal
            await until(
                lambda: (
                    monitor.receiver is not None and monitor.receiver.stats().asn_parse_errors == 1
                )
            )
            await ups.mains_restored()
            await until(lambda: "on battery" not in monitor.problems["ups-1"])
            assert monitor.availability() == {"ups-1": True, "sw-1": True}
    assert logged(caplog, "ups-1: on battery") == 1
    assert logged(caplog, "ups-1: no longer on battery") == 1
    assert logged(caplog, "sw-1: port 3 (GigabitEthernet0/3) down") == 1
    assert monitor.traps_received >= 4 and monitor.traps_unknown == 0
    registry = metrics.registry
    assert registry.get_sample_value("corridor_edge_device_up", {"device": "ups-1"}) == 1
    assert registry.get_sample_value("corridor_edge_device_problems", {"device": "sw-1"}) == 2
    assert registry.get_sample_value("corridor_edge_snmp_traps_total", {"kind": "link_down"}) == 2
    assert changes, "the gate box is told to publish its status again"


async def test_a_silent_device_drops_out_once_and_returns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge.health")
    async with SnmpDeviceSim("camera", name="cam-1") as camera:
        metrics = EdgeMetrics()
        monitor = SnmpHealthMonitor(
            HealthConfig(targets=[target(camera, poll_interval_s=0.2)]), metrics=metrics
        )
        async with monitoring(monitor):
            await until(lambda: monitor.availability() == {"cam-1": True})
            camera.silent = True
            await until(lambda: monitor.availability() == {"cam-1": False})
            assert (
                metrics.registry.get_sample_value("corridor_edge_device_up", {"device": "cam-1"})
                == 0
            )
            await asyncio.sleep(1.0)  # several more failed polls
            camera.silent = False
            await until(lambda: monitor.availability() == {"cam-1": True})
    assert logged(caplog, "cam-1 dropped out") == 1
    assert logged(caplog, "cam-1 is back") == 1


async def test_traps_from_unknown_senders_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nobody = SnmpTarget(name="ups-far", kind="ups", host="127.0.0.9", port=free_port(),
                        timeout_s=0.2, retries=0)  # fmt: skip
    monitor = SnmpHealthMonitor(HealthConfig(targets=[nobody], traps=TrapSettings(port=0)))
    async with monitoring(monitor):
        assert monitor.receiver is not None
        async with SnmpDeviceSim(
            "switch", trap_to=("127.0.0.1", monitor.receiver.port)
        ) as stranger:
            await stranger.set_link(1, False)
            await stranger.set_link(1, True)
            await until(lambda: monitor.traps_unknown == 2)
        await until(lambda: monitor.health["ups-far"].available is False)
    assert logged(caplog, "which is no health target") == 1
    assert "ups-far dropped out" in caplog.text


def test_target_names_must_be_unique() -> None:
    twice = {"name": "ups", "kind": "ups", "host": "10.0.0.9"}
    with pytest.raises(ValueError, match="must be unique"):
        HealthConfig.model_validate({"targets": [twice, twice]})


# ----------------------------------------------------------------------------- the box


async def test_the_gate_box_publishes_device_availability(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path]
) -> None:
    plc_port, metrics_port = free_port(), free_port()
    async with BarrierPlcSim(port=plc_port), SnmpDeviceSim("ups", name="ups-gate") as ups:
        config = EdgeConfig(
            gate_id="gate-h",
            mqtt=broker.settings("gate-h"),
            central_keys={"central-1": central_key[1]},
            outbox_path=tmp_path / "outbox.sqlite",
            status_interval_s=60,  # a change, not the heartbeat, must publish the status
            metrics_port=metrics_port,
            health=HealthConfig(targets=[target(ups, poll_interval_s=0.2)]),
            lanes=[LaneConfig(lane_id="lane-1", plc=PlcSettings(port=plc_port))],
        )
        agent = GateAgent(config)
        statuses: asyncio.Queue[GateStatus] = asyncio.Queue()

        async def watch() -> None:
            async with client(broker.settings("central", "central-health-test")) as central:
                await central.subscribe(topics.gate_status("gate-h"), qos=1)
                async for message in central.messages:
                    statuses.put_nowait(GateStatus.model_validate_json(bytes(message.payload)))  # type: ignore[arg-type]

        async def next_status(devices: dict[str, bool]) -> GateStatus:
            while True:
                status = await asyncio.wait_for(statuses.get(), 10)
                if status.online and status.devices == devices:
                    return status

        tasks = [asyncio.create_task(watch()), asyncio.create_task(agent.run())]
        try:
            await next_status({"ups-gate": True})
            ups.silent = True
            await next_status({"ups-gate": False})
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            assert 'corridor_edge_device_up{device="ups-gate"} 0.0' in text
        finally:
            await asyncio.gather(*(cancel_and_wait(task) for task in tasks))
