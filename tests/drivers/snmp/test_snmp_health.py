"""The SNMP health driver against simulated devices: real pysnmp agents on UDP
loopback, real notifications to a real trap receiver."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from pysnmp.proto.api import v2c

from drivers.snmp import (
    HostReading,
    IfOperStatus,
    SnmpDevice,
    SnmpTarget,
    SnmpTimeout,
    SnmpTrap,
    SwitchReading,
    TrapKind,
    TrapReceiver,
    TrapSettings,
    UpsBatteryStatus,
    UpsOutputSource,
    UpsReading,
    oids,
)
from simulators.snmp import SnmpDeviceSim


@pytest.fixture
async def receiver() -> AsyncIterator[TrapReceiver]:
    async with TrapReceiver(TrapSettings(port=0)) as listening:
        yield listening


def target(sim: SnmpDeviceSim, **extra: object) -> SnmpTarget:
    return SnmpTarget(
        name=sim.name,
        kind=sim.profile,
        host=sim.host,
        port=sim.port,
        timeout_s=0.3,
        retries=0,
        **extra,  # type: ignore[arg-type]
    )


async def next_trap(receiver: TrapReceiver) -> SnmpTrap:
    stream = receiver.traps()
    try:
        return await asyncio.wait_for(anext(stream), 3.0)
    finally:
        await stream.aclose()


async def test_ups_on_mains_then_on_battery_with_a_trap(receiver: TrapReceiver) -> None:
    async with SnmpDeviceSim(
        "ups", name="ups-gate-1", trap_to=("127.0.0.1", receiver.port), drain_pct_per_s=200
    ) as sim, SnmpDevice(target(sim)) as ups:  # fmt: skip
        reading = await ups.poll()
        assert isinstance(reading, UpsReading)
        assert reading.on_battery is False and reading.output_source == UpsOutputSource.NORMAL
        assert reading.charge_pct == 100 and reading.battery_status == UpsBatteryStatus.NORMAL
        assert reading.battery_voltage_v == 27.2 and reading.runtime_remaining_s == 30 * 60
        assert reading.uptime_s is not None and reading.device == "ups-gate-1"

        await sim.mains_lost()
        trap = await next_trap(receiver)
        assert trap.kind == TrapKind.UPS_ON_BATTERY and trap.uptime_s is not None
        assert trap.source.startswith("127.0.0.1:")
        await asyncio.sleep(0.4)  # draining at 200 %/s: flat in half a second
        reading = await ups.poll()
        assert isinstance(reading, UpsReading)
        assert reading.on_battery is True and reading.alarms_present == 1
        assert reading.charge_pct is not None and reading.charge_pct < 25
        assert reading.battery_status in (UpsBatteryStatus.LOW, UpsBatteryStatus.DEPLETED)


async def test_switch_port_down_in_the_table_and_as_a_trap(receiver: TrapReceiver) -> None:
    async with SnmpDeviceSim(
        "switch", name="sw-1", trap_to=("127.0.0.1", receiver.port), ports=4
    ) as sim, SnmpDevice(target(sim)) as switch:  # fmt: skip
        reading = await switch.poll()
        assert isinstance(reading, SwitchReading)
        assert [i.index for i in reading.interfaces] == [1, 2, 3, 4]
        assert reading.interfaces[0].name == "GigabitEthernet0/1"
        assert reading.links_down == []

        await sim.set_link(3, up=False)
        trap = await next_trap(receiver)
        assert trap.kind == TrapKind.LINK_DOWN and trap.if_index == 3
        reading = await switch.poll()
        assert isinstance(reading, SwitchReading)
        assert [i.index for i in reading.links_down] == [3]
        assert reading.interfaces[2].oper_status == IfOperStatus.DOWN

        await sim.set_link(3, up=True)
        trap = await next_trap(receiver)
        assert trap.kind == TrapKind.LINK_UP and trap.if_index == 3


async def test_gate_box_host_resources_and_a_camera_without_them() -> None:
    async with SnmpDeviceSim("host", name="gatebox-1") as sim, SnmpDevice(target(sim)) as box:
        reading = await box.poll()
    assert isinstance(reading, HostReading)
    assert reading.cpu_load_pct == 21.0  # mean of the two CPUs
    assert [s.descr for s in reading.storage] == ["Physical memory", "/"]
    assert reading.storage[1].size_bytes == 7_000_000 * 4096
    assert reading.storage[1].used_bytes == 2_100_000 * 4096

    async with SnmpDeviceSim("camera", name="cam-anpr-1") as sim, SnmpDevice(target(sim)) as cam:
        reading = await cam.poll()
        probe = await cam.probe()
    assert isinstance(reading, HostReading)
    assert reading.cpu_load_pct is None and reading.storage == ()
    assert reading.descr is not None and "camera" in reading.descr
    assert probe.ok and "cam-anpr-1" in probe.detail


async def test_reboot_sends_cold_start_and_resets_uptime(receiver: TrapReceiver) -> None:
    async with SnmpDeviceSim(
        "camera", trap_to=("127.0.0.1", receiver.port)
    ) as sim, SnmpDevice(target(sim)) as cam:  # fmt: skip
        await asyncio.sleep(0.3)
        before = (await cam.system()).uptime_s
        rebooted = time.monotonic()
        await sim.reboot()
        trap = await next_trap(receiver)
        after = (await cam.system()).uptime_s
        since_reboot = time.monotonic() - rebooted
    assert trap.kind == TrapKind.COLD_START
    assert before is not None and before >= 0.3  # up since the simulator started
    # counted from the reboot again (not from the start: that would be >= before + since)
    assert after is not None and after <= since_reboot


async def test_a_silent_agent_times_out_and_comes_back() -> None:
    async with SnmpDeviceSim("ups") as sim, SnmpDevice(target(sim)) as ups:
        sim.silent = True
        with pytest.raises(SnmpTimeout, match="No SNMP response"):
            await ups.poll()
        probe = await ups.probe()
        assert not probe.ok
        sim.silent = False
        assert isinstance(await ups.poll(), UpsReading)
        assert ups.stats.timeouts == 2


async def test_a_wrong_community_is_a_timeout() -> None:
    async with SnmpDeviceSim("ups") as sim, SnmpDevice(target(sim, community="guess")) as ups:
        with pytest.raises(SnmpTimeout):
            await ups.system()


async def test_snmpv3_auth_priv() -> None:
    keys = {"v3_user": "corridor", "v3_auth_key": "auth-pass-123", "v3_priv_key": "priv-pass-456"}
    async with SnmpDeviceSim("ups", **keys) as sim:  # type: ignore[arg-type]
        async with SnmpDevice(target(sim, **keys)) as ups:
            assert isinstance(await ups.poll(), UpsReading)
        wrong = dict(keys, v3_auth_key="not-the-pass")
        async with SnmpDevice(target(sim, **wrong)) as ups:
            with pytest.raises(SnmpTimeout):
                await ups.poll()


async def test_out_of_range_values_are_dropped_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with SnmpDeviceSim("ups") as sim, SnmpDevice(target(sim)) as ups:
        sim.set_raw(oids.UPS_CHARGE_REMAINING, v2c.Integer(250))
        sim.set_raw(oids.UPS_OUTPUT_SOURCE, v2c.OctetString("battery"))
        sim.set_raw(oids.UPS_BATTERY_STATUS, v2c.Integer(9))
        del sim.table.values[oids.UPS_BATTERY_TEMPERATURE]  # not implemented by this UPS
        reading = await ups.poll()
    assert isinstance(reading, UpsReading)
    assert reading.charge_pct is None and reading.output_source is None
    assert reading.on_battery is None and reading.battery_status is None
    assert reading.battery_temperature_c is None  # absent is not an error
    assert ups.stats.bad_values == 3
    assert "upsEstimatedChargeRemaining = 250" in caplog.text


async def test_garbage_datagrams_to_the_trap_receiver_are_counted(
    receiver: TrapReceiver,
) -> None:
    async with SnmpDeviceSim("ups", trap_to=("127.0.0.1", receiver.port)) as sim:
        await sim.send_garbage_trap()
        await sim.send_garbage_trap(b"")
        await sim.mains_lost()  # and a good trap after them still arrives
        trap = await next_trap(receiver)
    assert trap.kind == TrapKind.UPS_ON_BATTERY
    stats = receiver.stats()
    assert stats.asn_parse_errors >= 1 and stats.received == 1


async def test_traps_with_an_unknown_community_are_not_delivered(
    receiver: TrapReceiver,
) -> None:
    async with SnmpDeviceSim("ups", community="other", trap_to=("127.0.0.1", receiver.port)) as sim:
        await sim.mains_lost()
        await asyncio.sleep(0.3)
    assert receiver.stats().received == 0
    assert receiver.stats().bad_communities == 1


async def test_net_snmp_tools_read_the_simulator() -> None:
    if shutil.which("snmpget") is None:
        pytest.fail("snmpget is missing: run scripts/ensure-system-deps (Debian snmp)")
    async with SnmpDeviceSim("ups", name="ups-netsnmp") as sim:
        proc = await asyncio.create_subprocess_exec(
            "snmpget", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0",
            f"{sim.host}:{sim.port}", oids.dotted(oids.SYS_NAME),
            oids.dotted(oids.UPS_CHARGE_REMAINING),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
    assert proc.returncode == 0, err
    text = out.decode()
    assert 'STRING: "ups-netsnmp"' in text and "INTEGER: 100" in text


async def test_a_trap_from_net_snmp_snmptrap(receiver: TrapReceiver) -> None:
    if shutil.which("snmptrap") is None:
        pytest.fail("snmptrap is missing: run scripts/ensure-system-deps (Debian snmp)")
    proc = await asyncio.create_subprocess_exec(
        "snmptrap", "-v2c", "-c", "public", f"127.0.0.1:{receiver.port}", "",
        oids.dotted(oids.LINK_DOWN), oids.dotted((*oids.IF_INDEX, 5)), "i", "5",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 0, err
    trap = await next_trap(receiver)
    assert trap.kind == TrapKind.LINK_DOWN and trap.if_index == 5
