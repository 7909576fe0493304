"""Allocation through time (issue 11 item 6): capacities from allocation_method every N bars."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import AllocationMethod, PortfolioConfig
from dollarbill_research.data import synthetic_universe, to_panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes
from dollarbill_research.portfolio import StrategyAllocator
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    VolatilityMeanReversion,
)

STRATEGY = Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts()))
NAMES = ("Volatility Mean Reversion", "Momentum", "Iron Condor", "Cash-Secured Puts")
CUSTOM = {"Momentum": 3.0, "Iron Condor": 1.0}


@pytest.fixture(scope="module")
def frame():
    return synthetic_universe(n_symbols=12, n_bars=320, seed=7)


def run(frame, method, **kw):
    if method == "Custom":
        kw.setdefault("custom_weights", CUSTOM)
    pc = PortfolioConfig(allocation_method=method, **kw)
    return BacktestEngine.with_portfolio(BacktestConfig(), pc).run(frame, STRATEGY)


@pytest.mark.parametrize("method", ["RiskParity", "VolatilityWeighted", "PerformanceWeighted"])
def test_targets_equal_the_allocator_api_on_the_same_returns(frame, method):
    res = run(frame, method, rebalance_bars=21, min_strategy_allocation_pct=5.0,
              max_strategy_allocation_pct=60.0)  # fmt: skip
    raw = res.raw
    assert res.strategies == NAMES
    allocator = StrategyAllocator(method, min_weight=0.05, max_weight=0.60,
                                  bars_per_year=252, risk_free_rate=0.05)  # fmt: skip
    order = sorted(range(len(NAMES)), key=lambda i: NAMES[i])  # the allocator orders by name
    rebalances = 0
    for t in range(1, res.equity.height):
        if t % 21:
            np.testing.assert_array_equal(raw.targets[t], raw.targets[t - 1])  # held between
            continue
        want = allocator.targets({NAMES[s]: raw.strategy_returns[:t, s] for s in range(4)})
        got = {NAMES[s]: raw.targets[t, s] for s in order}
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), t
        rebalances += 1
    assert rebalances == (res.equity.height - 1) // 21
    assert np.ptp(raw.targets, axis=0).max() > 0.01  # the targets really moved


def test_returns_are_pnl_per_committed_dollar(frame):
    raw = run(frame, "RiskParity").raw
    pnl = np.diff(raw.strat_pnl, axis=0, prepend=np.zeros((1, 4)))
    r = raw.strategy_returns
    ok = np.isfinite(r)
    assert ok.sum() > 100
    # nothing committed at the previous close: no return, and the bar's P&L is at most the
    # entry costs of positions opened on it (marked at their entry value)
    assert (pnl[~ok] <= 1e-9).all()
    committed = np.where(ok, pnl / np.where(ok, r, 1.0), np.nan)  # implied committed dollars
    assert np.nanmin(committed) > 0.0
    assert np.nanmax(committed) <= 1.5 * raw.equity["equity"].max()


def test_no_look_ahead(frame):
    full = run(frame, "RiskParity").raw
    panel = to_panel(frame)
    cut = 200
    prefix = dataclasses.replace(
        panel, **{f.name: getattr(panel, f.name)[:cut] for f in dataclasses.fields(panel)
                  if f.name in ("timestamps", "open", "high", "low", "close", "volume", "iv",
                                "valid")},
    )  # fmt: skip
    pc = PortfolioConfig(allocation_method="RiskParity")
    part = BacktestEngine.with_portfolio(BacktestConfig(), pc).run(prefix, STRATEGY).raw
    np.testing.assert_array_equal(part.targets, full.targets[:cut])


def test_five_methods_give_five_books(frame):
    curves = {m.value: run(frame, m.value).raw.equity["equity"] for m in AllocationMethod}
    finals = {m: round(float(c[-1]), 2) for m, c in curves.items()}
    assert len(set(finals.values())) == 5, finals


def test_custom_weights_and_per_strategy_bounds(frame):
    raw = run(frame, "Custom").raw
    np.testing.assert_allclose(raw.targets[0], [0.0, 0.75, 0.25, 0.0])
    assert (raw.targets == raw.targets[0]).all()  # custom targets do not learn
    bounded = run(frame, "RiskParity", strategy_bounds={"Momentum": (0.0, 10.0)}).raw
    assert bounded.targets[:, 1].max() <= 0.10 + 1e-12
    rej = run(frame, "RiskParity", strategy_bounds={"Momentum": (0.0, 10.0)})
    at_cap = rej.rejections.filter(rej.rejections["text"] == "Strategy Momentum at capacity")
    assert at_cap.height > 0


def test_allocation_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="custom_weights"):
        PortfolioConfig(allocation_method="Custom")
    with pytest.raises(ConfigError, match="rebalance_bars"):
        PortfolioConfig(rebalance_bars=0)
    with pytest.raises(ConfigError, match=r"strategy_bounds\['Momentum'\]"):
        PortfolioConfig(strategy_bounds={"Momentum": (50.0, 10.0)})
    pc = PortfolioConfig(allocation_method="Custom", custom_weights={"Nope": 1.0})
    with pytest.raises(ConfigError, match="unknown strategies"):
        pc.allocation_arrays(NAMES)
    pc = PortfolioConfig(strategy_bounds={"Momentum": (0.0, 10.0)}, rebalance_bars=5)
    assert PortfolioConfig.from_json(pc.to_json()) == pc
    assert pc.to_kernel()[codes.PP_REBALANCE_BARS] == 5
