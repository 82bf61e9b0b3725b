"""The scanner adapter against the NII-1 simulator over real TCP; and a whole lane (barrier
controller over Modbus TCP, e-seal reader on a pty, scanner) building a passage that
carries the truck's seals and the scan taken of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from edge_support import running as run_task
from edge_support import until

from contract import Passage, SealState, utc_now
from contract.tasks import cancel_and_wait
from corridor.broker import free_port
from drivers.barrier import PlcSettings
from drivers.eseal import derive_tag_key
from drivers.scanner import NiiScanner, ScannerLinkError, ScannerSettings
from edge.adapters.base import Trip
from edge.adapters.eseal import EsealConfig
from edge.adapters.scanner import ScannerAdapter, ScannerConfig
from edge.config import LaneConfig
from edge.lane import Lane
from edge.observations import Observation, ScanObservation
from simulators.barrier import BarrierModel, BarrierPlcSim
from simulators.eseal import EsealReaderSim
from simulators.scanner import NiiScannerSim


@pytest.fixture
async def sim() -> AsyncIterator[NiiScannerSim]:
    async with NiiScannerSim(scan_s=0.15, heartbeat_s=0.1) as simulator:
        yield simulator


def config(sim: NiiScannerSim, **changes: object) -> ScannerConfig:
    fields: dict[str, object] = {
        "name": "lane-1-nii",
        "host": "127.0.0.1",
        "port": sim.port,
        "timeout_s": 0.5,
        "heartbeat_timeout_s": 0.6,
    }
    fields.update(changes)
    return ScannerConfig.model_validate(fields)


def running(adapter: ScannerAdapter) -> contextlib.AbstractAsyncContextManager[None]:
    return run_task(
        adapter.run, lambda: adapter.health.available is True and adapter._scanner is not None
    )


def trip(within_s: float) -> Trip:
    now = utc_now()
    return Trip(
        passage_id=uuid4(), lane_id="lane-1", at=now, closes_by=now + timedelta(seconds=within_s)
    )


def scans(seen: list[Observation]) -> list[ScanObservation]:
    return [o for o in seen if isinstance(o, ScanObservation)]


async def trigger_from_elsewhere(sim: NiiScannerSim) -> UUID:
    """The scanner's own operator starts a scan from the workstation."""
    passage = uuid4()
    async with NiiScanner(ScannerSettings(port=sim.port, timeout_s=0.5)) as other:
        assert (await other.trigger(passage, lane_id="lane-1")).accepted
    return passage


async def test_a_trip_triggers_a_scan_linked_to_the_passage(sim: NiiScannerSim) -> None:
    seen: list[Observation] = []
    adapter = ScannerAdapter(config(sim), seen.append)
    async with running(adapter):
        t = trip(within_s=2.0)
        await adapter.on_trip(t)  # returns once scan_complete is in
        got = scans(seen)
        assert [(o.scan.completed, o.passage_id) for o in got] == [
            (False, t.passage_id),
            (True, t.passage_id),
        ]
        assert got[0].scan.scan_id == got[1].scan.scan_id
        record = sim.scans[0]
        assert record.scan_id == got[0].scan.scan_id and record.state == "complete"
        assert record.passage_id == str(t.passage_id) and record.lane_id == "lane-1"

        # A scan someone else started is never pinned on a passage of ours.
        seen.clear()
        await trigger_from_elsewhere(sim)
        await until(lambda: adapter.stats.foreign >= 2)  # started, complete
        assert scans(seen) == []
    assert adapter.stats.triggered == 1 and adapter.stats.completed == 1


