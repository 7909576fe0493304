"""Attribution kernel: hand-built trade lists, empyrical on contribution returns, totals."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pytest

from dollarbill_research.kernels import attribution_nb as at


def _case() -> dict[str, np.ndarray]:
    return {
        "strategy": np.array([0, 0, 1, 0], dtype=np.int64),
        "pnl": np.array([100.0, -50.0, 30.0, 0.0]),
        "entry": np.array([0, 2, 1, 3], dtype=np.int64),
        "exit": np.array([2, 4, 5, 3], dtype=np.int64),
        "daily": np.array(
            [[10.0, 0.0], [-20.0, 5.0], [60.0, -8.0], [-15.0, 20.0], [25.0, 13.0], [0.0, 0.0]]
        ),
    }


def test_open_mask_from_trades() -> None:
    c = _case()
    mask = at.open_mask_from_trades_nb(6, 2, c["strategy"], c["entry"], c["exit"])
    expected = np.zeros((6, 2), dtype=bool)
    expected[0:2, 0] = True  # trade 0: bars 0, 1
    expected[2:4, 0] = True  # trade 1: bars 2, 3
    expected[1:5, 1] = True  # trade 2: bars 1..4; trade 3 enters and exits at bar 3
    np.testing.assert_array_equal(mask, expected)


def test_hand_built_trades_constant_capital() -> None:
    c = _case()
    mask = at.open_mask_from_trades_nb(6, 2, c["strategy"], c["entry"], c["exit"])
    base = np.full(6, 1000.0)
    out = at.attribution_nb(
        (c["strategy"], c["pnl"], c["entry"], c["exit"]), c["daily"], mask, base, (252.0, 0.0)
    )
    assert out.shape == (3, at.N_ATTRIBUTION)
    s0, s1, tot = out
    # strategy 0: trades 100, -50, 0
    assert s0[at.A_N_TRADES] == 3
    assert s0[at.A_WIN_RATE] == pytest.approx(1 / 3)
    assert s0[at.A_PROFIT_FACTOR] == pytest.approx(2.0)
    assert s0[at.A_AVG_WIN] == 100.0
    assert s0[at.A_AVG_LOSS] == -50.0
    assert s0[at.A_REALIZED_PNL] == 50.0
    assert s0[at.A_PNL] == 60.0  # 10 - 20 + 60 - 15 + 25
    assert s0[at.A_AVG_BARS_HELD] == pytest.approx((2 + 2 + 0) / 3)
    assert s0[at.A_EXPOSURE] == pytest.approx(4 / 6)
    # cumulative P&L 10, -10, 50, 35, 60: worst fall from peak 10 -> -10 and 50 -> 35
    assert s0[at.A_MAX_DRAWDOWN_USD] == 20.0
    # strategy 1: one trade of 30
    assert s1[at.A_N_TRADES] == 1
    assert s1[at.A_PROFIT_FACTOR] == math.inf
    assert math.isnan(s1[at.A_AVG_LOSS])
    assert s1[at.A_PNL] == 30.0
    assert s1[at.A_MAX_DRAWDOWN_USD] == 8.0
    # total
    assert tot[at.A_N_TRADES] == 4
    assert tot[at.A_PNL] == 90.0
    assert s0[at.A_CONTRIBUTION] == pytest.approx(60 / 90)
    assert s1[at.A_CONTRIBUTION] == pytest.approx(30 / 90)
    assert tot[at.A_CONTRIBUTION] == 1.0
    assert tot[at.A_EXPOSURE] == pytest.approx(5 / 6)  # bar 5 has nothing open
    # ratios against empyrical on contribution returns
    for row, series in ((s0, c["daily"][:, 0]), (s1, c["daily"][:, 1]), (tot, c["daily"].sum(1))):
        r = series / 1000.0
        assert row[at.A_SHARPE] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-10)
        assert row[at.A_SORTINO] == pytest.approx(empyrical.sortino_ratio(r), rel=1e-10)
        assert row[at.A_MAX_DRAWDOWN] == pytest.approx(-empyrical.max_drawdown(r), rel=1e-10)


def test_total_row_reproduces_portfolio_metrics() -> None:
    rng = np.random.default_rng(4)
    daily = rng.normal(20.0, 400.0, size=(300, 3))
    capital = 100_000.0
    equity = capital + np.cumsum(daily.sum(axis=1))
    base = np.concatenate([[capital], equity[:-1]])
    empty_i = np.zeros(0, dtype=np.int64)
    out = at.attribution_nb(
        (empty_i, np.zeros(0), empty_i, empty_i),
        daily,
        np.zeros((300, 3), dtype=bool),
        base,
        (252.0, 0.02),
    )
    curve = np.concatenate([[capital], equity])
    r = curve[1:] / curve[:-1] - 1
    tot = out[-1]
    assert tot[at.A_SHARPE] == pytest.approx(
        empyrical.sharpe_ratio(r, risk_free=0.02 / 252), rel=1e-9
    )
    assert tot[at.A_MAX_DRAWDOWN] == pytest.approx(-empyrical.max_drawdown(r), rel=1e-9)
    assert tot[at.A_N_TRADES] == 0
    assert math.isnan(tot[at.A_WIN_RATE])
    assert math.isnan(tot[at.A_AVG_BARS_HELD])
    # contributions add up to 1
    assert out[:3, at.A_CONTRIBUTION].sum() == pytest.approx(1.0)


def test_zero_total_pnl_gives_nan_contribution() -> None:
    empty_i = np.zeros(0, dtype=np.int64)
    daily = np.array([[5.0, -5.0], [0.0, 0.0]])
    out = at.attribution_nb(
        (empty_i, np.zeros(0), empty_i, empty_i), daily, np.zeros((2, 2), dtype=bool),
        np.full(2, 100.0), (252.0, 0.0),
    )  # fmt: skip
    assert np.isnan(out[:, at.A_CONTRIBUTION]).all()
