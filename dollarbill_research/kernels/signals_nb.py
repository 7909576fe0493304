"""Rolling feature kernels for strategies, over many series with missing bars.

Window convention (every kernel here): a window of ``w`` bars is the symbol's own last ``w``
*valid* bars, the current one included (``lag=0``) or ending ``lag`` valid bars earlier. A missing
bar (``valid`` False) is skipped, never filled: it neither enters a window nor breaks one, and its
output is NaN. A window statistic is defined only when all ``w`` values in it are finite; a NaN
value (e.g. the first return of a symbol) makes every window that contains it NaN. Only bars up
to the current one are read, so no output depends on a later bar.

Layout: these kernels scan one series at a time, so they take *series-major* arrays, float64
C-contiguous ``(n_series, n_bars)`` (a panel transposed once by the strategy layer, so each scan
reads contiguous memory); ``valid`` is bool of the same shape. Kernels trust their inputs
(validated at the Python boundary) and never raise.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_NONE, SIG_SHORT

_BLOCK = 16  # symbols per block in kernels that write bar-major outputs


@jit
def usable_nb(close: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Bars that can be traded and used in windows: ``valid`` and a finite close > 0."""
    n_sym, n_bars = close.shape
    out = np.zeros((n_sym, n_bars), dtype=np.bool_)
    for j in range(n_sym):
        for t in range(n_bars):
            c = close[j, t]
            out[j, t] = valid[j, t] and math.isfinite(c) and c > 0.0
    return out


@jit_inner
def _valid_index(valid_row: np.ndarray, idx: np.ndarray) -> int:
    """Write the positions of the valid bars of one series into ``idx``; return their count."""
    k = 0
    for t in range(valid_row.shape[0]):
        if valid_row[t]:
            idx[k] = t
            k += 1
    return k


