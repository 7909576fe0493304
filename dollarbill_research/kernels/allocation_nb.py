"""Capital allocation across strategies (SPEC §5.4): raw weights by method, then bounds.

Raw weights (each sums to 1) from per-strategy return series ``returns (n_bars, n_strat)``
(NaN = no return on that bar, e.g. before a strategy started):

* ``ALLOC_EQUAL_WEIGHT``: ``1 / n``.
* ``ALLOC_RISK_PARITY``: inverse volatility ``1 / sigma_i`` -- every strategy gets the same
  stand-alone risk (correlations ignored).
* ``ALLOC_VOLATILITY_WEIGHTED``: inverse variance ``1 / sigma_i^2`` -- the minimum-variance
  portfolio when strategies are uncorrelated; tilts harder toward calm strategies than risk
  parity. (Scaling each strategy to a common target volatility and then renormalising to 100 %
  is exactly risk parity, so this method is the distinct, variance-minimising choice.)
* ``ALLOC_PERFORMANCE_WEIGHTED``: ``max(Sharpe_i, 0)``; equal weights when no strategy has a
  positive finite Sharpe.
* ``ALLOC_CUSTOM``: the user's weights, normalised (equal when they sum to <= 0).

``sigma_i`` is the sample std (ddof=1) of the strategy's non-NaN returns. A strategy without a
usable volatility (fewer than 2 returns, or zero volatility) gets the mean raw weight of the
strategies that have one -- a neutral prior, not 0 and not infinity; equal weights when none has
one. A non-finite Sharpe counts as not positive.

Bounds (:func:`bounded_targets_nb`): targets ``t_i = clip(lam * w_i, lo_i, hi_i)`` with the one
``lam`` that makes them sum to 1 -- exactly what iteratively clipping and redistributing the
excess pro rata converges to (water-filling). When strategies with a positive weight cannot
absorb it all (they all sit at their max), the rest is water-filled equally over the
zero-weight strategies from their minimums. Feasible iff ``sum(lo) <= 1 <= sum(hi)``; the
Python layer checks that (kernels never raise).
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import (
    ALLOC_CUSTOM,
    ALLOC_EQUAL_WEIGHT,
    ALLOC_PERFORMANCE_WEIGHTED,
    ALLOC_RISK_PARITY,
    ALLOC_VOLATILITY_WEIGHTED,
)


@jit
def strategy_stats_nb(returns, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Per-strategy annualised volatility and Sharpe over non-NaN returns.

    Parameters
    ----------
    returns : float64 (n_bars, n_strat)
        Per-bar simple returns; NaN marks a missing bar.
    bars_per_year, risk_free_rate : float
        Annualisation factor and annual risk-free rate (decimal).

    Returns
    -------
    vol, sharpe : float64 (n_strat,)
        NaN where fewer than 2 returns; vol 0 and Sharpe +-inf/NaN for constant returns.
    """
    n_bars, n_strat = returns.shape
    vol = np.full(n_strat, np.nan)
    sharpe = np.full(n_strat, np.nan)
    rf = risk_free_rate / bars_per_year
    for j in range(n_strat):
        count = 0
        total = 0.0
        lo = math.inf
        hi = -math.inf
        for t in range(n_bars):
            v = returns[t, j]
            if not math.isnan(v):
                count += 1
                total += v
                lo = min(lo, v)
                hi = max(hi, v)
        if count < 2:
            continue
        mean = total / count
        std = 0.0
        if lo != hi:
            ss = 0.0
            for t in range(n_bars):
                v = returns[t, j]
                if not math.isnan(v):
                    ss += (v - mean) * (v - mean)
            std = math.sqrt(ss / (count - 1))
        vol[j] = std * math.sqrt(bars_per_year)
        excess = mean - rf
        if std > 0.0:
            sharpe[j] = excess / std * math.sqrt(bars_per_year)
        elif excess > 0.0:
            sharpe[j] = math.inf
        elif excess < 0.0:
            sharpe[j] = -math.inf
    return vol, sharpe


@jit_inner
def _normalise_or_equal(raw):  # type: ignore[no-untyped-def]
    n = raw.shape[0]
    total = 0.0
    for i in range(n):
        total += raw[i]
    if not total > 0.0 or not math.isfinite(total):
        return np.full(n, 1.0 / n)
    return raw / total


@jit_inner
def _inverse_vol(vol, power):  # type: ignore[no-untyped-def]
    n = vol.shape[0]
    raw = np.zeros(n)
    usable = 0
    usable_sum = 0.0
    for i in range(n):
        v = vol[i]
        if v > 0.0 and math.isfinite(v):
            raw[i] = 1.0 / v**power
            usable += 1
            usable_sum += raw[i]
    if usable == 0:
        return np.full(n, 1.0 / n)
    prior = usable_sum / usable
    for i in range(n):
        v = vol[i]
        if not (v > 0.0 and math.isfinite(v)):
            raw[i] = prior
    return _normalise_or_equal(raw)


