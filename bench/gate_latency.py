"""Passage published -> barrier coil written, through the whole deployed path.

A rehearsal with two gate boxes (separate processes), central (a separate process,
SQLite), Mosquitto with TLS, and simulated controllers: each truck's passage is
published by the gate box, decided and signed by central, verified by the box and
the open coil written over Modbus TCP. Each gate box logs the interval it measured
on its own clock; this collects them.

    python -m bench gate_latency        (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import tempfile
from pathlib import Path

from bench.report import write_section
from corridor.rehearsal import Rehearsal
from simulators.scenario.model import Scenario

TRUCKS = int(os.environ.get("CORRIDOR_BENCH_TRUCKS", "120"))
LINE = re.compile(r"published->coil ([0-9.]+) ms")


def scenario(trucks: int) -> Scenario:
    site = {
        "site": "bench",
        "nodes": [
            {"id": "north", "kind": "gate", "gates": ["gate-north"]},
            {"id": "south", "kind": "gate", "gates": ["gate-south"]},
        ],
        "processes": {"transit": {"steps": [{"nodes": ["north", "south"]}]}},
    }
    labels = [f"T{i:03d}" for i in range(trucks)]
    return Scenario.model_validate(
        {
            "name": "bench-gate-latency",
            "site": site,
            "declarations": [{"declaration_id": "BENCH-1", "status": "cleared"}],
            "trucks": [
                {"id": t, "plate": f"BN{i:03d}XX", "rfid_tag": f"E280116060000205{i:08X}"}
                for i, t in enumerate(labels)
            ],
            "movements": [
                {"truck": t, "declaration_id": "BENCH-1", "process": "transit"} for t in labels
            ],
            "timeline": [
                {
                    "at": 0,
                    "arrive": {
                        "truck": t,
                        "gate": "gate-north" if i % 2 else "gate-south",
                        "expect": {"verdict": "release"},
                    },
                }
                for i, t in enumerate(labels)
            ],
            "timeout_s": 30 + trucks * 4,
        }
    ).model_copy(update={"site_data": site})


async def measure(trucks: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
        workdir = Path(tmp) / "run"
        async with Rehearsal(scenario(trucks), workdir) as rehearsal:
            outcome = await rehearsal.run()
        if not outcome.passed:
            raise SystemExit("benchmark rehearsal failed:\n" + outcome.report())
        samples = []
        for log in workdir.glob("gate-*.log"):
            samples += [float(m.group(1)) for m in LINE.finditer(log.read_text())]
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    samples = asyncio.run(measure(TRUCKS))
    p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
    worst, mean = max(samples), statistics.fmean(samples)
    body = f"""Passage published by the gate box -> barrier open coil written by the same box, after
central decided and signed the release (two gate boxes and central as separate processes,
Mosquitto with TLS and QoS 1, central on SQLite, controllers on Modbus TCP; loopback).

| passages | p50 | p99 | max | mean | goal |
|---|---|---|---|---|---|
| {len(samples)} | {p50:.1f} ms | {p99:.1f} ms | {worst:.1f} ms | {mean:.1f} ms | p99 <= 250 ms |

Command: `.venv/bin/python -m bench gate_latency` (`CORRIDOR_BENCH_TRUCKS` sets the count)."""
    print(body)
    write_section("Gate latency", body)


if __name__ == "__main__":
    main()
