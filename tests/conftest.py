"""Shared fixtures: the real-data folder (skipped when DOLLARBILL_REAL_DATA is unset)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA_ENV = "DOLLARBILL_REAL_DATA"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder of real daily histories, from ``$DOLLARBILL_REAL_DATA``; skip when unset."""
    value = os.environ.get(REAL_DATA_ENV)
    if not value:
        pytest.skip(f"{REAL_DATA_ENV} is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"{REAL_DATA_ENV}={value} is not a folder")
    return path
