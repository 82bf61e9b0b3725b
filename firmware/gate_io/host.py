"""Run the gate I/O controller firmware under CPython on a serial port (a pty).

    with GateIoHost("/tmp/gate-io") as host:  # or GateIoHost() for a pty of its own
        host.hardware.arrival = True       # a truck on the arrival loop
        host.stall(1.0)                    # hang the main loop: the watchdog resets

The firmware loop runs in one thread; a second thread plays the hardware
watchdog: when the loop stops feeding it, the relay drops at once (as the real
reset does) and the firmware boots again with a watchdog reset cause.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from firmware.gate_io.hal_cpython import SimulatedGateHardware
from firmware.gate_io.main import LOOP_PERIOD_MS, UNIT_ID, GateIo


class GateIoHost:
    def __init__(
        self,
        serial_port: str | None = None,
        *,
        travel_s: float = 0.3,
        wdt_timeout_ms: int = 500,
        unit_id: int = UNIT_ID,
    ) -> None:
        self.hardware = SimulatedGateHardware(
            serial_port, travel_s=travel_s, wdt_timeout_ms=wdt_timeout_ms
        )
        self.unit_id = unit_id
        self.gate = GateIo(self.hardware, unit_id)
        self.resets = 0
        self._stall_s = 0.0
        self._reset_pending = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> str:
        """The serial device a driver opens (the pty given, or the one we made)."""
        return self.hardware.port

    def __enter__(self) -> GateIoHost:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        for target, name in ((self._main_loop, "gate-io-main"), (self._watchdog, "gate-io-wdt")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.hardware.close()

    def stall(self, seconds: float) -> None:
        """Hang the firmware's main loop for `seconds` (a bug, a blocked bus)."""
        self._stall_s = seconds

    def _main_loop(self) -> None:
        while not self._stop.is_set():
            if self._stall_s:
                time.sleep(self._stall_s)
                self._stall_s = 0.0
            if self._reset_pending.is_set():
                self._boot_after_watchdog()
            self.gate.step()
            time.sleep(LOOP_PERIOD_MS / 1000)

    def _watchdog(self) -> None:
        while not self._stop.wait(0.02):
            if not self._reset_pending.is_set() and self.hardware.watchdog_expired():
                self.hardware.set_barrier_relay(False)  # a reset releases the relay pin
                self._reset_pending.set()

    def _boot_after_watchdog(self) -> None:
        self.resets += 1
        self.hardware.watchdog_reset = True
        self.hardware.wdt_feed()
        self.gate = GateIo(self.hardware, self.unit_id)
        self._reset_pending.clear()
