"""The e-seal tag's MicroPython main loop on its CPython HAL: radio framing in and
out, and the frames it transmits verified by the e-seal driver's own parser."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.messages import SealState
from drivers.eseal import air as driver_air
from firmware.eseal_tag import air
from firmware.eseal_tag.hal_cpython import SimulatedTagHardware
from firmware.eseal_tag.main import SYNC, RadioFramer, TagLoop, radio_frame

SEAL = "ES0000321"
KEY = driver_air.derive_tag_key(b"tests issuer", SEAL)


def transmitted(loop: TagLoop) -> list[bytes]:
    """Air frames the tag sent, with the radio framing taken off."""
    framer = RadioFramer()
    frames = [f for chunk in loop.hal.radio_out for f in framer.feed(chunk)]
    loop.hal.radio_out.clear()
    return frames


def test_the_tag_answers_a_status_request_over_its_radio() -> None:
    loop = TagLoop(SimulatedTagHardware(SEAL, KEY))
    request = bytes((air.VERSION, air.C_GET_STATUS)) + air.lp(SEAL)
    loop.hal.radio_in += b"\x00noise" + radio_frame(request)
    loop.step()
    (frame,) = transmitted(loop)
    status = driver_air.parse_status(frame, KEY)
    assert status.seal_id == SEAL and status.state == SealState.SEALED and not status.armed


def test_a_cut_loop_is_beaconed_at_once_and_signed() -> None:
    hardware = SimulatedTagHardware(SEAL, KEY)
    loop = TagLoop(hardware)
    token = air.arm_token(KEY, SEAL, "DECL-1", ["NODE-B"])
    arm = (
        bytes((air.VERSION, air.C_ARM)) + air.lp(SEAL) + bytes(4) + air.lp("DECL-1")
        + b"\x01" + air.lp("NODE-B") + token
    )  # fmt: skip
    loop.hal.radio_in += radio_frame(arm)
    loop.step()
    (result,) = transmitted(loop)
    assert driver_air.parse_result(result, KEY, token).result == driver_air.TagResult.OK

    hardware.cut_shackle()
    loop.step()
    (beacon,) = transmitted(loop)
    status = driver_air.parse_status(beacon, KEY)
    assert status.armed and status.state == SealState.OPENED and status.log_count == 2


def test_the_hmac_matches_the_standard_library() -> None:
    import hashlib
    import hmac

    from firmware.eseal_tag.hmac_sha256 import hmac_sha256

    for key in (b"", b"k", bytes(64), bytes(range(100))):
        for message in (b"", b"corridor", bytes(300)):
            assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.binary(max_size=60), max_size=6), noise=st.binary(max_size=20),
       cut=st.integers(1, 17))  # fmt: skip
def test_radio_framer_recovers_frames_split_anywhere(
    frames: list[bytes], noise: bytes, cut: int
) -> None:
    noise = noise.replace(SYNC[:1], b"")
    stream = noise + b"".join(radio_frame(f) for f in frames)
    framer = RadioFramer()
    got = [f for i in range(0, len(stream), cut) for f in framer.feed(stream[i : i + cut])]
    assert got == frames
