"""One exception root for the e-seal driver."""


class EsealError(Exception):
    """Root of the e-seal driver's errors."""


class EsealLinkError(EsealError):
    """The serial link to the reader is broken: it cannot be opened, or it closed."""


class EsealTimeout(EsealLinkError):
    """The reader did not answer a request in time."""


class FrameError(EsealError):
    """Bytes that are not a valid frame (serial link or tag air frame)."""


class SignatureError(FrameError):
    """A tag frame whose MAC does not verify under the seal's key."""
