"""Every strategy and the personality router run through the backtest engine (issue 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.data import load_csv, synthetic_universe
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    IronCondor,
    MeanReversion,
    Momentum,
    PersonalityStrategy,
    ShortStrangle,
    VolatilityArbitrage,
    VolatilityMeanReversion,
)

STRATEGIES = (
    VolatilityMeanReversion(),
    Momentum(),
    MeanReversion(),
    Breakout(),
    VolatilityArbitrage(),
    CashSecuredPuts(),
    IronCondor(),
    ShortStrangle(),
    PersonalityStrategy(min_confidence=0.3),
)


def _check_run(frame: pl.DataFrame, strategy: object, managed: bool) -> None:
    engine = BacktestEngine(BacktestConfig(use_portfolio_management=managed))
    result = engine.run(frame, strategy)
    eq = result.equity
    assert eq.height == frame["timestamp"].n_unique()
    np.testing.assert_allclose(
        eq["equity"].to_numpy(), (eq["cash"] + eq["positions_value"]).to_numpy(), rtol=1e-12
    )
    assert result.trades.height > 0, f"{strategy.name} never traded (managed={managed})"
    opened = result.trades.filter(pl.col("side") == "open")
    assert (opened["qty"] > 0).all()
    assert set(opened["strategy"].unique()) <= {
        s.name for s in getattr(strategy, "strategies", (strategy,))
    } | set(result.strategies)


@pytest.fixture(scope="module")
def synthetic() -> pl.DataFrame:
    return synthetic_universe(n_symbols=12, n_bars=600, seed=21)


@pytest.mark.parametrize("managed", [False, True], ids=["simple", "managed"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.name)
def test_every_strategy_backtests_on_synthetic(
    synthetic: pl.DataFrame, strategy: object, managed: bool
) -> None:
    _check_run(synthetic, strategy, managed)


@pytest.mark.realdata
@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.name)
def test_every_strategy_backtests_on_real_data(real_data_dir: Path, strategy: object) -> None:
    frame = load_csv(real_data_dir, pattern="*_five_year.csv")
    _check_run(frame, strategy, managed=True)