async def test_a_late_scan_complete_joins_no_passage(
    sim: NiiScannerSim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.adapters.scanner")
    sim.scan_s = 0.8
    seen: list[Observation] = []
    adapter = ScannerAdapter(config(sim), seen.append)
    async with running(adapter):
        t = trip(within_s=0.2)
        started = asyncio.get_running_loop().time()
        await adapter.on_trip(t)
        assert asyncio.get_running_loop().time() - started < 0.6  # waits no longer than the lane
        await until(lambda: adapter.stats.late == 1, timeout_s=3)
        assert [o.scan.completed for o in scans(seen)] == [False]
    assert adapter.stats.completed == 0
    assert "completed after the passage was sent" in caplog.text


async def test_a_faulted_scanner_refuses_and_is_unavailable_until_cleared(
    sim: NiiScannerSim,
) -> None:
    seen: list[Observation] = []
    adapter = ScannerAdapter(config(sim), seen.append)
    async with running(adapter):
        sim.fault("xray_interlock_open")
        await until(lambda: adapter.health.available is False)
        assert "xray_interlock_open" in adapter.health.last_error
        await adapter.on_trip(trip(within_s=1.0))
        assert scans(seen) == [] and adapter.stats.refused == 1
        probe = await adapter.probe()
        assert not probe.ok and "fault xray_interlock_open" in probe.detail
        sim.clear_fault()
        await until(lambda: adapter.health.available is True)


async def test_external_trigger_reports_the_scanners_own_scans(sim: NiiScannerSim) -> None:
    seen: list[Observation] = []
    adapter = ScannerAdapter(config(sim, trigger="external"), seen.append)
    async with running(adapter):
        await adapter.on_trip(trip(within_s=1.0))  # does not trigger anything
        assert sim.scans == []
        await trigger_from_elsewhere(sim)
        await until(lambda: len(scans(seen)) == 2)
        assert [(o.scan.completed, o.passage_id) for o in scans(seen)] == [
            (False, None),
            (True, None),
        ]


async def test_without_its_link_a_trip_fails_loudly_and_probe_says_why(
    sim: NiiScannerSim,
) -> None:
    adapter = ScannerAdapter(config(sim), lambda _o: None)
    with pytest.raises(ScannerLinkError, match="no link to the scanner"):
        await adapter.on_trip(trip(within_s=1.0))
    probe = await adapter.probe()
    assert probe.ok and "state ready" in probe.detail and probe.round_trip_ms is not None
    dead = ScannerAdapter(config(sim, port=free_port()), lambda _o: None)
    probe = await dead.probe()
    assert not probe.ok and "cannot connect" in probe.detail


# ----------------------------------------------------------------------------- a lane


async def test_a_lane_passage_carries_the_seals_and_the_scan(
    sim: NiiScannerSim, tmp_path: Path
) -> None:
    issuer = b"issuer key of the lane passage test"
    (tmp_path / "issuer.key").write_bytes(issuer)
    plc_port = free_port()
    model = BarrierModel(motion_time_ms=300, hold_open_ms=300, drive_off_s=0.1, crossing_s=0.2)
    emitted: list[object] = []
    async with (
        BarrierPlcSim(port=plc_port, model=model) as plc,
        EsealReaderSim(node_id="BARI-VITTORIA", tick_s=0.02) as reader,
    ):
        lane_config = LaneConfig(
            lane_id="lane-1",
            plc=PlcSettings(port=plc_port),
            devices=[
                EsealConfig(
                    name="eseal-1",
                    port=reader.port,
                    issuer_key_file=tmp_path / "issuer.key",
                    poll_interval_s=5.0,  # the trip's own poll is what must fill the passage
                ),
                config(sim, name="nii-1"),
            ],
            read_window_s=0.4,
            trip_timeout_s=1.0,
        )
        lane = Lane(
            "gate-x",
            lane_config,
            emit=emitted.append,
            central_keys={},
            seen_decisions=set(),
            remember_decision=lambda _id: None,
            signing=None,
            clock_skew=timedelta(seconds=5),
        )
        passages: asyncio.Queue[Passage] = asyncio.Queue()
        lane.on_passage = passages.put_nowait
        task = asyncio.create_task(lane.run())
        try:
            await until(lambda: all(d.health.available for d in lane.devices), timeout_s=10)
            sealed = reader.add_seal("ES0000101", derive_tag_key(issuer, "ES0000101"))
            reader.add_seal("ES0000102", derive_tag_key(issuer, "ES0000102"))
            sealed.open_case()
            plc.model.vehicle_arrives("T1")
            passage = await asyncio.wait_for(passages.get(), 10)
        finally:
            await cancel_and_wait(task)
            await lane.close()
    states = {s.seal_id: s.state for s in passage.seals}
    assert states == {"ES0000101": SealState.TAMPERED, "ES0000102": SealState.SEALED}
    assert {s.source for s in passage.seals} == {"eseal-1"}
    assert passage.scan is not None and passage.scan.completed
    assert sim.scans[0].scan_id == passage.scan.scan_id
    assert sim.scans[0].passage_id == str(passage.passage_id)  # the scanner files it under it
    assert passage in emitted
