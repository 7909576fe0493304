"""Kernels of the streaming driver: features whose value depends on the whole past, carried.

The implied-vol proxy is an EWMA (:func:`~.features_nb.iv_proxy_nb`), so its value on a bar
depends on every earlier bar of the symbol. :func:`iv_proxy_carry_nb` runs the same recursion
(same operations in the same order) over one chunk of rows and keeps its per-symbol state in
arrays the caller carries to the next chunk, so the chunked values equal the whole-history ones
bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit

__all__ = ["iv_proxy_carry_nb"]


@jit
def iv_proxy_carry_nb(
    close: np.ndarray,
    lam: float,
    floor: float,
    bars_per_year: float,
    last_log: np.ndarray,
    var: np.ndarray,
) -> np.ndarray:
    """:func:`~.features_nb.iv_proxy_nb` over ``close`` rows, resuming from a carried state.

    Parameters
    ----------
    close : numpy.ndarray
        float64 ``(n_rows, n_symbols)`` closes of the chunk, NaN on missing bars.
    lam, floor, bars_per_year : float
        As in :func:`~.features_nb.iv_proxy_nb`.
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
