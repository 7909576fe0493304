"""result.diagnose(): the guide's Troubleshooting answers, checked against reruns of the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.backtesting.sizing_check import entry_sizing
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.kernels import codes
from dollarbill_research.pricing import bs_price
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    ShortStrangle,
    VolatilityMeanReversion,
)

N_TRIES = 12
LOOSE = RiskLimits(max_portfolio_delta=10.0, max_portfolio_gamma=10.0, max_portfolio_vega=10.0,
                   max_concentration_pct=100.0, max_var_pct=100.0,
                   max_sector_exposure_pct=100.0)  # fmt: skip


def _alternating(n: int = N_TRIES):
    """One symbol; an entry on every even bar and an exit on the next, iv varying per entry.

    Every entry meets an empty book, so each candidate's projected delta is its own
    (VolatilityBased shares: about max_risk_per_trade / iv).
    """
    n_bars = 2 * n
    close = np.full((n_bars, 1), 100.0)
    iv = np.linspace(0.05, 0.5, n).repeat(2)[:, None]
    sig = np.zeros((1, n_bars, 1))
    sig[0, 0::2, 0] = codes.SIG_LONG
    sig[0, 1::2, 0] = codes.SIG_EXIT
    return make_panel(close, iv=iv), make_signals(sig, [template(codes.KIND_SHARES)])


def _run_limited(max_delta: float):
    panel, signals = _alternating()
    limits = RiskLimits(**{**LOOSE.to_dict(), "max_portfolio_delta": max_delta})
    pc = PortfolioConfig(max_risk_per_trade=2.0, max_position_pct=100.0, risk_limits=limits)
    config = BacktestConfig(use_portfolio_management=True, max_positions=0)
    return BacktestEngine(config, pc).run(panel, signals)


def test_all_rejected_names_the_limit_and_the_value_that_lets_trades_through():
    result = _run_limited(0.01)
    assert result.trades.height == 0
    diag = result.diagnose()
    assert f"all {N_TRIES} entry candidates were rejected" in diag.text
    row = diag.limits.row(0, named=True)
    assert row["reason"] == "delta"
    assert row["n"] == N_TRIES
    assert row["alone"] == N_TRIES
    assert row["field"] == "risk_limits.max_portfolio_delta"
    assert row["limit"] == pytest.approx(0.01)
    problems = diag.problems
    assert "rejections" in problems["check"].to_list()
    assert "max_portfolio_delta" in " ".join(problems["hint"].to_list())
    # the suggested values, rerun: they let (at least) that share of the entries through
    for key, share in (("let_50pct", 0.5), ("let_90pct", 0.9), ("let_100pct", 1.0)):
        rerun = _run_limited(row[key])
        entries = rerun.trades.filter(rerun.trades["side"] == "open").height
        assert entries >= math.ceil(share * N_TRIES), key
    # and a value below the median lets fewer through
    below = _run_limited(row["let_50pct"] * 0.9)
    assert below.trades.filter(below.trades["side"] == "open").height < N_TRIES / 2 + 1


def test_suggested_values_are_round_and_strictly_above():
    from dollarbill_research.backtesting.diagnose import _just_above

    assert _just_above(0.078) == 0.0781
    assert _just_above(0.07812) == 0.0782
    assert _just_above(12.0) == 12.1
    assert _just_above(0.3999) == 0.4
    for value in np.random.default_rng(0).uniform(1e-4, 1e3, 200):
        above = _just_above(float(value))
        assert value < above <= value * 1.01 + 1e-12


def test_fixed_sizing_is_reported_when_portfolio_management_is_off():
    panel, signals = _alternating()
    result = BacktestEngine(BacktestConfig()).run(panel, signals)
    diag = result.diagnose()
    first = diag.frame.row(0, named=True)
    assert first["check"] == "fixed_sizing"
    assert first["status"] == "problem"
    assert "use_portfolio_management = True" in first["hint"]
    sizing = entry_sizing(result)
    assert set(sizing["binding"].to_list()) <= {"position_size_pct", "free_cash"}
    on = BacktestEngine(BacktestConfig(use_portfolio_management=True)).run(panel, signals)
    assert on.diagnose().frame.row(0, named=True)["status"] == "ok"


def _shares_run(**portfolio):
    panel, signals = _alternating()
    pc = PortfolioConfig(risk_limits=LOOSE, **portfolio)
    return BacktestEngine(BacktestConfig(use_portfolio_management=True, max_positions=0),
                          pc).run(panel, signals)  # fmt: skip


@pytest.mark.parametrize(
    ("portfolio", "binding"),
    [
        ({"sizing_method": "FixedFractional", "fixed_fraction_pct": 50.0,
          "max_position_pct": 10.0, "max_risk_per_trade": 50.0}, "max_position_pct"),
        ({"sizing_method": "FixedFractional", "fixed_fraction_pct": 50.0,
          "max_position_pct": 30.0, "max_risk_per_trade": 1.0}, "max_risk_per_trade"),
        ({"sizing_method": "FixedFractional", "fixed_fraction_pct": 2.0,
          "max_position_pct": 30.0, "max_risk_per_trade": 5.0}, "sizing_method"),
    ],
)  # fmt: skip
def test_binding_cap_per_strategy(portfolio, binding):
    result = _shares_run(**portfolio)
    sizing = entry_sizing(result)
    assert sizing.height == N_TRIES
    assert set(sizing["binding"].to_list()) == {binding}
    if binding == "max_position_pct":
        assert (sizing["qty"] == sizing["cap_notional"]).all()
    if binding == "max_risk_per_trade":
        assert (sizing["qty"] == sizing["cap_risk"]).all()
    row = result.diagnose().sizing.row(0, named=True)
    assert row["binding"] == binding
    assert row["binding_share"] == 1.0


def test_small_and_large_sizes_are_problems_with_the_right_fix():
    small = _shares_run(sizing_method="FixedDollar", fixed_dollar_amount=500.0)
    finding = small.diagnose().problems.filter(small.diagnose().problems["check"] == "sizing")
    assert finding.height == 1
    assert finding["finding"][0].startswith("sizes small")
    assert "fixed_fraction_pct / fixed_dollar_amount" in finding["hint"][0]
    large = _shares_run(sizing_method="FixedFractional", fixed_fraction_pct=40.0,
                        max_position_pct=60.0, max_risk_per_trade=50.0)  # fmt: skip
    finding = large.diagnose().problems.filter(large.diagnose().problems["check"] == "sizing")
    assert finding["finding"][0].startswith("sizes large")
    assert "max_position_pct" in finding["hint"][0]


def test_reconstructed_sizing_inputs_match_the_kernel_records():
    """qty x unit cost / pre-entry equity equals the kernel's recorded cash need, every kind."""
    frame = synthetic_universe(n_symbols=6, n_bars=300, seed=5)
    strategy = Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts(),
                         ShortStrangle()))  # fmt: skip
    for pm in (True, False):
        config = BacktestConfig(use_portfolio_management=pm, max_round_trip_cost_pct=0.0)
        result = BacktestEngine(config).run(frame, strategy)  # every kind, cheap ones included
        sizing = entry_sizing(result)
        fills = result.raw.fills[result.raw.fills["side"] > 0]
        assert sizing.height == fills.shape[0] > 50
        kinds = set(fills["kind"].tolist())
        assert len(kinds) >= 4
        expected = fills["cash_needed"]
        got = sizing["notional_pct"].to_numpy() / 100.0
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        assert (sizing["qty"] <= sizing["cap_cash"]).all()
        if pm:
            assert (sizing["qty"] <= sizing["cap_notional"]).all()
            assert (sizing["qty"] <= sizing["cap_risk"]).all()


