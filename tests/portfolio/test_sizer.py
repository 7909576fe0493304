from __future__ import annotations

import math

import pytest

from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import codes
from dollarbill_research.portfolio import Candidate, PositionSizer


def test_fixed_fractional_with_parameter():
    sizer = PositionSizer(PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=1.5))
    # 100000 * 1.5% / 100 = 15
    assert sizer.size(equity=1e5, unit_cost=100.0, unit_max_loss=5.0).units == 15


def test_volatility_based_candidate_high_iv_gives_fewer_units():
    sizer = PositionSizer(PortfolioConfig())
    low = sizer.size_candidate(Candidate.shares("AAPL", "Momentum", 50.0, 0.2), equity=1e5)
    high = sizer.size_candidate(Candidate.shares("AAPL", "Momentum", 50.0, 0.8), equity=1e5)
    # 2000 / (50 * 0.2) = 200 -> notional cap 10000 / 50 = 200; 2000 / 40 = 50
    assert (low.units, high.units) == (200, 50)


def test_kelly_fallback_is_recorded():
    sizer = PositionSizer(PortfolioConfig(sizing_method="KellyCriterion"))
    res = sizer.size(equity=1e5, unit_cost=100.0, unit_max_loss=5.0, win_rate=0.6,
                     payoff_ratio=2.0, n_closed=3)  # fmt: skip
    assert res.kelly_fallback
    assert res.warnings == (codes.W_KELLY_FALLBACK,)
    assert "FixedFractional" in res.warning_texts[0]
    assert res.units == 20  # 2 % of 100000 / 100


@pytest.mark.parametrize("price", [0.0, -3.0, math.nan])
def test_bad_prices_raise_clear_errors(price):
    sizer = PositionSizer(PortfolioConfig())
    with pytest.raises(DataError, match="unit_cost"):
        sizer.size(equity=1e5, unit_cost=price, unit_max_loss=1.0, unit_dollar_vol=1.0)
    with pytest.raises(DataError, match="price"):
        Candidate.shares("XYZ", "Momentum", price, 0.3)


def test_volatility_based_needs_dollar_vol():
    with pytest.raises(DataError, match="unit_dollar_vol"):
        PositionSizer(PortfolioConfig()).size(equity=1e5, unit_cost=10.0, unit_max_loss=1.0)
