"""Limits that hold (issue 11 item 1): the breach policies block / reduce and the breaches frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtesting._helpers import make_panel, make_signals, template
from backtesting.test_invariants import TEMPLATES, scenario
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes

# no costs and no cash interest (risk-b: the default rate is risk_free_rate), exact cash
FREE = {"spread_pct": 0.0, "commission_per_share": 0.0, "slippage_vol_mult": 0.0,
        "cash_interest_rate": 0.0}  # fmt: skip
NO_EXITS = {"stop_loss_pct": None, "take_profit_pct": None, "max_days_hold": 0}


def two_longs(policy: str, rise: float = 1.3, **limits):
    """Two 14% share positions on bar 0 (28% delta); S0 rises ``rise`` on bar 1."""
    close = np.array([[100.0, 50.0], [100.0 * rise, 50.0], [100.0 * rise, 50.0]])
    sig = np.zeros((1, 3, 2))
    sig[0, 0, :] = codes.SIG_LONG
    conf = np.zeros((1, 3, 2))
    conf[0, 0] = [0.9, 0.8]
    pc = PortfolioConfig(
        sizing_method="FixedFractional",
        fixed_fraction_pct=14.0,
        max_position_pct=14.0,
        max_risk_per_trade=100.0,
        risk_limits=RiskLimits(
            **{
                "max_portfolio_delta": 0.30,
                "max_concentration_pct": 100.0,
                "max_sector_exposure_pct": 100.0,
                "max_var_pct": 100.0,
                **limits,
            },
            breach_policy=policy,
        ),
    )
    config = BacktestConfig(use_portfolio_management=True, **FREE, **NO_EXITS)
    return BacktestEngine(config, pc).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)], conf)
    )


def test_reduce_trims_the_largest_contributor_by_the_units_needed():
    res = two_longs("reduce")
    # bar 1: S0 140 sh x 130 = 18,200, S1 280 sh x 50 = 14,000; equity 104,200 (no costs)
    gross, equity = 140 * 130.0 + 280 * 50.0, 100_000.0 + 140 * 30.0
    delta = gross / equity
    assert delta > 0.30
    n = math.ceil((gross - 0.30 * equity) / 130.0)  # shares of S0 to sell back
    trims = res.trades.filter(res.trades["reason"] == "risk_reduce")
    assert trims["symbol"].to_list() == ["S0"]  # the largest dollar delta
    assert trims["qty"].to_list() == [float(n)]
    assert trims["pnl"][0] == pytest.approx(n * 30.0)  # bought at 100, sold at 130, no costs
    eq = res.equity
    assert abs(eq["delta_exposure"][1]) <= 0.30
    assert abs(eq["delta_exposure"][1]) > 0.30 - 130.0 / equity  # not one share more
    b = res.breaches
    assert b.height == 1
    row = b.row(0, named=True)
    assert (row["exposure"], row["action"], row["symbols"]) == ("delta", "reduce", ["S0"])
    assert row["value"] == pytest.approx(delta)
    assert row["limit"] == 0.30
    assert row["value_after"] == pytest.approx(eq["delta_exposure"][1])
    # the position keeps the rest; the trim's P&L is realised, the rest stays marked
    assert res.raw.positions["qty"][0] == 140 - n
    assert eq["equity"][2] == pytest.approx(equity)


def test_block_records_the_breach_and_trades_nothing():
    res = two_longs("block")
    assert "risk_reduce" not in res.trades["reason"].to_list()
    assert res.equity["delta_exposure"][1] > 0.30
    b = res.breaches
    assert b["action"].to_list() == ["block", "block"]  # bars 1 and 2 both end above
    assert b["symbols"][0].to_list() == ["S0", "S1"]  # largest contributors first


@pytest.mark.parametrize(
    ("limits", "exposure", "column", "limit"),
    [
        (
            {"max_portfolio_delta": 1.0, "max_concentration_pct": 15.0},
            "concentration",
            "concentration",
            0.15,
        ),
        (
            {"max_portfolio_delta": 1.0, "max_sector_exposure_pct": 29.0},
            "sector",
            "sector_exposure",
            0.29,
        ),
    ],
)
def test_concentration_and_sector_breaches_are_reduced(limits, exposure, column, limit):
    res = two_longs("reduce", **limits)
    b = res.breaches
    assert b["exposure"].to_list() == [exposure]
    assert b["action"].to_list() == ["reduce"]
    assert b["symbols"][0].to_list() == ["S0"]  # the largest position in the sector
    assert res.equity[column][1] <= limit
    assert res.equity[column][1] > limit - 130.0 / 104_200.0  # trimmed by the units needed


def test_no_breach_no_record_and_no_trade():
    res = two_longs("reduce", rise=1.0)
    assert res.breaches.height == 0
    assert res.trades.height == 2


def test_breach_policy_is_validated_and_round_trips():
    with pytest.raises(ConfigError, match="breach_policy"):
        RiskLimits(breach_policy="liquidate")
    pc = PortfolioConfig(risk_limits=RiskLimits(breach_policy="block"))
    assert PortfolioConfig.from_json(pc.to_json()) == pc
    assert pc.to_kernel()[codes.PP_BREACH_POLICY] == codes.BREACH_BLOCK
    assert PortfolioConfig().to_kernel()[codes.PP_BREACH_POLICY] == codes.BREACH_REDUCE


def test_var_breach_is_reduced_below_its_limit():
    rng = np.random.default_rng(4)
    n = 80
    rets = rng.normal(0, 0.03, (n, 2))
    rets[60:] *= 4.0  # volatility jumps: VaR of the same book quadruples
    close = 100.0 * np.exp(np.cumsum(rets, axis=0))
    sig = np.zeros((1, n, 2))
    sig[0, 30, :] = codes.SIG_LONG
    pc = PortfolioConfig(
        sizing_method="FixedFractional",
        fixed_fraction_pct=10.0,
        var_window=20,
        risk_limits=RiskLimits(max_var_pct=1.5, max_concentration_pct=100.0),
    )
    config = BacktestConfig(use_portfolio_management=True, **NO_EXITS)
    res = BacktestEngine(config, pc).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    b = res.breaches.filter(res.breaches["exposure"] == "var")
    assert b.height > 0
    assert set(b["action"].to_list()) == {"reduce"}
    assert (res.equity["var_95"].to_numpy() <= 0.015 * (1 + 1e-9)).all()
    assert (res.trades["reason"] == "risk_reduce").sum() > 0


LIMITED = (
    ("delta_exposure", "delta"),
    ("gamma_exposure", "gamma"),
    ("vega_exposure", "vega"),
    ("concentration", "concentration"),
    ("sector_exposure", "sector"),
    ("var_95", "var"),
)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 3),
    st.integers(20, 45),
    st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=3),
    st.floats(0.05, 0.4),
    st.floats(3.0, 30.0),
    st.sampled_from(["reduce", "hedge"]),
)
def test_with_reduce_no_bar_ends_above_a_limit_unless_recorded_why(
    seed, n_sym, n_bars, kinds, max_delta, max_conc, policy
):
    panel, signals = scenario(seed, n_sym, n_bars, kinds)
    lim = RiskLimits(
        max_portfolio_delta=max_delta,
        max_portfolio_gamma=max_delta / 3,
        max_portfolio_vega=max_delta / 2,
        max_concentration_pct=max_conc,
        max_var_pct=max_conc / 4,
        max_sector_exposure_pct=2 * max_conc,
        breach_policy=policy,
    )
    config = BacktestConfig(
        use_portfolio_management=True,
        commission_per_share=0.005,
        slippage_vol_mult=0.1,
        cash_interest_rate=0.0,  # the cash identity below is exact without interest
    )
    res = BacktestEngine(config, PortfolioConfig(risk_limits=lim)).run(panel, signals)
    limits = {
        "delta": max_delta,
        "gamma": max_delta / 3,
        "vega": max_delta / 2,
        "concentration": max_conc / 100,
        "sector": 2 * max_conc / 100,
        "var": max_conc / 400,
    }
    unreducible = {
        (int(b), e)
        for b, e, a in zip(
            res.raw.breaches["bar"], res.breaches["exposure"], res.breaches["action"], strict=True
        )
        if a == "unreducible"
    }
    assert not set(res.breaches["note"].to_list()) - {"", *codes.BREACH_NOTE_TEXT.values()}
    for col, name in LIMITED:
        values = np.abs(res.equity[col].fill_null(0.0).to_numpy())
        above = np.flatnonzero(values > limits[name] * (1 + 1e-9))
        for bar in above:
            assert (int(bar), name) in unreducible, (name, bar, values[bar], limits[name])
    # the trims are fills like any other: cash = initial + cash flows - costs (+ interest)
    f = res.raw.fills
    interest = res.raw.equity["interest"].sum()
    assert res.raw.equity["cash"][-1] == pytest.approx(
        100_000.0 + f["cash_flow"].sum() - f["costs"].sum() + interest, rel=1e-9, abs=1e-6
    )


def test_hedge_sells_shares_against_an_option_delta_and_unwinds_at_expiry():
    n = 8
    close = np.array([100.0, 100.0, 110.0, 112.0, 112.0, 112.0, 112.0, 112.0]).reshape(n, 1)
    sig = np.zeros((1, n, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    pc = PortfolioConfig(
        sizing_method="FixedFractional",
        fixed_fraction_pct=2.0,
        max_risk_per_trade=100.0,
        scale_to_fit=True,  # enters at the delta limit; the rally takes the book above it
        risk_limits=RiskLimits(max_portfolio_delta=0.30, max_portfolio_gamma=10.0,
                               max_portfolio_vega=10.0, max_concentration_pct=100.0,
                               max_var_pct=100.0, max_sector_exposure_pct=100.0,
                               breach_policy="hedge"),
    )  # fmt: skip
    config = BacktestConfig(use_portfolio_management=True, risk_free_rate=0.0, **FREE, **NO_EXITS)
    res = BacktestEngine(config, pc).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_CALL, dte=5)])
    )
    hedges = res.trades.filter(res.trades["reason"] == "risk_hedge")
    first = hedges.row(0, named=True)
    assert (first["instrument"], first["side"], first["direction"]) == ("shares", "open", -1.0)
    b = res.breaches.row(0, named=True)
    assert (b["exposure"], b["action"]) == ("delta", "hedge")
    bar = res.equity["timestamp"].to_list().index(b["timestamp"])
    equity = res.equity["equity"][bar]
    assert first["qty"] == math.ceil((b["value"] - 0.30) * equity / close[bar, 0] - 1e-9)
    assert abs(res.equity["delta_exposure"][bar]) <= 0.30  # inside after the hedge
    assert res.equity["delta_exposure"][bar] > 0.30 - close[bar, 0] / equity  # not over-hedged
    # the call expires on bar 5; its hedge is bought back on the same bar
    expiry = res.trades.filter(res.trades["reason"] == "expiry")
    last = hedges.row(hedges.height - 1, named=True)
    assert (last["side"], last["timestamp"]) == ("close", expiry["timestamp"][0])
    assert res.equity["n_positions"][-1] == 0
    # every dollar is accounted for: cash = initial + cash flows - costs
    f = res.raw.fills
    assert res.raw.equity["cash"][-1] == pytest.approx(
        100_000 + f["cash_flow"].sum() - f["costs"].sum()
    )
    assert res.attribution.height == 2  # the hedge's trades pair with their entries
