"""Sweep rows count the run's breaches (issue 11 item 1): the same numbers as the engine's frame."""

from __future__ import annotations

import polars as pl

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep
from dollarbill_research.sweep._simulate import BREACH_COLUMNS


def test_breach_columns_equal_the_engine_breaches_frame():
    data = synthetic_universe(n_symbols=8, n_bars=200, seed=5)
    bt = BacktestConfig(use_portfolio_management=True)
    kw = {"sizing_method": "FixedFractional", "fixed_fraction_pct": 9.0}
    base = PortfolioConfig(**kw, risk_limits=RiskLimits(max_portfolio_delta=0.2))
    grid = {"breach_policy": ["block", "reduce"]}
    res = sweep(
        data, Momentum(), grid, backtest_config=bt, portfolio_config=base, n_jobs=1, progress=False
    )
    assert set(BREACH_COLUMNS) <= set(res.frame.columns)
    for row in res.frame.iter_rows(named=True):
        pc = PortfolioConfig(
            **kw,
            risk_limits=RiskLimits(max_portfolio_delta=0.2, breach_policy=row["breach_policy"]),
        )
        b = BacktestEngine(bt, pc).run(data, Momentum()).breaches
        assert row["n_breaches"] == b.height
        assert row["breaches_delta"] == b.filter(pl.col("exposure") == "delta").height
        assert row["n_unreducible"] == b.filter(pl.col("action") == "unreducible").height
    block, reduce = res.frame.sort("breach_policy")["n_breaches"].to_list()
    assert block > 0
    assert reduce < block  # reduce brings the book back: fewer bars end above
