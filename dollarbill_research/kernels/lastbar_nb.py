"""Last-bar twins of the rolling feature kernels: each feature on the final bar only.

The live bot needs the strategies' features on the newest bar alone. The kernels of
:mod:`dollarbill_research.kernels.signals_nb` and :mod:`dollarbill_research.kernels.personality_nb`
compute every bar of a window (``O(n_bars)`` per symbol and feature); these read only the
symbol's last ``window + lag`` valid bars (``O(window)``). Conventions are the same: series-major
float64 ``(n_series, n_bars)`` inputs, ``valid`` bool of the same shape, windows over the series'
own valid bars, a statistic defined only when every value in its window is finite. Every output
is ``(n_series,)`` and NaN where the last bar is not valid or the history is too short.

Sums are taken the way the rolling kernels take them right after their exact recomputation
(around the window mean: ``ref = sum / n``, then the deviations), so a value here equals the
rolling kernel's value on a bar where its recomputation falls, and the rolling kernel's value on
any other bar to rounding (its running sums carry a few additions since the last recomputation).
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.signals_nb import running_mean_var_nb


@jit_inner
def _tail_index(valid_row: np.ndarray, need: int, idx: np.ndarray) -> bool:
    """Positions of the last ``need`` valid bars, ascending, into ``idx[:need]``.

    False when the last bar is not valid or fewer than ``need`` bars are.
    """
    n = valid_row.shape[0]
    if n == 0 or not valid_row[n - 1]:
        return False
    c = 0
    t = n - 1
    while t >= 0 and c < need:
        if valid_row[t]:
            idx[need - 1 - c] = t
            c += 1
        t -= 1
    return c == need


@jit_inner
def _mean_std_at(xj: np.ndarray, idx: np.ndarray, start: int, window: int) -> tuple[float, float]:
    """Mean and sample std of ``xj[idx[start:start + window]]`` (NaN when a value is not finite).

    The rolling kernel's recomputation: ``ref = sum / w``, deviations around it, then
    ``mean = ref + s / w`` and ``var = (ss - w m^2) / (w - 1)``.
    """
    w = float(window)
    tot = 0.0
    for i in range(start, start + window):
        v = xj[idx[i]]
        if not math.isfinite(v):
            return np.nan, np.nan
        tot += v
    ref = tot / w
    s = 0.0
    ss = 0.0
    for i in range(start, start + window):
        d = xj[idx[i]] - ref
        s += d
        ss += d * d
    m = s * (1.0 / w)
    if window < 2:
        return ref + m, np.nan
    var = (ss - w * m * m) * (1.0 / (w - 1.0))
    return ref + m, math.sqrt(var if var > 0.0 else 0.0)


@jit
def last_mean_std_nb(
    x: np.ndarray, valid: np.ndarray, window: int, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample std (ddof=1) of the last ``window`` valid bars ending ``lag`` bars ago.

    The last bar of :func:`~dollarbill_research.kernels.signals_nb.rolling_mean_std_nb` (passed
    through :func:`~dollarbill_research.kernels.signals_nb.lagged_nb` for ``lag > 0``).
    """
    n_sym = x.shape[0]
    mean = np.full(n_sym, np.nan)
    std = np.full(n_sym, np.nan)
    need = window + lag
    idx = np.empty(max(need, 1), dtype=np.int64)
    for j in range(n_sym):
        if _tail_index(valid[j], need, idx):
            mean[j], std[j] = _mean_std_at(x[j], idx, 0, window)
    return mean, std


@jit
def last_lagged_nb(x: np.ndarray, valid: np.ndarray, lag: int) -> np.ndarray:
    """``x`` ``lag`` valid bars before the last bar (the last bar of ``lagged_nb``)."""
    n_sym = x.shape[0]
    out = np.full(n_sym, np.nan)
    idx = np.empty(lag + 1, dtype=np.int64)
    for j in range(n_sym):
        if _tail_index(valid[j], lag + 1, idx):
            out[j] = x[j, idx[0]]
    return out


@jit
def last_extreme_nb(
    x: np.ndarray, valid: np.ndarray, window: int, lag: int, is_max: bool
) -> np.ndarray:
    """Max (``is_max``) or min over ``window`` valid bars ending ``lag`` valid bars ago.

    The last bar of :func:`~dollarbill_research.kernels.signals_nb.rolling_extreme_nb` (exact:
    an extreme has no rounding).
    """
    n_sym = x.shape[0]
    out = np.full(n_sym, np.nan)
    need = window + lag
    idx = np.empty(need, dtype=np.int64)
    for j in range(n_sym):
        if not _tail_index(valid[j], need, idx):
            continue
        best = x[j, idx[0]]
        ok = math.isfinite(best)
        for i in range(1, window):
            v = x[j, idx[i]]
            if not math.isfinite(v):
                ok = False
                break
            if (v > best) if is_max else (v < best):
                best = v
        if ok:
            out[j] = best
    return out


