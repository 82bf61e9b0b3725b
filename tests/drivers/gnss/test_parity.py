"""Parity with gpsd's own decoding on gpsd's regression logs (the pure NMEA ones).

For every fix gpsd reported (its last TPV of each time), we must report a fix with
the same time, mode, lat/lon within 1e-6 degrees and speed within gpsd's printed
precision. See gnss_regress.py for the scoring, and docs/gnss.md for the two
narrow places where we do not follow gpsd, both checked here:

- EXCLUDED_SENTENCES: sentences gpsd decodes whose effect on the TPV is not a fix;
- `Comparison.unexplained_extra`: fixes of ours gpsd never reported with a time
  (its cycle-ender learning at start-up; a cycle still open at the end of a log).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gnss_regress import REGRESS, compare, decode_log, nmea_logs

# $PERC,GPavp (Ericsson GRU 04, proprietary) carries the receiver's *averaged*
# reference position; gpsd writes it over the fix's lat/lon, so gpsd's TPVs after it
# show a position the receiver did not fix in that cycle. We do not decode $PERC; for
# those times we compare with gpsd's TPV from before the $PERC,GPavp.
EXCLUDED_SENTENCES = {"ericsson-gru04-02-70sec.log": frozenset({"$PERC,GPavp"})}

LOGS = nmea_logs(REGRESS) if REGRESS.is_dir() else []


@pytest.mark.parametrize("log", LOGS)
def test_same_fixes_as_gpsd(regress: Path, log: str) -> None:
    result = compare(regress, log, EXCLUDED_SENTENCES.get(log, frozenset()))
    assert result.missing == [], f"gpsd has fixes we do not: {result.missing[:5]}"
    assert result.mismatched == [], [
        f"{t}: {result.ours[t].summary()} vs {result.gpsd[t]}" for t in result.mismatched[:5]
    ]
    assert result.unexplained_extra() == []
    assert len(result.flushed) <= 1
    assert result.matched == len(result.gpsd)


def test_the_nmea_logs_are_all_there_and_mostly_match(regress: Path) -> None:
    """Guards against a parity test that passes because it compares nothing."""
    assert len(LOGS) >= 14
    results = [compare(regress, log, EXCLUDED_SENTENCES.get(log, frozenset())) for log in LOGS]
    gpsd_fixes = sum(len(r.gpsd) for r in results)
    matched = sum(r.matched for r in results)
    assert gpsd_fixes >= 350 and matched == gpsd_fixes
    extra = sum(len(r.extra) for r in results)
    assert extra <= 8  # start-up and end-of-log cycles, see docs/gnss.md


def test_rejected_lines_in_the_logs_are_counted(regress: Path) -> None:
    _, _, decoder = decode_log(regress / "triton400.log")
    # "$GPGGA,030130$GPGLL,..." - a GGA cut off by the next sentence: noise, GLL kept
    assert sum(decoder.stats.rejected.values()) == 1
    _, _, decoder = decode_log(regress / "ais-nmea-type6-fid55.log")
    assert decoder.stats.ignored["AIVDM"] > 1000 and decoder.stats.fixes == 0
