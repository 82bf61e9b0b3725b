"""`corridor edge diagnose`: check each configured device and the broker, print a report.

It may run beside the agent (the health timer does): its MQTT session has a client id
of its own (`<gate>-diagnose`), so it never takes the agent's session over, and
`skip_serial` leaves alone what only one process can hold: serial readers (RFID,
e-seal), Modbus RTU controllers and a serial GNSS receiver. Network devices (and gpsd)
answer two clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from contract.bus import MqttError, client
from contract.signing import load_private_key, load_public_key
from contract.tasks import within
from drivers.barrier import BarrierPlc
from drivers.probe import ProbeResult
from drivers.snmp import SnmpDevice, SnmpError, SnmpTarget
from edge import adapters
from edge.config import EdgeConfig
from edge.outbox import Outbox
from edge.position import NmeaReceiverConfig
from edge.position import probe as gnss_probe

PROBE_TIMEOUT_S = 5.0
GNSS_TIMEOUT_S = 10.0  # a receiver reports every second; a cold start takes longer


def diagnose_client_id(config: EdgeConfig) -> str:
    return f"{config.gate_id}-diagnose"


async def _broker(config: EdgeConfig) -> ProbeResult:
    started = time.perf_counter()
    settings = config.mqtt.model_copy(update={"client_id": diagnose_client_id(config)})
    try:
        async with client(settings):
            pass
    except MqttError as err:
        return ProbeResult(ok=False, detail=f"cannot connect as {config.mqtt.username}: {err}")
    rtt = round((time.perf_counter() - started) * 1000, 1)
    tls = "TLS" if config.mqtt.ca_file else "no TLS"
    return ProbeResult(ok=True, detail=f"connected ({tls})", round_trip_ms=rtt)


def _keys(config: EdgeConfig) -> ProbeResult:
    try:
        for path in config.central_keys.values():
            load_public_key(path)
        if config.signing:
            load_private_key(config.signing.private_key_file)
    except (OSError, ValueError) as err:
        return ProbeResult(ok=False, detail=str(err))
    signing = "passages signed" if config.signing else "passages NOT signed"
    return ProbeResult(ok=True, detail=f"{len(config.central_keys)} central key(s); {signing}")


def _outbox(config: EdgeConfig) -> ProbeResult:
    try:
        outbox = Outbox(config.outbox_path)
    except Exception as err:  # any storage failure is what the engineer must see
        return ProbeResult(ok=False, detail=f"{config.outbox_path}: {err}")
    pending = outbox.pending()
    outbox.close()
    return ProbeResult(ok=True, detail=f"{config.outbox_path}: {pending} message(s) unreceipted")


async def _snmp(target: SnmpTarget) -> ProbeResult:
    device = SnmpDevice(target)
    try:
        await device.open()
        return await device.probe()
    except (SnmpError, OSError) as err:
        return ProbeResult(ok=False, detail=f"{target.host}:{target.port}: {err}")
    finally:
        device.close()


async def _with_timeout(probe: asyncio.Future[ProbeResult] | object) -> ProbeResult:
    try:
        return await within(probe, PROBE_TIMEOUT_S)  # type: ignore[arg-type]
    except TimeoutError:
        return ProbeResult(ok=False, detail=f"no answer in {PROBE_TIMEOUT_S:.0f} s")


async def diagnose(
    config: EdgeConfig,
    echo: Callable[[str], None],
    *,
    skip_serial: bool = False,
    gnss_timeout_s: float = GNSS_TIMEOUT_S,
) -> bool:
    """Print one line per check; True when everything is fine. `skip_serial`: leave serial
    devices and RTU controllers alone (the running agent holds their ports). The GNSS
    receiver must give a fix with a position within `gnss_timeout_s`."""
    checks: list[tuple[str, ProbeResult]] = [
        ("signing keys", _keys(config)),
        ("outbox", _outbox(config)),
        (f"broker {config.mqtt.host}:{config.mqtt.port}", await _with_timeout(_broker(config))),
    ]
    skipped: list[str] = []
    for lane in config.lanes:
        if skip_serial and lane.plc.transport == "rtu":
            skipped.append(f"{lane.lane_id}/controller")
        else:
            plc = BarrierPlc(lane.plc)
            checks.append((f"{lane.lane_id}/controller", await _with_timeout(plc.probe())))
            plc.close_link()
        for device in lane.devices:
            if skip_serial and device.type in adapters.SERIAL_TYPES:
                skipped.append(f"{lane.lane_id}/{device.name}")
                continue
            adapter = adapters.build(device, lambda _o: None)
            checks.append((f"{lane.lane_id}/{device.name}", await _with_timeout(adapter.probe())))
    for target in config.health.targets:
        name = f"health/{target.name} ({target.kind})"
        checks.append((name, await _with_timeout(_snmp(target))))
    if config.gnss is not None:
        name = f"gnss/{config.gnss.name} ({config.gnss.receiver.type})"
        if skip_serial and isinstance(config.gnss.receiver, NmeaReceiverConfig):
            skipped.append(name)
        else:
            checks.append((name, await gnss_probe(config.gnss, gnss_timeout_s)))
    echo(f"Gate box {config.gate_id}: {len(checks)} checks")
    for name, result in checks:
        rtt = f" ({result.round_trip_ms} ms)" if result.round_trip_ms is not None else ""
        echo(f"  [{'ok' if result.ok else 'FAIL':>4}] {name}: {result.detail}{rtt}")
    for name in skipped:
        echo(f"  [skip] {name}: on a serial line the agent holds (--skip-serial)")
    failed = [name for name, result in checks if not result.ok]
    echo(
        "All checks passed."
        if not failed
        else f"{len(failed)} check(s) failed: {', '.join(failed)}"
    )
    return not failed
