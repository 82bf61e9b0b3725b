"""`corridor edge diagnose` against real simulated devices and the real broker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from corridor.broker import Broker, free_port
from simulators.anpr import AnprCameraSim
from simulators.barrier import BarrierPlcSim
from simulators.rfid import RfidReaderSim


async def _diagnose(config: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "corridor",
        "edge",
        "diagnose",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_diagnose_reports_each_device_and_fails_on_a_dead_one(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path]
) -> None:
    plc_port = free_port()
    async with BarrierPlcSim(port=plc_port) as plc, RfidReaderSim() as rfid, AnprCameraSim() as cam:
        rfid.tag_enters("E2801160600002054A6B0099")
        config = {
            "gate_id": "gate-e",
            "mqtt": broker.settings("gate-e").model_dump(),
            "central_keys": {"central": str(central_key[1])},
            "outbox_path": str(tmp_path / "outbox.sqlite"),
            "lanes": [
                {
                    "lane_id": "lane-1",
                    "plc": {"port": plc_port},
                    "devices": [
                        {"type": "rfid", "name": "rfid-1", "port": rfid.port},
                        {
                            "type": "anpr_feed",
                            "name": "anpr-1",
                            "host": "127.0.0.1",
                            "port": cam.port,
                        },
                    ],
                }
            ],
        }
        path = tmp_path / "gate.yaml"
        path.write_text(yaml.safe_dump(config))
        code, out = await _diagnose(path)
        assert code == 0, out
        assert "[  ok] lane-1/controller: state closed" in out
        assert "[  ok] lane-1/rfid-1: firmware 1.4, 1 tag(s) in field" in out
        assert "[  ok] broker 127.0.0.1" in out
        assert "All checks passed." in out

        rfid.silent = True
        config["mqtt"]["password"] = "wrong"
        path.write_text(yaml.safe_dump(config))
        code, out = await _diagnose(path)
        assert code == 1
        assert "[FAIL] lane-1/rfid-1: reader did not answer in time" in out
        assert "[FAIL] broker" in out
        assert "2 check(s) failed" in out
        assert plc.model.cycles == 0  # diagnosing never moves the barrier


def test_bad_config_is_refused_with_the_reason(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "gate.yaml"
    path.write_text("gate_id: g\nlanes: []\nsurprise: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "corridor", "edge", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "surprise" in result.stderr and "Extra inputs are not permitted" in result.stderr
    assert "central_keys" in result.stderr  # a required field that is missing


def test_every_config_field_is_documented() -> None:
    from corridor.configdoc import rows
    from edge.config import EdgeConfig

    doc = (Path(__file__).resolve().parents[2] / "docs" / "edge.md").read_text()
    missing = [row.split("|")[1].strip() for row in rows(EdgeConfig) if row not in doc]
    assert not missing, f"docs/edge.md lacks {missing}: run `corridor edge config-doc`"