def test_diagnosis_reprs_are_short_text_and_html():
    result = _run_limited(0.01)
    diag = result.diagnose()
    assert repr(diag) == diag.text
    assert len(diag.text) < 2000
    html = diag._repr_html_()
    assert "<ul>" in html
    assert "max_portfolio_delta" in html


def test_repeated_signals_while_holding_are_not_a_rejection_problem():
    import dataclasses

    from dollarbill_research.kernels import records

    result = _shares_run()  # 12 entries, nothing rejected
    repeats = np.zeros(40, dtype=records.REJECTION_DTYPE)  # as the live manager records them
    repeats["reason"] = 1 << codes.R_ALREADY_OPEN
    raw = dataclasses.replace(result.raw, rejections=repeats)
    diag = dataclasses.replace(result, raw=raw).diagnose()
    row = diag.frame.filter(diag.frame["check"] == "rejections").row(0, named=True)
    assert row["status"] == "ok"
    assert row["finding"].startswith("0 of 12 entry candidates")
    assert "not counting 40 repeated signals" in row["finding"]


def test_zero_size_names_the_unit_cost_against_max_position_pct():
    """Cash-secured puts on a $300 stock: one contract needs $30,000 less its premium."""
    n_bars = 10
    sig = np.zeros((1, n_bars, 1))
    sig[0, 0::2, 0] = codes.SIG_LONG
    panel = make_panel(np.full((n_bars, 1), 300.0))
    pc = PortfolioConfig(max_position_pct=10.0, risk_limits=LOOSE)
    config = BacktestConfig(use_portfolio_management=True)
    tpl = template(codes.KIND_CASH_SECURED_PUT, direction=-1.0, dte=30.0, moneyness=1.0)
    result = BacktestEngine(config, pc).run(panel, make_signals(sig, [tpl]))
    assert result.trades.height == 0
    diag = result.diagnose()
    finding = diag.problems.filter(diag.problems["check"] == "sizing").row(0, named=True)
    assert "5 candidates sized to zero" in finding["finding"]
    assert "above max_position_pct=10%" in finding["finding"]
    need = diag.sizing["zero_size_unit_pct"][0]
    # buying power of a cash-secured put: strike x 100 - premium (docs/risk-model.md, "Margin")
    # (the margin formula itself is tested against a closed form in tests/kernels); here: the
    # premium of a 30-day ATM put at 30% vol is about 3.2% of the strike
    premium = bs_price(300.0, 300.0, 30 / 365, config.risk_free_rate, 0.3, is_call=False)
    assert need == pytest.approx((30_000.0 - 100.0 * float(premium)) / 1_000.0, rel=2e-3)
    assert need < 30.0
    assert f"raise PortfolioConfig.max_position_pct above {need:.1f}%" in finding["hint"]
