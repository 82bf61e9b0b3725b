"""Write one section of BENCHMARKS.md, leaving the other sections as they are."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nFigures measured by `make bench` (or the command in each section).\n"


def cpu_model() -> str:
    """The CPU's model name and its widest vector units (timings of the vision models
    differ several times between an AVX2 and an AVX-512/AMX CPU of one clock)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    listed = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
    flags = set(listed[1].split()) if listed else set()
    units = [u for u in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if u in flags]
    return f"{name[1].strip() if name else 'unknown CPU'} ({', '.join(units) or 'no AVX2'})"


def machine_line() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
        f"load average {load}._"
    )


def write_section(title: str, body: str) -> None:
    """Replace (or append) the `## title` section of BENCHMARKS.md with `body`."""
    text = REPORT.read_text() if REPORT.exists() else HEADER
    section = f"## {title}\n\n{machine_line()}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    REPORT.write_text(text.rstrip() + "\n")
