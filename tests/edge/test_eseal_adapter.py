"""The e-seal adapter against the reader simulator on a real pty, with the tag firmware in
its field: what reaches the lane is what the tags signed and the driver verified."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import yaml
from edge_support import running as run_task
from edge_support import until

from contract import SealState, utc_now
from drivers.eseal import derive_tag_key
from edge.adapters.base import Trip
from edge.adapters.eseal import EsealAdapter, EsealConfig, EsealKeyError, load_keyring
from edge.observations import Observation, SealObservation
from simulators.eseal import EsealReaderSim

ISSUER_KEY = b"issuer key of the edge adapter tests"
SEAL, OTHER = "ES0004711", "ES0004712"


@pytest.fixture
async def sim() -> AsyncIterator[EsealReaderSim]:
    async with EsealReaderSim(node_id="BARI-VITTORIA", tick_s=0.02) as simulator:
        yield simulator


@pytest.fixture
def issuer_file(tmp_path: Path) -> Path:
    path = tmp_path / "issuer.key"
    path.write_bytes(ISSUER_KEY + b"\n")
    path.chmod(0o600)
    return path


def config(sim: EsealReaderSim, **changes: object) -> EsealConfig:
    fields: dict[str, object] = {
        "name": "lane-1-eseal",
        "port": sim.port,
        "timeout_s": 0.5,
        "poll_interval_s": 0.3,
    }
    fields.update(changes)
    return EsealConfig.model_validate(fields)


def running(adapter: EsealAdapter) -> contextlib.AbstractAsyncContextManager[None]:
    return run_task(adapter.run, lambda: adapter.health.available is True)


def seals(seen: list[Observation]) -> list[SealObservation]:
    return [o for o in seen if isinstance(o, SealObservation)]


def trip() -> Trip:
    now = utc_now()
    return Trip(passage_id=uuid4(), lane_id="lane-1", at=now, closes_by=now + timedelta(seconds=2))


async def test_verified_seals_become_seal_observations(
    sim: EsealReaderSim, issuer_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hardware = sim.add_seal(SEAL, derive_tag_key(ISSUER_KEY, SEAL), battery_mv=2800)
    seen: list[Observation] = []
    adapter = EsealAdapter(config(sim, issuer_key_file=issuer_file), seen.append)
    async with running(adapter):
        await until(lambda: seals(seen))
        first = seals(seen)[0]
        assert first.reading.seal_id == SEAL and first.reading.state == SealState.SEALED
        assert first.reading.battery_pct == 80 and first.reading.source == "lane-1-eseal"
        assert first.at.utcoffset() == timedelta(0)

        hardware.cut_shackle()  # the tag reports the change at once, and every poll says so
        await until(lambda: seals(seen)[-1].reading.state == SealState.OPENED)
        hardware.open_case()
        await until(lambda: seals(seen)[-1].reading.state == SealState.TAMPERED)
    assert adapter.stats.unverified == 0
    keys = adapter.keyring()
    assert "SealKeyring(an issuer key" in repr(keys)
    for secret in (ISSUER_KEY, derive_tag_key(ISSUER_KEY, SEAL)):
        assert secret.hex() not in caplog.text and secret.decode("latin-1") not in caplog.text


async def test_seals_without_a_key_or_with_a_forged_one_never_reach_the_passage(
    sim: EsealReaderSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_file = tmp_path / "seals.yaml"
    keys_file.write_text(yaml.safe_dump({SEAL: derive_tag_key(ISSUER_KEY, SEAL).hex()}))
    sim.add_seal(SEAL, derive_tag_key(ISSUER_KEY, SEAL))
    sim.add_seal(OTHER, derive_tag_key(b"another issuer", OTHER))  # no key held for it
    seen: list[Observation] = []
    adapter = EsealAdapter(config(sim, seal_keys_file=keys_file), seen.append)
    async with running(adapter):
        await until(lambda: adapter.stats.unverified >= 3)  # three polls at least
        assert {o.reading.seal_id for o in seals(seen)} == {SEAL}
        warnings = [r for r in caplog.records if OTHER in r.getMessage()]
        assert len(warnings) == 1, "logged once per seal, not once per poll"
        assert "holds no key" in warnings[0].getMessage()

        # A clone of the keyed seal (its number, another key): the MAC fails, dropped.
        sim.remove_seal(SEAL)
        sim.add_seal(SEAL, derive_tag_key(b"a forger's key", SEAL))
        seen.clear()
        await asyncio.sleep(1.0)
        assert seals(seen) == []


async def test_a_trip_polls_the_field_at_once(sim: EsealReaderSim, issuer_file: Path) -> None:
    seen: list[Observation] = []
    adapter = EsealAdapter(
        config(sim, issuer_key_file=issuer_file, poll_interval_s=None), seen.append
    )
    async with running(adapter):
        sim.add_seal(SEAL, derive_tag_key(ISSUER_KEY, SEAL))
        await asyncio.sleep(0.3)  # whatever the tag pushed on its own
        seen.clear()
        before = utc_now()
        await adapter.on_trip(trip())
        fresh = seals(seen)  # there when on_trip returns: no waiting for the next poll
        assert [o.reading.seal_id for o in fresh] == [SEAL]
        assert fresh[0].at >= before
        assert adapter.stats.trip_polls == 1


async def test_a_silent_reader_drops_out_once_and_comes_back_once(
    sim: EsealReaderSim, issuer_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.health")
    sim.add_seal(SEAL, derive_tag_key(ISSUER_KEY, SEAL))
    adapter = EsealAdapter(config(sim, issuer_key_file=issuer_file), lambda _o: None)
    async with running(adapter):
        sim.silent = True
        await until(lambda: adapter.health.available is False)
        await asyncio.sleep(1.5)  # several failed reconnects
        sim.silent = False
        await until(lambda: adapter.health.available is True, timeout_s=15)
    health = [r.getMessage() for r in caplog.records if r.name == "edge.health"]
    assert len([m for m in health if "lane-1-eseal dropped out" in m]) == 1
    assert len([m for m in health if "lane-1-eseal is back" in m]) == 1


async def test_probe_names_the_reader_and_its_seals(
    sim: EsealReaderSim, issuer_file: Path, tmp_path: Path
) -> None:
    sim.add_seal(SEAL, derive_tag_key(ISSUER_KEY, SEAL))
    adapter = EsealAdapter(config(sim, issuer_key_file=issuer_file), lambda _o: None)
    result = await adapter.probe()
    assert result.ok, result
    assert "node BARI-VITTORIA" in result.detail
    assert "1 seal(s) in field, 1 verified; keys: issuer key" in result.detail

    sim.silent = True
    result = await adapter.probe()
    assert not result.ok and "did not answer" in result.detail

    missing = EsealAdapter(config(sim, issuer_key_file=tmp_path / "nope.key"), lambda _o: None)
    result = await missing.probe()
    assert not result.ok and "cannot read issuer key" in result.detail


def test_key_files_are_checked_and_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="issuer_key_file or seal_keys_file"):
        EsealConfig(name="e", port="/dev/null")
    bad = tmp_path / "seals.yaml"
    bad.write_text(yaml.safe_dump({SEAL: "00112233-secret-not-hex"}))
    with pytest.raises(EsealKeyError) as caught:
        load_keyring(EsealConfig(name="e", port="/dev/null", seal_keys_file=bad))
    assert "is not 64 hex digits" in str(caught.value) and "secret" not in str(caught.value)
    short = tmp_path / "short.key"
    short.write_bytes(b"tiny")
    with pytest.raises(EsealKeyError, match="shorter than 16 bytes"):
        load_keyring(EsealConfig(name="e", port="/dev/null", issuer_key_file=short))
    good = tmp_path / "seals-ok.yaml"
    good.write_text(yaml.safe_dump({SEAL: "ab" * 32}))
    ring = load_keyring(
        EsealConfig(name="e", port="/dev/null", seal_keys_file=good, issuer_key_file=None)
    )
    assert ring[SEAL] == bytes.fromhex("ab" * 32) and ring.get(OTHER) is None