@jit
def raw_weights_nb(method, returns, custom, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Unbounded weights (sum 1) for ``method`` (an ``ALLOC_*`` code), float64 ``(n_strat,)``."""
    n = returns.shape[1]
    if n == 0:
        return np.zeros(0)
    if method == ALLOC_CUSTOM:
        raw = np.zeros(n)
        for i in range(n):
            raw[i] = max(custom[i], 0.0) if math.isfinite(custom[i]) else 0.0
        return _normalise_or_equal(raw)
    if method == ALLOC_EQUAL_WEIGHT:
        return np.full(n, 1.0 / n)
    vol, sharpe = strategy_stats_nb(returns, bars_per_year, risk_free_rate)
    if method == ALLOC_RISK_PARITY:
        return _inverse_vol(vol, 1.0)
    if method == ALLOC_VOLATILITY_WEIGHTED:
        return _inverse_vol(vol, 2.0)
    if method == ALLOC_PERFORMANCE_WEIGHTED:
        raw = np.zeros(n)
        for i in range(n):
            s = sharpe[i]
            if s > 0.0 and math.isfinite(s):
                raw[i] = s
        return _normalise_or_equal(raw)
    return np.full(n, 1.0 / n)  # unknown code: the neutral choice


@jit_inner
def _clipped_sum(lam, w, lo, hi):  # type: ignore[no-untyped-def]
    total = 0.0
    for i in range(w.shape[0]):
        total += min(max(lam * w[i], lo[i]), hi[i])
    return total


@jit_inner
def _solve_segment(a, b, w, lo, hi, total):  # type: ignore[no-untyped-def]
    """Exact ``lam`` in ``[a, b]``, where the set of clipped strategies does not change."""
    mid = 0.5 * (a + b)
    fixed = 0.0
    free_w = 0.0
    for i in range(w.shape[0]):
        x = mid * w[i]
        if x <= lo[i]:
            fixed += lo[i]
        elif x >= hi[i]:
            fixed += hi[i]
        else:
            free_w += w[i]
    if free_w > 0.0:
        return min(max((total - fixed) / free_w, a), b)
    return b


@jit
def sort_nb(a: np.ndarray, m: int) -> None:
    """Sort ``a[:m]`` ascending in place, NaN last (``np.sort``'s order; m is a few strategies).

    An insertion sort: numba's ``np.sort`` costs about 1.5 s to compile for arrays this short.
    """
    for i in range(1, m):
        v = a[i]
        j = i - 1
        while j >= 0 and (a[j] > v or (math.isnan(a[j]) and not math.isnan(v))):
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@jit_inner
def waterfill_nb(w, lo, hi, total):  # type: ignore[no-untyped-def]
    """``t_i = clip(lam * w_i, lo_i, hi_i)`` with ``lam`` solving ``sum(t) = total`` exactly.

    ``w >= 0``. The clipped sum is piecewise linear and non-decreasing in ``lam``; the solver walks
    its breakpoints (``lo_i / w_i``, ``hi_i / w_i``) and interpolates. When ``total`` is below
    ``sum(lo)`` it returns ``lo``; when above the largest reachable sum it returns that limit
    (``hi`` where ``w > 0``, ``lo`` elsewhere).
    """
    n = w.shape[0]
    bps = np.empty(2 * n)
    m = 0
    for i in range(n):
        if w[i] > 0.0:
            bps[m] = lo[i] / w[i]
            bps[m + 1] = hi[i] / w[i]
            m += 2
    sort_nb(bps, m)
    prev_lam = 0.0
    prev_sum = _clipped_sum(0.0, w, lo, hi)
    lam = -1.0
    if prev_sum >= total:
        lam = 0.0
    else:
        for k in range(m):
            s = _clipped_sum(bps[k], w, lo, hi)
            if s >= total:
                lam = _solve_segment(prev_lam, bps[k], w, lo, hi, total)
                break
            prev_lam = bps[k]
            prev_sum = s
    out = np.empty(n)
    for i in range(n):
        if lam < 0.0:  # unreachable: everything with weight at its max
            out[i] = hi[i] if w[i] > 0.0 else lo[i]
        else:
            out[i] = min(max(lam * w[i], lo[i]), hi[i])
    return out


@jit
def bounded_targets_nb(w, lo, hi):  # type: ignore[no-untyped-def]
    """Targets summing to 1 within ``[lo, hi]`` from raw weights ``w`` (see module docstring)."""
    n = w.shape[0]
    out = waterfill_nb(w, lo, hi, 1.0)
    total = 0.0
    for i in range(n):
        total += out[i]
    if total < 1.0 - 1e-12:
        # positive-weight strategies are all at their max: top up the zero-weight ones equally
        zero = np.zeros(n, dtype=np.bool_)
        rest = 1.0
        k = 0
        for i in range(n):
            if w[i] > 0.0:
                rest -= out[i]
            else:
                zero[i] = True
                k += 1
        if k > 0:
            idx = np.empty(k, dtype=np.int64)
            lo_z, hi_z = np.empty(k), np.empty(k)
            j = 0
            for i in range(n):
                if zero[i]:
                    idx[j], lo_z[j], hi_z[j] = i, lo[i], hi[i]
                    j += 1
            filled = waterfill_nb(np.ones(k), lo_z, hi_z, rest)
            for j in range(k):
                out[idx[j]] = filled[j]
    return out


@jit
def allocation_targets_nb(method, returns, custom, lo, hi, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Bounded allocation targets (fractions of allocated capital), float64 ``(n_strat,)``."""
    w = raw_weights_nb(method, returns, custom, bars_per_year, risk_free_rate)
    return bounded_targets_nb(w, lo, hi)
