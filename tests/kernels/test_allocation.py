"""Allocation kernels: raw weights against numpy/empyrical, bounds against a bisection reference."""

from __future__ import annotations

import itertools

import empyrical
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.kernels import allocation_nb as ak
from dollarbill_research.kernels.codes import (
    ALLOC_CUSTOM,
    ALLOC_EQUAL_WEIGHT,
    ALLOC_PERFORMANCE_WEIGHTED,
    ALLOC_RISK_PARITY,
    ALLOC_VOLATILITY_WEIGHTED,
)


# ------------------------------------------------------------------ reference water-filling
def _bisect(f, target: float, lo: float, hi: float) -> float:  # type: ignore[no-untyped-def]
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _clip(x: float, a: float, b: float) -> float:
    return min(max(x, a), b)


def reference_targets(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """clip(lam*w, lo, hi) summing to 1 by bisection; equal top-up of zero-weight strategies."""
    wl, lol, hil = w.tolist(), lo.tolist(), hi.tolist()
    n = len(wl)
    pos = [x > 0 for x in wl]
    big = 2.0 / min(x for x in wl if x > 0)  # every positive weight at its max

    def s(lam: float) -> float:
        return sum(_clip(lam * wl[i], lol[i], hil[i]) for i in range(n))

    if s(big) >= 1.0:
        lam = _bisect(s, 1.0, 0.0, big)
        return np.array([_clip(lam * wl[i], lol[i], hil[i]) for i in range(n)])
    rest = 1.0 - sum(hil[i] for i in range(n) if pos[i])
    zero = [i for i in range(n) if not pos[i]]

    def s0(mu: float) -> float:
        return sum(_clip(mu, lol[i], hil[i]) for i in zero)

    mu = _bisect(s0, rest, 0.0, 2.0)
    return np.array([hil[i] if pos[i] else _clip(mu, lol[i], hil[i]) for i in range(n)])


WEIGHT_PATTERNS = [
    (1.0, 1.0, 1.0, 1.0),
    (0.7, 0.2, 0.1, 0.0),
    (0.1, 0.2, 0.3, 0.4),
    (1.0, 0.0, 0.0, 0.0),
    (0.05, 0.05, 0.45, 0.45),
]
# every min/max combination for 2 and 3 strategies; a coarser grid for 4
GRIDS = {
    2: ((0.0, 0.1, 0.25, 0.4), (0.2, 0.35, 0.6, 1.0)),
    3: ((0.0, 0.1, 0.25, 0.4), (0.2, 0.35, 0.6, 1.0)),
    4: ((0.0, 0.15, 0.3), (0.25, 0.5, 1.0)),
}


@pytest.mark.parametrize("n", [2, 3, 4])
def test_bounds_exhaustive_grid(n: int) -> None:
    checked = 0
    worst_sum = worst_bound = worst_ref = 0.0
    min_grid, max_grid = GRIDS[n]
    patterns = WEIGHT_PATTERNS if n < 4 else WEIGHT_PATTERNS[:3]  # keep the file fast
    for pattern in patterns:
        w = np.array(pattern[:n])
        if w.sum() == 0:
            continue
        w = w / w.sum()
        for mins in itertools.product(min_grid, repeat=n):
            lo = np.array(mins)
            if lo.sum() > 1.0:
                continue
            for maxs in itertools.product(max_grid, repeat=n):
                hi = np.array(maxs)
                if (lo > hi).any() or hi.sum() < 1.0:
                    continue
                t = ak.bounded_targets_nb(w, lo, hi)
                worst_sum = max(worst_sum, abs(t.sum() - 1.0))
                worst_bound = max(worst_bound, (lo - t).max(), (t - hi).max())
                worst_ref = max(worst_ref, np.abs(t - reference_targets(w, lo, hi)).max())
                checked += 1
    assert checked > 100
    assert worst_sum < 1e-12
    assert worst_bound < 1e-12
    assert worst_ref < 1e-9


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.one_of(st.just(0.0), st.floats(1e-3, 1.0)),
            st.floats(0.0, 0.6),
            st.floats(0.0, 1.0),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_bounds_property(data: list[tuple[float, float, float]]) -> None:
    w = np.array([d[0] for d in data])
    lo = np.array([min(d[1], d[2]) for d in data])
    hi = np.array([max(d[1], d[2]) for d in data])
    if w.sum() == 0 or lo.sum() > 1.0 or hi.sum() < 1.0:
        return
    w = w / w.sum()
    t = ak.bounded_targets_nb(w, lo, hi)
    assert t.sum() == pytest.approx(1.0, abs=1e-9)
    assert (t >= lo - 1e-12).all()
    assert (t <= hi + 1e-12).all()
    np.testing.assert_allclose(t, reference_targets(w, lo, hi), atol=1e-7)


def test_no_bounds_keeps_raw_weights() -> None:
    w = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(ak.bounded_targets_nb(w, np.zeros(3), np.ones(3)), w, atol=1e-15)


def test_hand_computed_redistribution() -> None:
    # 0.7 capped at 0.5, excess 0.2 shared pro rata 2:1 -> 0.2*(1+1/1.5)... = 1/3 and 1/6
    t = ak.bounded_targets_nb(
        np.array([0.7, 0.2, 0.1]), np.array([0.0, 0.25, 0.0]), np.array([0.5, 1.0, 1.0])
    )
    np.testing.assert_allclose(t, [0.5, 1 / 3, 1 / 6], atol=1e-12)


# ------------------------------------------------------------------ raw weights
def _returns(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal([0.001, 0.0005, -0.0002], [0.01, 0.02, 0.04], size=(250, 3))


def test_risk_parity_is_inverse_vol() -> None:
    r = _returns()
    inv = 1 / r.std(axis=0, ddof=1)
    got = ak.raw_weights_nb(ALLOC_RISK_PARITY, r, np.zeros(3), 252.0, 0.0)
    np.testing.assert_allclose(got, inv / inv.sum(), rtol=1e-12)


def test_volatility_weighted_is_inverse_variance() -> None:
    r = _returns()
    inv = 1 / r.var(axis=0, ddof=1)
    got = ak.raw_weights_nb(ALLOC_VOLATILITY_WEIGHTED, r, np.zeros(3), 252.0, 0.0)
    np.testing.assert_allclose(got, inv / inv.sum(), rtol=1e-12)


def test_performance_weighted_uses_positive_sharpe() -> None:
    r = _returns(1)
    sharpe = np.array([empyrical.sharpe_ratio(r[:, j], risk_free=0.02 / 252) for j in range(3)])
    raw = np.clip(sharpe, 0, None)
    assert raw.sum() > 0
    got = ak.raw_weights_nb(ALLOC_PERFORMANCE_WEIGHTED, r, np.zeros(3), 252.0, 0.02)
    np.testing.assert_allclose(got, raw / raw.sum(), rtol=1e-10)
    vol, sh = ak.strategy_stats_nb(r, 252.0, 0.02)
    np.testing.assert_allclose(sh, sharpe, rtol=1e-10)
    np.testing.assert_allclose(
        vol, [empyrical.annual_volatility(r[:, j]) for j in range(3)], rtol=1e-12
    )


def test_performance_weighted_falls_back_to_equal() -> None:
    r = -np.abs(_returns(2))  # every strategy loses
    got = ak.raw_weights_nb(ALLOC_PERFORMANCE_WEIGHTED, r, np.zeros(3), 252.0, 0.0)
    np.testing.assert_allclose(got, np.full(3, 1 / 3))


def test_equal_and_custom() -> None:
    r = np.zeros((0, 4))
    np.testing.assert_allclose(
        ak.raw_weights_nb(ALLOC_EQUAL_WEIGHT, r, np.zeros(4), 252.0, 0.0), np.full(4, 0.25)
    )
    got = ak.raw_weights_nb(ALLOC_CUSTOM, r, np.array([2.0, 1.0, 1.0, 0.0]), 252.0, 0.0)
    np.testing.assert_allclose(got, [0.5, 0.25, 0.25, 0.0])


def test_unusable_volatility_gets_mean_weight_and_nan_is_skipped() -> None:
    r = _returns()[:, :2].copy()
    short = np.full((250, 1), np.nan)
    short[-1, 0] = 0.01  # a single return: no volatility
    mat = np.hstack([r, short])
    got = ak.raw_weights_nb(ALLOC_RISK_PARITY, mat, np.zeros(3), 252.0, 0.0)
    inv = 1 / r.std(axis=0, ddof=1)
    raw = np.append(inv, inv.mean())
    np.testing.assert_allclose(got, raw / raw.sum(), rtol=1e-12)
    # NaN padding at the start is ignored
    padded = r.copy()
    padded[:50, 1] = np.nan
    got = ak.raw_weights_nb(ALLOC_RISK_PARITY, padded, np.zeros(2), 252.0, 0.0)
    inv = 1 / np.array([r[:, 0].std(ddof=1), r[50:, 1].std(ddof=1)])
    np.testing.assert_allclose(got, inv / inv.sum(), rtol=1e-12)
    none = np.full((10, 2), np.nan)
    np.testing.assert_allclose(
        ak.raw_weights_nb(ALLOC_RISK_PARITY, none, np.zeros(2), 252.0, 0.0), [0.5, 0.5]
    )


def test_allocation_targets_combines_weights_and_bounds() -> None:
    r = _returns()
    lo, hi = np.array([0.0, 0.0, 0.2]), np.array([0.5, 1.0, 1.0])
    w = ak.raw_weights_nb(ALLOC_RISK_PARITY, r, np.zeros(3), 252.0, 0.0)
    t = ak.allocation_targets_nb(ALLOC_RISK_PARITY, r, np.zeros(3), lo, hi, 252.0, 0.0)
    np.testing.assert_allclose(t, reference_targets(w, lo, hi), atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, -0.5, 1.0, 2.5, np.inf, -np.inf, np.nan]) | st.floats(-1e6, 1e6),
        max_size=14,
    ),
    st.integers(0, 14),
)
def test_sort_nb_orders_like_np_sort(values: list[float], m: int) -> None:
    a = np.array(values, dtype=np.float64)
    m = min(m, a.shape[0])
    expected = np.sort(a[:m])
    ak.sort_nb(a, m)
    np.testing.assert_array_equal(a[:m], expected)  # NaN last, like np.sort
