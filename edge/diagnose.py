"""`corridor edge diagnose`: check each configured device and the broker, print a report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from contract.bus import MqttError, client
from contract.signing import load_private_key, load_public_key
from drivers.barrier import BarrierPlc
from drivers.probe import ProbeResult
from edge import adapters
from edge.config import EdgeConfig
from edge.outbox import Outbox

PROBE_TIMEOUT_S = 5.0


async def _broker(config: EdgeConfig) -> ProbeResult:
    started = time.perf_counter()
    try:
        async with client(config.mqtt):
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


async def _with_timeout(probe: asyncio.Future[ProbeResult] | object) -> ProbeResult:
    try:
        return await asyncio.wait_for(probe, PROBE_TIMEOUT_S)  # type: ignore[arg-type]
    except TimeoutError:
        return ProbeResult(ok=False, detail=f"no answer in {PROBE_TIMEOUT_S:.0f} s")


async def diagnose(config: EdgeConfig, echo: Callable[[str], None]) -> bool:
    """Print one line per check; True when everything is fine."""
    checks: list[tuple[str, ProbeResult]] = [
        ("signing keys", _keys(config)),
        ("outbox", _outbox(config)),
        (f"broker {config.mqtt.host}:{config.mqtt.port}", await _with_timeout(_broker(config))),
    ]
    for lane in config.lanes:
        plc = BarrierPlc(lane.plc)
        checks.append((f"{lane.lane_id}/controller", await _with_timeout(plc.probe())))
        plc.close_link()
        for device in lane.devices:
            adapter = adapters.build(device, lambda _o: None)
            checks.append((f"{lane.lane_id}/{device.name}", await _with_timeout(adapter.probe())))
    echo(f"Gate box {config.gate_id}: {len(checks)} checks")
    for name, result in checks:
        rtt = f" ({result.round_trip_ms} ms)" if result.round_trip_ms is not None else ""
        echo(f"  [{'ok' if result.ok else 'FAIL':>4}] {name}: {result.detail}{rtt}")
    failed = [name for name, result in checks if not result.ok]
    echo(
        "All checks passed."
        if not failed
        else f"{len(failed)} check(s) failed: {', '.join(failed)}"
    )
    return not failed
