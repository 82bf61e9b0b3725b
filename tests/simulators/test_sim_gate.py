"""`corridor sim gate` as a process: a whole simulated lane whose printed configuration is a
valid gate box lane, with an e-seal reader and a scanner the real drivers talk to."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from contract import SealState
from corridor.broker import free_port
from drivers.eseal import EsealReader, EsealSettings, derive_tag_key
from drivers.scanner import NiiScanner, ScannerSettings
from edge.config import LaneConfig


def _key_file(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mode


def _exists(path: Path) -> bool:
    return path.exists()


async def _say(proc: asyncio.subprocess.Process, line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line.encode() + b"\n")
    await proc.stdin.drain()
    return (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()


async def test_sim_gate_prints_a_lane_with_an_eseal_reader_and_a_scanner() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corridor", "sim", "gate",
        "--modbus-port", str(free_port()), "--anpr-port", str(free_port()),
        "--scanner-port", "0", "--issuer-key", "issuer key of the sim gate test",
        "--duration", "60",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        printed = []
        while (line := (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()).strip():
            printed.append(line)
        lane = LaneConfig.model_validate(yaml.safe_load("".join(printed))[0])
        devices = {d.type: d for d in lane.devices}
        assert set(devices) == {"rfid", "anpr_feed", "eseal", "scanner"}
        eseal, scanner = devices["eseal"], devices["scanner"]
        assert eseal.type == "eseal" and eseal.issuer_key_file is not None
        issuer = Path(eseal.issuer_key_file)
        content, mode = _key_file(issuer)
        assert content == b"issuer key of the sim gate test"
        assert mode & 0o077 == 0  # a key file only its owner reads

        answer = await _say(proc, "arrive AB123CD tag=E2801160600002054A6B0099 "
                                  "seal=ES0000009:tampered seal=ES0000010")  # fmt: skip
        assert answer == "vehicle in the lane"
        keys = {s: derive_tag_key(b"issuer key of the sim gate test", s)
                for s in ("ES0000009", "ES0000010")}  # fmt: skip
        settings = EsealSettings(port=eseal.port, timeout_s=1.0, poll_interval_s=None)
        async with EsealReader(settings, keys=keys) as reader:
            assert {s.seal_id for s in await reader.inventory()} == set(keys)
            tampered = await reader.read_status("ES0000009")
            intact = await reader.read_status("ES0000010")
            assert tampered is not None and tampered.verified
            assert tampered.state == SealState.TAMPERED
            assert intact is not None and intact.state == SealState.SEALED
            assert await _say(proc, "barrier-backout") == "AB123CD backed out"
            assert await reader.inventory() == []  # the seals left with the truck

        assert scanner.type == "scanner"
        async with NiiScanner(ScannerSettings(port=scanner.port, timeout_s=1.0)) as nii:
            assert (await nii.probe()).ok
    finally:
        proc.terminate()
        await proc.wait()
    assert not _exists(issuer), "the key file is removed when the lane stops (SIGTERM too)"
