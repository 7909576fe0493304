from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits, SizingMethod
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import codes
from dollarbill_research.portfolio import Candidate, PortfolioManager, Position


def seed_manager(**kwargs):
    return PortfolioManager(
        PortfolioConfig(
            initial_capital=100_000.0, max_risk_per_trade=2.0, max_position_pct=10.0,
            sizing_method=SizingMethod.VolatilityBased,
            risk_limits=RiskLimits(max_portfolio_delta=0.30, max_concentration_pct=20.0),
            **kwargs,
        )
    )  # fmt: skip


def test_delta_rejection_text():
    pm = seed_manager()
    pm.update_positions([Position.shares("AAPL", "Momentum", 200, 137.5, sector="Tech")])
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=50)
    # (27500 + 5000) / 100000 = 32.5 %
    assert not d.approved
    assert d.reasons == (codes.R_DELTA,)
    assert d.reason_texts == ("Portfolio delta (32.5%) exceeds limit (30.0%)",)
    assert d.exposures.delta == pytest.approx(0.325)


def test_warning_when_approaching_limit():
    pm = seed_manager()
    pm.update_positions([Position.shares("AAPL", "Momentum", 200, 105.0)])
    d = pm.decide(
        Candidate.shares("MSFT", "Momentum", 100.0, 0.25),
        size=50,
    )
    assert d.approved
    assert "Portfolio delta (26.0%) approaching limit (30.0%)" in d.warning_texts


def test_strategy_capacity_and_cash():
    pm = seed_manager()
    pm.update_positions([Position("AAPL", "Momentum", 0.0, cost=9_000.0)])
    pm.update_strategy_capacity({"Momentum": 10_000.0})
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=20)
    assert d.reason_texts == ("Strategy Momentum at capacity",)
    pm.update_capital(100_000.0, cash=500.0)
    d = pm.decide(Candidate.shares("MSFT", "Other", 100.0, 0.25), size=20)
    assert d.reasons == (codes.R_CASH,)


def test_concentration_and_scale_to_fit():
    pm = seed_manager(scale_to_fit=True)
    pm.config.risk_limits.max_concentration_pct = 5.0
    pm.config.max_position_pct = 50.0
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=80)
    assert d.approved
    assert d.size == 50  # 5 % of 100000 / 100
    assert codes.W_SCALED_DOWN in d.warnings
    pm.config.scale_to_fit = False
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=80)
    assert d.reason_texts == ("Concentration (8.0%) exceeds limit (5.0%)",)


def test_manager_sizes_by_default_and_sees_its_book():
    pm = seed_manager(max_positions=1)
    c = Candidate.shares("MSFT", "Momentum", 50.0, 0.4)
    assert pm.decide(c).size == 100  # 2000 / (50 * 0.4)
    assert pm.can_take_position(c)
    pm.update_positions([Position.shares("AAPL", "Momentum", 10, 100.0)])
    d = pm.decide(c)
    assert d.reason_texts == ("Max positions reached (1)",)


def test_bad_inputs_raise():
    pm = seed_manager()
    with pytest.raises(DataError):
        pm.update_capital(-5.0)
    with pytest.raises(DataError):
        pm.decide(Candidate.shares("MSFT", "M", 10.0, 0.2), size=-1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 8), scale=st.booleans())
def test_approved_never_exceeds_limits_on_a_compliant_book(seed, k, scale):
    rng = np.random.default_rng(seed)
    symbols = ("A", "B", "C", "D")
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (80, 4)), axis=0))
    pm = seed_manager(scale_to_fit=scale)
    book = [Position.shares(symbols[rng.integers(4)], "S", int(rng.integers(-40, 40)),
                            float(rng.uniform(20, 200)), sector=str(rng.integers(2)))
            for _ in range(k)]  # fmt: skip
    pm.update_positions(book)
    pm.update_market(closes, symbols)
    before = pm.decide(Candidate.shares("A", "S", 10.0, 0.2), size=0).exposures
    lim = pm.config.risk_limits
    compliant = abs(before.delta) <= lim.max_portfolio_delta and before.var95 <= 0.1
    c = Candidate.shares(symbols[rng.integers(4)], "S", float(rng.uniform(5, 300)),
                         float(rng.uniform(0.1, 1.0)), direction=int(rng.choice([-1, 1])),
                         sector=str(rng.integers(2)))  # fmt: skip
    d = pm.decide(c, size=int(rng.integers(1, 500)))
    if d.approved and compliant:
        ex = d.exposures
        assert abs(ex.delta) <= lim.max_portfolio_delta + 1e-12
        assert ex.var95 <= lim.max_var_pct / 100 + 1e-12
        assert d.size * c.unit_conc / 1e5 <= lim.max_concentration_pct / 100 + 1e-12


# -- edge semantics (issue 11 item 5) ------------------------------------------------------------
def test_a_trade_landing_exactly_on_the_limit_is_approved():
    # 27,000 + 3,000 = 30,000 of delta on 100,000: 0.27 + 0.03 is 0.30000000000000004 in floats
    pm = seed_manager()
    pm.update_positions([Position.shares("AAPL", "Momentum", 180, 150.0)])
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=30)
    assert d.approved
    assert d.size == 30
    assert d.exposures.delta == pytest.approx(0.30, rel=1e-12)
    assert "Portfolio delta (30.0%) at limit (30.0%)" in d.warning_texts
    # one more share is strictly above: rejected
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=31)
    assert d.reason_texts == ("Portfolio delta (30.1%) exceeds limit (30.0%)",)


def test_scale_to_fit_returns_the_size_that_lands_on_the_limit():
    pm = seed_manager(scale_to_fit=True)
    pm.update_positions([Position.shares("AAPL", "Momentum", 180, 150.0)])
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=50)
    assert d.approved
    assert d.size == 30
    assert codes.W_SCALED_DOWN in d.warnings


def test_warnings_say_above_limit_past_it_and_approaching_only_below():
    pm = seed_manager()
    # the book is already above the 20% concentration limit; a short hedge is approved
    pm.update_positions([Position.shares("AAPL", "Momentum", 180, 150.0)])
    d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25, direction=-1), size=10)
    assert d.approved
    assert "Concentration (27.0%) above limit (20.0%)" in d.warning_texts
    assert not any("approaching" in t and "Concentration" in t for t in d.warning_texts)
    for text, (value, limit) in [
        ("approaching", (29.0, 30.0)), ("at limit", (30.0 + 1e-12, 30.0)),
        ("above limit", (30.04, 30.0)),
    ]:  # fmt: skip
        out = codes.render_reason(codes.R_DELTA, value=value, limit=limit, warning=True)
        assert text in out, out
    assert "30.1%" in codes.render_reason(codes.R_DELTA, value=30.04, limit=30.0, warning=True)
