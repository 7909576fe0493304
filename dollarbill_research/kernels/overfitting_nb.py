"""Kernels of the overfitting statistics: per-configuration moments and CSCV over block splits.

``returns`` is a (bars x configurations) array of per-bar simple returns, float32 or float64,
column-major (Fortran order, one configuration contiguous) as the sweep stores it; ``rf_bar`` is
each configuration's risk-free return per bar (subtracted, so every statistic is on excess
returns, like the ``sharpe_ratio`` column of a sweep).

* :func:`column_moments_nb` -- count, mean, centred second to fourth moments (population) and the
  per-bar row sums of the standardised returns (for the average pairwise correlation).
* :func:`block_stats_nb` -- per (block, configuration) sums the CSCV metrics need.
* :func:`cscv_nb` -- combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado
  & Zhu 2017) over every combination of ``n_blocks / 2`` of the blocks.

The Python layer is :mod:`dollarbill_research.sweep.overfitting`.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner

# Metric codes of cscv_nb (per-bar, not annualised; the Python layer annualises for display).
PBO_SHARPE = 0
PBO_SORTINO = 1
PBO_TOTAL_RETURN = 2

# Layout of block_stats_nb's last axis.
BS_SUM = 0
BS_SUMSQ = 1
BS_DOWNSQ = 2
BS_LOGSUM = 3
N_BLOCK_STATS = 4


@jit
def column_moments_nb(returns, rf_bar):  # type: ignore[no-untyped-def]
    """Per configuration ``[n, mean, m2, m3, m4]`` of excess returns and standardised row sums.

    ``m_k = mean((x - mean)^k)`` (population moments); a deviation below ``1e-9 x |mean|`` is
    rounding of constant returns and counts as 0. The second result is
    ``z_row[t] = sum_j (x_tj - mean_j) / std_j`` with ``std_j`` the ``ddof=1`` deviation, over the
    configurations with ``std_j > 0``; ``sum_t z_row[t]^2 / (n - 1)`` is then the sum of every
    entry of their correlation matrix.
    """
    n_bars = returns.shape[0]
    n_cfg = returns.shape[1]
    out = np.full((n_cfg, 5), np.nan)
    z_row = np.zeros(n_bars)
    for j in range(n_cfg):
        rf = rf_bar[j]
        s = 0.0
        for t in range(n_bars):
            s += np.float64(returns[t, j]) - rf
        mean = s / n_bars if n_bars > 0 else math.nan
        m2 = 0.0
        m3 = 0.0
        m4 = 0.0
        for t in range(n_bars):
            d = np.float64(returns[t, j]) - rf - mean
            d2 = d * d
            m2 += d2
            m3 += d2 * d
            m4 += d2 * d2
        if m2 <= 1e-18 * mean * mean * n_bars:
            # constant excess returns (a configuration that never trades, minus the risk-free
            # rate): rounding leaves m2 ~ 1e-40, which would give a Sharpe of -1e14
            m2 = 0.0
            m3 = 0.0
            m4 = 0.0
        out[j, 0] = n_bars
        out[j, 1] = mean
        if n_bars > 0:
            out[j, 2] = m2 / n_bars
            out[j, 3] = m3 / n_bars
            out[j, 4] = m4 / n_bars
        if n_bars > 1 and m2 > 0.0:
            inv = 1.0 / math.sqrt(m2 / (n_bars - 1))
            for t in range(n_bars):
                z_row[t] += (np.float64(returns[t, j]) - rf - mean) * inv
    return out, z_row


@jit
def block_stats_nb(returns, rf_bar, bounds):  # type: ignore[no-untyped-def]
    """Per (block, configuration): sum, sum of squares, sum of squared losses, sum of log1p.

    Block ``b`` holds bars ``bounds[b] <= t < bounds[b + 1]``. Returns float64
    ``(n_configs, n_blocks, N_BLOCK_STATS)`` (one configuration's blocks contiguous).
    ``log1p`` of a return ``<= -1`` is ``-inf``.
    """
    n_blocks = bounds.shape[0] - 1
    n_cfg = returns.shape[1]
    out = np.zeros((n_cfg, n_blocks, N_BLOCK_STATS))
    for j in range(n_cfg):
        rf = rf_bar[j]
        for b in range(n_blocks):
            s = 0.0
            sq = 0.0
            dn = 0.0
            lg = 0.0
            for t in range(bounds[b], bounds[b + 1]):
                x = np.float64(returns[t, j]) - rf
                s += x
                sq += x * x
                if x < 0.0:
                    dn += x * x
                r = np.float64(returns[t, j])
                lg += math.log1p(r) if r > -1.0 else -math.inf
            out[j, b, BS_SUM] = s
            out[j, b, BS_SUMSQ] = sq
            out[j, b, BS_DOWNSQ] = dn
            out[j, b, BS_LOGSUM] = lg
    return out


@jit_inner
def _metric_nb(s, sq, dn, lg, n, metric):  # type: ignore[no-untyped-def]
    """One metric (per bar) from sums over ``n`` bars; a zero dispersion gives 0 or +-inf.

    The Sharpe ratio's variance comes from sums (``sum x^2 - n mean^2``), which cancel: a sum of
    squared deviations below ``1e-10 x sum x^2`` (a deviation below about ``1e-5 x |mean|``)
    is rounding of constant returns -- a configuration that does not trade in that half, minus
    the risk-free rate -- and counts as zero (Sharpe -inf, not -1e8).
    """
    if metric == PBO_TOTAL_RETURN:
        return math.expm1(lg)
    mean = s / n
    if metric == PBO_SORTINO:
        down = math.sqrt(dn / n)
        if down > 0.0:
            return mean / down
    else:
        spread = sq - s * mean  # sum of squared deviations, from sums
        if spread > 1e-10 * sq:  # else constant returns up to the sums' rounding
            return mean / math.sqrt(spread / (n - 1))
    if mean > 0.0:
        return math.inf
    if mean < 0.0:
        return -math.inf
    return 0.0


@jit
def cscv_nb(stats, sizes, metric):  # type: ignore[no-untyped-def]
    """Combinatorially symmetric cross-validation over every half of the ``n_blocks`` blocks.

    For each combination ``J`` of ``n_blocks / 2`` blocks (lexicographic order, as
    ``itertools.combinations``) the training set is ``J`` and the test set its complement. The
    configuration with the best training metric ``n*`` (first one on ties; NaN never wins) is
    ranked among the test metrics with mid-ranks (``rank = 1 + #below + #equal_others / 2``);
    ``w = rank / (n_configs + 1)`` and the logit is ``log(w / (1 - w))``.

    Returns
    -------
    tuple
        ``(logits, is_metric, oos_metric, chosen)``, one entry per combination; ``chosen`` is the
        column index of ``n*`` (-1 and NaN when no training metric is a number).
    """
    n_cfg = stats.shape[0]
    n_blocks = stats.shape[1]
    half = n_blocks // 2
    n_comb = 1
    for k in range(half):
        n_comb = n_comb * (n_blocks - k) // (k + 1)
    logits = np.full(n_comb, np.nan)
    is_metric = np.full(n_comb, np.nan)
    oos_metric = np.full(n_comb, np.nan)
    chosen = np.full(n_comb, -1, dtype=np.int64)
    combo = np.arange(half)
    in_train = np.zeros(n_blocks, dtype=np.bool_)
    test_values = np.empty(n_cfg)
    for c in range(n_comb):
        in_train[:] = False
        n_train = 0
        for k in range(half):
            in_train[combo[k]] = True
            n_train += sizes[combo[k]]
        n_test = 0
        for b in range(n_blocks):
            if not in_train[b]:
                n_test += sizes[b]
        best = -1
        best_value = -math.inf
        for j in range(n_cfg):
            s_tr = 0.0
            sq_tr = 0.0
            dn_tr = 0.0
            lg_tr = 0.0
            s_te = 0.0
            sq_te = 0.0
            dn_te = 0.0
            lg_te = 0.0
            for b in range(n_blocks):
                if in_train[b]:
                    s_tr += stats[j, b, 0]
                    sq_tr += stats[j, b, 1]
                    dn_tr += stats[j, b, 2]
                    lg_tr += stats[j, b, 3]
                else:
                    s_te += stats[j, b, 0]
                    sq_te += stats[j, b, 1]
                    dn_te += stats[j, b, 2]
                    lg_te += stats[j, b, 3]
            v_tr = _metric_nb(s_tr, sq_tr, dn_tr, lg_tr, n_train, metric)
            test_values[j] = _metric_nb(s_te, sq_te, dn_te, lg_te, n_test, metric)
            if v_tr > best_value or (best < 0 and v_tr == best_value):
                best = j
                best_value = v_tr
        if best >= 0:
            v = test_values[best]
            below = 0
            equal = 0
            for j in range(n_cfg):
                if j != best:
                    if test_values[j] < v:
                        below += 1
                    elif test_values[j] == v:
                        equal += 1
            w = (1.0 + below + 0.5 * equal) / (n_cfg + 1.0)
            logits[c] = math.log(w / (1.0 - w))
            is_metric[c] = best_value
            oos_metric[c] = v
            chosen[c] = best
        # next combination in lexicographic order
        k = half - 1
        while k >= 0 and combo[k] == n_blocks - half + k:
            k -= 1
        if k >= 0:
            combo[k] += 1
            for m in range(k + 1, half):
                combo[m] = combo[m - 1] + 1
    return logits, is_metric, oos_metric, chosen
