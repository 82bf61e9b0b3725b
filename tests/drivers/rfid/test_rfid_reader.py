"""The RFID driver against the simulated reader on a real pty."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from contract.tasks import cancel_and_wait
from drivers.rfid import RfidLinkError, RfidReader, RfidSettings
from drivers.rfid.protocol import Frame, FrameDecoder, encode_tag_report
from simulators.rfid import RfidReaderSim

EPC = "E2801160600002054A6B1C2D"


async def test_inventory_reports_tags_with_antenna_and_rssi() -> None:
    async with RfidReaderSim() as sim, RfidReader(RfidSettings(port=sim.port)) as reader:
        assert await reader.firmware_version() == "1.4"
        assert await reader.inventory() == []
        sim.tag_enters(EPC, antenna=2, rssi_dbm=-48)
        reads = await reader.inventory()
        assert [(r.epc, r.antenna) for r in reads] == [(EPC, 2)]
        assert -51 <= reads[0].rssi_dbm <= -45


async def test_garbage_and_broken_frames_are_skipped_and_counted() -> None:
    async with RfidReaderSim(seed=7) as sim, RfidReader(RfidSettings(port=sim.port)) as reader:
        sim.tag_enters(EPC)
        sim.garbage_rate = 0.5
        sim.corrupt_rate = 0.2
        seen = 0
        for _ in range(20):
            # A round whose summary frame was corrupted times out: the caller retries.
            with contextlib.suppress(RfidLinkError):
                seen += sum(1 for r in await reader.inventory() if r.epc == EPC)
        assert seen >= 5
        assert reader.decoder.rejected["garbage"] > 0
        assert reader.decoder.rejected["bad checksum"] > 0


async def test_a_silent_reader_is_a_link_error() -> None:
    async with RfidReaderSim() as sim:
        settings = RfidSettings(port=sim.port, round_timeout_s=0.3)
        async with RfidReader(settings) as reader:
            sim.silent = True
            with pytest.raises(RfidLinkError, match="did not answer"):
                await reader.inventory()


class CancelsWhenTaken(asyncio.Queue[Frame]):
    """The reader's frame queue, cancelling `reading` once, as it hands a frame over:
    the one cancel a lane's TaskGroup sends lands just as the reader's answer arrives."""

    reading: asyncio.Task[None] | None = None

    def get_nowait(self) -> Frame:
        frame = super().get_nowait()
        if self.reading is not None:
            self.reading.cancel()
            self.reading = None
        return frame


async def read_for_ever(reader: RfidReader) -> None:
    """Reads as a lane's adapter does; only whether it ends on its cancel matters."""
    async for _ in reader.readings():
        pass


async def test_readings_end_on_a_cancel_that_lands_as_a_frame_arrives() -> None:
    async with RfidReaderSim() as sim, RfidReader(RfidSettings(port=sim.port)) as reader:
        sim.tag_enters(EPC)
        frames = CancelsWhenTaken()
        reader._frames = frames
        task = asyncio.create_task(read_for_ever(reader))
        frames.reading = task
        try:
            await asyncio.wait({task}, timeout=5)
            assert task.cancelled(), "the readings went on after their one cancel"
        finally:
            await cancel_and_wait(task)  # cancelled directly, so a second cancel reaches it


async def test_a_missing_port_is_a_link_error() -> None:
    with pytest.raises(RfidLinkError, match="cannot open"):
        async with RfidReader(RfidSettings(port="/dev/does-not-exist")):
            pass


def test_a_frame_split_across_reads_and_after_garbage_is_recovered() -> None:
    decoder = FrameDecoder()
    frame = encode_tag_report(1, EPC, 0, -50)
    stream = b"\x00\xa0\x02" + frame + Frame(1, 0x72, b"\x01\x04").encode()
    frames = []
    for i in range(0, len(stream), 3):
        frames += decoder.feed(stream[i : i + 3])
    assert [f.command for f in frames] == [0x89, 0x72]
    assert decoder.rejected["garbage"] >= 1
