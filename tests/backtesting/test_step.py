"""Hand-computed cases of the step kernel (through engine.run on hand-made panels)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.kernels import codes
from dollarbill_research.kernels.instruments_nb import strike_step_nb

R = 0.05


def bs(is_call: bool, s: float, k: float, t: float, sigma: float, r: float = R) -> float:
    """Closed-form Black-Scholes (q = 0), written independently of the kernels."""
    if t <= 0:
        return max(s - k, 0.0) if is_call else max(k - s, 0.0)
    d1 = (math.log(s / k) + (r + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    if is_call:
        return s * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * norm.cdf(-d1)


# The hand computations here use the percentage cost model alone, no liquidity caps and no cash
# interest; the tick floor, the caps and interest have their own tests (test_costs_margin.py,
# test_interest.py).
PLAIN = {
    "option_tick_rule": "none",
    "max_contracts_per_trade": 0,
    "max_notional_multiple": 0.0,
    "cash_interest_rate": 0.0,
}


def config(**kw) -> BacktestConfig:
    base = {"risk_free_rate": R, "commission_per_contract": 0.65, "spread_pct": 2.0, **PLAIN}
    base.update(kw)
    return BacktestConfig(**base)


def test_long_call_entry_price_qty_costs_and_equity():
    close = np.full((5, 1), 100.0)
    sig = np.zeros((1, 5, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    res = BacktestEngine(config()).run(
        make_panel(close, 0.3), make_signals(sig, [template(codes.KIND_CALL, dte=30)])
    )
    f = res.raw.fills[0]
    premium = bs(True, 100.0, 100.0, 30 / 365, 0.3)
    qty = math.floor(100_000 * 0.10 / (premium * 100))
    costs = qty * (0.65 + premium * 100 * 0.01)
    assert f["qty"] == qty
    assert f["price"] == pytest.approx(premium * 100, rel=1e-12)
    assert f["costs"] == pytest.approx(costs, rel=1e-12)
    assert f["leg0_strike"] == 100.0
    e0 = res.raw.equity[0]
    assert e0["cash"] == pytest.approx(100_000 - qty * premium * 100 - costs, rel=1e-12)
    assert e0["equity"] == pytest.approx(100_000 - costs, rel=1e-12)
    # bar 1 (one calendar day later): marked at the shorter time to expiry
    v1 = bs(True, 100.0, 100.0, 29 / 365, 0.3) * 100 * qty
    assert res.raw.equity[1]["positions_value"] == pytest.approx(v1, rel=1e-12)


def test_expiry_settles_at_intrinsic_without_costs():
    close = np.array([[100.0], [104.0], [108.0], [110.0], [111.0], [112.0]])
    sig = np.zeros((1, 6, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    cfg = config(stop_loss_pct=None, take_profit_pct=None, max_days_hold=0)
    res = BacktestEngine(cfg).run(
        make_panel(close, 0.3), make_signals(sig, [template(codes.KIND_CALL, dte=3)])
    )
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    assert len(exits) == 1
    x = exits[0]
    assert x["bar"] == 3  # first bar at/after entry day + 3
    assert x["reason"] == codes.EXIT_EXPIRY
    assert x["price"] == pytest.approx((110.0 - 100.0) * 100, abs=1e-12)
    assert x["costs"] == 0.0
    entry = res.raw.fills[0]
    assert x["pnl"] == pytest.approx((x["price"] - entry["price"]) * entry["qty"] - entry["costs"])
    assert res.trades["reason"].to_list() == ["entry", "expiry"]


def test_iron_condor_geometry_max_loss_and_reserved_cash():
    close = np.full((3, 1), 100.0)
    sig = np.zeros((1, 3, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    tpl = template(codes.KIND_IRON_CONDOR, dte=30, width=0.05, wing=0.05, step=1.0)
    res = BacktestEngine(config(spread_pct=0.0, commission_per_contract=0.0)).run(
        make_panel(close, 0.25), make_signals(sig, [tpl])
    )
    f = res.raw.fills[0]
    strikes = [f[f"leg{i}_strike"] for i in range(4)]
    ratios = [f[f"leg{i}_ratio"] for i in range(4)]
    assert strikes == [95.0, 90.0, 105.0, 110.0]
    assert ratios == [-1.0, 1.0, -1.0, 1.0]
    t = 30 / 365
    credit = (
        bs(False, 100, 95, t, 0.25) - bs(False, 100, 90, t, 0.25)
        + bs(True, 100, 105, t, 0.25) - bs(True, 100, 110, t, 0.25)
    )  # fmt: skip
    assert f["price"] == pytest.approx(-credit * 100, rel=1e-12)
    max_loss = (5.0 - credit) * 100
    qty = math.floor(100_000 * 0.10 / max_loss)  # unit cost of a credit structure = max loss
    assert f["qty"] == qty
    e = res.raw.equity[0]
    assert e["reserved"] == pytest.approx(qty * 500.0, rel=1e-12)  # widest wing x 100
    assert e["cash"] == pytest.approx(100_000 + qty * credit * 100, rel=1e-12)
    assert res.trades["legs"][0] == "-1 P95 +1 P90 -1 C105 +1 C110"


@pytest.mark.parametrize(
    ("path", "reason"),
    [([100.0, 90.0, 49.0, 49.0], codes.EXIT_STOP_LOSS),
     ([100.0, 150.0, 201.0, 201.0], codes.EXIT_TAKE_PROFIT)],
)  # fmt: skip
def test_shares_stop_loss_and_take_profit(path, reason):
    close = np.array(path)[:, None]
    sig = np.zeros((1, 4, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    res = BacktestEngine(config(spread_pct=0.0)).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    assert exits["bar"].tolist() == [2]
    assert exits["reason"].tolist() == [reason]
    assert exits["price"][0] == path[2]


def test_max_hold_and_signal_exit():
    close = np.full((10, 2), 50.0)
    sig = np.zeros((1, 10, 2))
    sig[0, 0, :] = codes.SIG_LONG
    sig[0, 2, 1] = codes.SIG_EXIT
    res = BacktestEngine(config(max_days_hold=4, spread_pct=0.0)).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    cols = (exits["symbol"].tolist(), exits["bar"].tolist(), exits["reason"].tolist())
    got = sorted(zip(*cols, strict=True))
    assert got == [(0, 4, codes.EXIT_MAX_HOLD), (1, 2, codes.EXIT_SIGNAL)]


def test_candidates_by_confidence_then_strategy_then_symbol():
    close = np.full((2, 3), 100.0)
    sig = np.zeros((2, 2, 3))
    sig[:, 0, :] = codes.SIG_LONG
    conf = np.zeros((2, 2, 3))
    conf[0, 0] = [0.5, 0.9, 0.5]
    conf[1, 0] = [0.5, 0.2, 0.95]
    cfg = config(position_size_pct=50.0, spread_pct=0.0, max_positions=5)
    tpl = template(codes.KIND_SHARES)
    res = BacktestEngine(cfg).run(make_panel(close), make_signals(sig, [tpl, tpl], conf))
    entries = res.raw.fills[res.raw.fills["side"] > 0]
    got = list(zip(entries["strategy"].tolist(), entries["symbol"].tolist(), strict=False))
    # 0.95, 0.9, then the 0.5 ties by strategy index and symbol index; the 6th hits max_positions
    assert got == [(1, 2), (0, 1), (0, 0), (0, 2), (1, 0)]
    assert entries["qty"].tolist() == [500.0, 250.0, 125.0, 62.0, 31.0]  # half the free cash
    rej = res.raw.rejections
    assert list(zip(rej["strategy"].tolist(), rej["symbol"].tolist(), strict=False)) == [(1, 1)]
    assert res.rejections["reasons"].to_list() == [["max_positions"]]
    assert res.rejections["text"].to_list() == ["Max positions reached (5)"]


def test_missing_bar_keeps_mark_and_delays_exit():
    close = np.array([[100.0], [np.nan], [120.0]])
    valid = np.isfinite(close)
    sig = np.zeros((1, 3, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    sig[0, 1, 0] = codes.SIG_EXIT  # on the missing bar: cannot trade
    sig[0, 2, 0] = codes.SIG_EXIT
    res = BacktestEngine(config(spread_pct=0.0)).run(
        make_panel(close, valid=valid), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    eq = res.raw.equity
    assert eq["positions_value"][1] == eq["positions_value"][0]
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    assert exits["bar"].tolist() == [2]
    assert exits["price"].tolist() == [120.0]


@pytest.mark.parametrize(
    ("s", "step", "expected"), [(10, 0, 0.5), (150, 0, 1.0), (400, 0, 5.0), (2000, 0, 10.0),
                                (150, 2.5, 2.5)]
)  # fmt: skip
def test_strike_grid(s, step, expected):
    assert strike_step_nb(float(s), float(step)) == expected
