"""Drawdown periods, calendar returns and rolling Sharpe against slow obvious references."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.backtesting.metrics import compute_metrics
from dollarbill_research.report.analytics import (
    calendar_returns,
    drawdown_periods,
    monthly_table,
    rolling_sharpe,
)


def _ts(n: int) -> np.ndarray:
    return np.datetime64("2021-01-04", "ns") + np.arange(n) * np.timedelta64(1, "D")


def _reference_drawdowns(eq: list[float]) -> list[tuple[int, int, int | None, float]]:
    """Every under-water episode: (peak, trough, recovery or None, depth), by brute force."""
    out = []
    peak = 0
    t = 1
    while t < len(eq):
        if eq[t] >= eq[peak]:
            peak = t
            t += 1
            continue
        start = peak
        end = next((k for k in range(t, len(eq)) if eq[k] >= eq[start]), None)
        stop = end if end is not None else len(eq)
        trough = min(range(start, stop), key=lambda k: (eq[k], k))
        out.append((start, trough, end, 1 - eq[trough] / eq[start]))
        if end is None:
            break
        peak = end
        t = end + 1
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=2, max_size=80), st.integers(1, 6))
def test_drawdown_periods_match_the_brute_force_reference(returns, n):
    eq = list(np.cumprod(1.0 + np.array([0.0, *returns])) * 100.0)
    got = drawdown_periods(np.array(eq), _ts(len(eq)), n=n)
    ref = sorted(_reference_drawdowns(eq), key=lambda r: (-r[3], r[0]))[:n]
    ts = _ts(len(eq))
    assert got.height == len(ref)
    for row, (p, tr, rec, depth) in zip(got.iter_rows(named=True), ref, strict=True):
        assert row["peak"] == ts[p].astype("datetime64[us]").item()
        assert row["trough"] == ts[tr].astype("datetime64[us]").item()
        assert row["recovery"] == (None if rec is None else ts[rec].astype("datetime64[us]").item())
        assert math.isclose(row["depth"], depth, rel_tol=1e-12)
    if got.height:
        worst = float(got["depth"][0])
        mdd = compute_metrics(np.array(eq), ts, bars_per_year=252).max_drawdown
        assert math.isclose(worst, mdd, rel_tol=1e-9, abs_tol=1e-12)


def test_drawdown_periods_keep_the_input_timestamp_dtype():
    dates = pl.Series("timestamp", _ts(5)).cast(pl.Date)
    got = drawdown_periods(np.array([100.0, 90.0, 95.0, 101.0, 99.0]), dates)
    assert got.schema["peak"] == pl.Date
    np.testing.assert_allclose(got["depth"].to_numpy(), [0.1, 1 - 99.0 / 101.0], rtol=1e-12)
    assert got["recovery"].to_list()[1] is None


def test_calendar_returns_compound_to_the_yearly_and_total_returns():
    rng = np.random.default_rng(3)
    n = 800
    eq = 1e5 * np.cumprod(1 + rng.normal(0.0004, 0.01, n))
    ts = _ts(n)
    monthly = calendar_returns(eq, ts, "1mo")
    yearly = calendar_returns(eq, ts, "1y")
    assert math.isclose(float(np.prod(1 + monthly["return"].to_numpy())), eq[-1] / eq[0],
                        rel_tol=1e-10)  # fmt: skip
    for d, r in yearly.iter_rows():
        months = monthly.filter(pl.col("period").dt.year() == d.year)["return"].to_numpy()
        assert math.isclose(float(np.prod(1 + months)) - 1, r, rel_tol=1e-9, abs_tol=1e-12)
    # one month by hand: last equity of Feb 2021 over last equity of Jan 2021
    frame = pl.DataFrame({"t": ts, "e": eq})
    jan = frame.filter(pl.col("t").dt.month() == 1, pl.col("t").dt.year() == 2021)["e"][-1]
    feb = frame.filter(pl.col("t").dt.month() == 2, pl.col("t").dt.year() == 2021)["e"][-1]
    assert math.isclose(monthly["return"][1], feb / jan - 1, rel_tol=1e-12)
    years, grid = monthly_table(monthly)
    assert years[0] == 2021
    assert grid.shape == (len(years), 12)
    assert math.isclose(grid[0, 1], feb / jan - 1, rel_tol=1e-12)


def test_rolling_sharpe_equals_the_run_sharpe_on_each_window():
    rng = np.random.default_rng(8)
    eq = 1e5 * np.cumprod(1 + rng.normal(0.0005, 0.012, 300))
    window = 40
    roll = rolling_sharpe(eq, window, 252, 0.03)
    assert np.isnan(roll[:window]).all()
    for t in (window, 100, 299):
        sub = eq[t - window : t + 1]
        ref = compute_metrics(sub, _ts(len(sub)), bars_per_year=252, risk_free_rate=0.03)
        assert math.isclose(roll[t], ref.sharpe_ratio, rel_tol=1e-9)
