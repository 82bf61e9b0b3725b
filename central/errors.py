"""One exception root for central."""


class CentralError(Exception):
    """Anything central refuses or cannot do."""


class ConfigError(CentralError):
    """The settings or the site file are invalid."""


class RejectedMessage(CentralError):
    """An MQTT payload that breaks the contract; it is counted, logged and stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LedgerError(CentralError):
    """The ledger could not be appended to."""
