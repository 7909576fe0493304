"""Parity: replaying every bar through LivePortfolio.on_bar equals engine.run exactly."""

from __future__ import annotations

import numpy as np
import pytest

from dollarbill_research.backtesting.engine import BacktestEngine, check_signals
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import load_bars, to_panel
from dollarbill_research.kernels import codes
from dollarbill_research.live import LivePortfolio
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    VolatilityMeanReversion,
)


@pytest.fixture(scope="module")
def real(real_data_dir):
    frame = load_bars(real_data_dir)
    return frame, to_panel(frame, validate=False)


def replay(panel, signals, config, portfolio):
    live = LivePortfolio(
        config, portfolio, symbols=panel.symbols, strategies=signals.strategies,
        templates=signals.templates, sector_codes=panel.sector_codes,
    )  # fmt: skip
    fills, rejections, equity, breaches = [], [], [], []
    for t in range(panel.n_bars):
        d = live.on_bar(
            panel.timestamps[t], close=panel.close[t], iv=panel.iv[t], valid=panel.valid[t],
            signal=signals.signal[:, t], confidence=signals.confidence[:, t],
        )  # fmt: skip
        fills.append(d.fills)
        rejections.append(d.rejection_records)
        equity.append(d.equity)
        breaches.append(d.breach_records)
    replay.breaches = np.concatenate(breaches)
    return np.concatenate(fills), np.concatenate(rejections), np.array(equity)


def assert_records_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    for name in a.dtype.names:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


CASES = [
    ("pm_off_momentum", False, None, Momentum()),
    ("vol_based_combined", True, "VolatilityBased",
     Combined((Momentum(), IronCondor(), VolatilityMeanReversion()))),
    ("kelly_condor_csp", True, "KellyCriterion", Combined((IronCondor(), CashSecuredPuts()))),
    ("risk_parity_combined", True, "RiskParity", Combined((Momentum(), CashSecuredPuts()))),
    ("fixed_fractional_scale", True, "FixedFractional", VolatilityMeanReversion()),
    ("block_combined", True, "FixedFractional", Combined((Momentum(), IronCondor()))),
    ("reduce_tight_combined", True, "FixedFractional", Combined((Momentum(), IronCondor()))),
    ("hedge_tight_combined", True, "VolatilityBased",
     Combined((VolatilityMeanReversion(), CashSecuredPuts(), Momentum()))),
]  # fmt: skip


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "pm", "method", "strategy"), CASES, ids=[c[0] for c in CASES])
def test_live_replay_equals_backtest(real, name, pm, method, strategy):
    frame, panel = real
    config = BacktestConfig(use_portfolio_management=pm, max_positions=8)
    portfolio = None
    if pm:
        tight = "_tight" in name
        portfolio = PortfolioConfig(
            sizing_method=method, kelly_min_trades=5, scale_to_fit=name.endswith("scale"),
            risk_limits=RiskLimits(
                max_portfolio_delta=0.1 if tight else 0.2, max_concentration_pct=15.0,
                max_var_pct=1.0 if tight else 10.0,
                breach_policy=name.split("_")[0] if "_tight" in name or "block" in name
                else "reduce",
            ),
        )  # fmt: skip
    signals = check_signals(strategy.signals(frame, panel), panel)
    result = BacktestEngine(config, portfolio).run(panel, signals)
    fills, rejections, equity = replay(panel, signals, config, portfolio)
    assert len(result.raw.fills) > 10  # the case really trades
    assert_records_equal(result.raw.fills, fills)
    assert_records_equal(result.raw.rejections, rejections)
    assert_records_equal(result.raw.equity, equity)
    assert_records_equal(result.raw.breaches, replay.breaches)
    if pm:
        assert len(result.raw.rejections) > 0  # limits were exercised
    if name.startswith(("block", "reduce", "hedge")):
        assert len(result.raw.breaches) > 0  # the breach policy acted (or recorded)
        reduced = int((result.raw.fills["reason"] == codes.EXIT_RISK_REDUCE).sum())
        assert (reduced > 0) == (not name.startswith("block"))
        hedged = int((result.raw.fills["reason"] == codes.FILL_RISK_HEDGE).sum())
        assert (hedged > 0) == name.startswith("hedge")


@pytest.mark.realdata
def test_save_load_mid_replay_continues_identically(real, tmp_path):
    frame, panel = real
    config = BacktestConfig(use_portfolio_management=True)
    signals = check_signals(IronCondor().signals(frame, panel), panel)
    result = BacktestEngine(config).run(panel, signals)
    live = LivePortfolio(
        config, None, symbols=panel.symbols, strategies=signals.strategies,
        templates=signals.templates, sector_codes=panel.sector_codes,
    )  # fmt: skip
    fills = []
    half = panel.n_bars // 2
    for t in range(panel.n_bars):
        if t == half:
            live.save(tmp_path / "state.npz")
            live = LivePortfolio.load(tmp_path / "state.npz")
        d = live.on_bar(
            panel.timestamps[t], close=panel.close[t], iv=panel.iv[t], valid=panel.valid[t],
            signal=signals.signal[:, t], confidence=signals.confidence[:, t],
        )  # fmt: skip
        fills.append(d.fills)
    assert_records_equal(result.raw.fills, np.concatenate(fills))
