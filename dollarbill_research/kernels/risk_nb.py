"""Risk analytics kernels over a whole book (SPEC 5.3).

The book is a set of flat per-position arrays of length ``k``, already multiplied by quantity
(docs/architecture.md, "Risk and approval"): ``pos_symbol``, ``pos_sector``, ``pos_strategy``
(int64) and ``delta_d`` (dollar delta), ``gamma_d`` (dollar gamma for a 1% move), ``vega10``
(P&L for a +10 vol point shock), ``theta`` (dollars per calendar day), ``mv`` (signed market
value) and ``conc`` (concentration value: ``|mv|``, or max loss for defined-risk options).

Exposures are fractions of equity, in the order of the ``EXP_*`` codes. VaR is delta-normal and
one-bar: ``z x sqrt(d' C d)`` with ``d`` the dollar delta per symbol and ``C`` the sample
covariance (ddof=1) of simple close-to-close returns over bars ``t-window+1 .. t``. A return is
missing when either close is missing (NaN) or not positive; each pair of symbols uses the bars
where both returns exist (pandas' pairwise-complete ``DataFrame.cov``), and a pair with fewer
than two common bars has covariance 0. A non-positive quadratic form (possible with pairwise
covariances) gives VaR 0. Non-positive equity gives an all-zero exposure vector.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels import records as layout  # the flat book's rows BI_* / BF_*
from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import (
    EXP_CONCENTRATION,
    EXP_DELTA,
    EXP_DIVERSIFICATION,
    EXP_GAMMA,
    EXP_GROSS,
    EXP_NET,
    EXP_SECTOR,
    EXP_THETA,
    EXP_VAR95,
    EXP_VAR99,
    EXP_VEGA,
    N_EXPOSURES,
)
from dollarbill_research.kernels.records import FlatBook

Z95 = 1.6448536269514722  # scipy.stats.norm.ppf(0.95)
Z99 = 2.3263478740408408  # scipy.stats.norm.ppf(0.99)

# Book totals in dollars (context_nb's context and the exposures are built on them)
CX_DELTA = 0  # sum dollar delta
CX_GAMMA = 1  # sum dollar gamma (1% move)
CX_VEGA = 2  # sum P&L for +10 vol points
CX_THETA = 3  # sum theta per day
CX_GROSS = 4  # sum |mv|
CX_NET = 5  # sum mv
CX_SQ = 6  # sum mv^2 (diversification)
CX_CONC = 7  # max |conc|
CX_SECTOR_MAX = 8  # max over sectors of sum |mv|
CX_DCD = 9  # d' C d (dollars^2)
CX_LEN = 10


@jit
def window_returns_nb(closes: np.ndarray, t: int, window: int) -> np.ndarray:
    """Simple returns of every symbol over bars ``t-window+1 .. t``.

    Parameters
    ----------
    closes : numpy.ndarray
        float64 ``(n_bars, n_symbols)`` closes in dollars, NaN where a bar is missing.
    t : int
        Current bar index (its close is known).
    window : int
        Number of returns (bars) in the window; fewer near the start of the history.

    Returns
    -------
    numpy.ndarray
        float64 ``(m, n_symbols)`` with ``m = min(window, t)``; NaN where a return is missing.
    """
    n_sym = closes.shape[1]
    first = max(t - window + 1, 1)
    m = max(t - first + 1, 0)
    out = np.full((m, n_sym), np.nan)
    for i in range(m):
        b = first + i
        for s in range(n_sym):
            c0 = closes[b - 1, s]
            c1 = closes[b, s]
            if math.isfinite(c0) and math.isfinite(c1) and c0 > 0.0 and c1 > 0.0:
                out[i, s] = c1 / c0 - 1.0
    return out


@jit
def pair_cov_nb(x: np.ndarray, y: np.ndarray) -> float:
    """Sample covariance (ddof=1) of ``x`` and ``y`` over the rows where both are finite."""
    n = 0
    sx = 0.0
    sy = 0.0
    for i in range(x.shape[0]):
        if math.isfinite(x[i]) and math.isfinite(y[i]):
            n += 1
            sx += x[i]
            sy += y[i]
    if n < 2:
        return 0.0
    mx = sx / n
    my = sy / n
    acc = 0.0
    for i in range(x.shape[0]):
        if math.isfinite(x[i]) and math.isfinite(y[i]):
            acc += (x[i] - mx) * (y[i] - my)
    return acc / (n - 1)


@jit
def symbol_deltas_nb(n_symbols: int, syms: np.ndarray, delta_d: np.ndarray) -> np.ndarray:
    """Net dollar delta per symbol, float64 ``(n_symbols,)`` (positions aggregated)."""
    out = np.zeros(n_symbols)
    for i in range(syms.shape[0]):
        if math.isfinite(delta_d[i]):
            out[syms[i]] += delta_d[i]
    return out


@jit
def quad_form_nb(rets: np.ndarray, sym_delta: np.ndarray) -> float:
    """``d' C d`` over the pairwise-complete covariance of ``rets`` (held symbols only)."""
    n_sym = sym_delta.shape[0]
    held = np.zeros(n_sym, dtype=np.int64)
    m = 0
    for s in range(n_sym):
        if sym_delta[s] != 0.0:
            held[m] = s
            m += 1
    q = 0.0
    for a in range(m):
        i = held[a]
        q += sym_delta[i] * sym_delta[i] * pair_cov_nb(rets[:, i], rets[:, i])
        for b in range(a + 1, m):
            j = held[b]
            q += 2.0 * sym_delta[i] * sym_delta[j] * pair_cov_nb(rets[:, i], rets[:, j])
    return q


