"""Device availability: logged once when a device drops out and once when it returns."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("edge.health")


class DeviceHealth:
    def __init__(self, name: str) -> None:
        self.name = name
        self.available: bool | None = None  # unknown until first contact
        self.last_error = ""
        self.changed_at = time.time()
        self.dropouts = 0

    def up(self) -> None:
        if self.available is not True:
            if self.available is False:
                log.info("%s is back after %.0f s", self.name, time.time() - self.changed_at)
            self.available, self.changed_at = True, time.time()

    def down(self, reason: str) -> None:
        self.last_error = reason
        if self.available is not False:
            log.warning("%s dropped out: %s", self.name, reason)
            self.available, self.changed_at = False, time.time()
            self.dropouts += 1
