"""GNSS figures: our NMEA decoder against pynmea2, a receiver on a pty, the tracker simulator.

python -m bench gnss     (needs ../shared/data/gnss_gpsd_regress, socat, mosquitto)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pynmea2

from bench.report import write_section
from drivers.gnss import NmeaDecoder, NmeaSerialReceiver, SentenceRejected
from drivers.gnss import sentences as nmea

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORRIDOR_SHARED_DATA", REPO.parent / "shared" / "data"))
REGRESS = SHARED / "gnss_gpsd_regress"
NMEA_LOGS = [
    "beidou-bd.log", "bn-9015.log", "cat-ms352.log", "ericsson-gru04-02-70sec.log",
    "geos-1m.log", "gps-360.log", "myguide-3100.log", "pharos-360.log",
    "quectel-eg25-g-2.log", "quectel-l76k-nmea.log", "rst39.log", "triton400.log",
]  # fmt: skip


def corpus() -> list[bytes]:
    lines: list[bytes] = []
    for name in NMEA_LOGS:
        for line in (REGRESS / name).read_bytes().splitlines():
            if line.startswith(b"$"):
                lines.append(line)
    return lines


def rate(work: Callable[[], int], repeat: int = 3) -> float:
    """Best of `repeat` runs, items per second."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        items = work()
        best = max(best, items / (time.perf_counter() - started))
    return best


def ours_typed(lines: list[bytes]) -> int:
    for line in lines:
        with contextlib.suppress(SentenceRejected):
            nmea.decode(nmea.frame(line))
    return len(lines)


def ours_fixes(lines: list[bytes]) -> int:
    decoder = NmeaDecoder()
    for line in lines:
        decoder.feed(line)
    decoder.flush()
    return len(lines)


def pynmea2_typed(texts: list[str]) -> int:
    """pynmea2 parses lazily: read the values a fix needs, as a user of it would."""
    for text in texts:
        try:
            msg = pynmea2.parse(text, check=True)
            if isinstance(msg, pynmea2.types.talker.GGA | pynmea2.types.talker.RMC):
                _ = (msg.latitude, msg.longitude, msg.timestamp)
        except (pynmea2.ParseError, ValueError, AttributeError):
            pass
    return len(texts)


def mutate(line: bytes, rng: random.Random) -> bytes:
    """A line as a noisy serial link delivers it: a byte changed, dropped or cut short."""
    data = bytearray(line)
    match rng.randrange(4):
        case 0:
            data[rng.randrange(len(data))] = rng.randrange(256)
        case 1:
            del data[rng.randrange(len(data))]
        case 2:
            data = data[: rng.randrange(1, len(data))]
        case _:  # checksum recomputed: passes the checksum, nonsense inside
            body = data[1:].split(b"*")[0]
            i = rng.randrange(len(body))
            body[i : i + 1] = bytes([rng.choice(b"0123456789.,-ANSEWV")])
            data = bytearray(b"$" + body + b"*" + nmea.checksum(body.decode("latin-1")).encode())
    return bytes(data)


def robustness(lines: list[bytes]) -> tuple[Counter[str], Counter[str], int, int]:
    rng = random.Random(1)
    noisy = [mutate(line, rng) for line in rng.choices(lines, k=20_000)]
    ours: Counter[str] = Counter()
    theirs: Counter[str] = Counter()
    ours_accepted = theirs_accepted = 0
    for line in noisy:
        try:
            nmea.decode(nmea.frame(line))
            ours_accepted += 1
        except SentenceRejected as err:
            ours[err.reason.value] += 1
        try:
            msg = pynmea2.parse(line.decode("latin-1"), check=True)
            if isinstance(msg, pynmea2.types.talker.GGA | pynmea2.types.talker.RMC):
                _ = (msg.latitude, msg.longitude, msg.timestamp)
            theirs_accepted += 1
        except Exception as err:  # counting every kind pynmea2 lets escape
            theirs[type(err).__name__] += 1
    return ours, theirs, ours_accepted, theirs_accepted


def agreement(lines: list[bytes]) -> float:
    """Largest lat/lon difference between pynmea2 and us on the GGA/RMC sentences."""
    worst = 0.0
    for line in lines:
        try:
            ours = nmea.decode(nmea.frame(line))
            theirs = pynmea2.parse(line.decode(), check=True)
        except (SentenceRejected, pynmea2.ParseError):
            continue
        if isinstance(ours, nmea.GGA | nmea.RMC) and ours.position is not None:
            lat, lon = ours.position
            worst = max(worst, abs(lat - theirs.latitude), abs(lon - theirs.longitude))
    return worst


@contextlib.contextmanager
def socat_pair() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 5
            while not (a.exists() and b.exists()) and time.monotonic() < deadline:
                time.sleep(0.01)
            yield a, b
        finally:
            proc.terminate()
            proc.wait()


