from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.portfolio_reference import ref_caps, ref_size

from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.params import make_params
from dollarbill_research.kernels.sizing_nb import (
    cap_units_nb,
    credit_structure_max_loss_nb,
    long_option_max_loss_nb,
    risk_parity_units_nb,
    shares_max_loss_nb,
    simple_units_nb,
    size_many_nb,
    size_units_nb,
)


def kernel_params(cfg):
    """The kernels' parameter record of a portfolio config (backtest fields zero)."""
    return make_params(np.zeros(records.BP_LEN), cfg.to_kernel())


CFG = PortfolioConfig(fixed_fraction_pct=1.5, fixed_dollar_amount=5_000.0)
PP = kernel_params(CFG)
METHODS = ["VolatilityBased", "KellyCriterion", "RiskParity", "FixedFractional", "FixedDollar"]


def size(method, *args):
    equity, cash, cost, loss, dvol, params, p, b, n = args
    code = PortfolioConfig(sizing_method=method).sizing_method.code
    return size_units_nb(code, equity, cash, (cost, loss, dvol), params, (p, b, n))


# --- hand-computed cases: equity 100k, max risk 2%, max position 10% ------------------------
def test_fixed_fractional_hand_case():
    # 100000 * 1.5% / 100 = 15 shares; caps 10000/100 = 100 and 2000/5 = 400 do not bind
    assert size("FixedFractional", 1e5, 1e5, 100.0, 5.0, 30.0, PP, 0.0, 0.0, 0) == (15.0, 0)


def test_fixed_dollar_hand_case():
    # 5000 / 120 = 41.67 -> 41
    assert size("FixedDollar", 1e5, 1e5, 120.0, 6.0, 30.0, PP, 0.0, 0.0, 0)[0] == 41.0


def test_volatility_based_hand_case():
    # $50 stock with 40% vol: unit dollar vol 20; 2000 / 20 = 100; notional cap 10000/50 = 200
    assert size("VolatilityBased", 1e5, 1e5, 50.0, 2.5, 20.0, PP, 0.0, 0.0, 0)[0] == 100.0


def test_volatility_based_option_hand_case():
    # ATM call: premium 4.00 -> unit cost 400; delta 0.5, spot 100, vol 0.3 -> dollar vol 1500
    # 2000 / 1500 = 1.33 -> 1 contract; notional cap 10000/400 = 25; risk cap 2000/400 = 5
    assert size("VolatilityBased", 1e5, 1e5, 400.0, 400.0, 1500.0, PP, 0.0, 0.0, 0)[0] == 1.0


def test_kelly_hand_case():
    # p = 0.6, b = 2: full Kelly 0.6 - 0.4/2 = 0.4, half 0.2 (< cap 0.25)
    # units = 100000 * 0.2 / 500 (max loss of a spread) = 40; notional 10000/300 = 33.3 -> 33
    # risk cap 2000 / 500 = 4 -> 4
    units, warn = size("KellyCriterion", 1e5, 1e5, 300.0, 500.0, 900.0, PP, 0.6, 2.0, 25)
    assert (units, warn) == (4.0, 0)
    # a loose config: kelly binds -> 100000 * 0.2 / 50 = 400
    loose = kernel_params(PortfolioConfig(max_risk_per_trade=100.0, max_position_pct=100.0))
    assert (
        size_units_nb(codes.SIZE_KELLY, 1e5, 1e5, (10.0, 50.0, 1.0), loose, (0.6, 2.0, 25))[0]
        == 400
    )


def test_kelly_cap_hand_case():
    loose = kernel_params(PortfolioConfig(max_risk_per_trade=100.0, max_position_pct=100.0))
    # p = 0.9, b = 3: half Kelly 0.5 * (0.9 - 0.1/3) = 0.433 -> capped at 0.25 -> 25000/50 = 500
    assert (
        size_units_nb(codes.SIZE_KELLY, 1e5, 1e5, (10.0, 50.0, 1.0), loose, (0.9, 3.0, 25))[0]
        == 500
    )


def test_kelly_falls_back_before_min_trades():
    units, warn = size_units_nb(codes.SIZE_KELLY, 1e5, 1e5, (100.0, 5.0, 1.0), PP, (0.9, 3.0, 19))
    # FixedFractional(max_risk_per_trade = 2%): 2000 / 100 = 20
    assert units == 20.0
    assert warn == 1 << codes.W_KELLY_FALLBACK


def test_risk_parity_hand_case():
    # two candidates, per-dollar vol 0.2 and 0.4: weights 2/3, 1/3 of C = 100000*10%*2 = 20000
    # -> 13333.33 / 100 = 133 (capped by notional 10000/100 = 100) and 6666.67/50 = 133 -> 133
    loose = kernel_params(PortfolioConfig(max_position_pct=10.0, max_risk_per_trade=100.0))
    out = risk_parity_units_nb(
        1e5, np.array([100.0, 50.0]), np.array([1.0, 1.0]), np.array([20.0, 20.0]), loose
    )
    assert out.tolist() == [100.0, 133.0]