@jit
def var_nb(
    closes: np.ndarray, t: int, window: int, syms: np.ndarray, delta_d: np.ndarray
) -> tuple[float, float]:
    """Delta-normal one-bar VaR 95 and 99 of a book, in dollars.

    Parameters
    ----------
    closes : numpy.ndarray
        float64 ``(n_bars, n_symbols)``.
    t, window : int
        Current bar and covariance window (bars).
    syms : numpy.ndarray
        int64 ``(k,)`` symbol index of each position.
    delta_d : numpy.ndarray
        float64 ``(k,)`` dollar delta of each position.

    Returns
    -------
    tuple of float
        ``(var95, var99)`` in dollars, ``>= 0``.
    """
    rets = window_returns_nb(closes, t, window)
    q = quad_form_nb(rets, symbol_deltas_nb(closes.shape[1], syms, delta_d))
    sd = math.sqrt(q) if q > 0.0 else 0.0
    return Z95 * sd, Z99 * sd


@jit
def book_exposures_nb(
    book: FlatBook, equity: float, n_sectors: int, closes: np.ndarray, t: int, window: int
) -> np.ndarray:
    """Every exposure of a book as fractions of equity, float64 ``(N_EXPOSURES,)``.

    ``EXP_DELTA``, ``EXP_GAMMA``, ``EXP_VEGA``, ``EXP_THETA``, ``EXP_NET`` are signed sums;
    ``EXP_CONCENTRATION`` the largest ``|conc|``; ``EXP_SECTOR`` the largest per-sector sum of
    ``|mv|``; ``EXP_GROSS`` the sum of ``|mv|``; ``EXP_VAR95/99`` from :func:`var_nb`;
    ``EXP_DIVERSIFICATION`` the effective number of positions ``(sum |mv|)^2 / sum mv^2``
    (0 for an empty book; not divided by equity). ``book.pos_strategy`` is part of the shared
    book layout and not used here.
    """
    q = 0.0
    if math.isfinite(equity) and equity > 0.0:
        rets = window_returns_nb(closes, t, window)
        q = quad_form_nb(rets, symbol_deltas_nb(closes.shape[1], book.pos_symbol, book.delta_d))
    book_i, book_f = flat_arrays_nb(book)
    return exposures_from_q_nb(book_i, book_f, book.pos_sector.shape[0], equity, n_sectors, q)


@jit_inner
def flat_arrays_nb(book: FlatBook) -> tuple[np.ndarray, np.ndarray]:
    """The flat book ``book_i`` / ``book_f`` (rows ``BI_*`` / ``BF_*``) of a :class:`FlatBook`."""
    k = book.pos_sector.shape[0]
    book_i = np.zeros((layout.BOOK_I_LEN, k), dtype=np.int64)
    book_f = np.zeros((layout.BOOK_F_LEN, k))
    book_i[layout.BI_SYMBOL] = book.pos_symbol
    book_i[layout.BI_SECTOR] = book.pos_sector
    book_i[layout.BI_STRATEGY] = book.pos_strategy
    book_f[layout.BF_DELTA] = book.delta_d
    book_f[layout.BF_GAMMA] = book.gamma_d
    book_f[layout.BF_VEGA] = book.vega10
    book_f[layout.BF_THETA] = book.theta
    book_f[layout.BF_MV] = book.mv
    book_f[layout.BF_CONC] = book.conc
    return book_i, book_f


