"""gpsd's regression logs for the GNSS driver tests (pty pairs and gpsd: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gnss_regress import REGRESS


@pytest.fixture(scope="session")
def regress() -> Path:
    """gpsd's regression logs (shared data, read in place, never copied)."""
    if not REGRESS.is_dir():
        pytest.skip(f"shared GNSS data not present at {REGRESS}")
    return REGRESS
