"""Heatmap table against a hand-built frame, and a rendered PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.plotting import heatmap_table, plot_heatmap


def _frame() -> pl.DataFrame:
    rows = []
    for method in ("VolatilityBased", "FixedFractional"):
        for risk in (1.0, 2.0, 3.0):
            for seed in (0, 1):
                rows.append(
                    {
                        "config_id": len(rows),
                        "sizing_method": method,
                        "max_risk_per_trade": risk,
                        "lookback": 10 + seed,
                        "sharpe_ratio": risk * (2 if method == "FixedFractional" else 1) + seed,
                        "error": None,
                    }
                )
    # a failed configuration: null metric, must be ignored
    rows.append({**rows[0], "config_id": 99, "sharpe_ratio": None, "error": "ConfigError: x"})
    return pl.DataFrame(rows)


def test_table_aggregates_each_cell() -> None:
    xs, ys, values = heatmap_table(_frame(), "max_risk_per_trade", "sizing_method", "sharpe_ratio")
    assert xs == [1.0, 2.0, 3.0]
    assert ys == ["FixedFractional", "VolatilityBased"]
    # mean over seeds 0 and 1 -> base + 0.5
    expected = np.array([[2 * r + 0.5 for r in xs], [r + 0.5 for r in xs]])
    np.testing.assert_allclose(values, expected)
    _, _, mx = heatmap_table(
        _frame(), "max_risk_per_trade", "sizing_method", "sharpe_ratio", aggregate="max"
    )
    np.testing.assert_allclose(mx, expected + 0.5)


def test_missing_cells_are_nan() -> None:
    frame = _frame().filter(
        ~((pl.col("sizing_method") == "FixedFractional") & (pl.col("max_risk_per_trade") == 3.0))
    )
    _, _, values = heatmap_table(frame, "max_risk_per_trade", "sizing_method", "sharpe_ratio")
    assert math.isnan(values[0, 2])
    assert np.isfinite(values).sum() == 5


def test_png_is_written(tmp_path: Path) -> None:
    out = tmp_path / "heat.png"
    fig = plot_heatmap(_frame(), "max_risk_per_trade", "sizing_method", "sharpe_ratio", path=out)
    assert out.exists()
    assert out.stat().st_size > 5_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_xlabel() == "max_risk_per_trade"


def test_bad_column_names_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=r"\['sharp'\] not in the results; available"):
        plot_heatmap(_frame(), "max_risk_per_trade", "sizing_method", "sharp")
    with pytest.raises(ConfigError, match="aggregate"):
        heatmap_table(_frame(), "lookback", "sizing_method", "sharpe_ratio", aggregate="sum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="two different"):
        plot_heatmap(_frame(), "lookback", "lookback", "sharpe_ratio")
    with pytest.raises(ConfigError, match="not a sweep result"):
        plot_heatmap([1, 2], "a", "b", "c")


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        plot_heatmap(
            _frame(), "lookback", "sizing_method", "sharpe_ratio", path=tmp_path / "no" / "x.png"
        )
