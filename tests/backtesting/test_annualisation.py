"""bars_per_year inferred from the timestamps when the config leaves it None (issue 12)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.backtesting.annualisation import infer_bars_per_year
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep

DAYS = np.arange("2020-01-01", "2024-01-01", dtype="datetime64[D]")


@pytest.mark.parametrize(
    ("timestamps", "expected"),
    [
        (DAYS[np.is_busday(DAYS)], 252),  # the synthetic calendar: Mon-Fri, no holidays
        (DAYS[np.is_busday(DAYS, holidays=DAYS[::37])], 252),  # with holidays
        (DAYS, 365),  # every day (crypto)
        (DAYS[np.is_busday(DAYS)][::5], 52),  # weekly
        (DAYS[::30], 12),
        (DAYS[::91], 4),
        (DAYS[:3], 252),
        (DAYS[:2], 252),  # too short to tell: the default
        (np.arange("2024-01-02T09:30", "2024-01-02T16:00", 30, dtype="datetime64[m]"), 252 * 13),
    ],
)
def test_infer_bars_per_year(timestamps: np.ndarray, expected: int) -> None:
    assert infer_bars_per_year(timestamps) == expected


def _weekly(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("timestamp").dt.weekday() == 5)  # Fridays


def test_weekly_data_annualises_with_52() -> None:
    frame = _weekly(synthetic_universe(n_symbols=4, n_bars=1500, seed=3))
    inferred = BacktestEngine(BacktestConfig()).run(frame, Momentum(lookback=8, trend_window=12))
    explicit = BacktestEngine(BacktestConfig(bars_per_year=52)).run(
        frame, Momentum(lookback=8, trend_window=12)
    )
    assert inferred.config.bars_per_year == 52  # reported on the result
    assert inferred.metrics == explicit.metrics
    daily_scale = BacktestEngine(BacktestConfig(bars_per_year=252)).run(
        frame, Momentum(lookback=8, trend_window=12)
    )
    ratio = daily_scale.metrics.annual_volatility / inferred.metrics.annual_volatility
    assert math.isclose(ratio, math.sqrt(252 / 52), rel_tol=1e-12)


def test_daily_results_are_unchanged_by_inference() -> None:
    frame = synthetic_universe(n_symbols=5, n_bars=300, seed=4)
    inferred = BacktestEngine(BacktestConfig()).run(frame, Momentum())
    explicit = BacktestEngine(BacktestConfig(bars_per_year=252)).run(frame, Momentum())
    assert inferred.config.bars_per_year == 252
    assert inferred.metrics == explicit.metrics
    assert inferred.equity.equals(explicit.equity)


def test_sweep_rows_use_the_inferred_value() -> None:
    frame = _weekly(synthetic_universe(n_symbols=4, n_bars=1500, seed=3))
    strategy = Momentum(lookback=8, trend_window=12)
    bt = BacktestConfig(use_portfolio_management=True)
    rows = sweep(frame, strategy, {"max_risk_per_trade": [1.0, 2.0]}, backtest_config=bt,
                 n_jobs=1, progress=False).frame  # fmt: skip
    one = BacktestEngine(
        dataclasses.replace(bt, bars_per_year=52), PortfolioConfig(max_risk_per_trade=1.0)
    ).run(frame, strategy)
    assert rows["sharpe_ratio"][0] == one.metrics.sharpe_ratio


def test_explicit_value_is_still_validated() -> None:
    with pytest.raises(ConfigError, match="bars_per_year"):
        BacktestConfig(bars_per_year=0)
    assert BacktestConfig.from_json(BacktestConfig().to_json()).bars_per_year is None
