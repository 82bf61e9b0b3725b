"""The NII scanner driver against the scanner simulator over real TCP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from drivers.scanner import (
    NiiScanner,
    ScanAborted,
    ScanCompleted,
    ScannerEvent,
    ScannerFault,
    ScannerFaultCleared,
    ScannerLinkError,
    ScannerSettings,
    ScannerState,
    ScannerTimeout,
    ScanStarted,
)
from simulators.scanner import NiiScannerSim


@pytest.fixture
async def sim() -> AsyncIterator[NiiScannerSim]:
    async with NiiScannerSim(scan_s=0.15, heartbeat_s=0.1) as simulator:
        yield simulator


@pytest.fixture
async def scanner(sim: NiiScannerSim) -> AsyncIterator[NiiScanner]:
    settings = ScannerSettings(port=sim.port, timeout_s=0.5, heartbeat_timeout_s=0.6)
    async with NiiScanner(settings) as connected:
        yield connected


async def next_events(scanner: NiiScanner, n: int) -> list[ScannerEvent]:
    stream = scanner.readings()
    try:
        return [await asyncio.wait_for(anext(stream), 2.0) for _ in range(n)]
    finally:
        await stream.aclose()


async def test_trigger_scan_and_complete_linked_to_the_passage(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    passage = uuid4()
    ticket = await scanner.trigger(passage, lane_id="L2", container="MSCU1234565")
    assert ticket.accepted and ticket.scan_id and ticket.passage_id == passage
    started, completed = await next_events(scanner, 2)
    assert isinstance(started, ScanStarted) and started.scan_id == ticket.scan_id
    assert isinstance(completed, ScanCompleted)
    assert completed.scan_id == ticket.scan_id and completed.passage_id == passage
    assert completed.image_ref.endswith(f"{ticket.scan_id}.dcm") and completed.duration_ms == 150
    assert completed.at.utcoffset() is not None
    assert sim.scans[0].container == "MSCU1234565" and sim.scans[0].lane_id == "L2"


async def test_a_busy_scanner_refuses_a_second_trigger(scanner: NiiScanner) -> None:
    first = await scanner.trigger(uuid4(), lane_id="L1")
    second = await scanner.trigger(uuid4(), lane_id="L1")
    assert first.accepted
    assert not second.accepted and second.reason == "busy" and second.scan_id is None
    status = await scanner.status()
    assert status.state == ScannerState.SCANNING and status.source_on


async def test_a_fault_aborts_the_scan_and_refuses_triggers(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    passage = uuid4()
    ticket = await scanner.trigger(passage, lane_id="L1")
    await asyncio.sleep(0.05)
    sim.fault("xray_interlock_open")
    started, aborted, fault = await next_events(scanner, 3)
    assert isinstance(started, ScanStarted)
    assert isinstance(aborted, ScanAborted) and aborted.scan_id == ticket.scan_id
    assert aborted.reason == "xray_interlock_open" and aborted.passage_id == passage
    assert isinstance(fault, ScannerFault) and fault.code == "xray_interlock_open"

    refused = await scanner.trigger(uuid4(), lane_id="L1")
    assert not refused.accepted and refused.reason == "fault"
    probe = await scanner.probe()
    assert not probe.ok and "xray_interlock_open" in probe.detail

    sim.clear_fault()
    (cleared,) = await next_events(scanner, 1)
    assert isinstance(cleared, ScannerFaultCleared)
    assert (await scanner.probe()).ok


async def test_an_aborted_scan_and_an_operator_abort(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    sim.abort_next_scan()
    ticket = await scanner.trigger(uuid4(), lane_id="L1")
    _, aborted = await next_events(scanner, 2)
    assert isinstance(aborted, ScanAborted) and aborted.reason == "vehicle_moved"

    sim.hang_next_scan()
    hung = await scanner.trigger(uuid4(), lane_id="L1")
    assert hung.scan_id and hung.scan_id != ticket.scan_id
    assert await scanner.abort(hung.scan_id)
    _, aborted = await next_events(scanner, 2)
    assert isinstance(aborted, ScanAborted) and aborted.reason == "operator_abort"
    assert not await scanner.abort("SC-NOT-A-SCAN")


async def test_garbage_and_bad_checksums_are_dropped_and_counted(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    sim.garbage_next()
    assert (await scanner.status()).state == ScannerState.READY
    sim.bad_checksum_next()
    with pytest.raises(ScannerTimeout):
        await scanner.status()  # its only answer failed the checksum
    assert scanner.stats.bad_lines == 2
    assert any("checksum" in problem for problem in scanner.stats.problems)
    assert (await scanner.status()).state == ScannerState.READY


async def test_a_silent_scanner_times_out_and_its_heartbeat_stops(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    sim.silent = True
    with pytest.raises(ScannerTimeout, match="did not answer STATUS"):
        await scanner.status()
    with pytest.raises(ScannerTimeout, match="no line from the scanner"):
        await next_events(scanner, 1)


async def test_a_dropped_connection_is_a_link_error(
    sim: NiiScannerSim, scanner: NiiScanner
) -> None:
    await sim.drop_clients()
    with pytest.raises(ScannerLinkError, match="closed the connection"):
        await next_events(scanner, 1)
    with pytest.raises(ScannerLinkError):
        await scanner.status()


async def test_nothing_listening_is_a_clear_link_error(sim: NiiScannerSim) -> None:
    port = sim.port
    await sim.stop()
    with pytest.raises(ScannerLinkError, match="cannot connect"):
        async with NiiScanner(ScannerSettings(port=port, timeout_s=0.5)):
            pass
