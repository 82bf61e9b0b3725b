"""Main loop of the e-seal tag (MicroPython).

The tag sleeps most of the time; it wakes to check the loop, the case and the
battery, beacons a signed status frame on every change (and every BEACON_S),
and answers reader frames from its radio. On the radio, each air frame is
preceded by SYNC and a length byte; the radio module adds its own CRC.

On the board, `main.py` at the flash root does:

    from firmware.eseal_tag.main import run
    from firmware.eseal_tag.hal_micropython import BoardHal
    run(BoardHal())
"""

from firmware.eseal_tag.tag import EsealTag

SYNC = b"\x7e\x7e"
BEACON_S = 60
WAKE_MS = 200


class RadioFramer:
    """Cuts the radio byte stream into air frames: SYNC, length, payload."""

    def __init__(self):
        self._buf = b""

    def feed(self, data):
        self._buf += data
        frames = []
        while True:
            start = self._buf.find(SYNC)
            if start < 0:
                self._buf = self._buf[-1:]  # keep a possible half SYNC
                return frames
            if len(self._buf) < start + 3:
                self._buf = self._buf[start:]
                return frames
            length = self._buf[start + 2]
            end = start + 3 + length
            if len(self._buf) < end:
                self._buf = self._buf[start:]
                return frames
            frames.append(self._buf[start + 3 : end])
            self._buf = self._buf[end:]


def radio_frame(payload):
    return SYNC + bytes((len(payload),)) + payload


class TagLoop:
    """The tag's main loop, one pass at a time (so it runs under tests too)."""

    def __init__(self, hal):
        self.hal = hal
        self.tag = EsealTag(hal)
        self.framer = RadioFramer()
        self._last_beacon = hal.utc_s()

    def step(self):
        hal = self.hal
        for frame in self.framer.feed(hal.radio_read() or b""):
            reply = self.tag.handle(frame)
            if reply:
                hal.radio_write(radio_frame(reply))
        beacon = self.tag.tick()
        if beacon is None and hal.utc_s() - self._last_beacon >= BEACON_S:
            beacon = self.tag.status_frame()
        if beacon:
            self._last_beacon = hal.utc_s()
            hal.radio_write(radio_frame(beacon))


def run(hal):
    loop = TagLoop(hal)
    while True:
        loop.step()
        hal.sleep_ms(WAKE_MS)
