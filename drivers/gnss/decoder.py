"""Merging NMEA sentences into one `Fix` per reporting cycle, the way gpsd does.

A receiver sends a burst of sentences every cycle (GGA, GSA, GSV..., RMC, VTG);
each carries part of the picture. `NmeaDecoder` keeps gpsd's model of that:

- a *cycle* starts when a sentence that registers a time (GGA, RMC, GLL, GNS)
  carries a time of day different from the previous one; the fix being built is
  then cleared (gpsd's CLEAR_IS);
- every sentence merges only the fields it actually set into the fix, with
  gpsd's rules for the fix mode (GSA's mode, GGA's satellite count, "do not
  downgrade a 3D fix because RMC cannot say 3D");
- date comes from RMC or ZDA; GGA/GLL/GNS times before any date are not usable;
- when a cycle reports no speed, it is derived from the distance to the previous
  fix over the elapsed time (Vincenty on WGS84, `Fix.speed_derived`).

Emitting: a fix is emitted once per cycle, as soon as the cycle's last sentence
arrives. The decoder learns which sentence closes a cycle (its type and how often
it occurred) from the previous cycle, as gpsd learns its "cycle ender"; until it
knows, or when a cycle is cut short, the fix is emitted when the next cycle
starts, or on `flush()`. A cycle without a UTC date and time emits nothing.

Bad lines are rejected by reason (`DecoderStats.rejected`), logged, and change
nothing. The decoder is synchronous and does no I/O.
"""

from __future__ import annotations

import calendar
import copy
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

from drivers.gnss import sentences as nmea
from drivers.gnss.errors import RejectReason, SentenceRejected
from drivers.gnss.fix import Fix, FixMode
from drivers.gnss.geodesy import distance_m

log = logging.getLogger(__name__)

KNOTS_TO_MPS: Final = 1852.0 / 3600.0
GPS_ROLLOVER_S: Final = 1024 * 7 * 86400
"""A 10-bit GPS week counter wraps every 1024 weeks; old receivers then report dates 19.6
years in the past."""

_NOT_SEEN = 0  # gpsd's MODE_NOT_SEEN: no sentence has set the mode this cycle
_NO_FIX, _2D, _3D = 1, 2, 3
_SAME_TIME_S = 0.01  # gpsd: times closer than this belong to the same cycle


@dataclass
class _FixState:
    """gpsd's `gps_fix_t`, reduced to what a Fix needs. None is gpsd's NaN."""

    time: int = 0  # epoch nanoseconds (exact: rates need exact time deltas), 0 = not set
    mode: int = _NOT_SEEN
    lat: float | None = None
    lon: float | None = None
    alt_msl: float | None = None
    geoid_sep: float | None = None
    speed: float | None = None
    speed_derived: bool = False
    track: float | None = None

    def copy(self) -> _FixState:
        return _FixState(
            self.time, self.mode, self.lat, self.lon, self.alt_msl, self.geoid_sep,
            self.speed, self.speed_derived, self.track,
        )  # fmt: skip


@dataclass
class _Update:
    """What one sentence set: gpsd's `newdata` plus its mask bits, as booleans."""

    fix: _FixState = field(default_factory=_FixState)
    time: bool = False
    latlon: bool = False
    mode: bool = False
    altitude: bool = False
    speed: bool = False
    track: bool = False
    dop: bool = False


@dataclass
class _Clock:
    """gpsd's `nmea.date`: the receiver's last known date and time of day."""

    year: int = 0  # 0: no date yet (from RMC or ZDA)
    month: int = 0
    day: int = 0
    hour: int = 0
    minute: int = 0
    second: int = 0
    nanosecond: int = 0

    def set_time(self, t: nmea.TimeOfDay) -> None:
        if t.hour < self.hour and self.year:  # midnight passed since the last date
            self.year, self.month, self.day = _next_day(self.year, self.month, self.day)
        self.hour, self.minute, self.second = t.hour, t.minute, t.second
        self.nanosecond = t.nanosecond

    def epoch_ns(self) -> int:
        whole = calendar.timegm(
            (self.year, self.month, self.day, self.hour, self.minute, self.second)
        )
        return whole * 1_000_000_000 + self.nanosecond


