"""The live bot's last-bar path equals the window path (and the rolling kernels' last row)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.kernels.codes import SIG_LONG, SIG_NONE
from dollarbill_research.kernels.lastbar_nb import (
    OLS_X_SERIES,
    OLS_X_SHARED,
    OLS_X_TIME,
    last_breakout_freq_nb,
    last_extreme_nb,
    last_lagged_nb,
    last_mean_std_nb,
    last_ols_nb,
    last_rsi_nb,
    last_spread_mean_std_nb,
)
from dollarbill_research.kernels.personality_nb import rolling_ols_nb
from dollarbill_research.kernels.signals_nb import (
    lagged_nb,
    rolling_extreme_nb,
    rolling_mean_std_nb,
    rsi_nb,
)
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    Combined,
    IronCondor,
    MeanReversion,
    Momentum,
    PersonalityStrategy,
    ShortStrangle,
    VolatilityArbitrage,
    VolatilityMeanReversion,
)
from dollarbill_research.strategies.base import Signals
from dollarbill_research.strategies.lastbar import LastBarView, classify_last
from dollarbill_research.strategies.personality import classify_view, market_returns
from dollarbill_research.strategies.rolling import RollingSignals, window_panel
from dollarbill_research.strategies.view import SeriesView

from ._panels import random_panel

SMALL = (
    Momentum(lookback=10, trend_window=30, threshold=0.03),
    Breakout(window=15, exit_window=5, volume_ratio=1.0),
    MeanReversion(window=15, entry_z=1.2, rsi_window=7, rsi_low=40, rsi_high=60),
    VolatilityMeanReversion(rv_window=10, z_window=30, entry_z=1.0),
    VolatilityArbitrage(short_window=3, medium_window=10, long_window=30, entry_edge=0.02),
    CashSecuredPuts(ivr_window=40, trend_window=15, max_iv_rank=0.7),
    IronCondor(ivr_window=40, trend_window=15),
    ShortStrangle(ivr_window=40, rv_window=10, trend_window=15, min_iv_rv=0.8),
)
ROUTER = PersonalityStrategy(window=60, strategies=SMALL, min_confidence=0.0)


def close_enough(a: np.ndarray, b: np.ndarray) -> None:
    """Same NaN pattern, values equal to rounding."""
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


def damaged_panel(seed: int, n_bars: int = 220, n_sym: int = 5):
    """Missing bars, plus non-finite iv / high / low / volume on some valid bars."""
    panel = random_panel(n_bars=n_bars, n_sym=n_sym, seed=seed, p_missing=0.04)
    rng = np.random.default_rng(seed + 100)
    fields = {}
    for name in ("iv", "high", "low", "volume"):
        a = getattr(panel, name).copy()
        a[rng.uniform(size=a.shape) < 0.003] = np.nan
        fields[name] = a
    return dataclasses.replace(panel, **fields)


def replay(strategy, panel, rows, last_bar):
    roll = RollingSignals(strategy, panel.symbols, last_bar=last_bar)
    sig = np.zeros((len(roll.names), panel.n_bars, panel.n_symbols), dtype=np.int8)
    conf = np.zeros(sig.shape)
    for t in range(panel.n_bars):
        sig[:, t], conf[:, t] = roll.step(window_panel(panel, t, rows))
    return roll, sig, conf


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("extra_rows", [0, 17])
def test_last_bar_path_equals_window_path(seed, extra_rows):
    panel = damaged_panel(seed)
    for strategy in (*SMALL, ROUTER):
        rows = strategy.lookback_bars + extra_rows
        fast, s1, c1 = replay(strategy, panel, rows, True)
        ref, s0, c0 = replay(strategy, panel, rows, False)
        assert all(fast._fast)
        assert not any(ref._fast)
        assert np.count_nonzero(s0) > 3, strategy.name  # the case really signals
        np.testing.assert_array_equal(s1, s0, err_msg=strategy.name)
        np.testing.assert_allclose(c1, c0, rtol=1e-9, atol=1e-12, err_msg=strategy.name)
        np.testing.assert_array_equal(fast.state, ref.state)


@pytest.mark.parametrize("seed", [4, 5])
def test_last_bar_path_equals_full_history(seed):
    panel = random_panel(n_bars=240, n_sym=4, seed=seed, p_missing=0.0)
    full = ROUTER.signals(None, panel)
    _, sig, conf = replay(ROUTER, panel, ROUTER.lookback_bars, True)
    np.testing.assert_array_equal(sig, full.signal)
    np.testing.assert_allclose(conf, full.confidence, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 6])
def test_view_features_equal_the_series_view_last_row(seed):
    panel = damaged_panel(seed, n_bars=120)
    full, last = SeriesView(panel), LastBarView(panel)
    np.testing.assert_array_equal(last.usable[:, 0], full.usable[:, -1])
    ok = full.usable[:, -1]

    def check(a, b):
        close_enough(np.where(ok, a[:, 0], np.nan), np.where(ok, b[:, -1], np.nan))

    for w in (2, 5, 20):
        check(last.sigma(w), full.sigma(w))
        check(last.sma(w), full.sma(w))
        check(last.trend(w), full.trend(w))
        check(last.iv_rank(w), full.iv_rank(w))
        check(last.rsi(w), full.rsi(w))
        check(last.prior_mean("volume", w), full.prior_mean("volume", w))
        for field in ("close", "volume"):
            for a, b in zip(last.mean_std(field, w), full.mean_std(field, w), strict=True):
                check(a, b)
        for lag in (0, 1, 3):
            for is_max in (True, False):
                check(last.extreme("high", w, lag, is_max), full.extreme("high", w, lag, is_max))
        for a, b in zip(last.spread_mean_std(w, 12), full.spread_mean_std(w, 12), strict=True):
            check(a, b)
        check(last.lagged_close(w), full.lagged_close(w))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classify_last_equals_classify_view_on_every_bar(seed):
    panel = damaged_panel(seed, n_bars=150, n_sym=6)
    ref = classify_view(SeriesView(panel), market_returns(panel), 40)
    n_classified = 0
    for t in range(60, panel.n_bars):
        code, conf = classify_last(LastBarView(window_panel(panel, t)), 40, 20)
        np.testing.assert_array_equal(code, ref.code[t])
        np.testing.assert_allclose(conf, ref.confidence[t], rtol=1e-9, atol=1e-12)
        n_classified += int((code >= 0).sum())
    assert n_classified > 100  # enough symbols classified to mean something


def test_subclasses_and_custom_strategies_take_the_window_path():
    class MyMomentum(Momentum):
        __slots__ = ()

        def _rules(self, view):  # a user's own rules: may read anything off the view
            return Momentum._rules(self, view)

    class Custom:  # not a RuleStrategy: stateless signals of its own (long after an up bar)
        name = "Custom"
        lookback_bars = 2

        def signals(self, frame, panel):
            up = np.zeros(panel.close.shape, dtype=bool)
            up[1:] = panel.close[1:] > panel.close[:-1]
            sig = np.where(up, SIG_LONG, SIG_NONE).astype(np.int8)[None]
            conf = np.where(up, 0.5, 0.0)[None]
            return Signals(("Custom",), sig, conf, Momentum().templates[None])

    panel = random_panel(n_bars=90, n_sym=3, seed=3, p_missing=0.0)
    mine = MyMomentum(lookback=10, trend_window=30, name="Mine")
    both = Combined((Breakout(window=15, exit_window=5), mine, Custom()))
    roll = RollingSignals(both, panel.symbols)
    assert roll._fast == (True, False, False)
    full = both.signals(None, panel)
    _, sig, conf = replay(both, panel, both.lookback_bars, True)
    assert np.count_nonzero(sig[1]) > 3
    assert np.count_nonzero(sig[2]) > 3
    np.testing.assert_array_equal(sig, full.signal)
    np.testing.assert_allclose(conf, full.confidence, rtol=1e-9, atol=1e-12)


# ---- kernels: the last bar of each rolling kernel, on random series with gaps and NaN ------------
def series(draw, n_sym, n_bars, p_nan):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sym, n_bars)), axis=1))
    x[rng.uniform(size=x.shape) < p_nan] = np.nan
    valid = rng.uniform(size=x.shape) > 0.15
    valid[:, -1] = rng.uniform(size=n_sym) > 0.2
    return x, valid


@st.composite
def cases(draw):
    n_sym = draw(st.integers(1, 4))
    n_bars = draw(st.integers(1, 60))
    x, valid = series(draw, n_sym, n_bars, draw(st.sampled_from([0.0, 0.02, 0.1])))
    window = draw(st.integers(1, 12))
    lag = draw(st.integers(0, 3))
    return x, valid, window, lag


def last_row(a, valid):
    return np.where(valid[:, -1], a[:, -1], np.nan) if a.shape[1] else np.full(a.shape[0], np.nan)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_last_bar_kernels_equal_the_rolling_kernels_last_bar(case):
    x, valid, window, lag = case
    m, s = rolling_mean_std_nb(x, valid, window)
    lm, ls = last_mean_std_nb(x, valid, window, lag)
    close_enough(lm, last_row(lagged_nb(m, valid, lag), valid))
    close_enough(ls, last_row(lagged_nb(s, valid, lag), valid))
    for is_max in (True, False):
        np.testing.assert_array_equal(
            last_extreme_nb(x, valid, window, lag, is_max),
            last_row(rolling_extreme_nb(x, valid, window, lag, is_max), valid),
        )
    np.testing.assert_array_equal(
        last_lagged_nb(x, valid, lag), last_row(lagged_nb(x, valid, lag), valid)
    )
    close_enough(last_rsi_nb(x, valid, window), last_row(rsi_nb(x, valid, window), valid))


@settings(max_examples=100, deadline=None)
@given(cases(), st.integers(3, 10))
def test_last_ols_equals_rolling_ols_last_bar(case, window):
    y, valid, _, lag = case
    x = y * 0.5 + np.sin(np.arange(y.shape[1]))  # a regressor that moves with y
    for mode, xx, xlag in (
        (OLS_X_SERIES, x, 0),
        (OLS_X_SERIES, y, 1),
        (OLS_X_SHARED, x[:1], 0),
        (OLS_X_TIME, y, 0),
    ):
        if mode == OLS_X_SHARED:
            ref_x = np.ascontiguousarray(np.broadcast_to(xx, y.shape))
        elif mode == OLS_X_TIME:
            ref_x = np.cumsum(valid, axis=1, dtype=np.float64)
        else:
            ref_x = lagged_nb(xx, valid, xlag)
        ref = rolling_ols_nb(ref_x, y, valid, window)
        got = last_ols_nb(xx, y, valid, window, lag, xlag, mode)
        for g, r in zip(got, ref, strict=True):
            close_enough(g, last_row(lagged_nb(r, valid, lag), valid))


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(2, 6), st.integers(3, 12))
def test_last_spread_and_breakout_kernels(case, rv, z):
    close, valid, _, _ = case
    rng = np.random.default_rng(int(np.nansum(close)) % 1000)
    iv = rng.uniform(0.1, 0.5, close.shape)
    ret = np.log(close / lagged_nb(close, valid, 1))
    sd = rolling_mean_std_nb(ret, valid, rv)[1]
    m, s = rolling_mean_std_nb(iv - sd * math.sqrt(252.0), valid, z)
    lm, ls = last_spread_mean_std_nb(iv, ret, valid, rv, z, math.sqrt(252.0))
    close_enough(lm, last_row(m, valid))
    close_enough(ls, last_row(s, valid))
    high = close * 1.01
    low = close * 0.99
    channel = rv
    hi = rolling_extreme_nb(high, valid, channel, 1, True)
    lo = rolling_extreme_nb(low, valid, channel, 1, False)
    brk = np.where(np.isnan(hi) | np.isnan(lo), np.nan, (close > hi) | (close < lo))
    ref = rolling_mean_std_nb(np.ascontiguousarray(brk, dtype=np.float64), valid, z)[0]
    close_enough(last_breakout_freq_nb(close, high, low, valid, z, channel), last_row(ref, valid))