@jit_inner
def max_nan_nb(x: np.ndarray) -> float:
    """``np.max`` of a non-empty array with its NaN rule (any NaN gives NaN), as a loop.

    numba's ``np.max`` costs 0.6 s to compile.
    """
    largest = x[0]
    for s in range(1, x.shape[0]):
        if math.isnan(largest):
            break
        if x[s] > largest or math.isnan(x[s]):
            largest = x[s]
    return largest


@jit_inner
def flat_totals_nb(
    book_i: np.ndarray, book_f: np.ndarray, k: int, tot: np.ndarray, sector_abs: np.ndarray
) -> None:
    """Totals ``CX_*`` (``CX_DCD`` left 0) of the first ``k`` columns of a flat book, into ``tot``.

    ``sector_abs`` gets the sum of ``|mv|`` per sector; both are overwritten.
    """
    for c in range(CX_LEN):
        tot[c] = 0.0
    for s in range(sector_abs.shape[0]):
        sector_abs[s] = 0.0
    for i in range(k):
        mv = book_f[layout.BF_MV, i]
        tot[CX_DELTA] += book_f[layout.BF_DELTA, i]
        tot[CX_GAMMA] += book_f[layout.BF_GAMMA, i]
        tot[CX_VEGA] += book_f[layout.BF_VEGA, i]
        tot[CX_THETA] += book_f[layout.BF_THETA, i]
        tot[CX_GROSS] += abs(mv)
        tot[CX_NET] += mv
        tot[CX_SQ] += mv * mv
        tot[CX_CONC] = max(tot[CX_CONC], abs(book_f[layout.BF_CONC, i]))
        sector_abs[book_i[layout.BI_SECTOR, i]] += abs(mv)
    tot[CX_SECTOR_MAX] = max_nan_nb(sector_abs)


@jit_inner
def exposures_from_q_nb(
    book_i: np.ndarray, book_f: np.ndarray, k: int, equity: float, n_sectors: int, q: float
) -> np.ndarray:
    """:func:`book_exposures_nb` given the book's quadratic form ``q = d' C d`` (dollars^2).

    The book is the first ``k`` columns of the flat book ``book_i`` / ``book_f`` (rows ``BI_*``
    / ``BF_*`` of :mod:`.records`): two arrays to pass, whatever the number of fields.
    """
    out = np.zeros(N_EXPOSURES)
    exposures_into_nb(
        book_i, book_f, k, equity, q, out, np.zeros(max(n_sectors, 1)), np.zeros(CX_LEN)
    )
    return out


@jit_inner
def exposures_into_nb(
    book_i: np.ndarray,
    book_f: np.ndarray,
    k: int,
    equity: float,
    q: float,
    out: np.ndarray,
    sector_abs: np.ndarray,
    tot: np.ndarray,
) -> None:
    """:func:`exposures_from_q_nb` into ``out`` (``N_EXPOSURES``), overwritten.

    ``sector_abs`` (one entry per sector) and ``tot`` (``CX_LEN``) are scratch: the book's
    totals (:func:`flat_totals_nb`), divided here by equity.
    """
    for e in range(N_EXPOSURES):
        out[e] = 0.0
    if not (math.isfinite(equity) and equity > 0.0):
        return
    flat_totals_nb(book_i, book_f, k, tot, sector_abs)
    out[EXP_DELTA] = tot[CX_DELTA] / equity
    out[EXP_GAMMA] = tot[CX_GAMMA] / equity
    out[EXP_VEGA] = tot[CX_VEGA] / equity
    out[EXP_THETA] = tot[CX_THETA] / equity
    out[EXP_NET] = tot[CX_NET] / equity
    out[EXP_GROSS] = tot[CX_GROSS] / equity
    out[EXP_CONCENTRATION] = tot[CX_CONC] / equity
    out[EXP_SECTOR] = tot[CX_SECTOR_MAX] / equity
    sd = math.sqrt(q) if q > 0.0 else 0.0
    out[EXP_VAR95] = Z95 * sd / equity
    out[EXP_VAR99] = Z99 * sd / equity
    gross, sq = tot[CX_GROSS], tot[CX_SQ]
    out[EXP_DIVERSIFICATION] = gross * gross / sq if sq > 0.0 else 0.0