def _next_day(year: int, month: int, day: int) -> tuple[int, int, int]:
    following = date(year, month, day) + timedelta(days=1)
    return following.year, following.month, following.day


@dataclass
class _Session:
    """Everything the decoder remembers between sentences (gpsd's session)."""

    clock: _Clock = field(default_factory=_Clock)
    fix: _FixState = field(default_factory=_FixState)
    lastfix: _FixState = field(default_factory=_FixState)  # last state with a time
    oldfix: _FixState = field(default_factory=_FixState)  # state of the previous cycle
    hdop: float | None = None
    vdop: float | None = None
    pdop: float | None = None
    this_frac: float | None = None  # hhmmss.ss of the cycle, as gpsd compares it
    last_gga_talker: str = ""
    last_gga_time: str = ""
    latch_mode: bool = False
    last_gsa_talker: str = ""
    other_gsa_seen: bool = False  # a GSA from a talker other than GP was seen
    satellites_used: list[int] = field(default_factory=list)
    satellites_seen: int | None = None
    last_gsv_talker: str = ""
    gsv_count: int = 0
    gst: nmea.GST | None = None
    # reporting-cycle bookkeeping
    cycle_keys: list[str] = field(default_factory=list)
    cycle_emitted: bool = False
    ender: tuple[str, int] | None = None  # (sentence type, its count) that closes a cycle
    ender_candidate: tuple[str, int] | None = None


@dataclass
class DecoderStats:
    """Counts since the decoder was made: what was used, ignored and rejected, and why."""

    sentences: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # valid but not used, by type
    rejected: Counter[RejectReason] = field(default_factory=Counter)
    fixes: int = 0
    cycles_without_time: int = 0


