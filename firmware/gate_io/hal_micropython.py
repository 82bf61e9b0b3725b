"""Board HAL for the gate I/O controller (MicroPython: machine.Pin, UART, WDT).

Pin numbers are for an RP2040 board with an RS-485 transceiver; change PINS for
another board. Loop detector and limit switch contacts are dry contacts to
ground (inputs pulled up, active low); the barrier relay output is active high
and its driver has a pull-down, so a reset or a brown-out leaves it released.
"""

import struct
import time

import machine

PINS = {
    "uart_tx": 4,
    "uart_rx": 5,
    "rs485_de": 6,  # transceiver driver enable: high while sending
    "loop_arrival": 10,
    "loop_safety": 11,
    "limit_open": 12,
    "limit_closed": 13,
    "motor_overcurrent": 14,  # from the motor driver's fault output, active low
    "mains_ok": 15,  # from the UPS / power-fail comparator, high while on mains
    "barrier_relay": 16,
}
UART_ID = 1
BAUDRATE = 19200
WDT_TIMEOUT_MS = 2000
SETTINGS_FILE = "gate_io.cfg"


class BoardHal:
    def __init__(self):
        # The relay first: whatever happened before this reset, the barrier closes.
        self._relay = machine.Pin(PINS["barrier_relay"], machine.Pin.OUT, value=0)
        self._watchdog_reset = machine.reset_cause() == machine.WDT_RESET
        self._de = machine.Pin(PINS["rs485_de"], machine.Pin.OUT, value=0)
        pull_up = machine.Pin.PULL_UP
        self._in = {}
        for name in ("loop_arrival", "loop_safety", "limit_open", "limit_closed"):
            self._in[name] = machine.Pin(PINS[name], machine.Pin.IN, pull_up)
        self._overcurrent = machine.Pin(PINS["motor_overcurrent"], machine.Pin.IN, pull_up)
        self._mains = machine.Pin(PINS["mains_ok"], machine.Pin.IN)
        self._uart = machine.UART(
            UART_ID,
            baudrate=BAUDRATE,
            tx=machine.Pin(PINS["uart_tx"]),
            rx=machine.Pin(PINS["uart_rx"]),
            timeout=0,
        )
        self._wdt = machine.WDT(timeout=WDT_TIMEOUT_MS)

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def sleep_ms(self, ms):
        time.sleep_ms(ms)

    def uart_read(self):
        if self._uart.any():
            return self._uart.read()
        return None

    def uart_write(self, frame):
        self._de.value(1)
        self._uart.write(frame)
        self._uart.flush()  # wait for the last stop bit before releasing the bus
        self._de.value(0)

    def loop_arrival(self):
        return self._in["loop_arrival"].value() == 0

    def loop_safety(self):
        return self._in["loop_safety"].value() == 0

    def limit_open(self):
        return self._in["limit_open"].value() == 0

    def limit_closed(self):
        return self._in["limit_closed"].value() == 0

    def motor_overcurrent(self):
        return self._overcurrent.value() == 0

    def mains_ok(self):
        return self._mains.value() == 1

    def set_barrier_relay(self, energised):
        self._relay.value(1 if energised else 0)

    def wdt_feed(self):
        self._wdt.feed()

    def reset_by_watchdog(self):
        return self._watchdog_reset

    def load_settings(self):
        try:
            with open(SETTINGS_FILE, "rb") as f:
                return struct.unpack(">HH", f.read(4))
        except (OSError, ValueError):
            return None  # never commissioned, or a torn write: use the defaults

    def save_settings(self, motion_time_ms, hold_open_ms):
        with open(SETTINGS_FILE, "wb") as f:
            f.write(struct.pack(">HH", motion_time_ms, hold_open_ms))
