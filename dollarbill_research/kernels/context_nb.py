"""A book summary ("context") for fast repeated approval decisions on one bar.

The context is the tuple ``(tot[CX_LEN], sector_abs[n_sectors], sym_delta[n_symbols],
cd[n_symbols], var_sym[n_symbols], rets[m, n_symbols])``:

* ``tot``: book totals in dollars (indices ``CX_*`` of :mod:`.risk_nb`,
  :func:`~.risk_nb.flat_totals_nb`);
* ``sector_abs``: sum of ``|mv|`` per sector;
* ``sym_delta``: net dollar delta per symbol ``d``;
* ``cd = C d`` and ``var_sym = diag(C)`` for the pairwise-complete covariance ``C`` of the
  window's returns ``rets`` (:mod:`risk_nb`), so that adding ``x`` dollars of delta in symbol
  ``s`` changes ``d'Cd`` by exactly ``2 x (Cd)_s + x^2 C_ss``.

:func:`book_context_nb` builds it in O(k + n_symbols x held x window); :func:`context_add_nb`
adds a filled trade in O(n_symbols x window).
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels import records as layout  # the flat book's rows BI_* / BF_*
from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.records import Candidate, FlatBook
from dollarbill_research.kernels.risk_nb import (  # the totals' layout CX_* is risk_nb's
    CX_CONC,
    CX_DCD,
    CX_DELTA,
    CX_GAMMA,
    CX_GROSS,
    CX_LEN,
    CX_NET,
    CX_SECTOR_MAX,
    CX_SQ,
    CX_THETA,
    CX_VEGA,
    flat_arrays_nb,
    flat_totals_nb,
    pair_cov_nb,
    symbol_deltas_nb,
    window_returns_nb,
)
from dollarbill_research.kernels.workspace_nb import (
    M_EPOCH,
    M_NCD,
    M_NFILL,
    M_NHELD,
    WF_CD,
    WF_FX,
    WF_HD,
    WF_VAR,
    WI_CD_STAMP,
    WI_CDLIST,
    WI_FSYM,
    WI_HELD,
    WI_LOC,
    WI_ROW,
    Workspace,
    cov_nb,
    cov_rows_nb,
    held_deltas_nb,
)


@jit_inner
def book_totals_nb(book: FlatBook, n_sectors: int) -> tuple[np.ndarray, np.ndarray]:
    """Book totals ``tot (CX_LEN,)`` (``CX_DCD`` left 0) and ``sector_abs (n_sectors,)``."""
    tot = np.zeros(CX_LEN)
    sector_abs = np.zeros(max(n_sectors, 1))
    book_i, book_f = flat_arrays_nb(book)
    flat_totals_nb(book_i, book_f, book.pos_sector.shape[0], tot, sector_abs)
    return tot, sector_abs


@jit_inner
def cd_entry_nb(rets: np.ndarray, sym_delta: np.ndarray, s: int) -> float:
    """``(C d)_s``: covariance of symbol ``s`` with every held symbol, weighted by its delta."""
    acc = 0.0
    for j in range(sym_delta.shape[0]):
        if sym_delta[j] != 0.0:
            acc += sym_delta[j] * pair_cov_nb(rets[:, s], rets[:, j])
    return acc


@jit
def book_context_nb(
    book: FlatBook, n_sectors: int, closes: np.ndarray, t: int, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Summarise a flat book on bar ``t`` with a ``window``-bar covariance.

    Returns
    -------
    tuple of numpy.ndarray
        ``(tot, sector_abs, sym_delta, cd, var_sym, rets)`` as in the module docstring.
    """
    n_sym = closes.shape[1]
    tot, sector_abs = book_totals_nb(book, n_sectors)
    rets = window_returns_nb(closes, t, window)
    sym_delta = symbol_deltas_nb(n_sym, book.pos_symbol, book.delta_d)
    cd = np.zeros(n_sym)
    var_sym = np.zeros(n_sym)
    for s in range(n_sym):
        var_sym[s] = pair_cov_nb(rets[:, s], rets[:, s])
        cd[s] = cd_entry_nb(rets, sym_delta, s)
    dcd = 0.0
    for s in range(n_sym):
        dcd += sym_delta[s] * cd[s]
    tot[CX_DCD] = dcd
    return tot, sector_abs, sym_delta, cd, var_sym, rets


