"""Rolling signal kernels against slow references on the compressed (valid-only) series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_NONE, SIG_SHORT
from dollarbill_research.kernels.signals_nb import (
    lagged_nb,
    price_ratio_nb,
    regime_signals_nb,
    rolling_extreme_nb,
    rolling_mean_std_nb,
    rsi_nb,
    usable_nb,
)


def _series(seed: int, n_sym: int = 3, n_bars: int = 120, p_missing: float = 0.15):
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sym, n_bars)), axis=1))
    valid = rng.uniform(size=x.shape) > p_missing
    x = np.where(valid, x, np.nan)
    return np.ascontiguousarray(x), np.ascontiguousarray(valid)


def _per_valid(x: np.ndarray, valid: np.ndarray, fn) -> np.ndarray:
    """Apply a pandas function to each symbol's valid bars and scatter back (NaN elsewhere)."""
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[0]):
        idx = np.nonzero(valid[j])[0]
        out[j, idx] = fn(pd.Series(x[j, idx])).to_numpy()
    return out


@pytest.mark.parametrize("window", [1, 2, 5, 20])
def test_rolling_mean_std_matches_pandas_on_valid_bars(window: int) -> None:
    x, valid = _series(1)
    x[0, 10] = np.nan  # a NaN value on a valid bar poisons the windows containing it
    valid[0, 10] = True
    mean, std = rolling_mean_std_nb(x, valid, window)
    ref_m = _per_valid(x, valid, lambda s: s.rolling(window, min_periods=window).mean())
    np.testing.assert_allclose(mean, ref_m, rtol=1e-10, atol=1e-10)
    if window > 1:
        ref_s = _per_valid(x, valid, lambda s: s.rolling(window, min_periods=window).std(ddof=1))
        np.testing.assert_allclose(std, ref_s, rtol=1e-8, atol=1e-10)


def test_rolling_mean_exact_on_long_drifting_series() -> None:
    # running sums are recomputed once per window: no drift over many windows
    x = np.ascontiguousarray(1e4 + np.arange(20_000, dtype=float)[None, :] * 0.37)
    valid = np.ones(x.shape, dtype=bool)
    mean, std = rolling_mean_std_nb(x, valid, 7)
    expected = 1e4 + (np.arange(20_000) - 3) * 0.37
    np.testing.assert_allclose(mean[0, 6:], expected[6:], rtol=1e-13)
    np.testing.assert_allclose(std[0, 6:], 0.37 * np.sqrt(7 * 8 / 12 * 7 / 6 * 6 / 7), rtol=1e-7)


@pytest.mark.parametrize(
    ("window", "lag", "is_max"),
    [(1, 0, True), (5, 0, True), (5, 1, False), (20, 1, True), (3, 4, False)],
)
def test_rolling_extreme_matches_pandas(window: int, lag: int, is_max: bool) -> None:
    x, valid = _series(2)

    def ref(s: pd.Series) -> pd.Series:
        r = s.rolling(window, min_periods=window)
        return (r.max() if is_max else r.min()).shift(lag)

    np.testing.assert_array_equal(
        rolling_extreme_nb(x, valid, window, lag, is_max), _per_valid(x, valid, ref)
    )


@pytest.mark.parametrize("lag", [0, 1, 7])
def test_lagged_and_log_returns(lag: int) -> None:
    x, valid = _series(3)
    np.testing.assert_array_equal(
        lagged_nb(x, valid, lag), _per_valid(x, valid, lambda s: s.shift(lag))
    )
    np.testing.assert_allclose(
        np.log(price_ratio_nb(x, valid)),
        _per_valid(x, valid, lambda s: np.log(s).diff()),
        rtol=1e-9,
        atol=1e-14,
    )


def test_rsi_cutler_hand_case() -> None:
    close = np.array([[10.0, 11.0, 10.5, 11.5, 11.5, 12.0]])
    valid = np.ones(close.shape, dtype=bool)
    rsi = rsi_nb(close, valid, 3)
    # changes: +1, -0.5, +1, 0, +0.5 ; window 3 of changes
    assert np.isnan(rsi[0, :3]).all()
    assert rsi[0, 3] == pytest.approx(100 * 2.0 / 2.5)
    assert rsi[0, 4] == pytest.approx(100 * 1.0 / 1.5)
    assert rsi[0, 5] == pytest.approx(100.0)
    flat = rsi_nb(np.full((1, 6), 5.0), valid, 3)
    assert flat[0, 3:].tolist() == [50.0, 50.0, 50.0]


def test_usable_excludes_invalid_nonfinite_and_nonpositive() -> None:
    close = np.array([[1.0, np.nan, 0.0, -1.0, 2.0]])
    valid = np.array([[True, True, True, True, False]])
    assert usable_nb(close, valid).tolist() == [[True, False, False, False, False]]


def _regime_reference(el, es, xl, xs, valid):
    out = []
    state = 0
    for t in range(len(valid)):
        sig = SIG_NONE
        if valid[t]:
            if state == 0:
                if el[t]:
                    sig, state = SIG_LONG, 1
                elif es[t]:
                    sig, state = SIG_SHORT, -1
            elif (state == 1 and (xl[t] or es[t])) or (state == -1 and (xs[t] or el[t])):
                sig, state = SIG_EXIT, 0
        out.append(sig)
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.booleans()] * 4, st.booleans(), st.floats(-0.5, 1.5)),
        min_size=1,
        max_size=40,
    ),
    st.floats(0.0, 1.0),
)
def test_regime_signals_match_reference(rows, min_conf: float) -> None:
    arr = np.array([r[:5] for r in rows], dtype=bool).T
    conf = np.array([[r[5] for r in rows]])
    el, es, xl, xs, valid = (np.ascontiguousarray(a[None, :]) for a in arr)
    n = len(rows)
    sig = np.zeros((n, 1), dtype=np.int8)
    out_conf = np.zeros((n, 1))
    regime_signals_nb((el, es, xl, xs), valid, conf, min_conf, sig, out_conf)
    ref = _regime_reference(arr[0], arr[1], arr[2], arr[3], arr[4])
    clipped = np.clip(conf[0], 0, 1)
    for t in range(n):
        if ref[t] in (SIG_LONG, SIG_SHORT) and clipped[t] < min_conf:
            assert sig[t, 0] == SIG_NONE
            assert out_conf[t, 0] == 0.0
        else:
            assert sig[t, 0] == ref[t]
            expected = (
                clipped[t]
                if ref[t] in (SIG_LONG, SIG_SHORT)
                else (1.0 if ref[t] == SIG_EXIT else 0.0)
            )
            assert out_conf[t, 0] == expected
    assert not sig[~arr[4], 0].any()
