"""Regression (issue 12): iv given in percent (30 instead of 0.30) is refused with the row."""

from __future__ import annotations

import polars as pl
import pytest

from dollarbill_research.data import validate_bars
from dollarbill_research.exceptions import DataError


def _bars(iv: list[float]) -> pl.DataFrame:
    n = len(iv)
    return pl.DataFrame({
        "symbol": ["AAA"] * n, "timestamp": [f"2024-01-0{i + 2}" for i in range(n)],
        "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.0, "volume": 1.0, "iv": iv,
    })  # fmt: skip


def test_percent_iv_is_a_data_error_naming_the_row() -> None:
    with pytest.raises(DataError, match="looks like percent") as info:
        validate_bars(_bars([0.3, 31.0, 29.0]))
    text = str(info.value)
    assert "implied vol 31.0" in text
    assert "symbol AAA" in text
    assert "row 1" in text
    assert "and 1 more row" in text
    assert "divide the column by 100" in text


def test_large_but_decimal_iv_is_accepted() -> None:
    assert validate_bars(_bars([0.05, 2.5, 5.0]))["iv"].max() == 5.0