@jit_inner
def totals_add_nb(units: float, cand: Candidate, tot: np.ndarray, sector_abs: np.ndarray) -> None:
    """Add a filled trade to the totals (every ``CX_*`` but ``CX_DCD``), in place."""
    unit_mv = cand.unit_mv
    tot[CX_DELTA] += units * cand.unit_delta_d
    tot[CX_GAMMA] += units * cand.unit_gamma_d
    tot[CX_VEGA] += units * cand.unit_vega10
    tot[CX_THETA] += units * cand.unit_theta
    tot[CX_GROSS] += units * abs(unit_mv)
    tot[CX_NET] += units * unit_mv
    tot[CX_SQ] += units * units * unit_mv * unit_mv
    tot[CX_CONC] = max(tot[CX_CONC], units * abs(cand.unit_conc))
    sector_abs[cand.sector] += units * abs(unit_mv)
    tot[CX_SECTOR_MAX] = max(tot[CX_SECTOR_MAX], sector_abs[cand.sector])


@jit
def context_add_nb(units: float, cand: Candidate, ctx: tuple) -> None:
    """Add a filled trade of ``units`` (a new position) to the context ``ctx``, in place.

    ``ctx`` is :func:`book_context_nb`'s ``(tot, sector_abs, sym_delta, cd, var_sym, rets)``.
    """
    tot, sector_abs, sym_delta, cd, var_sym, rets = ctx
    x = units * cand.unit_delta_d
    s = cand.symbol
    tot[CX_DCD] += 2.0 * x * cd[s] + x * x * var_sym[s]
    totals_add_nb(units, cand, tot, sector_abs)
    sym_delta[s] += x
    if x != 0.0:
        for j in range(cd.shape[0]):
            cd[j] += x * (var_sym[s] if j == s else pair_cov_nb(rets[:, j], rets[:, s]))


# ---------------------------------------------------------------------------------------------
# The engine's context: the same figures, computed lazily from the step workspace
# (:mod:`.workspace_nb`): ``cd`` / ``var_sym`` only for the symbols a decision asks about (and the
# held ones, for ``d'Cd``), each pair covariance once per bar. ``(C d)_s`` is the sum of
# :func:`cd_entry_nb` over the book at the start of the entries, then one term per fill in fill
# order, exactly as :func:`context_add_nb` would have accumulated it.
# ---------------------------------------------------------------------------------------------


