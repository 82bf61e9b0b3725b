"""One exception root for the scanner driver."""


class ScannerError(Exception):
    """Root of the NII scanner driver's errors."""


class ScannerLinkError(ScannerError):
    """The TCP link to the scanner cannot be opened or was lost."""


class ScannerTimeout(ScannerLinkError):
    """The scanner did not answer, or its heartbeat stopped."""


class LineError(ScannerError):
    """A line that is not valid NII-1 (framing, checksum, field)."""
