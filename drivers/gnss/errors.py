"""One exception root for the GNSS driver package."""

from __future__ import annotations

from enum import StrEnum


class GnssError(Exception):
    """Anything the GNSS drivers raise."""


class RejectReason(StrEnum):
    """Why an input line was not accepted as an NMEA sentence."""

    GARBAGE = "garbage"  # not a sentence: no '$', binary noise, non-printable bytes
    NOISE = "noise"  # junk before a sentence's '$' on the same line (the sentence is kept)
    TOO_LONG = "too_long"  # longer than any real receiver sends (merged or run-on lines)
    NO_CHECKSUM = "no_checksum"  # no '*hh' trailer: usually a truncated line
    BAD_CHECKSUM = "bad_checksum"  # trailer is not two hex digits, or does not match
    TRUNCATED = "truncated"  # valid checksum but fewer fields than the sentence type has
    BAD_FIELD = "bad_field"  # a field that cannot be what the sentence type says it is


class SentenceRejected(GnssError):
    """An input line that is not a usable NMEA sentence; `reason` says why."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class ReceiverError(GnssError):
    """The receiver (serial port) cannot be opened or stopped answering."""


class GpsdError(GnssError):
    """gpsd cannot be reached, or spoke something that is not its JSON protocol."""
