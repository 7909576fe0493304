"""Property tests of the backtest (hypothesis): accounting, limits, causality, a reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.simple_backtest import simple_backtest
from scipy.stats import norm

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.kernels import codes

SETTINGS = settings(max_examples=12, deadline=None)
R = 0.03

TEMPLATES = [
    template(codes.KIND_SHARES),
    template(codes.KIND_SHARES, direction=-1.0),
    template(codes.KIND_CALL, dte=20),
    template(codes.KIND_PUT, direction=-1.0, dte=25, moneyness=0.95),
    template(codes.KIND_STRADDLE, dte=15),
    template(codes.KIND_IRON_CONDOR, dte=30, width=0.05, wing=0.05),
    template(codes.KIND_CASH_SECURED_PUT, dte=30, moneyness=0.97),
    template(codes.KIND_STRANGLE, direction=-1.0, dte=12, width=0.08),
    template(codes.KIND_CALL_CREDIT_SPREAD, dte=20, width=0.03, wing=0.04),
    template(codes.KIND_IRON_BUTTERFLY, dte=20, wing=0.06),
]


def scenario(seed: int, n_sym: int, n_bars: int, kinds: list[int]):
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.15, 0.8, n_sym)
    rets = rng.normal(0, vol / math.sqrt(252), (n_bars, n_sym))
    close = rng.uniform(20, 300, n_sym) * np.exp(np.cumsum(rets, axis=0))
    iv = np.clip(vol * rng.uniform(0.8, 1.3, (n_bars, n_sym)), 0.05, 2.0)
    n_strat = len(kinds)
    u = rng.random((n_strat, n_bars, n_sym))
    sig = np.where(u < 0.2, codes.SIG_LONG, np.where(u > 0.95, codes.SIG_EXIT, 0))
    conf = rng.random((n_strat, n_bars, n_sym))
    panel = make_panel(close, iv)
    return panel, make_signals(sig, [TEMPLATES[k] for k in kinds], conf)


def bs(is_call: bool, s: float, k: float, t: float, sigma: float) -> float:
    if t <= 0:
        return max(s - k, 0.0) if is_call else max(k - s, 0.0)
    d1 = (math.log(s / k) + (R + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    if is_call:
        return s * norm.cdf(d1) - k * math.exp(-R * t) * norm.cdf(d2)
    return k * math.exp(-R * t) * norm.cdf(-d2) - s * norm.cdf(-d1)


def unit_value(f, s: float, t_years: float, sigma: float) -> float:
    v = 0.0
    for i in range(int(f["n_legs"])):
        typ, k, ratio = f[f"leg{i}_type"], f[f"leg{i}_strike"], f[f"leg{i}_ratio"]
        if typ == codes.LEG_STOCK:
            v += ratio * s
        else:
            v += ratio * 100.0 * bs(typ == codes.LEG_CALL, s, k, t_years, sigma)
    return v


def run(panel, signals, pm: bool, **limits):
    config = BacktestConfig(use_portfolio_management=pm, risk_free_rate=R, max_positions=6,
                            commission_per_share=0.005, slippage_vol_mult=0.1)  # fmt: skip
    pc = PortfolioConfig(risk_limits=RiskLimits(**limits)) if limits else None
    return BacktestEngine(config, pc).run(panel, signals)


scenarios = st.tuples(
    st.integers(0, 10_000), st.integers(1, 3), st.integers(15, 45),
    st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=3), st.booleans(),
)  # fmt: skip


@SETTINGS
@given(scenarios)
def test_equity_is_cash_plus_independently_marked_positions(case):
    seed, n_sym, n_bars, kinds, pm = case
    panel, signals = scenario(seed, n_sym, n_bars, kinds)
    raw = run(panel, signals, pm).raw
    open_: dict[tuple[int, int], np.void] = {}
    days = panel.days
    for t in range(n_bars):
        for f in raw.fills[raw.fills["bar"] == t]:
            key = (int(f["strategy"]), int(f["symbol"]))
            if f["side"] > 0:
                open_[key] = f.copy()
            elif f["qty"] < open_[key]["qty"]:  # a partial trim (breach policy "reduce")
                open_[key]["qty"] -= f["qty"]
            else:
                del open_[key]
        value = 0.0
        for (_s, j), f in open_.items():
            t_years = max(f["expiry_day"] - days[t], 0.0) / 365.0
            value += f["qty"] * unit_value(f, panel.close[t, j], t_years, panel.iv[t, j])
        e = raw.equity[t]
        assert e["positions_value"] == pytest.approx(value, rel=1e-9, abs=1e-6)
        assert e["equity"] == pytest.approx(e["cash"] + value, rel=1e-9, abs=1e-6)
        assert e["n_positions"] == len(open_)


@SETTINGS
@given(scenarios)
def test_cash_changes_only_by_fills_and_costs(case):
    seed, n_sym, n_bars, kinds, pm = case
    panel, signals = scenario(seed, n_sym, n_bars, kinds)
    raw = run(panel, signals, pm).raw
    cash = np.concatenate([[100_000.0], raw.equity["cash"]])
    flows = np.zeros(n_bars)
    np.add.at(flows, raw.fills["bar"], raw.fills["cash_flow"] - raw.fills["costs"])
    flows += raw.equity["interest"]  # cash interest (the default rate is risk_free_rate)
    np.testing.assert_allclose(np.diff(cash), flows, rtol=0, atol=1e-6)
    assert (raw.equity["cash"] - raw.equity["reserved"] >= -1e-6).all()  # free cash never < 0


@SETTINGS
@given(scenarios, st.floats(0.05, 0.4), st.floats(3.0, 30.0))
def test_no_limit_is_breached_because_of_an_approved_entry(case, max_delta, max_conc):
    seed, n_sym, n_bars, kinds, _ = case
    panel, signals = scenario(seed, n_sym, n_bars, kinds)
    lim = {"max_portfolio_delta": max_delta, "max_portfolio_gamma": max_delta / 3,
           "max_portfolio_vega": max_delta / 2, "max_concentration_pct": max_conc,
           "max_var_pct": max_conc / 4}  # fmt: skip
    raw = run(panel, signals, True, **lim).raw
    entries = raw.fills[raw.fills["side"] > 0]
    eq = raw.equity["equity"]
    costs = np.zeros(n_bars)
    np.add.at(costs, raw.fills["bar"], raw.fills["costs"])
    tol = 1e-9
    for f in entries[entries["kind"] == codes.KIND_SHARES]:  # the new position's own value
        equity_at_decision = eq[f["bar"]] + costs[f["bar"]]  # costs only lower equity
        assert f["qty"] * abs(f["price"]) <= max_conc / 100 * equity_at_decision * (1 + tol)
    for t in np.unique(entries["bar"]):
        e = raw.equity[t]
        # limits are checked at the equity of the decision; the bar's later costs can only
        # shrink equity, hence the ratio (pre-entry equity / end-of-bar equity)
        shrink = (e["equity"] + costs[t]) / e["equity"]
        for name, limit in (("delta", max_delta), ("gamma", max_delta / 3),
                            ("vega", max_delta / 2), ("var95", max_conc / 400)):  # fmt: skip
            end, pre = abs(e[f"exp_{name}"]), abs(e[f"pre_{name}"])
            assert end <= max(limit, pre) * shrink * (1 + 1e-9) + tol, (name, t, end, pre, limit)


@SETTINGS
@given(scenarios, st.integers(3, 12))
def test_no_look_ahead(case, k):
    seed, n_sym, n_bars, kinds, pm = case
    panel, signals = scenario(seed, n_sym, n_bars, kinds)
    a = run(panel, signals, pm).raw
    rng = np.random.default_rng(seed + 1)
    close = panel.close.copy()
    close[k + 1 :] *= rng.uniform(0.5, 1.5, close[k + 1 :].shape)
    iv = panel.iv.copy()
    iv[k + 1 :] = rng.uniform(0.1, 1.0, iv[k + 1 :].shape)
    sig = signals.signal.copy()
    sig[:, k + 1 :] = rng.choice([0, 1, 2], sig[:, k + 1 :].shape)
    panel2 = make_panel(close, iv)
    b = run(panel2, make_signals(sig, list(signals.templates[:, 0]), signals.confidence), pm).raw
    for rec_a, rec_b in ((a.fills, b.fills), (a.rejections, b.rejections)):
        ea, eb = rec_a[rec_a["bar"] <= k], rec_b[rec_b["bar"] <= k]
        assert len(ea) == len(eb)
        for name in ea.dtype.names:
            np.testing.assert_array_equal(ea[name], eb[name])
    for name in a.equity.dtype.names:
        np.testing.assert_array_equal(a.equity[name][: k + 1], b.equity[name][: k + 1])


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(10, 60), st.floats(1.0, 60.0))
def test_equities_only_run_matches_the_reference(seed, n_sym, n_bars, pct):
    panel, signals = scenario(seed, n_sym, n_bars, [0, 0])
    # the reference has no cash interest: 0 explicitly (the default is risk_free_rate)
    config = BacktestConfig(position_size_pct=pct, max_positions=0, commission_per_share=0.01,
                            spread_pct=0.2, max_days_hold=7, stop_loss_pct=8.0,
                            take_profit_pct=12.0, cash_interest_rate=0.0)  # fmt: skip
    raw = BacktestEngine(config).run(panel, signals).raw
    ref = simple_backtest(
        panel.close, panel.valid, signals.signal, signals.confidence, capital=100_000.0,
        pct=pct, commission=0.01, spread_pct=0.2, max_hold=7, stop_pct=8.0, take_pct=12.0,
    )  # fmt: skip
    cols = [raw.fills[n].tolist() for n in ("bar", "strategy", "symbol", "side", "qty", "price")]
    got = list(zip(*cols, strict=True))
    assert got == ref.fills
    np.testing.assert_allclose(raw.equity["equity"], ref.equity, rtol=1e-12)
    np.testing.assert_allclose(raw.equity["cash"], ref.cash, rtol=1e-12)
