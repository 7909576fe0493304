"""Numba kernels of the volatility features over (bars x symbols) panels (numpy + math only).

These are the panel twins of the polars expressions in :mod:`dollarbill_research.data.features`
and agree with them to round-off (tested). NaN marks a missing bar: returns are taken between a
symbol's consecutive *available* bars (a gap is spanned, never filled), and the output is NaN on
missing bars. Every value at bar ``t`` uses bars ``<= t`` only.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.kernels._jit import jit

__all__ = ["iv_proxy_carry_nb", "iv_proxy_nb", "realized_vol_nb"]


@jit
def iv_proxy_nb(
    close: FloatArray, lam: float, seed_vol: float, floor: float, bars_per_year: float
) -> FloatArray:
    """EWMA (RiskMetrics) volatility forecast, annualised: the documented implied-vol proxy.

    ``var_0 = seed_vol**2 / bars_per_year`` on a symbol's first bar, then on each later
    available bar ``var_t = lam * var_{t-1} + (1 - lam) * r_t**2`` with ``r_t`` the log return
    since the previous available bar; ``iv_t = max(sqrt(var_t * bars_per_year), floor)``.

    Parameters
    ----------
    close : numpy.ndarray
        float64 ``(n_bars, n_symbols)`` closes in dollars, NaN on missing bars.
    lam : float
        Decay in (0, 1) (0.94 = RiskMetrics daily).
    seed_vol, floor : float
        Annualised vol (decimal) used before any return, and the lower bound of the output.
    bars_per_year : float
        Annualisation (252 for daily bars).

    Returns
    -------
    numpy.ndarray
        float64 ``(n_bars, n_symbols)`` annualised vol (decimal), NaN on missing bars.
    """
    n_sym = close.shape[1]
    last_log = np.full(n_sym, np.nan)  # log of the symbol's previous available close
    var = np.full(n_sym, seed_vol * seed_vol / bars_per_year)
    return iv_proxy_carry_nb(close, lam, floor, bars_per_year, last_log, var)


@jit
def iv_proxy_carry_nb(
    close: FloatArray,
    lam: float,
    floor: float,
    bars_per_year: float,
    last_log: FloatArray,
    var: FloatArray,
) -> FloatArray:
    """:func:`iv_proxy_nb` over ``close`` rows, resuming from a carried per-symbol state.

    The streaming driver runs it chunk by chunk and carries ``last_log`` / ``var`` to the next
    chunk, so the chunked values equal the whole-history ones bit for bit (the same recursion).

    Parameters
    ----------
    close : numpy.ndarray
        float64 ``(n_rows, n_symbols)`` closes, NaN on missing bars.
    lam, floor, bars_per_year : float
        As in :func:`iv_proxy_nb`.
    last_log, var : numpy.ndarray
        float64 ``(n_symbols,)``: log of each symbol's previous available close (NaN before its
        first bar) and its EWMA variance (``seed_vol**2 / bars_per_year`` at the start), updated
        in place.

    Returns
    -------
    numpy.ndarray
        float64 ``(n_rows, n_symbols)`` annualised proxy vol, NaN on missing bars.
    """
    n_bars, n_sym = close.shape
    out = np.full((n_bars, n_sym), np.nan)
    alpha = 1.0 - lam
    keep = 1.0 - alpha
    for t in range(n_bars):
        for j in range(n_sym):
            c = close[t, j]
            if not (c > 0.0 and math.isfinite(c)):
                continue
            lc = math.log(c)
            if not math.isnan(last_log[j]):
                r = lc - last_log[j]
                var[j] = keep * var[j] + alpha * r * r
            last_log[j] = lc
            out[t, j] = max(math.sqrt(var[j] * bars_per_year), floor)
    return out


@jit
def realized_vol_nb(close: FloatArray, window: int, bars_per_year: float) -> FloatArray:
    """Rolling close-to-close realised volatility, annualised.

    Sample standard deviation (ddof=1) of the last ``window`` log returns of each symbol (returns
    between consecutive available bars), times ``sqrt(bars_per_year)``. NaN until a symbol has
    ``window`` returns, and on missing bars.

    Parameters
    ----------
    close : numpy.ndarray
        float64 ``(n_bars, n_symbols)`` closes, NaN on missing bars.
    window : int
        Number of returns (>= 2).
    bars_per_year : float
        Annualisation (252 for daily bars).

    Returns
    -------
    numpy.ndarray
        float64 ``(n_bars, n_symbols)`` annualised vol (decimal).
    """
    n_bars, n_sym = close.shape
    out = np.full((n_bars, n_sym), np.nan)
    ring = np.zeros((window, n_sym))
    count = np.zeros(n_sym, dtype=np.int64)
    last_log = np.full(n_sym, np.nan)
    scale = math.sqrt(bars_per_year)
    for t in range(n_bars):
        for j in range(n_sym):
            c = close[t, j]
            if not (c > 0.0 and math.isfinite(c)):
                continue
            lc = math.log(c)
            if not math.isnan(last_log[j]):
                ring[count[j] % window, j] = lc - last_log[j]
                count[j] += 1
            last_log[j] = lc
            if count[j] >= window:
                mean = 0.0
                for k in range(window):
                    mean += ring[k, j]
                mean /= window
                ss = 0.0
                for k in range(window):
                    d = ring[k, j] - mean
                    ss += d * d
                out[t, j] = math.sqrt(ss / (window - 1)) * scale
    return out
