"""Scoring our NMEA decoding against gpsd's own, on gpsd's regression logs.

Each `X.log.chk.gz` is what gpsd printed while replaying `X.log` to a client that
watched with `"nmea":true`: every input sentence, followed by the JSON objects
(TPV, SKY, ...) gpsd reported after it. gpsd may report a cycle several times as
its sentences arrive; the *fix* for a time is gpsd's last TPV with that time,
i.e. the cycle with all its sentences merged. TPVs without a time are not fixes
(gpsd had no date yet) and have no counterpart.

We compare, per time: lat/lon to 1e-6 degrees, speed to gpsd's printed precision
(3 decimals, so within 0.0005 m/s), and mode.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from drivers.gnss import Fix, NmeaDecoder

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("CORRIDOR_SHARED_DATA", REPO.parent / "shared" / "data"))
REGRESS = SHARED_DATA / "gnss_gpsd_regress"

LATLON_TOLERANCE_DEG = 1e-6
SPEED_TOLERANCE_MPS = 0.0005 + 1e-9  # gpsd prints speed with 3 decimals

# gpsd shifts any date before 2017 forward by 1024 weeks (it assumes the current
# leap-second count, 18, and dates that old cannot carry it) unless the log header
# "# Date: yyyy-mm-dd" tells it the capture date. Logs without that header were
# decoded with that rollover correction; we apply the same correction to them.
ROLLOVER_FLOOR = datetime(2017, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GpsdFix:
    time: str
    mode: int
    lat: float | None
    lon: float | None
    speed: float | None


@dataclass
class Comparison:
    log: str
    ours: dict[str, Fix]
    gpsd: dict[str, GpsdFix]
    flushed: list[Fix]  # the cycle still open at the end of the log (also in `ours`)
    missing: list[str] = field(default_factory=list)  # gpsd has a fix at this time, we do not
    extra: list[str] = field(default_factory=list)  # we have a fix gpsd does not
    mismatched: list[str] = field(default_factory=list)  # same time, different values

    @property
    def matched(self) -> int:
        return len(set(self.ours) & set(self.gpsd)) - len(self.mismatched)

    @property
    def exact(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)

    def unexplained_extra(self) -> list[str]:
        """Our fixes gpsd never reported with a time, other than the two known cases:

        - start-up: gpsd learns which sentence ends a cycle from the first time change
          and locks it at the next; until then it reports a cycle only if it happens to
          end on that sentence, or before the date arrives (a TPV without time). Ours
          before gpsd's second timed report are therefore not compared;
        - end of log: we flush the cycle still open when the log ends; gpsd reports a
          cycle only when its last sentence arrives, which a cut log never sends.
        """
        times = sorted(self.gpsd)
        startup_end = times[1] if len(times) > 1 else "9999"
        flushed = {f.summary()["time"] for f in self.flushed}
        return [t for t in self.extra if not (t < startup_end or t in flushed)]


def nmea_logs(folder: Path) -> list[str]:
    """The logs `index.csv` lists as pure NMEA text."""
    with (folder / "index.csv").open(newline="") as handle:
        return [row["log_file"] for row in csv.DictReader(handle) if row["kind"] == "nmea_text"]


def has_date_header(log: Path) -> bool:
    for line in log.read_bytes().splitlines():
        if not line.startswith(b"#"):
            return False
        if line.startswith(b"# Date: "):
            return True
    return False


def decode_log(log: Path) -> tuple[list[Fix], list[Fix], NmeaDecoder]:
    """(fixes emitted while reading, fixes flushed at the end of the log, the decoder)."""
    floor = None if has_date_header(log) else ROLLOVER_FLOOR
    decoder = NmeaDecoder(rollover_floor=floor)
    fixes: list[Fix] = []
    for line in log.read_bytes().splitlines():
        if line.startswith(b"#") or not line.strip():
            continue  # comments of the regression format, not receiver output
        fixes += decoder.feed(line)
    return fixes, decoder.flush(), decoder


def gpsd_reports(chk: Path) -> list[tuple[str, list[dict[str, object]]]]:
    """(sentence, JSON objects gpsd reported after it), in order."""
    reports: list[tuple[str, list[dict[str, object]]]] = [("", [])]
    with gzip.open(chk, "rt", encoding="ascii", errors="replace") as handle:
        for raw in handle:
            line = raw.rstrip("\r\n")
            if line.startswith("{"):
                reports[-1][1].append(json.loads(line))
            elif line:
                reports.append((line, []))
    return reports


def gpsd_fixes(
    reports: list[tuple[str, list[dict[str, object]]]], excluded: frozenset[str] = frozenset()
) -> dict[str, GpsdFix]:
    """Per time, gpsd's last TPV with that time. `excluded`: sentence prefixes whose
    effect on the reported fix is excluded (see EXCLUSIONS in test_parity)."""
    fixes: dict[str, GpsdFix] = {}
    frozen: set[str] = set()  # times whose later TPVs carry an excluded sentence's effect
    for sentence, objects in reports:
        tainting = any(sentence.startswith(prefix) for prefix in excluded)
        for obj in objects:
            if obj.get("class") != "TPV" or "time" not in obj:
                continue
            time = str(obj["time"])
            if tainting:
                frozen.add(time)
            if time in frozen:
                continue
            fixes[time] = GpsdFix(
                time=time,
                mode=int(obj.get("mode", 0)),  # type: ignore[call-overload]
                lat=obj.get("lat"),  # type: ignore[arg-type]
                lon=obj.get("lon"),  # type: ignore[arg-type]
                speed=obj.get("speed"),  # type: ignore[arg-type]
            )
    return fixes


def compare(folder: Path, log: str, excluded: frozenset[str] = frozenset()) -> Comparison:
    fixes, flushed, _ = decode_log(folder / log)
    ours = {fix.summary()["time"]: fix for fix in fixes + flushed}
    gpsd = gpsd_fixes(gpsd_reports(folder / f"{log}.chk.gz"), excluded)
    result = Comparison(log, ours, gpsd, flushed)
    result.missing = sorted(set(gpsd) - set(ours))
    result.extra = sorted(set(ours) - set(gpsd))
    result.mismatched = [t for t in sorted(set(ours) & set(gpsd)) if differs(ours[t], gpsd[t])]
    return result


def differs(ours: Fix, theirs: GpsdFix) -> str:
    """Empty when the two agree; else what differs."""
    problems = []
    mode = max(theirs.mode, 1)
    if int(ours.mode) != mode:
        problems.append(f"mode {int(ours.mode)} != {mode}")
    if mode >= 2:
        for name, value, other in (("lat", ours.lat, theirs.lat), ("lon", ours.lon, theirs.lon)):
            if not _close(value, other, LATLON_TOLERANCE_DEG):
                problems.append(f"{name} {value} != {other}")
        if not _close(ours.speed_mps, theirs.speed, SPEED_TOLERANCE_MPS):
            problems.append(f"speed {ours.speed_mps} != {theirs.speed}")
    return "; ".join(problems)


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0, abs_tol=tolerance)


if __name__ == "__main__":  # a per-log report: python tests/drivers/gnss/gnss_regress.py
    import sys

    for name in sys.argv[1:] or nmea_logs(REGRESS):
        c = compare(REGRESS, name, frozenset({"$PERC,GPavp"}))
        print(
            f"{name:32} gpsd {len(c.gpsd):4} ours {len(c.ours):4} matched {c.matched:4} "
            f"missing {len(c.missing)} extra {len(c.extra)} mismatched {len(c.mismatched)}"
        )
        for t in c.mismatched[:5]:
            print("   ", t, differs(c.ours[t], c.gpsd[t]))
        for t in c.missing[:3]:
            print("    missing", t, c.gpsd[t])
        for t in c.extra[:3]:
            print("    extra", t, c.ours[t].summary())
