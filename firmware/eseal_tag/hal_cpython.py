"""CPython HAL for the e-seal tag: a seal on a container that tests can cut and open."""

from __future__ import annotations

import time


class SimulatedTagHardware:
    """The tag's hardware; its flash (log, saved records) lives as long as this object."""

    def __init__(self, seal_id: str, key: bytes, *, battery_mv: int = 2950) -> None:
        self.seal_id = seal_id
        self.key = key
        self.shackle = True  # the loop through the container doors is intact
        self.case = True
        self.battery = battery_mv
        self.flash: dict[str, bytes] = {}
        self.log: list[bytes] = []
        self.clock_offset_s = 0.0
        self.radio_in = bytearray()  # what the reader's radio sent to the tag
        self.radio_out: list[bytes] = []  # what the tag transmitted

    # -- what a field test does to a seal
    def cut_shackle(self) -> None:
        self.shackle = False

    def rejoin_shackle(self) -> None:
        self.shackle = True

    def open_case(self) -> None:
        self.case = False

    # -- the HAL
    def identity(self) -> tuple[str, bytes]:
        return self.seal_id, self.key

    def utc_s(self) -> int:
        return int(time.time() + self.clock_offset_s)

    def set_utc(self, utc_s: int) -> None:
        self.clock_offset_s = utc_s - time.time()

    def shackle_closed(self) -> bool:
        return self.shackle

    def case_closed(self) -> bool:
        return self.case

    def battery_mv(self) -> int:
        return self.battery

    def load(self, name: str) -> bytes | None:
        return self.flash.get(name)

    def save(self, name: str, data: bytes) -> None:
        self.flash[name] = bytes(data)

    def log_load(self) -> list[bytes]:
        return list(self.log)

    def log_append(self, record: bytes) -> None:
        self.log.append(bytes(record))

    def radio_read(self) -> bytes | None:
        data, self.radio_in = bytes(self.radio_in), bytearray()
        return data or None

    def radio_write(self, data: bytes) -> None:
        self.radio_out.append(bytes(data))

    def sleep_ms(self, ms: int) -> None:
        time.sleep(ms / 1000)
