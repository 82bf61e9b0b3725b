"""Board HAL for the e-seal tag (MicroPython).

The shackle is a wire loop between two pins (one driven low, one pulled up: a
cut loop reads high); the case has a switch; the battery is read through a
divider on an ADC; the radio is a transparent UART module. The seal id and the
per-tag key are written to `identity.bin` at provisioning.
"""

import os
import time

import machine

PINS = {"loop_out": 2, "loop_in": 3, "case": 4, "battery_adc": 26, "radio_tx": 8, "radio_rx": 9}
RADIO_UART = 1
BATTERY_DIVIDER = 2  # the ADC sees half the battery voltage
ADC_REF_MV = 3300
EPOCH_2000 = 946684800  # seconds from 1970 to 2000, where embedded ports count from
LOG_FILE = "seal.log"


class BoardHal:
    def __init__(self):
        machine.Pin(PINS["loop_out"], machine.Pin.OUT, value=0)
        self._loop = machine.Pin(PINS["loop_in"], machine.Pin.IN, machine.Pin.PULL_UP)
        self._case = machine.Pin(PINS["case"], machine.Pin.IN, machine.Pin.PULL_UP)
        self._adc = machine.ADC(PINS["battery_adc"])
        self._radio = machine.UART(
            RADIO_UART,
            baudrate=9600,
            tx=machine.Pin(PINS["radio_tx"]),
            rx=machine.Pin(PINS["radio_rx"]),
            timeout=0,
        )
        self._rtc = machine.RTC()
        self._epoch_offset = EPOCH_2000 if time.gmtime(0)[0] == 2000 else 0

    def identity(self):
        with open("identity.bin", "rb") as f:
            data = f.read()
        id_len = data[0]
        return data[1 : 1 + id_len].decode(), data[1 + id_len : 1 + id_len + 32]

    def utc_s(self):
        return time.time() + self._epoch_offset

    def set_utc(self, utc_s):
        t = time.gmtime(utc_s - self._epoch_offset)
        self._rtc.datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))

    def shackle_closed(self):
        return self._loop.value() == 0

    def case_closed(self):
        return self._case.value() == 0

    def battery_mv(self):
        return self._adc.read_u16() * ADC_REF_MV * BATTERY_DIVIDER // 65535

    def sleep_ms(self, ms):
        time.sleep_ms(ms)

    def radio_read(self):
        if self._radio.any():
            return self._radio.read()
        return None

    def radio_write(self, data):
        self._radio.write(data)

    def load(self, name):
        try:
            with open(name + ".bin", "rb") as f:
                return f.read()
        except OSError:
            return None

    def save(self, name, data):
        # Write then rename: a power cut mid-write leaves the old file intact.
        with open(name + ".tmp", "wb") as f:
            f.write(data)
        os.rename(name + ".tmp", name + ".bin")

    def log_load(self):
        records = []
        try:
            with open(LOG_FILE, "rb") as f:
                data = f.read()
        except OSError:
            return records
        pos = 0
        while pos < len(data):
            size = data[pos]
            if pos + 1 + size > len(data):
                break  # a record torn by a power cut: the chain ends before it
            records.append(data[pos + 1 : pos + 1 + size])
            pos += 1 + size
        return records

    def log_append(self, record):
        with open(LOG_FILE, "ab") as f:
            f.write(bytes((len(record),)) + record)