@jit
def price_ratio_nb(close: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``close_t / close_prev``, ``prev`` being the symbol's previous valid bar.

    NaN on the symbol's first bar and on missing bars. ``np.log`` of it, taken by the caller in
    vectorised numpy, is the daily log return.
    """
    n_sym, n_bars = close.shape
    ratio = np.full((n_sym, n_bars), np.nan)
    for j in range(n_sym):
        prev = np.nan
        for t in range(n_bars):
            if valid[j, t]:
                c = close[j, t]
                ratio[j, t] = c / prev  # NaN when prev is NaN
                prev = c
    return ratio


@jit
def lagged_nb(x: np.ndarray, valid: np.ndarray, lag: int) -> np.ndarray:
    """Value of ``x`` ``lag`` valid bars earlier (``lag=0``: the value itself)."""
    n_sym, n_bars = x.shape
    out = np.full((n_sym, n_bars), np.nan)
    idx = np.empty(n_bars, dtype=np.int64)
    for j in range(n_sym):
        n = _valid_index(valid[j], idx)
        for k in range(lag, n):
            out[j, idx[k]] = x[j, idx[k - lag]]
    return out


@jit_inner
def running_mean_var_nb(
    xv: np.ndarray, idx: np.ndarray, n: int, window: int, mean: np.ndarray, var: np.ndarray
) -> None:
    """Mean and sample variance (ddof=1, clipped at 0) over ``window`` bars of ``xv[idx[:n]]``.

    The figures of the window ending on bar ``idx[k]`` go to ``mean[idx[k]]`` / ``var[idx[k]]``
    (left as they are before the window is full and while it holds a NaN; ``var`` also for
    ``window < 2``). Running sums of deviations from a reference value
    (the window mean at the last exact recomputation, done once per ``window`` bars counted
    from ``xv[0]``), so neither a large level nor a long series costs precision. The one
    implementation of these sums: the rolling kernels and the last-bar kernels
    (:mod:`.lastbar_nb`) both call it, which keeps their figures equal.
    """
    w = float(window)
    inv_w = 1.0 / w
    inv_w1 = 1.0 / (w - 1.0) if window > 1 else 0.0
    ref = 0.0
    s = 0.0
    ss = 0.0
    n_nan = 0
    since = 0
    for k in range(n):
        v = xv[idx[k]]
        if math.isfinite(v):
            d = v - ref
            s += d
            ss += d * d
        else:
            n_nan += 1
        if k >= window:
            old = xv[idx[k - window]]
            if math.isfinite(old):
                d = old - ref
                s -= d
                ss -= d * d
            else:
                n_nan -= 1
        since += 1
        if since == window and k >= window - 1:  # exact recomputation around the mean
            since = 0
            if n_nan == 0:
                tot = 0.0
                for i in range(k - window + 1, k + 1):
                    tot += xv[idx[i]]
                ref = tot / w
                s = 0.0
                ss = 0.0
                for i in range(k - window + 1, k + 1):
                    d = xv[idx[i]] - ref
                    s += d
                    ss += d * d
        if k >= window - 1 and n_nan == 0:
            m = s * inv_w
            t = idx[k]
            mean[t] = ref + m
            if window > 1:
                vk = (ss - w * m * m) * inv_w1
                var[t] = vk if vk > 0.0 else 0.0


@jit
def rolling_mean_std_nb(
    x: np.ndarray, valid: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and sample standard deviation (ddof=1) over the last ``window`` valid bars.

    :func:`running_mean_var_nb` over each symbol's valid bars. ``std`` is NaN for
    ``window < 2``.
    """
    n_sym, n_bars = x.shape
    mean = np.full((n_sym, n_bars), np.nan)
    std = np.full((n_sym, n_bars), np.nan)  # the variance, then its square root
    idx = np.empty(n_bars, dtype=np.int64)
    for j in range(n_sym):
        n = _valid_index(valid[j], idx)
        running_mean_var_nb(x[j], idx, n, window, mean[j], std[j])
    return mean, np.sqrt(std)


@jit
def rolling_extreme_nb(
    x: np.ndarray, valid: np.ndarray, window: int, lag: int, is_max: bool
) -> np.ndarray:
    """Rolling max (``is_max``) or min over ``window`` valid bars ending ``lag`` valid bars ago.

    ``lag=1`` gives the prior channel (Donchian) that excludes the current bar. Van Herk /
    Gil-Werman block prefix and suffix maxima: three branch-free compares per bar.
    """
    n_sym, n_bars = x.shape
    out = np.full((n_sym, n_bars), np.nan)
    idx = np.empty(n_bars, dtype=np.int64)
    vals = np.empty(n_bars)
    pre = np.empty(n_bars)
    suf = np.empty(n_bars)
    nan_seen = np.empty(n_bars, dtype=np.int64)  # number of NaN values in vals[0..k]
    sgn = 1.0 if is_max else -1.0
    for j in range(n_sym):
        n = _valid_index(valid[j], idx)
        cnt = 0
        for k in range(n):
            v = sgn * x[j, idx[k]]
            if not math.isfinite(v):
                cnt += 1
                v = -np.inf
            vals[k] = v
            nan_seen[k] = cnt
        pos = 0
        for k in range(n):
            v = vals[k]
            if pos == 0:
                pre[k] = v
            else:
                p = pre[k - 1]
                pre[k] = v if v > p else p
            pos += 1
            if pos == window:
                pos = 0
        pos = (n - 1) % window if n > 0 else 0  # position of k inside its block
        for k in range(n - 1, -1, -1):
            v = vals[k]
            if k == n - 1 or pos == window - 1:
                suf[k] = v
            else:
                q = suf[k + 1]
                suf[k] = v if v > q else q
            pos -= 1
            if pos < 0:
                pos = window - 1
        for k in range(lag + window - 1, n):
            e = k - lag
            start = e - window + 1
            before = nan_seen[start - 1] if start > 0 else 0
            if nan_seen[e] == before:
                a = suf[start]
                b = pre[e]
                out[j, idx[k]] = sgn * (a if a > b else b)
    return out


@jit
def rsi_nb(close: np.ndarray, valid: np.ndarray, window: int) -> np.ndarray:
    """Cutler's RSI in [0, 100]: simple means of gains and losses over ``window`` returns.

    ``RSI = 100 x G / (G + L)`` with ``G``, ``L`` the mean gain and mean loss (absolute) of the
    last ``window`` close-to-close changes between valid bars; 50 when both are 0. Simple means
    (not Wilder's recursion) keep the window finite.
    """
    n_sym, n_bars = close.shape
    gain = np.full((n_sym, n_bars), np.nan)
    loss = np.full((n_sym, n_bars), np.nan)
    for j in range(n_sym):
        prev = np.nan
        for t in range(n_bars):
            if valid[j, t]:
                d = close[j, t] - prev
                if math.isfinite(d):
                    gain[j, t] = max(d, 0.0)
                    loss[j, t] = max(-d, 0.0)
                prev = close[j, t]
    g, _ = rolling_mean_std_nb(gain, valid, window)
    lo, _ = rolling_mean_std_nb(loss, valid, window)
    out = np.full((n_sym, n_bars), np.nan)
    for j in range(n_sym):
        for t in range(n_bars):
            a = g[j, t]
            b = lo[j, t]
            if math.isfinite(a) and math.isfinite(b):
                tot = a + b
                out[j, t] = 100.0 * a / tot if tot > 0.0 else 50.0
    return out


@jit
def regime_signals_nb(
    conditions: tuple,
    valid: np.ndarray,
    confidence: np.ndarray,
    min_confidence: float,
    out_signal: np.ndarray,
    out_confidence: np.ndarray,
) -> None:
    """Turn per-bar conditions into transition signals with a per-symbol regime state.

    State per symbol: flat, long or short (the strategy's view, not the book). On a valid bar:

    * flat: ``enter_long`` -> ``SIG_LONG`` (state long); else ``enter_short`` -> ``SIG_SHORT``.
    * long: ``exit_long`` or ``enter_short`` -> ``SIG_EXIT`` (state flat; a flip re-enters on
      the next bar where the opposite entry condition still holds). Same for short.

    So an entry fires once per regime (not on every bar the condition holds) and every regime
    ends with one exit. Missing bars emit nothing and keep the state. An entry whose confidence
    (clipped to [0, 1], NaN -> 0) is below ``min_confidence`` is dropped (the state still
    changes, so the regime's exit is still emitted); exits are never dropped.

    Parameters
    ----------
    conditions : tuple
        ``(enter_long, enter_short, exit_long, exit_short)``, bool ``(n_series, n_bars)`` each.
    valid : numpy.ndarray
        bool ``(n_series, n_bars)``.
    confidence : numpy.ndarray
        float64 ``(n_series, n_bars)``, the setup strength on each bar.
    min_confidence : float
        Entries below it are dropped.
    out_signal : numpy.ndarray
        int8 ``(n_bars, n_series)`` (bar-major, the ``Signals`` layout), written in place.
    out_confidence : numpy.ndarray
        float64 ``(n_bars, n_series)``: entry confidence, 1.0 on exits, 0 elsewhere.
    """
    enter_long, enter_short, exit_long, exit_short = conditions
    n_sym, n_bars = valid.shape
    state = np.zeros(_BLOCK, dtype=np.int64)
    for j0 in range(0, n_sym, _BLOCK):  # blocks of symbols: the bar-major writes stay local
        j1 = min(j0 + _BLOCK, n_sym)
        state[:] = 0
        for t in range(n_bars):
            for j in range(j0, j1):
                sig = SIG_NONE
                conf = 0.0
                st = state[j - j0]
                if valid[j, t]:
                    if st == 0:
                        if enter_long[j, t]:
                            sig = SIG_LONG
                            st = 1
                        elif enter_short[j, t]:
                            sig = SIG_SHORT
                            st = -1
                        if sig != SIG_NONE:
                            c = confidence[j, t]
                            conf = min(max(c, 0.0), 1.0) if math.isfinite(c) else 0.0
                            if conf < min_confidence:
                                sig = SIG_NONE
                                conf = 0.0
                    elif st == 1:
                        if exit_long[j, t] or enter_short[j, t]:
                            sig = SIG_EXIT
                            st = 0
                    elif exit_short[j, t] or enter_long[j, t]:
                        sig = SIG_EXIT
                        st = 0
                    if sig == SIG_EXIT:
                        conf = 1.0
                state[j - j0] = st
                out_signal[t, j] = sig
                out_confidence[t, j] = conf
