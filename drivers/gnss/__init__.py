"""GNSS input: NMEA 0183 from a serial receiver, or fixes from gpsd.

Protocol code only (no MQTT, no application config)::

    async with NmeaSerialReceiver("/dev/ttyUSB0", 9600) as rx:
        async for fix in rx.fixes():
            ...

    async with GpsdClient("127.0.0.1", 2947) as gpsd:
        async for fix in gpsd.fixes():
            ...
"""

from drivers.gnss.decoder import DecoderStats, NmeaDecoder
from drivers.gnss.errors import (
    GnssError,
    GpsdError,
    ReceiverError,
    RejectReason,
    SentenceRejected,
)
from drivers.gnss.fix import Fix, FixMode
from drivers.gnss.gpsd import GpsdClient, GpsdStats, tpv_to_fix
from drivers.gnss.receiver import NmeaSerialReceiver

__all__ = [
    "DecoderStats",
    "Fix",
    "FixMode",
    "GnssError",
    "GpsdClient",
    "GpsdError",
    "GpsdStats",
    "NmeaDecoder",
    "NmeaSerialReceiver",
    "ReceiverError",
    "RejectReason",
    "SentenceRejected",
    "tpv_to_fix",
]
