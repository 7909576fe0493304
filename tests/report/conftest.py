"""One managed multi-strategy run (with rejections) shared by the report tests."""

from __future__ import annotations

import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Combined, IronCondor, Momentum, VolatilityMeanReversion


@pytest.fixture(scope="session")
def managed() -> BacktestResult:
    frame = synthetic_universe(n_symbols=6, n_bars=400, seed=11)
    strategy = Combined((VolatilityMeanReversion(), Momentum(), IronCondor()))
    pc = PortfolioConfig(risk_limits=RiskLimits(max_portfolio_delta=0.15))
    result = BacktestEngine(BacktestConfig(use_portfolio_management=True), pc).run(frame, strategy)
    assert result.rejections.height > 20
    assert result.trades.height > 50
    return result


@pytest.fixture(scope="session")
def unmanaged() -> BacktestResult:
    frame = synthetic_universe(n_symbols=3, n_bars=300, seed=4)
    return BacktestEngine(BacktestConfig()).run(frame, Momentum())
