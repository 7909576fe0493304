"""Metric kernels against empyrical-reloaded (golden) and hand-computed cases."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dollarbill_research.kernels import metrics_nb as mk

BPY = 252

returns_arrays = arrays(
    np.float64,
    st.integers(2, 120),
    elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False),
)


def curve_from(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    return start * np.concatenate([[1.0], np.cumprod(1.0 + returns)])


def close(a: float, b: float, rtol: float = 1e-8, atol: float = 1e-12) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


@settings(max_examples=60, deadline=None)
@given(r0=returns_arrays, rf=st.sampled_from([0.0, 0.03]), bpy=st.sampled_from([252, 12, 365]))
def test_golden_against_empyrical(r0: np.ndarray, rf: float, bpy: int) -> None:
    equity = curve_from(r0)
    # empyrical gets the returns numpy computes from the very curve the kernels see
    r = equity[1:] / equity[:-1] - 1.0
    np.testing.assert_allclose(mk.simple_returns_nb(equity), r, rtol=1e-12, atol=1e-15)
    ours = mk.equity_metrics_nb(equity, len(r) / bpy, float(bpy), rf)
    rfp = rf / bpy
    assert close(ours[mk.M_TOTAL_RETURN], empyrical.cum_returns_final(r))
    assert close(ours[mk.M_CAGR], empyrical.cagr(r, annualization=bpy))
    assert close(ours[mk.M_MAX_DRAWDOWN], -empyrical.max_drawdown(r))
    if np.ptp(r) < 1e-6:
        # near-constant series: ratios of rounding residues (~1e-16) are not comparable
        # between two summation orders; exact constants are tested separately
        return
    assert close(ours[mk.M_ANNUAL_VOLATILITY], empyrical.annual_volatility(r, annualization=bpy))
    assert close(ours[mk.M_SHARPE], empyrical.sharpe_ratio(r, risk_free=rfp, annualization=bpy))
    assert close(
        ours[mk.M_SORTINO], empyrical.sortino_ratio(r, required_return=rfp, annualization=bpy)
    )
    assert close(mk.max_drawdown_returns_nb(r), -empyrical.max_drawdown(r))
    if -empyrical.max_drawdown(r) > 1e-6:  # else a ratio of residues (or NaN for both)
        calmar = empyrical.calmar_ratio(r, annualization=bpy)
        assert close(ours[mk.M_CALMAR], calmar, rtol=1e-8, atol=1e-7)


def test_hand_computed_case() -> None:
    equity = np.array([100.0, 110.0, 99.0, 118.8])
    r = np.array([0.10, -0.10, 0.20])
    np.testing.assert_allclose(mk.simple_returns_nb(equity), r, rtol=1e-12)
    mean = 0.2 / 3
    std = math.sqrt(((0.1 - mean) ** 2 + (-0.1 - mean) ** 2 + (0.2 - mean) ** 2) / 2)
    assert mk.annual_volatility_nb(r, 252.0) == pytest.approx(std * math.sqrt(252), rel=1e-12)
    assert mk.sharpe_ratio_nb(r, 252.0, 0.0) == pytest.approx(mean / std * math.sqrt(252))
    downside = math.sqrt(0.01 / 3) * math.sqrt(252)
    assert mk.sortino_ratio_nb(r, 252.0, 0.0) == pytest.approx(mean * 252 / downside)
    assert mk.max_drawdown_nb(equity) == pytest.approx(0.1)
    assert mk.total_return_nb(equity) == pytest.approx(0.188)
    # two years elapsed: CAGR = sqrt(1.188) - 1
    assert mk.cagr_nb(equity, 2.0) == pytest.approx(math.sqrt(1.188) - 1)
    assert mk.calmar_ratio_nb(mk.cagr_nb(equity, 2.0), 0.1) == pytest.approx(
        (math.sqrt(1.188) - 1) / 0.1
    )
    np.testing.assert_allclose(mk.drawdown_nb(equity), [0.0, 0.0, 0.1, 0.0], atol=1e-15)


def test_risk_free_is_per_bar() -> None:
    r = np.array([0.01, 0.02, -0.005, 0.003])
    x = r - 0.05 / 252
    expected = x.mean() / x.std(ddof=1) * math.sqrt(252)
    assert mk.sharpe_ratio_nb(r, 252.0, 0.05) == pytest.approx(expected, rel=1e-12)


def test_nan_policy_short_and_flat_curves() -> None:
    one = np.array([0.01])
    assert math.isnan(mk.sharpe_ratio_nb(one, 252.0, 0.0))
    assert math.isnan(mk.sortino_ratio_nb(one, 252.0, 0.0))
    assert math.isnan(mk.annual_volatility_nb(one, 252.0))
    flat = np.full(5, 100.0)
    vec = mk.equity_metrics_nb(flat, 1.0, 252.0, 0.0)
    assert vec[mk.M_TOTAL_RETURN] == 0.0
    assert vec[mk.M_ANNUAL_VOLATILITY] == 0.0
    assert math.isnan(vec[mk.M_SHARPE])
    assert math.isnan(vec[mk.M_SORTINO])
    assert vec[mk.M_MAX_DRAWDOWN] == 0.0
    assert math.isnan(vec[mk.M_CALMAR])
    assert math.isnan(mk.total_return_nb(np.zeros(0)))
    assert math.isnan(mk.cagr_nb(flat, 0.0))


def test_zero_dispersion_matches_empyrical_sign() -> None:
    up = np.full(10, 0.001)
    down = np.full(10, -0.001)
    assert mk.sharpe_ratio_nb(up, 252.0, 0.0) == math.inf
    assert mk.sharpe_ratio_nb(down, 252.0, 0.0) == -math.inf
    assert empyrical.sharpe_ratio(up) == math.inf
    assert mk.sortino_ratio_nb(up, 252.0, 0.0) == math.inf == empyrical.sortino_ratio(up)


def test_wiped_out_account() -> None:
    equity = np.array([100.0, 50.0, 0.0, 0.0, 10.0])
    r = mk.simple_returns_nb(equity)
    np.testing.assert_array_equal(r, [-0.5, -1.0, 0.0, 0.0])
    assert mk.max_drawdown_nb(equity) == 1.0
    assert mk.cagr_nb(np.array([100.0, -5.0]), 1.0) == -1.0


def test_matrix_equals_rows() -> None:
    rng = np.random.default_rng(7)
    eq = 100 * np.cumprod(1 + rng.normal(0, 0.01, size=(4, 50)), axis=1)
    years = np.array([0.5, 1.0, 2.0, 3.0])
    out = mk.equity_metrics_matrix_nb(eq, years, 252.0, 0.01)
    for i in range(4):
        np.testing.assert_array_equal(out[i], mk.equity_metrics_nb(eq[i], years[i], 252.0, 0.01))


def test_trade_stats_hand_computed() -> None:
    pnl = np.array([100.0, -50.0, 0.0, 200.0, -25.0])
    ts = mk.trade_stats_nb(pnl)
    assert ts[mk.TS_N_TRADES] == 5
    assert ts[mk.TS_WIN_RATE] == pytest.approx(2 / 5)
    assert ts[mk.TS_PROFIT_FACTOR] == pytest.approx(300 / 75)
    assert ts[mk.TS_AVG_WIN] == pytest.approx(150.0)
    assert ts[mk.TS_AVG_LOSS] == pytest.approx(-37.5)
    assert ts[mk.TS_GROSS_PROFIT] == 300.0
    assert ts[mk.TS_GROSS_LOSS] == -75.0


def test_trade_stats_edge_cases() -> None:
    none = mk.trade_stats_nb(np.zeros(0))
    assert none[mk.TS_N_TRADES] == 0
    assert math.isnan(none[mk.TS_WIN_RATE])
    assert math.isnan(none[mk.TS_PROFIT_FACTOR])
    only_wins = mk.trade_stats_nb(np.array([1.0, 2.0]))
    assert only_wins[mk.TS_PROFIT_FACTOR] == math.inf
    assert math.isnan(only_wins[mk.TS_AVG_LOSS])
    flat = mk.trade_stats_nb(np.array([0.0]))
    assert flat[mk.TS_WIN_RATE] == 0.0
    assert math.isnan(flat[mk.TS_PROFIT_FACTOR])


@settings(max_examples=40, deadline=None)
@given(
    pnl=arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e4, 1e4, allow_subnormal=False))
)
def test_trade_stats_against_numpy(pnl: np.ndarray) -> None:
    ts = mk.trade_stats_nb(pnl)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    assert ts[mk.TS_WIN_RATE] == pytest.approx(len(wins) / len(pnl))
    if len(losses) and len(wins):
        with np.errstate(over="ignore"):  # a tiny loss: the reference's ratio is inf too
            expected = wins.sum() / -losses.sum()
        assert ts[mk.TS_PROFIT_FACTOR] == pytest.approx(expected)
        assert ts[mk.TS_AVG_WIN] == pytest.approx(wins.mean())
        assert ts[mk.TS_AVG_LOSS] == pytest.approx(losses.mean())
