"""Kelly that learns: rolling window of returns on max loss, shrinkage, probe size, revival."""

from __future__ import annotations

import math

import numpy as np

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.kernels import codes

PLAIN = {
    "cash_interest_rate": 0.0,
    "spread_pct": 0.0,
    "commission_per_share": 0.0,
    "max_notional_multiple": 0.0,
    "stop_loss_pct": None,
    "take_profit_pct": None,
    "max_days_hold": 0,
}
LOOSE = RiskLimits(
    max_portfolio_delta=100.0,
    max_portfolio_gamma=100.0,
    max_portfolio_vega=100.0,
    max_concentration_pct=100.0,
    max_var_pct=100.0,
    max_sector_exposure_pct=100.0,
)


def history(returns: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """One symbol: each trade enters at 100 and exits one bar later at 100 x (1 + r)."""
    closes, sig = [], []
    for r in returns:
        closes += [100.0, 100.0 * (1.0 + r)]
        sig += [codes.SIG_LONG, codes.SIG_EXIT]
    return np.array(closes).reshape(-1, 1), np.array(sig).reshape(1, -1, 1)


def reference_units(past: list[float], equity: float, cfg: PortfolioConfig) -> tuple[float, str]:
    """SPEC 5.2 Kelly for one share entry at 100 (unit max loss = 100 x stop distance)."""
    price = 100.0
    max_loss = price * cfg.stop_distance
    if len(past) < cfg.kelly_min_trades:
        raw, why = max(equity * cfg.max_risk_per_trade / 100 / price, cfg.kelly_probe_units), "fb"
    else:
        window = past[-cfg.kelly_window :]
        w = len(window)
        wins = [r for r in window if r > 0]
        losses = [-r for r in window if r <= 0]
        p = len(wins) / w
        if not wins:
            edge = -1.0
        elif not losses:
            edge = w * p / (w + cfg.kelly_shrinkage_trades)
        else:
            b = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
            edge = w / (w + cfg.kelly_shrinkage_trades) * (p - (1 - p) / b)
        f = min(cfg.kelly_fraction * edge, cfg.kelly_cap)
        if f <= 0:
            raw, why = cfg.kelly_probe_units, "probe"
        else:
            raw, why = max(equity * f / max_loss, cfg.kelly_probe_units), "kelly"
    cap = min(
        math.floor(equity * cfg.max_position_pct / 100 / price + 1e-9),
        math.floor(equity * cfg.max_risk_per_trade / 100 / max_loss + 1e-9),
    )
    return float(min(math.floor(raw), cap)), why


def test_a_strategy_whose_edge_turns_positive_again_resumes_normal_sizing():
    # 6 losing trades (Kelly <= 0: probe size), then winners revive the estimate
    rets = [-0.02] * 6 + [0.035] * 8
    close, sig = history(rets)
    cfg = PortfolioConfig(
        sizing_method="KellyCriterion", kelly_min_trades=3, kelly_window=5,
        kelly_shrinkage_trades=4.0, kelly_probe_units=2, kelly_fraction=0.2,
        max_position_pct=100.0, max_risk_per_trade=50.0, risk_limits=LOOSE,
    )  # fmt: skip
    res = BacktestEngine.with_portfolio(BacktestConfig(**PLAIN), cfg).run(
        make_panel(close, 0.3), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    fills = res.raw.fills
    entries = fills[fills["side"] > 0]
    exits = fills[fills["side"] < 0]
    assert len(entries) == len(rets)  # every signal traded: no forever-zero
    past: list[float] = []
    dollars: list[float] = []
    whys = []
    differs_in_dollars = False
    for k, e in enumerate(entries):
        equity = 100_000.0 if k == 0 else float(res.raw.equity["equity"][int(e["bar"]) - 1])
        units, why = reference_units(past, equity, cfg)
        assert e["qty"] == units, (k, why)
        probe_bit = bool(e["warn"] >> codes.W_KELLY_PROBE & 1)
        assert probe_bit == (why == "probe"), k
        whys.append(why)
        # the payoff ratio is per unit of risk: the same statistics in dollars (probe-sized
        # losses, full-sized wins) would size differently
        differs_in_dollars |= reference_units(dollars, equity, cfg)[0] != units
        x = exits[k]
        past.append(float(x["pnl"]) / (e["qty"] * 100.0 * cfg.stop_distance))  # return on risk
        dollars.append(float(x["pnl"]))
    assert whys[:3] == ["fb"] * 3
    assert "probe" in whys[3:8]
    assert whys[-1] == "kelly"
    assert entries["qty"][-1] > 10 * cfg.kelly_probe_units
    assert differs_in_dollars


def test_unit_larger_than_the_caps_is_a_recorded_reason():
    # a cash-secured put on a $900 stock: one unit's max loss is ~$90k, far above 2% of $100k
    n = 6
    close = np.full((n, 1), 900.0)
    sig = np.zeros((1, n, 1))
    sig[0, :, 0] = codes.SIG_SHORT
    tpl = template(codes.KIND_CASH_SECURED_PUT, direction=-1.0, dte=30, moneyness=0.95)
    cfg = PortfolioConfig(sizing_method="KellyCriterion")
    res = BacktestEngine.with_portfolio(BacktestConfig(**PLAIN), cfg).run(
        make_panel(close, 0.3), make_signals(sig, [tpl])
    )
    assert res.raw.fills.shape[0] == 0
    reasons = res.rejections["reasons"].to_list()
    assert reasons
    assert all(r == ["unit_too_large"] for r in reasons)
    assert "does not fit the sizing caps" in res.rejections["text"][0]