async def pty_throughput(a: Path, b: Path, lines: list[bytes], repeat: int) -> tuple[float, int]:
    """Sentences per second through a socat pty pair into NmeaSerialReceiver."""
    payload = b"".join(line + b"\r\n" for line in lines) * repeat
    total = len(lines) * repeat
    async with NmeaSerialReceiver(str(b), 115200, idle_flush_s=0.5) as rx:
        fd = os.open(a, os.O_WRONLY | os.O_NOCTTY)
        started = time.perf_counter()
        writer = asyncio.get_running_loop().run_in_executor(None, os.write, fd, payload)
        fixes = 0
        async for _ in rx.fixes():
            fixes += 1
            if rx.stats.sentences + sum(rx.stats.rejected.values()) >= total:
                break
        elapsed = time.perf_counter() - started
        await writer
        os.close(fd)
    return total / elapsed, fixes


def simulator_figures() -> list[str]:
    from simulators.tracker import Journey, MemorySink, SpeedProfile, plan_track, run_tracker
    from simulators.tracker.nmea import cycle
    from simulators.tracker.route import Route

    route = Route.from_coordinates(
        "straight", [[39.6478, -4.0435], [36.0, -1.2], [34.1, 0.6]]
    )  # ~700 km, Mombasa towards Malaba
    ten_hours = Journey(
        "bench", route, SpeedProfile.constant_kmh(70), datetime(2026, 3, 1, tzinfo=UTC), 1.0
    )
    started = time.perf_counter()
    plan = plan_track(ten_hours)
    planning = time.perf_counter() - started
    points = plan.points[:20_000]
    started = time.perf_counter()
    for p in points:
        cycle(p.device_time(ten_hours), p.lat, p.lon, speed_mps=p.speed_mps,
              course_deg=p.course_deg, alt_m=0.0, hdop=p.hdop, sigma_m=p.sigma_m)  # fmt: skip
    encoding = len(points) / (time.perf_counter() - started)
    hour = Journey(
        "bench", route, SpeedProfile.constant_kmh(70), datetime(2026, 3, 1, tzinfo=UTC), 30.0
    )
    short = Journey(hour.device_id, Route.from_coordinates(
        "hour", [[39.6478, -4.0435], [39.0, -3.9]]), hour.speed, hour.start, 30.0)  # fmt: skip
    simulated = plan_track(short).arrival_s
    started = time.perf_counter()
    asyncio.run(run_tracker(short, MemorySink(), time_scale=simulated / 2.0))
    paced = time.perf_counter() - started
    return [
        f"| plan a {plan.arrival_s / 3600:.1f} h journey at 1 s reporting "
        f"({len(plan.points)} fixes) | {planning:.2f} s |",
        f"| NMEA encoding (RMC+VTG+GGA+GSA+GST) | {encoding:,.0f} cycles/s |",
        f"| a {simulated / 60:.0f}-minute journey paced to 2.0 s of wall time "
        f"(time scale {simulated / 2:.0f}) | {paced:.2f} s |",
    ]


def main() -> None:
    logging.getLogger("drivers.gnss").setLevel(logging.ERROR)  # the corpus has one noisy line
    if not REGRESS.is_dir():
        print(f"skipped: {REGRESS} not present")
        return
    lines = corpus()
    many = lines * (60_000 // len(lines) + 1)
    texts = [line.decode("ascii") for line in many]
    typed = rate(lambda: ours_typed(many))
    fixes = rate(lambda: ours_fixes(many))
    theirs = rate(lambda: pynmea2_typed(texts))
    ours_rejects, their_errors, ours_ok, theirs_ok = robustness(lines)
    worst = agreement(lines)
    rows = [
        "| what | figure |",
        "|---|---|",
        f"| corpus: the 12 NMEA logs with fixes, {len(lines)} sentences, "
        f"repeated to {len(many):,} | |",
        f"| ours: frame + checksum + typed decode | {typed:,.0f} sentences/s |",
        f"| ours: full decoder (cycles merged into fixes) | {fixes:,.0f} sentences/s |",
        f"| pynmea2 1.19: parse + read lat/lon/time | {theirs:,.0f} sentences/s |",
        f"| largest lat/lon difference ours vs pynmea2 | {worst:.1e} degrees |",
    ]
    if shutil.which("socat"):
        with socat_pair() as (a, b):
            through_pty, fix_count = asyncio.run(pty_throughput(a, b, lines, 20))
        rows.append(
            f"| NmeaSerialReceiver through a socat pty (sentences in, "
            f"{fix_count} fixes out) | {through_pty:,.0f} sentences/s |"
        )
    rows += simulator_figures()
    body = "\n".join(rows)
    body += (
        "\n\nRobustness on 20,000 corrupted lines (a byte changed, dropped, cut short, or "
        "changed with a recomputed checksum):\n\n"
        f"- ours: accepted {ours_ok:,}, rejected by reason "
        f"{', '.join(f'{k} {v:,}' for k, v in ours_rejects.most_common())} "
        "(all as SentenceRejected);\n"
        f"- pynmea2: accepted {theirs_ok:,}, raised "
        f"{', '.join(f'{k} {v:,}' for k, v in their_errors.most_common())}.\n"
    )
    print(body)
    write_section("GNSS: NMEA decoding and the tracker simulator (`python -m bench gnss`)", body)
