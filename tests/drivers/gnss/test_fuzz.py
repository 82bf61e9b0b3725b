"""Fuzzing the NMEA decoder: no input crashes it, and garbage changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drivers.gnss import NmeaDecoder
from drivers.gnss.sentences import checksum

REAL = [
    "GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A",
    "GPVTG,084.4,T,,M,022.4,N,041.5,K,A",
    "GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
    "GNGSA,A,3,01,02,07,14,15,17,20,22,30,,,,1.5,0.9,1.2,1",
    "GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45",
    "GNGNS,213712.000,4111.59903,N,11156.54809,W,AANN,13,0.93,01482.5,-016.5,,",
    "GNGLL,4111.59903,N,11156.54809,W,213712.000,A,A",
    "GNZDA,213712.000,12,02,2026,,",
    "GPGST,123519.00,1.2,3.4,2.1,45.0,2.9,1.8,4.4",
]

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def warmed_up() -> NmeaDecoder:
    """A decoder in the middle of a cycle, so that garbage has state it could spoil."""
    decoder = NmeaDecoder()
    for body in REAL[:3]:
        decoder.feed(f"${body}*{checksum(body)}\r\n")
    return decoder


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_and_change_nothing(line: bytes) -> None:
    decoder = warmed_up()
    before, accepted = decoder.state, decoder.stats.sentences
    decoder.feed(line)
    if decoder.stats.sentences == accepted:  # rejected (a valid sentence by chance is not)
        assert decoder.state == before


@FUZZ
@given(st.sampled_from(REAL), st.data())
def test_one_corrupted_character_is_always_caught(body: str, data: st.DataObject) -> None:
    line = f"${body}*{checksum(body)}"
    position = data.draw(st.integers(1, len(body)))  # inside the checksummed body
    replacement = data.draw(st.characters(min_codepoint=32, max_codepoint=126))
    assume(replacement != line[position])
    corrupted = line[:position] + replacement + line[position + 1 :]
    decoder = warmed_up()
    before, accepted = decoder.state, decoder.stats.sentences
    assert decoder.feed(corrupted) == []
    assert decoder.state == before
    assert decoder.stats.sentences == accepted  # a '$' put in splits it: noise + a bad rest
    assert sum(decoder.stats.rejected.values()) >= 1


FIELD = st.one_of(
    st.text(alphabet="0123456789.-+NSEWAVDT", max_size=12),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "99.99",
            "999999",
            "1e9",
            "nan",
            "235960.00",
            "320299",
            "300226",
            "290223",
            "000000.00",
            "235959.99",
            "9000.0000",
            "18000.0",
            "9059.9",
        ]
    ),
)


@FUZZ
@given(st.sampled_from(REAL), st.lists(st.tuples(st.integers(1, 20), FIELD), max_size=6))
def test_checksum_valid_nonsense_fields_never_crash(
    body: str, edits: list[tuple[int, str]]
) -> None:
    """Sentences that pass the checksum but carry nonsense: rejected or decoded, never fatal;
    every fix that comes out is a valid Fix (range checks hold)."""
    fields = body.split(",")
    for index, value in edits:
        if index < len(fields):
            fields[index] = value
    mutated = ",".join(fields)
    decoder = warmed_up()
    fixes = decoder.feed(f"${mutated}*{checksum(mutated)}") + decoder.flush()
    for fix in fixes:
        assert fix.lat is None or -90 <= fix.lat <= 90
        assert fix.speed_mps is None or fix.speed_mps >= 0


@FUZZ
@given(st.lists(st.sampled_from(REAL), min_size=1, max_size=6), st.data())
def test_nonsense_across_a_cycle_and_midnight_never_crashes(
    bodies: list[str], data: st.DataObject
) -> None:
    decoder = warmed_up()
    for body in bodies:
        fields = body.split(",")
        index = data.draw(st.integers(1, len(fields) - 1))
        fields[index] = data.draw(FIELD)
        mutated = ",".join(fields)
        decoder.feed(f"${mutated}*{checksum(mutated)}")
    decoder.flush()


@FUZZ
@given(st.lists(st.sampled_from(REAL), min_size=1, max_size=40))
def test_any_order_of_valid_sentences_is_handled(bodies: list[str]) -> None:
    decoder = NmeaDecoder()
    fixes = [fix for b in bodies for fix in decoder.feed(f"${b}*{checksum(b)}")]
    fixes += decoder.flush()
    assert decoder.stats.sentences == len(bodies)
    assert len(fixes) <= len(bodies)