@jit
def ctx_cd_nb(
    closes: np.ndarray,
    s: int,
    wi: np.ndarray,
    wf: np.ndarray,
    win: np.ndarray,
    cov: np.ndarray,
    meta: np.ndarray,
) -> None:
    """Make ``wf[WF_CD, s]`` (``(C d)_s``) and ``wf[WF_VAR, s]`` (``C_ss``) current.

    The workspace's arrays one by one, not the :class:`Workspace`: this runs per candidate, and
    every array argument is reference-counted on the call.
    """
    if wi[WI_CD_STAMP, s] == meta[M_EPOCH]:
        return
    h = meta[M_NHELD]
    hs = wi[WI_HELD]
    wi[WI_ROW, 0] = s  # the one-symbol row list of cov_rows_nb
    cov_rows_nb(closes, (np.int64(WI_ROW), np.int64(1)), (np.int64(WI_HELD), h), wi, win, cov, meta)
    nf = meta[M_NFILL]
    if nf > 0:  # (the first call touched ``s`` already)
        cov_rows_nb(closes, (np.int64(WI_ROW), np.int64(1)), (np.int64(WI_FSYM), nf), wi, win, cov,
                    meta)  # fmt: skip
    # every pair is cached now (unless the cache is full): read it here, no call per pair
    li = wi[WI_LOC, s]
    acc = 0.0
    for b in range(h):
        lj = wi[WI_LOC, hs[b]]
        v = cov[li, lj] if li >= 0 and lj >= 0 else np.nan
        if math.isnan(v):
            v = cov_nb(closes, s, hs[b], wi, win, cov, meta)
        acc += wf[WF_HD, b] * v
    for f in range(nf):
        lj = wi[WI_LOC, wi[WI_FSYM, f]]
        v = cov[li, lj] if li >= 0 and lj >= 0 else np.nan
        if math.isnan(v):
            v = cov_nb(closes, s, wi[WI_FSYM, f], wi, win, cov, meta)
        acc += wf[WF_FX, f] * v
    wf[WF_CD, s] = acc
    v = cov[li, li] if li >= 0 else np.nan
    if math.isnan(v):
        v = cov_nb(closes, s, s, wi, win, cov, meta)
    wf[WF_VAR, s] = v
    wi[WI_CD_STAMP, s] = meta[M_EPOCH]
    wi[WI_CDLIST, meta[M_NCD]] = s
    meta[M_NCD] += 1


@jit
def ctx_begin_nb(closes: np.ndarray, k: int, ws: Workspace) -> float:
    """Set up the lazy context of the workspace's flat book of ``k`` positions; return ``d'Cd``."""
    wi, wf, meta = ws.wi, ws.wf, ws.meta
    pos_symbol, delta_d = ws.book_i[layout.BI_SYMBOL], ws.book_f[layout.BF_DELTA]
    h = held_deltas_nb(pos_symbol, delta_d, k, wi, wf, np.int64(WI_HELD), np.int64(WF_HD))
    meta[M_NHELD] = h
    meta[M_NFILL] = 0
    meta[M_NCD] = 0
    dcd = 0.0
    for a in range(h):
        s = wi[WI_HELD, a]
        ctx_cd_nb(closes, s, wi, wf, ws.win, ws.cov, meta)
        dcd += wf[WF_HD, a] * wf[WF_CD, s]
    return dcd


@jit_inner
def ctx_add_nb(
    closes: np.ndarray,
    units: float,
    cand: Candidate,
    tot: np.ndarray,
    sector_abs: np.ndarray,
    ws: Workspace,
) -> None:
    """:func:`context_add_nb` for the lazy context."""
    wi, wf, win, cov, meta = ws.wi, ws.wf, ws.win, ws.cov, ws.meta
    x = units * cand.unit_delta_d
    s = cand.symbol
    ctx_cd_nb(closes, s, wi, wf, win, cov, meta)
    tot[CX_DCD] += 2.0 * x * wf[WF_CD, s] + x * x * wf[WF_VAR, s]
    totals_add_nb(units, cand, tot, sector_abs)
    if x != 0.0:
        ncd = meta[M_NCD]
        wi[WI_ROW, 0] = s
        cov_rows_nb(closes, (np.int64(WI_ROW), np.int64(1)), (np.int64(WI_CDLIST), ncd), wi, win,
                    cov, meta)  # fmt: skip
        ls = wi[WI_LOC, s]
        for c in range(ncd):
            j = wi[WI_CDLIST, c]
            lj = wi[WI_LOC, j]
            v = cov[lj, ls] if ls >= 0 and lj >= 0 else np.nan
            if math.isnan(v):
                v = cov_nb(closes, j, s, wi, win, cov, meta)
            wf[WF_CD, j] += x * v
        wi[WI_FSYM, meta[M_NFILL]] = s
        wf[WF_FX, meta[M_NFILL]] = x
        meta[M_NFILL] += 1
