"""The ANPR feed driver against the simulated camera over real TCP."""

from __future__ import annotations

import asyncio

import pytest

from drivers.anpr import AnprError, AnprFeed, AnprFeedSettings, parse_line
from simulators.anpr import AnprCameraSim


async def test_reads_arrive_and_bad_lines_are_counted_not_fatal() -> None:
    async with (
        AnprCameraSim(camera="front") as cam,
        AnprFeed(AnprFeedSettings(host="127.0.0.1", port=cam.port)) as feed,
    ):
        for _ in range(50):
            if cam.connected:
                break
            await asyncio.sleep(0.02)
        cam.garbage_rate = 1.0
        cam.present(plate="AB123CD", containers=["CSQU3054383"], frames=1)
        readings = feed.readings()
        first = await asyncio.wait_for(anext(readings), 5)
        second = await asyncio.wait_for(anext(readings), 5)
        assert (first.kind, first.text, first.camera) == ("plate", "AB123CD", "front")
        assert (second.kind, second.text, second.size_type) == (
            "container",
            "CSQU3054383",
            "22G1",
        )
        assert sum(feed.rejected.values()) == 2  # a garbage line before each read

        cam.drop_connections()
        with pytest.raises(AnprError, match="closed"):
            await asyncio.wait_for(anext(readings), 5)


async def test_an_absent_camera_is_a_clear_error() -> None:
    from corridor.broker import free_port

    with pytest.raises(AnprError, match="cannot connect"):
        async with AnprFeed(AnprFeedSettings(host="127.0.0.1", port=free_port())):
            pass


@pytest.mark.parametrize(
    ("line", "where"),
    [
        (
            b'{"kind": "plate", "text": "AB1", "confidence": 1.5, "camera": "c", '
            b'"at": "2026-01-01T00:00:00Z"}',
            "confidence",
        ),
        (
            b'{"kind": "plate", "text": "AB1", "confidence": 0.5, "camera": "c", '
            b'"at": "2026-01-01T00:00:00"}',
            "at",
        ),  # a naive time is refused
        (
            b'{"kind": "truck", "text": "AB1", "confidence": 0.5, "camera": "c", '
            b'"at": "2026-01-01T00:00:00Z"}',
            "kind",
        ),
        (b"not json", "line"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: bytes, where: str) -> None:
    with pytest.raises(AnprError, match=where):
        parse_line(line)
