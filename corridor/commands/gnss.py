"""`corridor gnss`: decode NMEA logs, read a receiver or gpsd, simulate trackers."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import click

from contract.bus import BrokerSettings
from drivers.gnss import Fix, GnssError, GpsdClient, NmeaDecoder, NmeaSerialReceiver
from drivers.gnss.decoder import DecoderStats

_FLOOR_HELP = (
    "Receiver dates before this UTC date are GPS week-rollover bugs: move them 1024 weeks "
    "forward (e.g. 2017-01-01). Default: trust the receiver."
)


@click.group()
def cli() -> None:
    """GNSS: decode NMEA logs, read a receiver or gpsd, simulate trackers."""


# --------------------------------------------------------------------------- output


def _floor(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def _row(fix: Fix) -> str:
    def num(value: float | None, width: int, places: int) -> str:
        return f"{value:{width}.{places}f}" if value is not None else " " * (width - 1) + "-"

    return (
        f"{fix.time.isoformat(timespec='milliseconds').replace('+00:00', 'Z'):25} "
        f"{num(fix.lat, 13, 7)} {num(fix.lon, 13, 7)} {num(fix.speed_mps, 8, 2)} "
        f"{num(fix.course_deg, 7, 1)} {int(fix.mode):4d} {num(fix.hdop, 6, 1)} "
        f"{fix.satellites_used if fix.satellites_used is not None else '-':>4}"
    )


_HEADER = (
    f"{'time (UTC)':25} {'lat':>13} {'lon':>13} {'speed m/s':>8} {'course':>7} "
    f"{'mode':>4} {'hdop':>6} {'sats':>4}"
)


def _print(fixes: Iterable[Fix], as_json: bool) -> int:
    count = 0
    if not as_json:
        click.echo(_HEADER)
    for fix in fixes:
        click.echo(json.dumps(fix.summary()) if as_json else _row(fix))
        count += 1
    return count


def _summary(stats: DecoderStats, fixes: int, comments: int = 0) -> str:
    rejected = ", ".join(f"{reason.value}={n}" for reason, n in sorted(stats.rejected.items()))
    ignored = ", ".join(f"{kind}={n}" for kind, n in sorted(stats.ignored.items()))
    lines = [
        f"{fixes} fixes from {stats.sentences} sentences"
        + (f" ({comments} comment lines skipped)" if comments else ""),
        f"rejected {sum(stats.rejected.values())}: {rejected or 'none'}",
        f"ignored (valid, not used) {sum(stats.ignored.values())}: {ignored or 'none'}",
    ]
    if stats.cycles_without_time:
        lines.append(f"{stats.cycles_without_time} cycles without a UTC date and time (no fix)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- decode


@cli.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per fix.")
@click.option("--rollover-floor", metavar="DATE", help=_FLOOR_HELP)
def decode(log: Path, as_json: bool, rollover_floor: str | None) -> None:
    """Decode a raw NMEA log into fixes (one per reporting cycle).

    Lines starting with '#' are comments (gpsd's log format) and are skipped.
    A summary of rejected sentences, by reason, goes to stderr.
    """
    decoder = NmeaDecoder(rollover_floor=_floor(rollover_floor))
    comments = 0

    def fixes() -> Iterable[Fix]:
        nonlocal comments
        with log.open("rb") as handle:
            for line in handle:
                if line.startswith(b"#"):
                    comments += 1
                    continue
                if line.strip():
                    yield from decoder.feed(line)
        yield from decoder.flush()

    count = _print(fixes(), as_json)
    click.echo(_summary(decoder.stats, count, comments), err=True)


# --------------------------------------------------------------------------- live


async def _take(fixes: AsyncIterator[Fix], count: int | None, as_json: bool) -> int:
    if not as_json:
        click.echo(_HEADER)
    seen = 0
    async for fix in fixes:
        click.echo(json.dumps(fix.summary()) if as_json else _row(fix))
        seen += 1
        if count is not None and seen >= count:
            break
    return seen


@cli.command()
@click.option("--port", required=True, help="Serial device or pty, e.g. /dev/ttyUSB0.")
@click.option("--baud", default=9600, show_default=True, help="Baud rate.")
@click.option("--count", type=int, help="Stop after this many fixes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per fix.")
@click.option("--rollover-floor", metavar="DATE", help=_FLOOR_HELP)
def read(
    port: str, baud: int, count: int | None, as_json: bool, rollover_floor: str | None
) -> None:
    """Read fixes from an NMEA receiver on a serial port."""

    async def main() -> DecoderStats:
        async with NmeaSerialReceiver(port, baud, rollover_floor=_floor(rollover_floor)) as rx:
            await _take(rx.fixes(), count, as_json)
            return rx.stats

    try:
        stats = asyncio.run(main())
    except GnssError as err:
        raise click.ClickException(str(err)) from err
    click.echo(_summary(stats, stats.fixes), err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2947, show_default=True)
@click.option("--count", type=int, help="Stop after this many fixes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per fix.")
def gpsd(host: str, port: int, count: int | None, as_json: bool) -> None:
    """Read fixes from a gpsd daemon (its JSON protocol over TCP)."""

    async def main() -> None:
        async with GpsdClient(host, port) as client:
            await _take(client.fixes(), count, as_json)

    try:
        asyncio.run(main())
    except GnssError as err:
        raise click.ClickException(str(err)) from err


# --------------------------------------------------------------------------- simulate

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float:
    """'90', '90s', '15m', '2h', '1.5d' -> seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise click.BadParameter(f"not a duration: {text!r} (use 90, 90s, 15m, 2h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _window(text: str, extra: int) -> list[str]:
    parts = text.split(":")
    if len(parts) != 2 + extra:
        raise click.BadParameter(f"{text!r}: expected {2 + extra} ':'-separated values")
    return parts


def _faults(
    deviation: tuple[str, ...],
    long_stop: tuple[str, ...],
    silence: tuple[str, ...],
    jitter: tuple[str, ...],
    late_burst: tuple[str, ...],
    faults_file: Path | None,
) -> list[object]:
    from simulators.tracker import FAULTS, Deviation, Jitter, LateBurst, LongStop, Silence

    faults: list[object] = (
        list(FAULTS.validate_json(faults_file.read_text())) if faults_file else []
    )
    for text in deviation:
        at, duration, metres = _window(text, 1)
        faults.append(
            Deviation(at_s=_seconds(at), duration_s=_seconds(duration), offset_m=float(metres))
        )
    for text in long_stop:
        at, duration = _window(text, 0)
        faults.append(LongStop(at_s=_seconds(at), duration_s=_seconds(duration)))
    for text in silence:
        at, duration = _window(text, 0)
        faults.append(Silence(at_s=_seconds(at), duration_s=_seconds(duration)))
    for text in late_burst:
        at, duration = _window(text, 0)
        faults.append(LateBurst(at_s=_seconds(at), duration_s=_seconds(duration)))
    for text in jitter:
        sigma, *rest = text.split(":")
        probability, outlier = (float(rest[0]), float(rest[1])) if len(rest) >= 2 else (0.0, 0.0)
        faults.append(
            Jitter(sigma_m=float(sigma), outlier_probability=probability, outlier_m=outlier)
        )
    return faults


@cli.command()
@click.option(
    "--route",
    "route_file",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="GeoJSON with a LineString (a `kind: corridor` feature is preferred).",
)
@click.option("--route-name", help="Feature name or id; join roads with +.")
@click.option("--device-id", default="tracker-1", show_default=True, help="Id of the first unit.")
@click.option(
    "--units", default=1, show_default=True, help="Units on the route (ids get -2, -3...)."
)
@click.option("--spacing", default="10m", show_default=True, help="Departure gap between units.")
@click.option(
    "--speed",
    default="60",
    show_default=True,
    help="km/h, or KM:KMH,KM:KMH... by distance along the route.",
)
@click.option("--interval", default="30s", show_default=True, help="Reporting interval.")
@click.option("--start", help="Device time of departure, ISO 8601 UTC (default: now).")
@click.option("--seed", default=1, show_default=True, help="Random seed (deterministic runs).")
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    help="Simulated seconds per wall second (3600: 10 h in 10 s); 0: no pacing.",
)
@click.option(
    "--deviation",
    multiple=True,
    metavar="AT:FOR:METRES",
    help="Leave the corridor by METRES at AT for FOR (e.g. 2h:40m:800).",
)
@click.option("--long-stop", multiple=True, metavar="AT:FOR", help="Stand still.")
@click.option("--silence", multiple=True, metavar="AT:FOR", help="Send nothing.")
@click.option(
    "--jitter",
    multiple=True,
    metavar="SIGMA[:P:METRES]",
    help="GPS noise sigma (m), with outliers of METRES at probability P.",
)
@click.option(
    "--late-burst",
    multiple=True,
    metavar="AT:FOR",
    help="Hold fixes back, then send them at once, out of order.",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, path_type=Path),
    help="JSON list of faults (kind, at_s, duration_s, ...).",
)
@click.option("--nmea-port", help="Write NMEA to this serial port / pty instead of MQTT.")
@click.option("--baud", default=9600, show_default=True)
@click.option("--mqtt-host", default="127.0.0.1", show_default=True)
@click.option("--mqtt-port", default=8883, show_default=True)
@click.option("--username", default="telematics", show_default=True)
@click.option("--password", envvar="CORRIDOR_MQTT_PASSWORD", help="Or $CORRIDOR_MQTT_PASSWORD.")
@click.option("--ca-file", help="CA bundle: enables TLS.")
def simulate(
    route_file: Path,
    route_name: str | None,
    device_id: str,
    units: int,
    spacing: str,
    speed: str,
    interval: str,
    start: str | None,
    seed: int,
    time_scale: float,
    deviation: tuple[str, ...],
    long_stop: tuple[str, ...],
    silence: tuple[str, ...],
    jitter: tuple[str, ...],
    late_burst: tuple[str, ...],
    faults_file: Path | None,
    nmea_port: str | None,
    baud: int,
    mqtt_host: str,
    mqtt_port: int,
    username: str,
    password: str | None,
    ca_file: str | None,
) -> None:
    """Drive tracker units along a route; emit NMEA on a serial port or fixes over MQTT."""
    from datetime import timedelta

    from simulators.tracker import (
        FixSink,
        Journey,
        MqttSink,
        NmeaSink,
        RouteError,
        SpeedProfile,
        TrackerError,
        load_route,
        run_tracker,
    )
    from simulators.tracker.journey import utc

    try:
        route = load_route(route_file, route_name)
        profile = SpeedProfile.parse(speed)
    except (RouteError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    if nmea_port and units != 1:
        raise click.ClickException("one NMEA port carries one unit: use --units 1")
    departure = utc(start) if start else datetime.now(UTC).replace(microsecond=0)
    faults = _faults(deviation, long_stop, silence, jitter, late_burst, faults_file)
    gap = timedelta(seconds=_seconds(spacing))
    journeys = [
        Journey(
            device_id=device_id if n == 0 else f"{device_id}-{n + 1}",
            route=route,
            speed=profile,
            start=departure + n * gap,
            interval_s=_seconds(interval),
            faults=faults,  # type: ignore[arg-type]
            seed=seed + n,
        )
        for n in range(units)
    ]
    sink: FixSink
    if nmea_port:
        sink = NmeaSink(nmea_port, baud)
    else:
        settings = BrokerSettings(
            host=mqtt_host, port=mqtt_port, username=username, password=password, ca_file=ca_file
        )
        sink = MqttSink(settings)
    click.echo(f"route {route.name}: {route.length_m / 1000:.1f} km, {units} unit(s)", err=True)
    try:
        report = asyncio.run(run_tracker(journeys, sink, time_scale=time_scale or None))
    except TrackerError as err:
        raise click.ClickException(str(err)) from err
    for device in report.sent:
        click.echo(
            f"{device}: sent {report.sent[device]} fixes ({report.late[device]} late), "
            f"lost {report.dropped[device]} in silences",
            err=True,
        )
    sys.stdout.flush()
