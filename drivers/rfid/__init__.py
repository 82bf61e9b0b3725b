"""UHF RFID reader on a serial port (R2000-style binary framing).

async with RfidReader(RfidSettings(port="/dev/ttyUSB0")) as reader:
    async for tag in reader.readings():
        print(tag.epc, tag.antenna, tag.rssi_dbm)
"""

from drivers.rfid.protocol import Frame, FrameDecoder, FrameError, TagRead
from drivers.rfid.reader import RfidError, RfidLinkError, RfidReader, RfidSettings

__all__ = [
    "Frame",
    "FrameDecoder",
    "FrameError",
    "RfidError",
    "RfidLinkError",
    "RfidReader",
    "RfidSettings",
    "TagRead",
]
