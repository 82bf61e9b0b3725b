"""CPython HAL for the gate I/O controller: a serial port and a simulated lane.

The controller logic cannot tell this from the board: loop contacts, limit
switches driven by a barrier arm that moves while the relay is energised (and
falls closed when it is not), a motor driver fault line, a mains-ok line, a
watchdog, and MicroPython's wrapping millisecond ticks.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from typing import Protocol

import serial

TICKS_PERIOD = 1 << 30  # MicroPython's ticks_ms wraps here
TICKS_HALF = TICKS_PERIOD // 2


def ticks_diff(a: int, b: int) -> int:
    """MicroPython's time.ticks_diff: signed difference of two wrapping tick values."""
    return ((a - b + TICKS_HALF) % TICKS_PERIOD) - TICKS_HALF


class BarrierArm:
    """The barrier drive: opens while the relay is energised, closes when released."""

    def __init__(self, travel_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.travel_s = travel_s
        self._clock = clock
        self.jammed = False  # motor fault: the arm stops where it is
        self._position = 0.0  # 0 closed .. 1 open
        self._energised = False
        self._since = clock()
        self._lock = threading.Lock()

    def position(self) -> float:
        with self._lock:
            self._integrate()
            return self._position

    def drive(self, energised: bool) -> None:
        with self._lock:
            self._integrate()
            self._energised = energised

    def _integrate(self) -> None:
        now = self._clock()
        step = (now - self._since) / self.travel_s
        self._since = now
        if self.jammed:
            return
        direction = 1.0 if self._energised else -1.0
        self._position = min(1.0, max(0.0, self._position + direction * step))


class SerialLine(Protocol):
    def read(self, size: int) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def close(self) -> None: ...


class OwnPty:
    """A pseudo-terminal of our own: we hold the master, a driver opens `port`."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)

    def read(self, size: int) -> bytes:
        try:
            return os.read(self._master, size)
        except (BlockingIOError, OSError):
            return b""  # nothing waiting, or the other side is not open (EIO)

    def write(self, data: bytes) -> int | None:
        # Only into free buffer space: a driver that stops reading (or is closing its end)
        # must cost it bytes, as a UART overrun does, never hang the firmware loop.
        _, writable, _ = select.select([], [self._master], [], 0)
        if not writable:
            return None
        try:
            return os.write(self._master, data)
        except OSError:
            return None

    def close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def open_line(serial_port: str | None) -> tuple[SerialLine, str]:
    """The serial line at `serial_port` (one end of a socat pair), or a new pty."""
    if serial_port is None:
        own = OwnPty()
        return own, own.port
    return serial.Serial(serial_port, baudrate=19200, timeout=0), serial_port


class SimulatedGateHardware:
    """The HAL the controller runs on under CPython (see hal_micropython.BoardHal)."""

    def __init__(
        self,
        serial_port: str | None = None,
        *,
        travel_s: float = 0.3,
        wdt_timeout_ms: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (seconds) drives ticks, the arm and the watchdog; tests pass a manual one."""
        self.line, self.port = open_line(serial_port)
        self.clock = clock
        self.arm = BarrierArm(travel_s, clock)
        self.arrival = False
        self.safety = False
        self.overcurrent = False
        self.mains = True
        self.relay = False
        self.wdt_timeout_ms = wdt_timeout_ms
        self.watchdog_reset = False  # reset cause seen by the next boot
        self.flash_settings: tuple[int, int] | None = None  # survives resets, like flash
        self._last_feed = clock()
        # Start near the wrap so every run exercises ticks_diff across it.
        self._ticks_offset = TICKS_PERIOD - 5000 - int(clock() * 1000) % TICKS_PERIOD

    def close(self) -> None:
        self.line.close()

    # -- time
    def ticks_ms(self) -> int:
        return (int(self.clock() * 1000) + self._ticks_offset) % TICKS_PERIOD

    def ticks_diff(self, a: int, b: int) -> int:
        return ticks_diff(a, b)

    def sleep_ms(self, ms: int) -> None:
        time.sleep(ms / 1000)

    # -- serial line
    def uart_read(self) -> bytes | None:
        return self.line.read(512) or None

    def uart_write(self, frame: bytes) -> None:
        self.line.write(frame)

    # -- inputs
    def loop_arrival(self) -> bool:
        return self.arrival

    def loop_safety(self) -> bool:
        return self.safety

    def limit_open(self) -> bool:
        return self.arm.position() >= 1.0

    def limit_closed(self) -> bool:
        return self.arm.position() <= 0.0

    def motor_overcurrent(self) -> bool:
        return self.overcurrent

    def mains_ok(self) -> bool:
        return self.mains

    # -- outputs
    def set_barrier_relay(self, energised: bool) -> None:
        self.relay = energised
        self.arm.drive(energised)

    # -- watchdog
    def wdt_feed(self) -> None:
        self._last_feed = self.clock()

    def watchdog_expired(self) -> bool:
        return (self.clock() - self._last_feed) * 1000 > self.wdt_timeout_ms

    def reset_by_watchdog(self) -> bool:
        return self.watchdog_reset

    # -- flash
    def load_settings(self) -> tuple[int, int] | None:
        return self.flash_settings

    def save_settings(self, motion_time_ms: int, hold_open_ms: int) -> None:
        self.flash_settings = (motion_time_ms, hold_open_ms)