@jit
def last_rsi_nb(close: np.ndarray, valid: np.ndarray, window: int) -> np.ndarray:
    """Cutler's RSI of the last bar (see :func:`~dollarbill_research.kernels.signals_nb.rsi_nb`)."""
    n_sym = close.shape[0]
    out = np.full(n_sym, np.nan)
    idx = np.empty(window + 1, dtype=np.int64)
    gain = np.empty(window)
    loss = np.empty(window)
    pos = np.arange(window)
    for j in range(n_sym):
        if not _tail_index(valid[j], window + 1, idx):
            continue
        ok = True
        for i in range(window):
            d = close[j, idx[i + 1]] - close[j, idx[i]]
            if not math.isfinite(d):
                ok = False
                break
            gain[i] = max(d, 0.0)
            loss[i] = max(-d, 0.0)
        if not ok:
            continue
        a, _ = _mean_std_at(gain, pos, 0, window)
        b, _ = _mean_std_at(loss, pos, 0, window)
        tot = a + b
        out[j] = 100.0 * a / tot if tot > 0.0 else 50.0
    return out


@jit
def last_spread_mean_std_nb(
    iv: np.ndarray,
    returns: np.ndarray,
    valid: np.ndarray,
    rv_window: int,
    z_window: int,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over ``z_window`` bars of ``spread = iv - sigma(rv_window) x scale``.

    ``sigma`` is the sample std of ``returns`` over ``rv_window`` bars ending on each bar of the
    z window (the volatility mean-reversion spread of implied over realised vol), by the rolling
    kernel's running sums over those ``z_window + rv_window - 1`` returns.
    """
    n_sym = iv.shape[0]
    mean = np.full(n_sym, np.nan)
    std = np.full(n_sym, np.nan)
    need = z_window + rv_window - 1
    idx = np.empty(need, dtype=np.int64)
    rv = np.empty(need)
    rv_mean = np.empty(need)
    rv_var = np.empty(need)
    rv_pos = np.arange(need)
    spread = np.empty(z_window)
    pos = np.arange(z_window)
    for j in range(n_sym):
        if not _tail_index(valid[j], need, idx):
            continue
        for i in range(need):
            rv[i] = returns[j, idx[i]]
        rv_var[:] = np.nan
        running_mean_var_nb(rv, rv_pos, need, rv_window, rv_mean, rv_var)
        for i in range(z_window):
            sd = math.sqrt(rv_var[i + rv_window - 1])
            spread[i] = iv[j, idx[i + rv_window - 1]] - sd * scale
        mean[j], std[j] = _mean_std_at(spread, pos, 0, z_window)
    return mean, std


# ``x_mode`` of :func:`last_ols_nb`
OLS_X_SERIES = 0  # x[j]: the series' own regressor
OLS_X_SHARED = 1  # x[0]: one regressor row shared by every series (the market return)
OLS_X_TIME = 2  # the bar count 0, 1, 2, ... of the window's valid bars (x is not read)


@jit_inner
def _ols_at(xv: np.ndarray, yv: np.ndarray, window: int) -> tuple[float, float, float]:
    """Slope, R^2 and slope standard error of ``yv`` on ``xv`` (all finite).

    NaN when x is constant; the sums of ``rolling_ols_nb``'s recomputation (around the means).
    """
    n = float(window)
    tx = 0.0
    ty = 0.0
    for i in range(window):
        tx += xv[i]
        ty += yv[i]
    refx = tx / n
    refy = ty / n
    sx = sy = sxx = sxy = syy = 0.0
    for i in range(window):
        dx = xv[i] - refx
        dy = yv[i] - refy
        sx += dx
        sy += dy
        sxx += dx * dx
        sxy += dx * dy
        syy += dy * dy
    cxx = sxx - sx * sx / n
    cxy = sxy - sx * sy / n
    cyy = syy - sy * sy / n
    if not cxx > 1e-300:
        return np.nan, np.nan, np.nan
    b = cxy / cxx
    r2 = min(max(cxy * cxy / (cxx * cyy), 0.0), 1.0) if cyy > 0.0 else 0.0
    se = np.nan
    if window > 2:
        sse = max(cyy - b * cxy, 0.0)
        se = math.sqrt(sse / (n - 2.0) / cxx)
    return b, r2, se


@jit
def last_ols_nb(
    x: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    window: int,
    lag: int,
    x_lag: int,
    x_mode: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares ``y = a + b x`` over ``window`` valid bars ending ``lag`` bars ago.

    The pair on a bar is ``(x`` ``x_lag`` valid bars earlier, ``y)`` (``x_lag=1`` with
    ``x = y``: the AR(1) regression); ``x_mode`` is one of ``OLS_X_*`` (the series' own
    regressor, one shared row ``x[0]``, or the bar count: a regression on time; R^2 and the
    slope do not depend on where the count starts). The last bar of
    :func:`~dollarbill_research.kernels.personality_nb.rolling_ols_nb` (of ``lagged_nb`` of it
    for ``lag > 0``).

    Returns
    -------
    slope, r2, slope_se : numpy.ndarray
        ``(n_series,)``; NaN where a pair is not finite or ``x`` is constant.
    """
    n_sym = y.shape[0]
    slope = np.full(n_sym, np.nan)
    r2 = np.full(n_sym, np.nan)
    se = np.full(n_sym, np.nan)
    need = window + lag + x_lag
    idx = np.empty(need, dtype=np.int64)
    xv = np.empty(window)
    yv = np.empty(window)
    for j in range(n_sym):
        if not _tail_index(valid[j], need, idx):
            continue
        xr = x[0] if x_mode == OLS_X_SHARED else x[j]
        ok = True
        for i in range(window):
            vx = float(i) if x_mode == OLS_X_TIME else xr[idx[i]]
            vy = y[j, idx[i + x_lag]]
            if not (math.isfinite(vx) and math.isfinite(vy)):
                ok = False
                break
            xv[i] = vx
            yv[i] = vy
        if ok:
            slope[j], r2[j], se[j] = _ols_at(xv, yv, window)
    return slope, r2, se


@jit_inner
def _block_extremes(v: np.ndarray, n: int, block: int, pre: np.ndarray, suf: np.ndarray) -> None:
    """Van Herk / Gil-Werman running maxima of ``v[:n]`` within blocks of ``block`` values.

    The max over ``v[s:s + block]`` is then ``max(suf[s], pre[s + block - 1])``.
    """
    b = 0  # position inside the block (no integer division in the loops)
    for k in range(n):
        pre[k] = v[k] if b == 0 else max(pre[k - 1], v[k])
        b = b + 1 if b < block - 1 else 0
    b = (n - 1) - ((n - 1) // block) * block
    for k in range(n - 1, -1, -1):
        suf[k] = v[k] if (k == n - 1 or b == block - 1) else max(suf[k + 1], v[k])
        b = b - 1 if b > 0 else block - 1


@jit
def last_breakout_freq_nb(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    valid: np.ndarray,
    window: int,
    channel: int,
) -> np.ndarray:
    """Share of the last ``window`` bars closing outside the prior ``channel``-bar high/low.

    The last bar of the personality classifier's ``breakout_freq`` (NaN when a high or low in
    any of the channels is not finite). Channel extremes by block prefix and suffix maxima
    (exact: an extreme has no rounding).
    """
    n_sym = close.shape[0]
    out = np.full(n_sym, np.nan)
    need = window + channel
    m = need - 1  # bars of all the channels together
    idx = np.empty(need, dtype=np.int64)
    hv = np.empty(m)
    lv = np.empty(m)  # negated lows: their max is minus the min low
    pre_h = np.empty(m)
    suf_h = np.empty(m)
    pre_l = np.empty(m)
    suf_l = np.empty(m)
    brk = np.empty(window)
    pos = np.arange(window)
    for j in range(n_sym):
        if not _tail_index(valid[j], need, idx):
            continue
        ok = True
        for q in range(m):
            hv[q] = high[j, idx[q]]
            lv[q] = -low[j, idx[q]]
            if not (math.isfinite(hv[q]) and math.isfinite(lv[q])):
                ok = False
                break
        if not ok:
            continue
        _block_extremes(hv, m, channel, pre_h, suf_h)
        _block_extremes(lv, m, channel, pre_l, suf_l)
        for i in range(window):
            e = i + channel - 1
            hi = max(suf_h[i], pre_h[e])
            lo = -max(suf_l[i], pre_l[e])
            c = close[j, idx[i + channel]]
            brk[i] = 1.0 if (c > hi or c < lo) else 0.0
        out[j], _ = _mean_std_at(brk, pos, 0, window)
    return out
