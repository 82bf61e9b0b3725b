"""Fuzzing the NII-1 line parser and the driver's line handling with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner import NiiScanner, ScannerSettings
from drivers.scanner.errors import LineError
from drivers.scanner.protocol import checksum, decode, encode

values = st.text(alphabet="ABCdef0123456789._:/-", max_size=20)
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


def test_checksum_is_the_nmea_style_xor() -> None:
    # The textbook NMEA 0183 GGA sentence, whose checksum is 47.
    assert checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") == "47"
    assert encode(1, "PING") == b"$NII,1,PING*6F\r\n"


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(0, 0xFFFF), verb=st.sampled_from(["ACK", "EVT", "STATUS", "TRIGGER"]),
       fields=st.dictionaries(keys, values, max_size=5))  # fmt: skip
def test_round_trip(seq: int, verb: str, fields: dict[str, str]) -> None:
    line = decode(encode(seq, verb, **fields))
    assert (line.seq, line.verb, line.fields) == (seq, verb, fields)


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_decode_or_raise_a_line_error(raw: bytes) -> None:
    try:
        line = decode(raw)
    except LineError:
        return
    assert encode(line.seq, line.verb, **line.fields).rstrip(b"\r\n") == raw.rstrip(b"\r\n")


@settings(max_examples=300, deadline=None)
@given(position=st.integers(1, 40), replacement=st.integers(32, 126))
def test_a_changed_character_fails_the_checksum_or_the_grammar(
    position: int, replacement: int
) -> None:
    good = encode(7, "ACK", scan="SC-20261101-000001")
    index = position % (len(good) - 2)
    if good[index] == replacement:
        return
    bad = good[:index] + bytes((replacement,)) + good[index + 1 :]
    try:
        decode(bad)
    except LineError:
        return
    raise AssertionError(f"{bad!r} was accepted")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200))
def test_the_driver_drops_bad_lines_without_state_change(raw: bytes) -> None:
    scanner = NiiScanner(ScannerSettings())
    before = scanner.last_heard
    scanner._take(raw + b"\n")
    if scanner.stats.bad_lines:
        assert scanner._events.empty() and scanner.last_heard == before
    else:  # the rare valid line: it was at least understood as one
        assert scanner.stats.lines == 1
