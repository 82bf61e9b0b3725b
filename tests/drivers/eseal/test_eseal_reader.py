"""The e-seal driver against the reader simulator over a real pty, with the e-seal tag
firmware in the field: every status, log and result frame checked here was built
and signed by the tag firmware and verified by the driver."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from contract.messages import SealState
from drivers.eseal import (
    EsealLinkError,
    EsealReader,
    EsealSettings,
    EsealTimeout,
    ReaderStatus,
    SealLogEvent,
    SignatureError,
    TagResult,
    arm_token,
    derive_tag_key,
    disarm_token,
)
from simulators.eseal import EsealReaderSim

ISSUER_KEY = b"issuer master key for tests only"
DESTINATION = "BARI-EXIT-3"
SEAL = "ES0001234"
DECLARATION = "IT-BARI-2026-000417"
KEY = derive_tag_key(ISSUER_KEY, SEAL)


@pytest.fixture
async def sim() -> AsyncIterator[EsealReaderSim]:
    async with EsealReaderSim(node_id=DESTINATION, tick_s=0.02) as simulator:
        yield simulator


@pytest.fixture
async def reader(sim: EsealReaderSim) -> AsyncIterator[EsealReader]:
    settings = EsealSettings(port=sim.port, timeout_s=0.5, poll_interval_s=None)
    async with EsealReader(settings, keys={SEAL: KEY}) as connected:
        yield connected


async def armed(reader: EsealReader, nodes: tuple[str, ...] = (DESTINATION,)) -> None:
    token = arm_token(KEY, SEAL, DECLARATION, nodes)
    outcome = await reader.arm(SEAL, DECLARATION, nodes, token)
    assert outcome.accepted, outcome


async def test_reader_info_and_inventory(sim: EsealReaderSim, reader: EsealReader) -> None:
    assert reader.info is not None and reader.info.node_id == DESTINATION
    sim.add_seal(SEAL, KEY, rssi_dbm=-61)
    sim.add_seal("ES0009999", derive_tag_key(ISSUER_KEY, "ES0009999"))
    seen = {s.seal_id: s.rssi_dbm for s in await reader.inventory()}
    assert seen == {SEAL: -61, "ES0009999": -58}


async def test_status_is_signed_by_the_tag_and_verified(
    sim: EsealReaderSim, reader: EsealReader
) -> None:
    sim.add_seal(SEAL, KEY, battery_mv=2800)
    status = await reader.read_status(SEAL)
    assert status is not None
    assert status.verified and status.state == SealState.SEALED and not status.armed
    assert status.battery_pct == 80 and not status.battery_low
    assert status.reader_node == DESTINATION and status.rssi_dbm == -58
    assert status.at.utcoffset() is not None and status.tag_time.utcoffset() is not None
    assert await reader.read_status("ES-NOT-HERE") is None


async def test_arm_then_tamper_shows_in_status_and_the_chained_log(
    sim: EsealReaderSim, reader: EsealReader
) -> None:
    hardware = sim.add_seal(SEAL, KEY)
    await armed(reader)
    status = await reader.read_status(SEAL)
    assert status is not None and status.armed and status.declaration_id == DECLARATION

    hardware.cut_shackle()  # the doors are opened on the road
    await asyncio.sleep(0.1)
    hardware.rejoin_shackle()  # and the loop put back
    await asyncio.sleep(0.1)
    status = await reader.read_status(SEAL)
    assert status is not None and status.state == SealState.TAMPERED

    seal_log = await reader.read_log(SEAL)
    assert seal_log is not None and seal_log.intact, seal_log
    events = [entry.event for entry in seal_log.entries]
    assert events == [SealLogEvent.ARMED, SealLogEvent.OPENED, SealLogEvent.TAMPERED]
    assert seal_log.entries[0].declaration_id == DECLARATION
    assert all(e.occurred_at.utcoffset() is not None for e in seal_log.entries)


async def test_tamper_is_pushed_without_polling(sim: EsealReaderSim, reader: EsealReader) -> None:
    hardware = sim.add_seal(SEAL, KEY)
    await armed(reader)
    hardware.open_case()
    readings = reader.readings()
    reading = await asyncio.wait_for(anext(readings), 2.0)
    while reading.state == SealState.SEALED:  # a periodic beacon may come first
        reading = await asyncio.wait_for(anext(readings), 2.0)
    await readings.aclose()
    assert reading.seal_id == SEAL and reading.state == SealState.TAMPERED and reading.verified


async def test_polled_readings(sim: EsealReaderSim) -> None:
    sim.add_seal(SEAL, KEY)
    settings = EsealSettings(port=sim.port, timeout_s=0.5, poll_interval_s=0.1)
    async with EsealReader(settings, keys={SEAL: KEY}) as reader:
        readings = reader.readings()
        first = await asyncio.wait_for(anext(readings), 2.0)
        second = await asyncio.wait_for(anext(readings), 2.0)
        await readings.aclose()
    assert first.seal_id == second.seal_id == SEAL
    assert second.frame_counter > first.frame_counter


async def test_disarm_only_at_an_authorised_node(sim: EsealReaderSim, reader: EsealReader) -> None:
    sim.add_seal(SEAL, KEY)
    await armed(reader, nodes=("BARI-EXIT-1",))  # not this reader's node

    # A token for another node is useless here: the reader stamps its own node id.
    elsewhere = disarm_token(KEY, SEAL, DECLARATION, "BARI-EXIT-1")
    outcome = await reader.disarm(SEAL, DECLARATION, elsewhere)
    assert not outcome.accepted and outcome.tag_result == TagResult.BAD_TOKEN

    # A token for this node, but this node is not on the arming list.
    here = disarm_token(KEY, SEAL, DECLARATION, DESTINATION)
    outcome = await reader.disarm(SEAL, DECLARATION, here)
    assert outcome.tag_result == TagResult.NODE_NOT_AUTHORISED

    status = await reader.read_status(SEAL)
    assert status is not None and status.armed
    seal_log = await reader.read_log(SEAL)
    assert seal_log is not None and seal_log.intact
    # Refusals are logged once per run, not once per attempt.
    assert [e.event for e in seal_log.entries] == [SealLogEvent.ARMED, SealLogEvent.DISARM_REFUSED]


async def test_disarm_at_the_destination(sim: EsealReaderSim, reader: EsealReader) -> None:
    sim.add_seal(SEAL, KEY)
    await armed(reader)
    wrong_declaration = disarm_token(KEY, SEAL, "IT-BARI-2026-999999", DESTINATION)
    outcome = await reader.disarm(SEAL, "IT-BARI-2026-999999", wrong_declaration)
    assert outcome.tag_result == TagResult.WRONG_DECLARATION

    outcome = await reader.disarm(
        SEAL, DECLARATION, disarm_token(KEY, SEAL, DECLARATION, DESTINATION)
    )
    assert outcome.accepted and outcome.tag_result == TagResult.OK
    status = await reader.read_status(SEAL)
    assert status is not None and not status.armed and status.declaration_id is None

    # The same declaration cannot arm the seal again (a replayed arm token).
    token = arm_token(KEY, SEAL, DECLARATION, (DESTINATION,))
    again = await reader.arm(SEAL, DECLARATION, (DESTINATION,), token)
    assert again.tag_result == TagResult.BAD_STATE


async def test_arm_with_a_forged_token_is_refused(sim: EsealReaderSim, reader: EsealReader) -> None:
    sim.add_seal(SEAL, KEY)
    forged = arm_token(b"x" * 32, SEAL, DECLARATION, (DESTINATION,))
    outcome = await reader.arm(SEAL, DECLARATION, (DESTINATION,), forged)
    assert not outcome.accepted and outcome.tag_result == TagResult.BAD_TOKEN
    missing = await reader.arm("ES-GONE", DECLARATION, (DESTINATION,), forged)
    assert missing.reader_status == ReaderStatus.NOT_IN_FIELD and missing.tag_result is None


async def test_a_cloned_seal_is_dropped_and_counted(
    sim: EsealReaderSim, reader: EsealReader
) -> None:
    sim.add_seal(SEAL, os.urandom(32))  # same seal number, not the issuer's key
    assert await reader.read_status(SEAL) is None
    assert reader.stats.bad_signatures == 1
    token = arm_token(KEY, SEAL, DECLARATION, (DESTINATION,))
    with pytest.raises(SignatureError):
        await reader.arm(SEAL, DECLARATION, (DESTINATION,), token)


async def test_a_seal_without_a_key_is_reported_unverified(
    sim: EsealReaderSim, reader: EsealReader
) -> None:
    sim.add_seal("ES0005555", derive_tag_key(ISSUER_KEY, "ES0005555"))
    status = await reader.read_status("ES0005555")
    assert status is not None and not status.verified
    seal_log = await reader.read_log("ES0005555")
    assert seal_log is not None and not seal_log.intact and seal_log.problem


async def test_a_replayed_status_frame_is_dropped(sim: EsealReaderSim, reader: EsealReader) -> None:
    sim.add_seal(SEAL, KEY)
    assert await reader.read_status(SEAL) is not None
    sim.replay_status(SEAL)
    await asyncio.sleep(0.1)
    assert reader.stats.replayed == 1
    fresh = await reader.read_status(SEAL)
    assert fresh is not None  # the next real frame is newer and goes through


async def test_a_reboot_keeps_the_tags_memory(sim: EsealReaderSim, reader: EsealReader) -> None:
    hardware = sim.add_seal(SEAL, KEY)
    await armed(reader)
    before = await reader.read_status(SEAL)
    hardware.cut_shackle()
    await asyncio.sleep(0.1)
    sim.remove_seal(SEAL)
    sim.seal_returns(hardware)  # battery swapped: the firmware boots again
    after = await reader.read_status(SEAL)
    assert before is not None and after is not None
    assert after.armed and after.state == SealState.OPENED
    assert after.frame_counter > before.frame_counter
    seal_log = await reader.read_log(SEAL)
    assert seal_log is not None and seal_log.intact


async def test_low_battery_is_logged_once(sim: EsealReaderSim, reader: EsealReader) -> None:
    hardware = sim.add_seal(SEAL, KEY)
    await armed(reader)
    hardware.battery = 2150
    await asyncio.sleep(0.1)
    status = await reader.read_status(SEAL)
    assert status is not None and status.battery_low and status.battery_pct == 15
    await asyncio.sleep(0.1)
    seal_log = await reader.read_log(SEAL)
    assert seal_log is not None
    assert [e.event for e in seal_log.entries].count(SealLogEvent.BATTERY_LOW) == 1


async def test_line_faults_are_counted_and_survived(
    sim: EsealReaderSim, reader: EsealReader
) -> None:
    sim.add_seal(SEAL, KEY)
    sim.garbage_next()
    assert await reader.read_status(SEAL) is not None  # noise before the frame: skipped
    assert reader.stats.link.garbage_bytes > 0

    sim.corrupt_next()
    with pytest.raises(EsealTimeout):
        await reader.read_status(SEAL)  # the only answer had a bad CRC
    assert reader.stats.link.bad_crc >= 1

    sim.truncate_next()
    with pytest.raises(EsealTimeout):
        await reader.read_status(SEAL)
    assert reader.stats.link.truncated >= 1
    assert await reader.read_status(SEAL) is not None  # and the line recovers


async def test_a_silent_reader_times_out(sim: EsealReaderSim, reader: EsealReader) -> None:
    sim.silent = True
    with pytest.raises(EsealTimeout, match="did not answer INVENTORY"):
        await reader.inventory()
    probe = await reader.probe()
    assert not probe.ok and "did not answer" in probe.detail
    sim.silent = False
    probe = await reader.probe()
    assert probe.ok and DESTINATION in probe.detail


async def test_a_pulled_cable_is_a_link_error(sim: EsealReaderSim, reader: EsealReader) -> None:
    readings = reader.readings()
    await sim.disconnect()
    with pytest.raises(EsealLinkError):
        await asyncio.wait_for(anext(readings), 2.0)
    with pytest.raises(EsealLinkError):
        await reader.inventory()


async def test_opening_a_port_where_nothing_answers_fails_clearly(sim: EsealReaderSim) -> None:
    sim.silent = True
    with pytest.raises(EsealTimeout):
        async with EsealReader(EsealSettings(port=sim.port, timeout_s=0.2), keys={}):
            pass
    with pytest.raises(EsealLinkError, match="cannot open"):
        async with EsealReader(EsealSettings(port="/dev/nonexistent-tty"), keys={}):
            pass


async def test_pushed_reports_between_answers_are_not_taken_for_replays() -> None:
    async with EsealReaderSim(node_id=DESTINATION, tick_s=0.005, beacon_s=0.0) as beaconing:
        beaconing.add_seal(SEAL, KEY)
        settings = EsealSettings(port=beaconing.port, timeout_s=0.5, poll_interval_s=None)
        async with EsealReader(settings, keys={SEAL: KEY}) as reader:
            for _ in range(100):  # the tag beacons every 5 ms meanwhile
                assert await reader.read_status(SEAL) is not None
            assert reader.stats.replayed == 0
