"""Option costs (tick floor), broker-style margin per structure and the liquidity caps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import TICK_RULES, BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes

R = 0.05
BASE = {
    "risk_free_rate": R,
    "cash_interest_rate": 0.0,
    "commission_per_contract": 0.65,
    "spread_pct": 2.0,
    "max_contracts_per_trade": 0,
    "max_notional_multiple": 0.0,
    "max_round_trip_cost_pct": 0.0,  # the cost filter has its own tests below
}


def bs(is_call: bool, s: float, k: float, t: float, sigma: float) -> float:
    d1 = (math.log(s / k) + (R + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    if is_call:
        return s * norm.cdf(d1) - k * math.exp(-R * t) * norm.cdf(d2)
    return k * math.exp(-R * t) * norm.cdf(-d2) - s * norm.cdf(-d1)


def one_entry(tpl, s=100.0, side=codes.SIG_LONG, **kw):
    close = np.full((3, 1), s)
    sig = np.zeros((1, 3, 1))
    sig[0, 0, 0] = side
    return BacktestEngine(BacktestConfig(**{**BASE, **kw})).run(
        make_panel(close, 0.3), make_signals(sig, [tpl])
    )


@pytest.mark.parametrize("rule", sorted(TICK_RULES))
@pytest.mark.parametrize("moneyness", [1.0, 1.15])  # ATM ($3.6) and OTM (below $3)
def test_option_leg_pays_at_least_the_tick_rule_half_spread(rule, moneyness):
    res = one_entry(template(codes.KIND_CALL, dte=30, moneyness=moneyness), option_tick_rule=rule)
    f = res.raw.fills[0]
    k = f["leg0_strike"]
    price = bs(True, 100.0, k, 30 / 365, 0.3)
    low, high = TICK_RULES[rule]
    half = max(price * 0.01, low if price < 3.0 else high)
    assert f["price"] == pytest.approx(price * 100, rel=1e-12)
    assert f["costs"] == pytest.approx(f["qty"] * (0.65 + 100 * half), rel=1e-12)


def test_shares_costs_do_not_depend_on_the_tick_rule():
    a, b = (
        one_entry(template(codes.KIND_SHARES), option_tick_rule=r).raw.fills
        for r in ("nickel_dime", "none")
    )
    assert a.tobytes() == b.tobytes()


def test_cash_secured_put_buying_power_is_strike_x_100_minus_premium():
    tpl = template(codes.KIND_CASH_SECURED_PUT, direction=-1.0, dte=30, moneyness=0.95)
    res = one_entry(tpl, side=codes.SIG_SHORT, option_tick_rule="none")
    f = res.raw.fills[0]
    k = f["leg0_strike"]
    premium = bs(False, 100.0, k, 30 / 365, 0.3) * 100
    bp_unit = k * 100 - premium
    assert f["qty"] == math.floor(100_000 * 0.10 / bp_unit)
    e = res.raw.equity[0]
    assert e["reserved"] == pytest.approx(k * 100 * f["qty"], rel=1e-12)  # collateral


@pytest.mark.parametrize(
    ("kind", "moneyness", "width"),
    [(codes.KIND_CALL, 1.05, 0.0), (codes.KIND_PUT, 0.9, 0.0), (codes.KIND_STRANGLE, 1.0, 0.1),
     (codes.KIND_STRADDLE, 1.0, 0.0)],
)  # fmt: skip
def test_naked_short_margin_is_20pct_of_underlying_minus_otm_min_10pct_plus_premium(
    kind, moneyness, width
):
    s = 100.0
    tpl = template(kind, direction=-1.0, dte=30, moneyness=moneyness, width=width)
    res = one_entry(tpl, s=s, side=codes.SIG_SHORT, option_tick_rule="none")
    f = res.raw.fills[0]
    premium = 0.0
    req = 0.0
    for i in range(int(f["n_legs"])):
        is_call = f[f"leg{i}_type"] == codes.LEG_CALL
        k = f[f"leg{i}_strike"]
        premium += bs(is_call, s, k, 30 / 365, 0.3) * 100
        otm = max(k - s, 0.0) if is_call else max(s - k, 0.0)
        floor = 0.10 * (s if is_call else k)
        req = max(req, max(0.20 * s - otm, floor) * 100)  # the larger side only
    assert -f["price"] == pytest.approx(premium, rel=1e-12)
    assert f["qty"] == math.floor(100_000 * 0.10 / req)  # buying power = the requirement
    e = res.raw.equity[0]
    assert e["reserved"] == pytest.approx((req + premium) * f["qty"], rel=1e-9)


def condor():
    return template(codes.KIND_IRON_CONDOR, dte=30, width=0.05, wing=0.05)


@pytest.mark.parametrize("pm", [False, True])
def test_contracts_cap_limits_an_iron_condor_to_whole_structures(pm):
    kw = {"max_contracts_per_trade": 10, "use_portfolio_management": pm}
    res = one_entry(condor(), **kw)
    f = res.raw.fills[0]
    assert f["qty"] == 2  # 10 contracts // 4 legs
    assert f["warn"] >> codes.W_LIQUIDITY_CAPPED & 1
    assert "liquidity_capped" in res.trades["warnings"][0]


@pytest.mark.parametrize("pm", [False, True])
def test_notional_cap_is_a_multiple_of_equity(pm):
    res = one_entry(condor(), s=200.0, max_notional_multiple=0.5, use_portfolio_management=pm)
    f = res.raw.fills[0]
    assert f["qty"] == math.floor(0.5 * 100_000 / (200.0 * 100))  # 2 condors of $20,000
    # one unit above the cap: a recorded reason, not a silent zero
    res = one_entry(condor(), s=600.0, max_notional_multiple=0.5, use_portfolio_management=pm)
    assert res.raw.fills.shape[0] == 0
    assert res.rejections["reasons"].to_list() == [["liquidity"]]


def test_liquidity_caps_hold_on_random_books():
    rng = np.random.default_rng(3)
    n_bars, n_sym = 60, 4
    close = rng.uniform(20, 400, n_sym) * np.exp(np.cumsum(rng.normal(0, 0.02, (n_bars, n_sym)), 0))
    kinds = [condor(), template(codes.KIND_CALL, dte=20), template(codes.KIND_SHARES),
             template(codes.KIND_STRANGLE, direction=-1.0, dte=20, width=0.08)]  # fmt: skip
    sig = np.where(rng.random((len(kinds), n_bars, n_sym)) < 0.2, codes.SIG_LONG, 0)
    sig[3] = np.where(sig[3] != 0, codes.SIG_SHORT, 0)
    for pm in (False, True):
        cfg = BacktestConfig(use_portfolio_management=pm, max_contracts_per_trade=12,
                             max_notional_multiple=0.3, max_positions=0)  # fmt: skip
        pc = PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=30.0,
                             max_position_pct=30.0, risk_limits=RiskLimits(
                                 max_portfolio_delta=50, max_portfolio_gamma=50,
                                 max_portfolio_vega=50, max_concentration_pct=100,
                                 max_var_pct=100, max_sector_exposure_pct=100))  # fmt: skip
        res = BacktestEngine(cfg, pc).run(make_panel(close, 0.4), make_signals(sig, kinds))
        fills = res.raw.fills
        entries = fills[fills["side"] > 0]
        assert entries.shape[0] > 20
        eq = res.raw.equity["equity"]
        for e in entries:
            contracts = sum(
                abs(e[f"leg{i}_ratio"]) for i in range(int(e["n_legs"]))
                if e[f"leg{i}_type"] != codes.LEG_STOCK
            )  # fmt: skip
            assert e["qty"] * contracts <= 12
            lot = e["spot"] * (1.0 if e["kind"] == codes.KIND_SHARES else 100.0)
            # the cap uses the bar's equity before its entries; bound it by the bar's ends
            bar = int(e["bar"])
            before = 100_000.0 if bar == 0 else eq[bar - 1]
            assert e["qty"] * lot <= 0.3 * max(before, eq[bar]) * 1.05


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match="option_tick_rule"):
        BacktestConfig(option_tick_rule="dime")
    with pytest.raises(ConfigError, match="max_contracts_per_trade"):
        BacktestConfig(max_contracts_per_trade=-1)
    with pytest.raises(ConfigError, match="max_notional_multiple"):
        BacktestConfig(max_notional_multiple=-0.5)


def _round_trip_over_max_loss(fill) -> float:
    """Independent ratio of a condor fill: twice its entry costs over (widest wing - credit)."""
    strikes = sorted(fill[f"leg{i}_strike"] for i in range(int(fill["n_legs"])))
    width = max(strikes[1] - strikes[0], strikes[3] - strikes[2])
    unit_max_loss = width * 100.0 + fill["price"]  # price of a credit structure is negative
    return 2.0 * fill["costs"] / fill["qty"] / unit_max_loss


@pytest.mark.parametrize("pm", [False, True])
@pytest.mark.parametrize("s", [20.0, 60.0, 200.0])
def test_cost_filter_skips_structures_whose_round_trip_eats_the_max_loss(pm, s):
    kw = {"use_portfolio_management": pm, "option_tick_rule": "nickel_dime"}
    free = one_entry(condor(), s=s, max_round_trip_cost_pct=0.0, **kw)
    ratio = _round_trip_over_max_loss(free.raw.fills[0])
    filtered = one_entry(condor(), s=s, max_round_trip_cost_pct=10.0, **kw)
    if ratio > 0.10:
        assert filtered.raw.fills.shape[0] == 0
        assert filtered.rejections["reasons"].to_list() == [["cost"]]
        assert "max_round_trip_cost_pct" in filtered.rejections["text"][0]
    else:
        assert filtered.raw.fills.tobytes() == free.raw.fills.tobytes()
    # the cheap condor is the case of docs/risk-model.md: about 4 x $5.65 each way
    if s == 20.0:
        assert ratio > 0.5


def test_cost_filter_never_applies_to_shares():
    shares = template(codes.KIND_SHARES)
    wide = one_entry(shares, share_spread_pct=50.0, max_round_trip_cost_pct=1.0)
    assert wide.raw.fills.shape[0] == 1


def test_share_spread_prices_shares_and_leaves_option_legs_alone():
    shares = one_entry(template(codes.KIND_SHARES), s=50.0, share_spread_pct=0.1).raw.fills[0]
    assert shares["costs"] == pytest.approx(shares["qty"] * 50.0 * 0.1 / 200.0, rel=1e-12)
    call = template(codes.KIND_CALL, dte=30)
    a, b = (one_entry(call, share_spread_pct=v).raw.fills for v in (None, 0.1))
    assert a.tobytes() == b.tobytes()
    # None means spread_pct: bit-identical to today's runs
    same = one_entry(template(codes.KIND_SHARES), share_spread_pct=BASE["spread_pct"]).raw.fills
    default = one_entry(template(codes.KIND_SHARES)).raw.fills
    assert same.tobytes() == default.tobytes()


def test_cost_settings_validate_and_round_trip_json():
    with pytest.raises(ConfigError, match="max_round_trip_cost_pct"):
        BacktestConfig(max_round_trip_cost_pct=-1.0)
    with pytest.raises(ConfigError, match="share_spread_pct"):
        BacktestConfig(share_spread_pct=100.0)
    cfg = BacktestConfig(share_spread_pct=0.05, max_round_trip_cost_pct=7.5)
    assert BacktestConfig.from_json(cfg.to_json()) == cfg
