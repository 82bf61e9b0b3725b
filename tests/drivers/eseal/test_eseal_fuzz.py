"""Fuzzing the e-seal parsers (driver side and tag firmware side) with hypothesis:
no crash, a clear FrameError, and no state change on bad input."""

from __future__ import annotations

import binascii
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.eseal import air
from drivers.eseal.errors import FrameError, SignatureError
from drivers.eseal.link import SOF, FrameDecoder, LinkFrame, crc16_ccitt, encode
from drivers.eseal.reader import EsealReader, EsealSettings
from firmware.eseal_tag.hal_cpython import SimulatedTagHardware
from firmware.eseal_tag.tag import EsealTag

SEAL = "ES0000042"
KEY = air.derive_tag_key(b"fuzz issuer", SEAL)

frames = st.builds(
    encode,
    seq=st.integers(0, 255),
    cmd=st.integers(0, 255),
    data=st.binary(max_size=64),
)
noise_without_sof = st.binary(max_size=40).map(lambda b: b.replace(bytes((SOF,)), b""))


def signed_status() -> bytes:
    return EsealTag(SimulatedTagHardware(SEAL, KEY)).status_frame()


def test_crc_matches_the_standard_check_value_and_a_golden_frame() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert binascii.crc_hqx(b"\x00\x02\x01\x01", 0xFFFF) == 0xC9B0  # stdlib, same CRC
    # INFO request, seq 1: A5 | 00 02 | 01 01 | C9 B0.
    assert encode(1, 0x01) == bytes.fromhex("a500020101c9b0")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), cut=st.integers(1, 64))
def test_decoder_never_raises_on_any_bytes(data: bytes, cut: int) -> None:
    decoder = FrameDecoder()
    for start in range(0, len(data), cut):
        for frame in decoder.feed(data[start : start + cut]):
            assert encode(frame.seq, frame.cmd, frame.data)  # only whole, CRC-checked frames
    decoder.on_idle()  # a silence after the noise
    assert decoder.feed(encode(7, 0x81, b"\x00")) == [LinkFrame(7, 0x81, b"\x00")]


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.tuples(noise_without_sof, frames), max_size=8), cut=st.integers(1, 50))
def test_every_frame_between_noise_is_recovered(parts: list[tuple[bytes, bytes]], cut: int) -> None:
    stream = b"".join(noise + frame for noise, frame in parts)
    decoder = FrameDecoder()
    got = []
    for start in range(0, len(stream), cut):
        got.extend(decoder.feed(stream[start : start + cut]))
    assert [encode(f.seq, f.cmd, f.data) for f in got] == [frame for _, frame in parts]
    assert decoder.stats.garbage_bytes == sum(len(noise) for noise, _ in parts)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), key=st.sampled_from([None, KEY]))
def test_air_parsers_raise_only_frame_errors(data: bytes, key: bytes | None) -> None:
    for parse in (
        lambda: air.parse_status(data, key),
        lambda: air.parse_log_page(data),
        lambda: air.parse_result(data, key, bytes(16)),
        lambda: air.status_seal_id(data),
    ):
        with contextlib.suppress(FrameError):  # anything else fails the test
            parse()


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 200), flip=st.integers(1, 255))
def test_any_altered_byte_of_a_signed_status_is_rejected(position: int, flip: int) -> None:
    frame = bytearray(signed_status())
    frame[position % len(frame)] ^= flip
    try:
        air.parse_status(bytes(frame), KEY)
    except (SignatureError, FrameError):
        return
    raise AssertionError("an altered status frame verified")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_driver_drops_bad_status_frames_without_state_change(data: bytes) -> None:
    reader = EsealReader(EsealSettings(port="/dev/null"), keys={SEAL: KEY})
    reader._last_counter[SEAL] = 5
    assert reader._status_reading(data, -60) is None
    assert reader._last_counter == {SEAL: 5}
    stats = reader.stats
    assert stats.bad_air_frames + stats.bad_signatures == 1


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_tag_firmware_ignores_garbage_commands(data: bytes) -> None:
    hardware = SimulatedTagHardware(SEAL, KEY)
    tag = EsealTag(hardware)
    before = (tag.armed, tag.declaration_id, list(tag.nodes), tag.latched, list(hardware.log))
    reply = tag.handle(data)
    assert reply is None or isinstance(reply, bytes)
    assert (tag.armed, tag.declaration_id, tag.nodes, tag.latched, hardware.log) == before


@settings(max_examples=100, deadline=None)
@given(noise=st.binary(min_size=1, max_size=30))
def test_tag_firmware_ignores_commands_for_it_with_trailing_garbage(noise: bytes) -> None:
    tag = EsealTag(SimulatedTagHardware(SEAL, KEY))
    token = air.arm_token(KEY, SEAL, "D-1", ["N-1"])
    command = (
        bytes((1, air.C_ARM)) + air.lp(SEAL) + bytes(4) + air.lp("D-1") + b"\x01" + air.lp("N-1")
    )
    assert tag.handle(command + token + noise) is None
    assert not tag.armed
    result = tag.handle(command + token)
    assert result is not None and air.parse_result(result, KEY, token).result == air.TagResult.OK
