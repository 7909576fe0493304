"""Shared fixtures: the real-data folder (skipped when DOLLARBILL_REAL_DATA is unset)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REAL_DATA_ENV = "DOLLARBILL_REAL_DATA"

# CI runs property tests derandomized (the same examples every run, so a landing never hinges on
# luck); locally every run draws new examples. ``--hypothesis-seed`` reproduces a local failure.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


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