class NmeaDecoder:
    """Turns NMEA 0183 lines into `Fix`es, one per reporting cycle.

    `rollover_floor`: a receiver date before this instant is taken as a GPS week
    rollover bug and moved forward by 1024 weeks as often as it takes to reach it
    (None: trust the receiver's date).
    """

    def __init__(self, *, rollover_floor: datetime | None = None) -> None:
        self._floor_ns = int(rollover_floor.timestamp()) * 10**9 if rollover_floor else None
        self._s = _Session()
        self.stats = DecoderStats()
        self._warned: set[RejectReason] = set()

    # ------------------------------------------------------------------ public

    def feed(self, line: bytes | str) -> list[Fix]:
        """Take one line; return the fixes it completes (usually none or one)."""
        junk, line = nmea.split_noise(line)
        if junk.strip():
            detail = f"{len(junk)} characters: {junk[:20]!r}"
            self._reject(SentenceRejected(RejectReason.NOISE, detail))
        try:
            sentence = nmea.frame(line)
            typed = nmea.decode(sentence)
        except SentenceRejected as err:
            self._reject(err)
            return []
        self.stats.sentences += 1
        if typed is None:
            self.stats.ignored[sentence.kind] += 1
        return self._apply(sentence.kind, typed)

    def flush(self) -> list[Fix]:
        """Emit the cycle in progress (end of input, or the receiver went quiet)."""
        return self._emit()

    @property
    def state(self) -> _Session:
        """A copy of the decoder's memory, for diagnostics and tests."""
        return copy.deepcopy(self._s)

    # ------------------------------------------------------------------ rejects

    def _reject(self, err: SentenceRejected) -> None:
        self.stats.rejected[err.reason] += 1
        if err.reason not in self._warned:
            self._warned.add(err.reason)
            log.warning("NMEA line rejected (%s); further ones logged at debug", err)
        else:
            log.debug("NMEA line rejected: %s", err)

    # ------------------------------------------------------------------ one sentence

    def _apply(self, kind: str, typed: nmea.Decoded | None) -> list[Fix]:
        s = self._s
        emitted = []
        starts_cycle = self._starts_cycle(typed)
        if starts_cycle:
            emitted += self._emit()  # the previous cycle, before this sentence touches it
        update = _Update()
        if typed is not None:
            self._dispatch(typed, update)
        if not isinstance(typed, nmea.GSV):
            s.last_gsv_talker = ""
        if not isinstance(typed, nmea.GSA):
            s.last_gsa_talker = ""
        if update.time:
            update.fix.time = self._resolve_time()
        self._keep_3d(update)
        if starts_cycle:
            self._learn_ender()
            self._clear_cycle(update)
        self._merge(update)
        self._error_model()
        s.cycle_keys.append(kind)
        if s.ender == (kind, s.cycle_keys.count(kind)):
            emitted += self._emit()
        return emitted

    def _starts_cycle(self, typed: nmea.Decoded | None) -> bool:
        """Does this sentence register a time of day other than the current cycle's?"""
        registered = _registered_time(typed)
        if registered is None:
            return False
        current = self._s.this_frac
        return current is None or abs(float(registered.text) - current) > _SAME_TIME_S

    def _dispatch(self, typed: nmea.Decoded, update: _Update) -> None:
        match typed:
            case nmea.GGA():
                self._gga(typed, update)
            case nmea.RMC():
                self._rmc(typed, update)
            case nmea.GLL():
                self._gll(typed, update)
            case nmea.GNS():
                self._gns(typed, update)
            case nmea.VTG():
                self._vtg(typed, update)
            case nmea.GSA():
                self._gsa(typed, update)
            case nmea.GSV():
                self._gsv(typed)
            case nmea.GST():
                self._s.gst = typed
            case nmea.ZDA():
                self._zda(typed, update)

    # ------------------------------------------------------------------ time

    def _merge_time(self, t: nmea.TimeOfDay | None, update: _Update) -> None:
        """Take a sentence's time of day (gpsd's merge_hhmmss + register_fractional_time)."""
        if t is None:
            return
        self._s.clock.set_time(t)
        self._s.this_frac = float(t.text)
        if self._s.clock.year:
            update.time = True

    def _resolve_time(self) -> int:
        clock = self._s.clock
        if not clock.year:
            return 0
        t = clock.epoch_ns()
        # the receiver's own date stays as sent (midnight, ZDA), only the fix time moves
        while self._floor_ns is not None and t < self._floor_ns:
            t += GPS_ROLLOVER_S * 10**9
        return t

    # ------------------------------------------------------------------ handlers

    def _gga(self, gga: nmea.GGA, update: _Update) -> None:
        s = self._s
        if gga.quality == 0 and gga.time is None:
            s.clock = _Clock()  # no fix and no time: forget the date (Quectel quirk)
        previous_talker = s.last_gga_talker
        s.last_gga_talker = gga.talker
        time_text = gga.time.text if gga.time else ""
        if previous_talker and previous_talker != gga.talker:
            s.latch_mode = False  # several talkers each send a GGA: no stuck-clock check
        else:
            # a receiver that lost lock may repeat its last GGA with a frozen clock
            s.latch_mode = time_text == s.last_gga_time
        if s.latch_mode:
            update.fix.mode, update.mode = _NO_FIX, True
        else:
            s.last_gga_time = time_text
        self._merge_time(gga.time, update)
        if gga.position is not None:
            update.fix.lat, update.fix.lon = gga.position
            update.latlon = True
            update.fix.mode = _2D
            update.fix.geoid_sep = gga.geoid_separation_m
            if gga.altitude_msl_m is not None:
                update.fix.alt_msl = gga.altitude_msl_m
                update.altitude = True
                if gga.satellites >= 4:
                    update.fix.mode = _3D
            if gga.satellites < 3:
                update.fix.mode = _NO_FIX
        else:
            update.fix.mode = _NO_FIX
        update.mode = True
        if gga.hdop is not None and gga.hdop < 99.0:  # 99.99 means "unknown"
            s.hdop, update.dop = gga.hdop, True

    def _rmc(self, rmc: nmea.RMC, update: _Update) -> None:
        s = self._s
        if rmc.status not in ("A", "D"):
            update.fix.mode, update.mode = _NO_FIX, True
            if rmc.time is None or rmc.date is None:
                s.clock = _Clock()  # a warning without time: the date is gone too
                update.time = True
            elif rmc.time is not None:
                s.this_frac = float(rmc.time.text)
            return
        if rmc.time is not None and rmc.date is not None:
            yy, month, day = rmc.date
            s.clock.set_time(rmc.time)
            s.clock.year, s.clock.month, s.clock.day = _full_year(yy), month, day
            s.this_frac = float(rmc.time.text)
            update.time = True
        if rmc.position is not None:
            update.fix.lat, update.fix.lon = rmc.position
            update.latlon = True
            # RMC cannot say 2D or 3D: keep a 3D fix as 3D, else call it 2D
            update.fix.mode = _3D if s.lastfix.mode == _3D else _2D
        else:
            update.fix.mode = _NO_FIX
        update.mode = True
        if rmc.speed_knots is not None:
            update.fix.speed, update.speed = rmc.speed_knots * KNOTS_TO_MPS, True
        if rmc.course_deg is not None:
            update.fix.track, update.track = rmc.course_deg, True
        if len(s.satellites_used) > 3 or s.fix.alt_msl is not None:
            update.fix.mode = _3D  # a receiver that reports altitude or 4+ satellites

    def _gll(self, gll: nmea.GLL, update: _Update) -> None:
        s = self._s
        self._merge_time(gll.time, update)
        update.mode = True
        if gll.status != "A" or gll.faa_mode == "N" or gll.position is None:
            update.fix.mode = _NO_FIX
            return
        update.fix.lat, update.fix.lon = gll.position
        update.latlon = True
        if s.fix.alt_msl is not None or len(s.satellites_used) > 3:
            update.fix.mode = _3D
        elif s.fix.mode < _2D or s.oldfix.alt_msl is None:
            update.fix.mode = _2D
        # else gpsd leaves the mode "not seen" and relies on _keep_3d

    def _gns(self, gns: nmea.GNS, update: _Update) -> None:
        self._merge_time(gns.time, update)
        if not gns.modes or gns.modes[0] == "N":
            update.fix.mode, update.mode = _NO_FIX, True
            return
        if gns.nav_status in ("U", "V"):  # unsafe / not valid for navigation
            return
        if gns.position is not None:
            update.fix.lat, update.fix.lon = gns.position
            update.latlon = True
            update.fix.mode = _2D
            if gns.altitude_msl_m is not None:
                update.fix.alt_msl, update.altitude = gns.altitude_msl_m, True
                if gns.satellites > 3:
                    update.fix.mode = _3D
                update.fix.geoid_sep = gns.geoid_separation_m
        else:
            update.fix.mode = _NO_FIX
        if gns.hdop is not None:
            self._s.hdop, update.dop = gns.hdop, True
        update.mode = True

    def _vtg(self, vtg: nmea.VTG, update: _Update) -> None:
        if vtg.course_deg is None or vtg.speed_knots is None:
            return
        if vtg.faa_mode in ("E", "N"):  # estimated or not valid
            return
        update.fix.track, update.track = vtg.course_deg, True
        update.fix.speed, update.speed = vtg.speed_knots * KNOTS_TO_MPS, True

    def _gsa(self, gsa: nmea.GSA, update: _Update) -> None:
        s = self._s
        previous_talker = s.last_gsa_talker
        talker = gsa.talker[1:] if gsa.talker else ""
        if gsa.field_count >= 18 and not s.latch_mode:  # else malformed, or stuck clock
            self._gsa_fix(gsa, talker, update)
        if s.other_gsa_seen and talker == "P":
            update.mode = update.dop = False  # GPGSA before GLGSA/BDGSA: wait for the set
        elif previous_talker != "N" and talker == "N":
            update.mode, update.dop = True, False  # first of several GNGSA: its mode counts

    def _gsa_fix(self, gsa: nmea.GSA, talker: str, update: _Update) -> None:
        s = self._s
        update.fix.mode = int(gsa.fix_mode) if gsa.fix_mode.isdigit() else _NOT_SEEN
        update.mode = gsa.fix_mode != "E"  # u-blox dead reckoning: no mode
        if gsa.field_count <= 19:
            for name in ("pdop", "hdop", "vdop"):
                value = getattr(gsa, name)
                if value is not None and value < 99.0:
                    setattr(s, name, value)
                    update.dop = True
        # one GSA per constellation accumulates; a repeat of the same talker starts over
        if not s.last_gsa_talker or (talker == s.last_gsa_talker and talker != "N"):
            s.satellites_used = []
        s.last_gsa_talker = talker
        if talker not in ("P", ""):
            s.other_gsa_seen = True
        s.satellites_used.extend(gsa.satellites_used)

    def _gsv(self, gsv: nmea.GSV) -> None:
        s = self._s
        if gsv.part == 1 and (not s.last_gsv_talker or gsv.talker == "GP"):
            s.gsv_count = 0  # a new satellites-in-view picture begins
        s.last_gsv_talker = gsv.talker or "?"
        s.gsv_count += len(gsv.satellites)
        if gsv.part == gsv.parts:
            s.satellites_seen = s.gsv_count

    def _zda(self, zda: nmea.ZDA, update: _Update) -> None:
        if zda.time is None or not _valid_zda_date(zda):
            return
        assert zda.year is not None and zda.month is not None and zda.day is not None
        clock = self._s.clock
        clock.set_time(zda.time)
        clock.year, clock.month, clock.day = zda.year, zda.month, zda.day
        # Unlike gpsd, a ZDA with a new time starts the cycle: receivers that send ZDA
        # first would otherwise stamp the end of the previous cycle with the next time.
        self._s.this_frac = float(zda.time.text)
        update.time = True

    # ------------------------------------------------------------------ merging

    def _keep_3d(self, update: _Update) -> None:
        """Do not downgrade a 3D fix because a sentence (RMC, GLL) cannot say 3D."""
        s = self._s
        had_altitude = s.lastfix.alt_msl is not None or s.oldfix.alt_msl is not None
        if update.mode and s.fix.mode == _3D and update.fix.mode != _NO_FIX and had_altitude:
            update.fix.mode = _3D

    def _clear_cycle(self, update: _Update) -> None:
        s = self._s
        s.fix = _FixState()
        if not update.dop:
            s.hdop = s.vdop = s.pdop = None
        s.cycle_keys = []
        s.cycle_emitted = False

    def _merge(self, update: _Update) -> None:
        fix, new = self._s.fix, update.fix
        if update.time:
            fix.time = new.time
        if update.latlon:
            fix.lat, fix.lon = new.lat, new.lon
        if update.mode:
            fix.mode = new.mode
        if update.altitude and new.alt_msl is not None:
            fix.alt_msl = new.alt_msl
        if update.track:
            fix.track = new.track
        if update.speed:
            fix.speed, fix.speed_derived = new.speed, False
        if new.geoid_sep is not None:
            fix.geoid_sep = new.geoid_sep

    def _error_model(self) -> None:
        """gpsd_error_model, the part that matters here: derived speed, last/old fix."""
        s = self._s
        fix = s.fix
        elapsed = -1.0
        if fix.time > 0:
            elapsed = (fix.time - s.lastfix.time) / 1e9
            if abs(elapsed) > 0.0099:
                s.oldfix = s.lastfix.copy()  # time moved on: last becomes old
            else:
                elapsed = (fix.time - s.oldfix.time) / 1e9
        if fix.speed is not None and fix.speed > 9999.9:
            fix.speed = None
        moving_fix = fix.mode >= _2D and s.oldfix.mode >= _2D
        if elapsed > 0 and moving_fix and fix.speed is None:
            fix.speed = self._derived_speed(elapsed)
            fix.speed_derived = fix.speed is not None
        if fix.time > 0:
            s.lastfix = fix.copy()

    def _derived_speed(self, elapsed: float) -> float | None:
        fix, old = self._s.fix, self._s.oldfix
        if None in (fix.lat, fix.lon, old.lat, old.lon):
            return None
        assert fix.lat is not None and fix.lon is not None
        assert old.lat is not None and old.lon is not None
        speed = distance_m(fix.lat, fix.lon, old.lat, old.lon) / elapsed
        return speed if math.isfinite(speed) and speed <= 9999.9 else None

    # ------------------------------------------------------------------ emitting

    def _learn_ender(self) -> None:
        """Learn which sentence closes this receiver's cycles: the last one of a cycle,
        once two cycles in a row agree (one odd cycle must not make us emit early)."""
        s = self._s
        if not s.cycle_keys:
            return
        last = s.cycle_keys[-1]
        candidate = (last, s.cycle_keys.count(last))
        s.ender = candidate if candidate == s.ender_candidate else None
        s.ender_candidate = candidate

    def _emit(self) -> list[Fix]:
        s = self._s
        if s.cycle_emitted or not s.cycle_keys:
            return []
        s.cycle_emitted = True
        fix = self._to_fix()
        if fix is None:
            self.stats.cycles_without_time += 1
            return []
        self.stats.fixes += 1
        return [fix]

    def _to_fix(self) -> Fix | None:
        s, state = self._s, self._s.fix
        if state.time <= 0:
            return None
        mode = FixMode(max(state.mode, _NO_FIX))
        positioned = mode >= FixMode.TWO_D and state.lat is not None and state.lon is not None
        gst = s.gst if s.gst is not None and _same_second(s.gst.time, state.time) else None
        return Fix(
            time=datetime.fromtimestamp(state.time // 10**9, UTC)
            + timedelta(microseconds=state.time % 10**9 // 1000),
            mode=mode if positioned else FixMode.NO_FIX,
            lat=state.lat if positioned else None,
            lon=state.lon if positioned else None,
            alt_m=state.alt_msl if positioned else None,
            geoid_separation_m=state.geoid_sep if positioned else None,
            speed_mps=state.speed if positioned else None,
            speed_derived=state.speed_derived if positioned else False,
            course_deg=state.track % 360.0 if positioned and state.track is not None else None,
            hdop=s.hdop,
            vdop=s.vdop,
            pdop=s.pdop,
            lat_err_m=gst.lat_err_m if gst else None,
            lon_err_m=gst.lon_err_m if gst else None,
            alt_err_m=gst.alt_err_m if gst else None,
            ellipse_major_m=gst.major_m if gst else None,
            ellipse_minor_m=gst.minor_m if gst else None,
            ellipse_orientation_deg=gst.orientation_deg if gst else None,
            satellites_used=len(s.satellites_used) if s.satellites_used else None,
            satellites_seen=s.satellites_seen,
        )


def _full_year(yy: int) -> int:
    """RMC's two-digit year: GPS began in 1980, so 80-99 are the 1900s."""
    return 1900 + yy if yy >= 80 else 2000 + yy


def _same_second(t: nmea.TimeOfDay | None, epoch_ns: int) -> bool:
    """GST refers to the GGA of the same time of day."""
    if t is None:
        return False
    of_day = epoch_ns % (86400 * 10**9) / 1e9
    return abs(of_day - t.seconds()) < _SAME_TIME_S


def _registered_time(typed: nmea.Decoded | None) -> nmea.TimeOfDay | None:
    """The time of day a sentence registers for cycle detection (gpsd's fractional time)."""
    match typed:
        case nmea.GGA() | nmea.GLL() | nmea.GNS():
            return typed.time
        case nmea.RMC() if typed.date is not None:
            # a warning RMC's time may be bogus (MTK, Royaltek), so it does not date the
            # fix; it still marks a new cycle, or a lost fix would spoil the last good one
            return typed.time
        case nmea.ZDA() if _valid_zda_date(typed):
            return typed.time
    return None


def _valid_zda_date(zda: nmea.ZDA) -> bool:
    if zda.day is None or zda.month is None or zda.year is None:
        return False
    return 1900 <= zda.year <= 2200 and nmea.is_calendar_date(zda.year, zda.month, zda.day)