def test_risk_parity_matches_inverse_vol_formula():
    # raw units_i = C / (sum_j cost_j/dvol_j) / dvol_i with C = equity * pos% * n: every raw
    # position carries the same dollar volatility; then the caps (reference) and the floor
    rng = np.random.default_rng(0)
    cost = rng.uniform(10, 50, 6)
    loss = cost * rng.uniform(0.01, 0.2, 6)
    dvol = rng.uniform(1, 20, 6)
    cost[2] = np.nan  # unusable: 0 units and not counted in n
    ok = np.isfinite(cost)
    budget = 1e6 * 0.10 * ok.sum()
    raw = budget / np.sum(cost[ok] / dvol[ok]) / dvol
    assert np.allclose((raw * dvol)[ok], (raw * dvol)[ok][0])
    want = [ref_caps(r, 1e6, c, m, 10.0, 2.0) if k else 0 for r, c, m, k in
            zip(raw, cost, loss, ok, strict=True)]  # fmt: skip
    assert risk_parity_units_nb(1e6, cost, loss, dvol, PP).tolist() == want


def test_simple_sizing_pm_off():
    # floor(50000 * 10% / 400) = 12
    assert simple_units_nb(50_000.0, 10.0, 400.0) == 12.0


def test_unit_max_loss_helpers():
    assert shares_max_loss_nb(80.0, 0.05) == pytest.approx(4.0)
    assert long_option_max_loss_nb(2.5) == 250.0
    # iron condor: put wing 5, call wing 10, credit 2.4 -> widest wing (10 - 2.4) * 100
    assert credit_structure_max_loss_nb(5.0, 10.0, 2.4) == pytest.approx(760.0)
    assert credit_structure_max_loss_nb(5.0, 0.0, 6.0) == 0.0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_bad_price_gives_zero(method, bad):
    assert size(method, 1e5, 1e5, bad, 5.0, 30.0, PP, 0.6, 2.0, 30)[0] == 0.0


def test_size_many_matches_one_by_one():
    rng = np.random.default_rng(3)
    n = 40
    eq = rng.uniform(5e4, 2e5, n)
    cost = rng.uniform(5, 500, n)
    loss = cost * rng.uniform(0.02, 1.0, n)
    dvol = cost * rng.uniform(0.1, 0.8, n)
    p = rng.uniform(0, 1, n)
    b = rng.uniform(0.2, 3, n)
    nc = rng.integers(0, 40, n)
    for method in (0, 1, 3, 4):
        units, warn = size_many_nb(
            method, eq, eq, (cost, loss, dvol), PP, (p, b, nc), np.zeros(n, np.int64)
        )
        for i in range(n):
            assert (units[i], warn[i]) == size_units_nb(
                method, eq[i], eq[i], (cost[i], loss[i], dvol[i]), PP, (p[i], b[i], nc[i])
            )
    group = np.repeat([0, 1], n // 2)
    units, _ = size_many_nb(2, np.full(n, 1e5), eq, (cost, loss, dvol), PP, (p, b, nc), group)
    half = n // 2
    expect = risk_parity_units_nb(1e5, cost[half:], loss[half:], dvol[half:], PP)
    assert units[half:].tolist() == expect.tolist()


# --- properties -----------------------------------------------------------------------------
pos = st.floats(0.01, 1e4, allow_nan=False)
cand = st.tuples(st.floats(1e3, 1e7), pos, pos, pos)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    c=cand,
    p=st.floats(0, 1),
    b=st.floats(0.01, 10),
    n=st.integers(0, 40),
    risk=st.floats(0.1, 10),
    posp=st.floats(1, 100),
)
def test_matches_reference_and_respects_caps(method, c, p, b, n, risk, posp):
    equity, cost, loss, dvol = c
    cfg = PortfolioConfig(
        sizing_method=method, max_risk_per_trade=risk, max_position_pct=posp,
        fixed_fraction_pct=1.5, fixed_dollar_amount=5000.0,
    )  # fmt: skip
    units, warn = size_units_nb(
        cfg.sizing_method.code, equity, equity, (cost, loss, dvol), kernel_params(cfg), (p, b, n)
    )
    ref_units, fallback = ref_size(method, equity, cost, loss, dvol, cfg.to_dict(), p, b, n)
    assert units == ref_units
    assert bool(warn >> codes.W_KELLY_FALLBACK & 1) == fallback
    assert units >= 0
    assert units == math.floor(units)
    assert units * cost <= equity * posp / 100
    assert units * loss <= equity * risk / 100


@settings(max_examples=100, deadline=None)
@given(c=cand, v1=pos, v2=pos)
def test_volatility_based_non_increasing_in_vol(c, v1, v2):
    equity, cost, loss, _ = c
    lo, hi = sorted((v1, v2))
    u_lo = size_units_nb(
        codes.SIZE_VOLATILITY_BASED, equity, equity, (cost, loss, lo), PP, (0, 0, 0)
    )
    u_hi = size_units_nb(
        codes.SIZE_VOLATILITY_BASED, equity, equity, (cost, loss, hi), PP, (0, 0, 0)
    )
    assert u_hi[0] <= u_lo[0]


@settings(max_examples=100, deadline=None)
@given(units=st.floats(0, 1e9), c=cand)
def test_cap_never_increases(units, c):
    equity, cost, loss, _ = c
    out = cap_units_nb(units, equity, cost, loss, PP)
    assert 0 <= out <= max(math.floor(units), 0)


def test_floor_terminates_for_huge_unit_counts():
    # regression: a step loop never ended once n + 1 == n in floating point (n > 2**53)
    from dollarbill_research.kernels.sizing_nb import floor_within_nb

    assert floor_within_nb(1e7, 1e-12) == pytest.approx(1e19, rel=1e-12)
    assert floor_within_nb(10.0, 1.0) == 10.0
    assert floor_within_nb(66.09125320086182, 6.609125320086182) == 10.0
