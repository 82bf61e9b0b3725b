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


async def _diagnose(config: Path, *options: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "corridor",
        "edge",
        "diagnose",
        "--config",
        str(config),
        *options,
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


async def test_diagnose_beside_the_agent_skips_serial_and_keeps_the_agents_session(
    broker: Broker, tmp_path: Path, central_key: tuple[Path, Path]
) -> None:
    from contract import topics
    from contract.bus import client
    from drivers.eseal import derive_tag_key
    from simulators.eseal import EsealReaderSim
    from simulators.scanner import NiiScannerSim
    from simulators.snmp import SnmpDeviceSim

    issuer = tmp_path / "issuer.key"
    issuer.write_bytes(b"issuer key of the diagnose test")
    plc_port = free_port()
    async with (
        BarrierPlcSim(port=plc_port),
        RfidReaderSim() as rfid,
        EsealReaderSim(node_id="BARI-LEVANTE") as eseal,
        NiiScannerSim() as scanner,
        SnmpDeviceSim("ups", name="ups-gate") as ups,
    ):
        eseal.add_seal("ES0000001", derive_tag_key(b"issuer key of the diagnose test", "ES0000001"))
        config = {
            "gate_id": "gate-e",
            "mqtt": broker.settings("gate-e").model_dump(),
            "central_keys": {"central": str(central_key[1])},
            "outbox_path": str(tmp_path / "outbox.sqlite"),
            "health": {
                "targets": [
                    {
                        "name": "ups-gate",
                        "kind": "ups",
                        "host": "127.0.0.1",
                        "port": ups.port,
                        "timeout_s": 0.5,
                    }
                ]
            },
            "lanes": [
                {
                    "lane_id": "lane-1",
                    "plc": {"port": plc_port},
                    "devices": [
                        {"type": "rfid", "name": "rfid-1", "port": rfid.port},
                        {
                            "type": "eseal",
                            "name": "eseal-1",
                            "port": eseal.port,
                            "issuer_key_file": str(issuer),
                        },
                        {
                            "type": "scanner",
                            "name": "nii-1",
                            "host": "127.0.0.1",
                            "port": scanner.port,
                        },
                    ],
                },
                {"lane_id": "lane-2", "plc": {"transport": "rtu", "serial_port": "/dev/ttyNONE"}},
            ],
        }
        path = tmp_path / "gate.yaml"
        path.write_text(yaml.safe_dump(config))
        code, out = await _diagnose(path)
        assert code == 1, out  # the RTU controller on a port that does not exist
        assert "[  ok] lane-1/eseal-1: node BARI-LEVANTE" in out
        assert "1 seal(s) in field, 1 verified; keys: issuer key" in out
        assert "[  ok] lane-1/nii-1: state ready, source off" in out
        assert "[  ok] health/ups-gate (ups): ups-gate: Corridor simulated UPS" in out
        assert "[FAIL] lane-2/controller" in out

        # The agent holds its session (client id gate-e) while the health timer runs.
        rounds, requests = rfid.rounds, eseal.requests
        async with client(broker.settings("gate-e")) as agent:
            code, out = await _diagnose(path, "--skip-serial")
            assert code == 0, out
            await agent.publish(topics.gate_status("gate-e"), b"{}", qos=1)  # still connected
        assert "[skip] lane-1/rfid-1: on a serial line" in out
        assert "[skip] lane-1/eseal-1" in out and "[skip] lane-2/controller" in out
        assert "[  ok] lane-1/nii-1" in out and "[  ok] broker" in out
        assert (rfid.rounds, eseal.requests) == (rounds, requests)  # never touched
