"""E-seal reader adapter: the signed status of every seal in the lane, as seal observations.

The driver (`drivers.eseal`) verifies each tag's own HMAC with that seal's key. The
keys come from an issuer key file (each seal's key derived from it and the seal id,
as the issuer did at provisioning) and/or a file of per-seal keys. Only **verified**
statuses reach the passage: a seal whose key the box does not hold could be anything
(a tag from another issuer, or a forgery claiming a declared number), so its reading
is dropped, counted in `stats.unverified` and logged once per seal. Central then finds
the declared seal missing and holds (`seal_mismatch`): fail secure. A frame that does
not verify under the key held is dropped by the driver (`bad_signatures`).

On a trip the adapter polls the field at once, so the passage carries the seals'
state as of the truck's arrival, not of the last periodic poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, model_validator

from contract import SealReading
from drivers.eseal import (
    EsealError,
    EsealReader,
    EsealSettings,
    SealStatusReading,
    derive_tag_key,
)
from drivers.probe import ProbeResult
from edge.adapters.base import Adapter, AdapterConfig, ObservationSink, Trip
from edge.observations import SealObservation

log = logging.getLogger(__name__)

KEY_BYTES = 32


class EsealKeyError(Exception):
    """A key file is missing, unreadable or malformed."""


class EsealConfig(AdapterConfig):
    type: Literal["eseal"] = "eseal"
    port: str = Field(description="serial device of the e-seal reader (ESR-1)")
    baudrate: int = Field(default=115200, description="baud rate")
    timeout_s: float = Field(default=1.0, gt=0, description="longest wait for one answer")
    poll_interval_s: float | None = Field(
        default=2.0, gt=0, description="inventory + status poll period; null: pushed reports only"
    )
    issuer_key_file: Path | None = Field(
        default=None,
        description="the seal issuer's key (the file's bytes, surrounding whitespace ignored); "
        "each seal's key is derived from it and the seal id",
    )
    seal_keys_file: Path | None = Field(
        default=None,
        description="per-seal keys, YAML `seal_id: 64 hex digits`; used before the issuer key",
    )
    rssi_floor_dbm: float = Field(
        default=-80.0, description="weaker seals are in the next lane: ignored"
    )

    @model_validator(mode="after")
    def _some_keys(self) -> EsealConfig:
        if self.issuer_key_file is None and self.seal_keys_file is None:
            raise ValueError("an e-seal reader needs issuer_key_file or seal_keys_file")
        return self


class SealKeyring(Mapping[str, bytes]):
    """Seal id -> tag key, for the driver. Derives on demand from the issuer key; never
    prints a key (repr shows only how many are held)."""

    def __init__(self, issuer_key: bytes | None, seal_keys: Mapping[str, bytes]) -> None:
        self._issuer = issuer_key
        self._keys = dict(seal_keys)

    def __getitem__(self, seal_id: str) -> bytes:
        key = self._keys.get(seal_id)
        if key is not None:
            return key
        if self._issuer is None:
            raise KeyError(seal_id)
        return derive_tag_key(self._issuer, seal_id)

    def __contains__(self, seal_id: object) -> bool:
        return isinstance(seal_id, str) and (self._issuer is not None or seal_id in self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)  # derived keys are open-ended: only the listed ones

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        issuer = "an issuer key" if self._issuer is not None else "no issuer key"
        return f"SealKeyring({issuer}, {len(self._keys)} seal key(s))"

    def describe(self) -> str:
        parts = []
        if self._issuer is not None:
            parts.append("issuer key")
        if self._keys:
            parts.append(f"{len(self._keys)} seal key(s)")
        return " + ".join(parts)


def load_keyring(config: EsealConfig) -> SealKeyring:
    """Read the key files named in the config; errors name the file, never its content."""
    issuer = None
    if config.issuer_key_file is not None:
        try:
            issuer = config.issuer_key_file.read_bytes().strip()
        except OSError as err:
            raise EsealKeyError(f"cannot read issuer key {config.issuer_key_file}: {err}") from err
        if len(issuer) < 16:
            raise EsealKeyError(f"issuer key {config.issuer_key_file} is shorter than 16 bytes")
    keys: dict[str, bytes] = {}
    if config.seal_keys_file is not None:
        path = config.seal_keys_file
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise EsealKeyError(f"cannot read seal keys {path}: {type(err).__name__}") from err
        if not isinstance(raw, dict):
            raise EsealKeyError(f"seal keys {path}: expected a mapping seal_id -> hex key")
        for seal_id, value in raw.items():
            try:
                key = bytes.fromhex(str(value))
            except ValueError:
                key = b""
            if len(key) != KEY_BYTES:
                raise EsealKeyError(
                    f"seal keys {path}: the key of {seal_id} is not {KEY_BYTES * 2} hex digits"
                )
            keys[str(seal_id)] = key
    return SealKeyring(issuer, keys)


@dataclass
class EsealAdapterStats:
    reported: int = 0
    unverified: int = 0
    too_weak: int = 0
    trip_polls: int = 0


class EsealAdapter(Adapter):
    config: EsealConfig

    def __init__(self, config: EsealConfig, sink: ObservationSink) -> None:
        super().__init__(config, sink)
        self.stats = EsealAdapterStats()
        self._reader: EsealReader | None = None
        self._keys: SealKeyring | None = None
        self._unverified_seen: set[str] = set()

    def _settings(self) -> EsealSettings:
        c = self.config
        return EsealSettings(
            port=c.port,
            baudrate=c.baudrate,
            timeout_s=c.timeout_s,
            poll_interval_s=c.poll_interval_s,
        )

    def keyring(self) -> SealKeyring:
        if self._keys is None:
            self._keys = load_keyring(self.config)
        return self._keys

    def _take(self, status: SealStatusReading) -> None:
        if status.rssi_dbm is not None and status.rssi_dbm < self.config.rssi_floor_dbm:
            self.stats.too_weak += 1
            return
        if not status.verified:
            self.stats.unverified += 1
            if status.seal_id not in self._unverified_seen:
                if len(self._unverified_seen) < 1000:  # bounded: seal ids come off the air
                    self._unverified_seen.add(status.seal_id)
                log.warning(
                    "%s: seal %s reports %s but this box holds no key for it: not reported "
                    "(a declared seal read only this way is missing to central)",
                    self.name,
                    status.seal_id,
                    status.state,
                )
            return
        self.stats.reported += 1
        self.sink(
            SealObservation(
                reading=SealReading(
                    seal_id=status.seal_id,
                    state=status.state,
                    battery_pct=status.battery_pct,
                    source=self.name,
                ),
                at=status.at,
            )
        )

    async def session(self) -> None:
        async with EsealReader(self._settings(), keys=self.keyring()) as reader:
            self._reader = reader
            try:
                self.health.up()
                async for status in reader.readings():
                    self._take(status)
            finally:
                self._reader = None

    async def on_trip(self, trip: Trip) -> None:
        """Poll the field now: the passage gets the seals' state as the truck arrived."""
        reader = self._reader
        if reader is None:
            return  # the link is down: the run loop is reconnecting
        self.stats.trip_polls += 1
        for seen in await reader.inventory():
            status = await reader.read_status(seen.seal_id)
            if status is not None:
                self._take(status)

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            keys = self.keyring()
        except EsealKeyError as err:
            return ProbeResult(ok=False, detail=str(err))
        try:
            settings = self._settings().model_copy(update={"poll_interval_s": None})
            async with EsealReader(settings, keys=keys) as reader:
                info = reader.info
                seen = await reader.inventory()
                statuses = [await reader.read_status(s.seal_id) for s in seen]
        except (EsealError, OSError, TimeoutError) as err:
            return ProbeResult(ok=False, detail=str(err) or type(err).__name__)
        rtt = round((time.perf_counter() - started) * 1000, 1)
        verified = sum(1 for s in statuses if s is not None and s.verified)
        node = info.node_id if info else "?"
        detail = (
            f"node {node}, {info.model if info else '?'} fw {info.firmware if info else '?'}, "
            f"{len(seen)} seal(s) in field, {verified} verified; keys: {keys.describe()}"
        )
        return ProbeResult(ok=True, detail=detail, round_trip_ms=rtt)
