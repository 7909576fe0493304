"""Sizing comparison plot from backtest-like results and from a sweep-like result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.plotting import comparison_curves, plot_sizing_comparison
from dollarbill_research.plotting.comparison import _cell


@dataclass(frozen=True)
class _Metrics:
    total_return: float
    sharpe_ratio: float
    n_trades: int


@dataclass(frozen=True)
class _Result:
    equity: pl.DataFrame
    metrics: _Metrics


def _equity(seed: int, n: int = 120) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    eq = 100_000 * np.cumprod(1 + rng.normal(0.0005, 0.01, n))
    days = [date(2022, 1, 3) + timedelta(days=i) for i in range(n)]
    return pl.DataFrame({"timestamp": days, "equity": eq})


def test_backtest_results_render(tmp_path: Path) -> None:
    results = {}
    for i, name in enumerate(["VolatilityBased", "KellyCriterion", "FixedFractional"]):
        eq = _equity(i)
        total = float(eq["equity"][-1] / eq["equity"][0] - 1)
        results[name] = _Result(eq, _Metrics(total, 1.0 + i, 10 * i))
    out = tmp_path / "cmp.png"
    fig = plot_sizing_comparison(results, metrics=("total_return", "sharpe_ratio"), path=out)
    assert out.stat().st_size > 10_000
    ax_eq = fig.axes[0]
    assert [line.get_label() for line in ax_eq.get_lines()] == list(results)
    np.testing.assert_allclose(
        ax_eq.get_lines()[1].get_ydata(), results["KellyCriterion"].equity["equity"].to_numpy()
    )
    curves = comparison_curves(results)
    assert curves[2].metrics["n_trades"] == 20


@dataclass(frozen=True)
class _Sweep:
    frame: pl.DataFrame
    curves: dict[int, pl.DataFrame]
    param_names: tuple[str, ...]


def test_sweep_like_result_labels_by_sizing_method(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "config_id": [0, 1, 2],
            "sizing_method": ["VolatilityBased", "RiskParity", "FixedDollar"],
            "max_risk_per_trade": [1.0, 1.0, 2.0],
            "total_return": [0.1, 0.2, -0.05],
        }
    )
    res = _Sweep(frame, {2: _equity(2), 0: _equity(0)}, ("sizing_method", "max_risk_per_trade"))
    curves = comparison_curves(res)
    assert [c.label for c in curves] == ["FixedDollar", "VolatilityBased"]
    assert curves[0].metrics["total_return"] == -0.05
    both = comparison_curves(res, label_by=["sizing_method", "max_risk_per_trade"])
    assert both[0].label == "FixedDollar, 2"
    out = tmp_path / "cmp.png"
    plot_sizing_comparison(res, path=out)
    assert out.stat().st_size > 10_000


def test_sweep_without_curves_explains_keep_best() -> None:
    res = _Sweep(pl.DataFrame({"config_id": [0]}), {}, ())
    with pytest.raises(ConfigError, match="keep_best"):
        plot_sizing_comparison(res)
    with pytest.raises(ConfigError, match="hint"):
        plot_sizing_comparison(3)
    with pytest.raises(ConfigError, match="no equity frame"):
        plot_sizing_comparison({"a": object()})


def test_cells_print_fractions_as_percent() -> None:
    assert _cell("total_return", 0.1234) == "12.3%"
    assert _cell("sharpe_ratio", 1.23456) == "1.235"
    assert _cell("n_trades", 7) == "7"
    assert _cell("max_drawdown", float("nan")) == "nan"
