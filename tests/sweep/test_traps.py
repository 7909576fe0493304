"""Regressions (issue 12): sweeps that would silently compare nothing."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError, DollarbillWarning
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import SIZING_METHODS, Grid, sweep


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=6, n_bars=260, seed=2)


@pytest.mark.parametrize(
    "grid",
    [
        {"sizing_method": list(SIZING_METHODS)},
        {"max_risk_per_trade": [1.0, 2.0], "strategy.lookback": [10, 20]},
        {"max_portfolio_delta": [0.1, 0.3]},
        {"portfolio.max_position_pct": [5.0, 10.0]},
    ],
)
def test_portfolio_parameters_with_management_off_are_refused(
    data: pl.DataFrame, grid: dict[str, list[object]]
) -> None:
    with pytest.raises(ConfigError, match="use_portfolio_management is False") as info:
        sweep(data, Momentum(), grid, progress=False)
    text = str(info.value)
    assert "BacktestConfig(use_portfolio_management=True)" in text
    assert "'use_portfolio_management': [False, True]" in text
    assert repr(next(iter(grid))) in text


def test_list_mode_is_checked_too(data: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="'sizing_method'"):
        sweep(data, Momentum(), [{"sizing_method": "KellyCriterion"}, {}], mode="list",
              progress=False)  # fmt: skip


def test_the_fixes_named_in_the_hint_run(data: pl.DataFrame) -> None:
    managed = BacktestConfig(use_portfolio_management=True)
    on = sweep(data, Momentum(), {"sizing_method": list(SIZING_METHODS)},
               backtest_config=managed, progress=False)  # fmt: skip
    assert on.frame["total_return"].n_unique() == 5
    assert not on.identical_rows
    both = sweep(data, Momentum(), {"use_portfolio_management": [False, True],
                                    "sizing_method": ["KellyCriterion", "FixedDollar"]},
                 progress=False)  # fmt: skip
    assert both.frame.height == 4
    # capital and non-portfolio parameters are fine with portfolio management off
    plain = sweep(data, Momentum(), Grid.product({"initial_capital": [50_000.0, 100_000.0]}),
                  progress=False)  # fmt: skip
    assert plain.frame["error"].null_count() == 2


def test_identical_rows_warn_and_say_so(data: pl.DataFrame) -> None:
    # a limit far from binding changes nothing: every row is the same
    grid = {"max_sector_exposure_pct": [99.0, 99.5]}
    bt = BacktestConfig(use_portfolio_management=True)
    with pytest.warns(DollarbillWarning, match="all 2 configurations gave identical results"):
        result = sweep(data, Momentum(), grid, backtest_config=bt, progress=False)
    assert result.identical_rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = sweep(data, Momentum(), {"max_risk_per_trade": [2.0]}, backtest_config=bt,
                       progress=False)  # fmt: skip
    assert not single.identical_rows  # one row compares nothing, but is not a trap
