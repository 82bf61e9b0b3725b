"""A simulated ANPR camera feed: a TCP server pushing JSON-line reads (drivers.anpr).

Until recognition runs on the gate box itself, a lane's camera reads come from
here (or from a real ANPR unit speaking the same feed). Faults: garbage lines,
reads with misread characters, dropped connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import UTC, datetime

log = logging.getLogger(__name__)

CONFUSIONS = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "2": "Z"}


class AnprCameraSim:
    """Use as `async with AnprCameraSim(port=...) as cam: cam.present(plate=...)`."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, camera: str = "front", seed: int = 0
    ) -> None:
        self.host, self.port, self.camera = host, port, camera
        self.garbage_rate = 0.0
        self.misread_rate = 0.0
        self._rng = random.Random(seed)
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ANPR camera simulator %s on %s:%d", self.camera, self.host, self.port)

    async def stop(self) -> None:
        self.drop_connections()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AnprCameraSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        # The feed is one-way: wait for the client to go (or for the server to stop).
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await reader.read()
        self._clients.discard(writer)

    @property
    def connected(self) -> int:
        return len(self._clients)

    def drop_connections(self) -> None:
        for writer in list(self._clients):
            writer.close()
        self._clients.clear()

    def _misread(self, text: str) -> str:
        if not self.misread_rate or self._rng.random() >= self.misread_rate:
            return text
        i = self._rng.randrange(len(text))
        return text[:i] + CONFUSIONS.get(text[i], text[i]) + text[i + 1 :]

    def _send(self, payload: dict[str, object]) -> None:
        line = json.dumps(payload).encode() + b"\n"
        if self.garbage_rate and self._rng.random() < self.garbage_rate:
            line = b"{not json\n" + line
        for writer in list(self._clients):
            if writer.is_closing():
                self._clients.discard(writer)
                continue
            writer.write(line)

    def present(
        self,
        *,
        plate: str | None = None,
        containers: list[str] | None = None,
        confidence: float = 0.92,
        frames: int = 3,
        region: str = "EU",
        size_types: dict[str, str] | None = None,
    ) -> None:
        """A vehicle in view: `frames` reads of its plate and container codes."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for _ in range(frames):
            conf = max(0.0, min(1.0, confidence + self._rng.uniform(-0.05, 0.05)))
            if plate:
                self._send(
                    {
                        "kind": "plate",
                        "text": self._misread(plate),
                        "confidence": conf,
                        "camera": self.camera,
                        "at": at,
                        "region": region,
                    }
                )
            for code in containers or []:
                self._send(
                    {
                        "kind": "container",
                        "text": code,
                        "confidence": conf,
                        "camera": self.camera,
                        "at": at,
                        "size_type": (size_types or {}).get(code, "22G1"),
                    }
                )
