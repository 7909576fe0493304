"""Scratch space of the step kernel: open-slot list, flat book and a per-bar covariance cache.

Nothing here is portfolio state: :func:`new_workspace` allocates it once per run (the backtest
driver) or once per :class:`~dollarbill_research.live.LivePortfolio`, and :func:`sync_open_nb`
rebuilds the open-slot list from the positions whenever the state may have been replaced.

Layout of the :class:`Workspace` ``ws = (book_i, book_f, wi, wf, win, cov, meta, cand,
cand_legs, vec)``:

* ``book_i`` int64 ``(BOOK_I_LEN, n_slots)`` and ``book_f`` float64 ``(BOOK_F_LEN, n_slots)``:
  the flat book of :mod:`.book_nb`;
* ``wi`` int64 ``(WI_LEN, n_slots)`` and ``wf`` float64 ``(WF_LEN, n_slots)``: rows ``WI_*`` /
  ``WF_*`` below (per-symbol stamps and scratch, lists);
* ``win`` float64 ``(2, n_symbols, window)``: per symbol, the window's simple returns (NaN where
  missing) and, when every return is present, the returns minus their mean;
* ``cov`` float64 ``(cap, cap)``: covariances of the bar's symbol pairs by local index (NaN =
  not computed yet);
* ``meta`` int64 ``(M_LEN,)``: the scalars ``M_*``;
* ``cand`` float64 ``(n_slots, U_LEN)`` and ``cand_legs`` ``LEG_DTYPE`` ``(n_slots, MAX_LEGS)``:
  the entries' per-candidate unit quantities (``U_*`` of :mod:`.candidates_nb`) and legs;
* ``vec`` float64 ``(V_LEN, VEC_LEN)``: the bar's small vectors, rows ``V_*`` below (exposures
  before and after the entries, the all-NaN projection, the context totals).

The per-bar scratch lives here so that a bar allocates nothing: an allocation and its
reference counting cost more than most of the bar's arithmetic at 100 symbols.

The covariance of a pair is exactly :func:`~dollarbill_research.kernels.risk_nb.pair_cov_nb` of
the two columns of :func:`~dollarbill_research.kernels.risk_nb.window_returns_nb` (same
operations in the same order), computed at most once per bar; so the cached VaR figures are the
figures of the from-scratch kernels, bit for bit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.candidates_nb import U_LEN
from dollarbill_research.kernels.codes import MAX_LEGS, N_EXPOSURES
from dollarbill_research.kernels.records import (
    BF_DELTA,
    BI_SYMBOL,
    BOOK_F_LEN,
    BOOK_I_LEN,
    C_OPEN,
    LEG_DTYPE,
)
from dollarbill_research.kernels.risk_nb import CX_LEN, pair_cov_nb

WI_OPEN = 0  # open slots in slot order; counters[C_OPEN] of them
WI_WIN_STAMP = 1  # epoch of the symbol's window returns
WI_FULL = 2  # 1 = every return of the window is present
WI_LOC = 3  # local index in ``cov`` (valid when WI_LOC_STAMP == epoch; -1 = cache full)
WI_LOC_STAMP = 4
WI_CD_STAMP = 5  # epoch of the symbol's context entries WF_CD / WF_VAR
WI_MARK = 6  # scratch marks, kept 0
WI_HELD = 7  # context: held symbols at the start of the entries (ascending)
WI_HELD2 = 8  # exposures: held symbols (ascending)
WI_FSYM = 9  # context: symbols of this bar's fills, in order
WI_CDLIST = 10  # context: symbols whose WF_CD is computed
WI_PEND = 11  # scratch list
WI_CAND = 12  # entries: the bar's candidate slots (strategy x n_symbols + symbol), in order
WI_ROW = 13  # scratch: a one-symbol row list for cov_rows_nb
WI_NLEGS = 14  # entries: leg count of each candidate
WI_ORDER = 15  # entries: the stable sort's two permutation buffers
WI_ORDER2 = 16
WI_WIN_BAR = 17  # bar of the last return in the symbol's window (valid with WI_WIN_STAMP)
WI_WIN_M = 18  # returns in that window
WI_LEN = 19

WF_SCR = 0  # scratch per-symbol sums, kept 0
WF_HD = 1  # context: net dollar delta of WI_HELD
WF_HD2 = 2  # exposures: net dollar delta of WI_HELD2
WF_FX = 3  # context: dollar delta added by each fill of WI_FSYM
WF_CD = 4  # context: (C d)_s per symbol
WF_VAR = 5  # context: C_ss per symbol
WF_CONF = 6  # entries: sort key of each candidate (-confidence)
WF_COMMITTED = 7  # entries: cash committed per strategy
WF_BCD = 8  # breach pass: (C d)_s per held symbol (VaR components)
WF_CAPACITY = 9  # entries: dollar allocation target per strategy
WF_SECTOR = 10  # entries / exposures: sum |mv| per sector (when the sectors fit a row)
WF_LEN = 11

V_PRE = 0  # exposures before the entries (NaN without portfolio management)
V_EXPOSURES = 1  # exposures after the entries
V_NAN = 2  # kept NaN: the projection of a rejection without one
V_TOT = 3  # context totals (CX_* of risk_nb)
V_OUT = 4  # scratch of exposures_into_nb
V_PROJ = 5  # entries: the projected exposures of the candidate being decided
V_LEN = 6
VEC_LEN = 16
assert max(N_EXPOSURES, CX_LEN) <= VEC_LEN

M_EPOCH = 0  # step calls so far
M_FIRST = 1  # first bar (row) of the window's returns
M_M = 2  # returns in the window
M_NLOC = 3  # local indices handed out this bar
M_NHELD = 4
M_NFILL = 5
M_NCD = 6
M_TOUCH = 7  # scratch of step_nb's in-order read of the bar's rows
M_BAR = 8  # the bar (global bar number)
M_LEN = 9

CACHE_CAP = 512  # symbols per bar whose pair covariances are cached


class Workspace(NamedTuple):
    """The step's scratch arrays (module docstring); ``ws.wi[WI_OPEN]`` is the open-slot list."""

    book_i: np.ndarray
    book_f: np.ndarray
    wi: np.ndarray
    wf: np.ndarray
    win: np.ndarray
    cov: np.ndarray
    meta: np.ndarray
    cand: np.ndarray
    cand_legs: np.ndarray
    vec: np.ndarray


def new_workspace(
    n_strategies: int, n_symbols: int, window: int, hedge_slots: bool = False
) -> Workspace:
    """Allocate the step kernel's workspace (see the module docstring) for a ``window``-bar VaR.

    ``hedge_slots``: the state has one hedge slot per symbol (:func:`~.records.new_state`).
    """
    n_slots = max(n_strategies * n_symbols + (n_symbols if hedge_slots else 0), 1)
    cap = max(min(n_symbols, CACHE_CAP), 1)
    vec = np.zeros((V_LEN, VEC_LEN))
    vec[V_NAN] = np.nan
    return Workspace(
        np.zeros((BOOK_I_LEN, n_slots), dtype=np.int64),
        np.zeros((BOOK_F_LEN, n_slots)),
        np.zeros((WI_LEN, n_slots), dtype=np.int64),
        np.zeros((WF_LEN, n_slots)),
        np.zeros((2, max(n_symbols, 1), max(window, 1))),
        np.full((cap, cap), np.nan),
        np.zeros(M_LEN, dtype=np.int64),
        np.zeros((n_slots, U_LEN)),
        np.zeros((n_slots, MAX_LEGS), dtype=LEG_DTYPE),
        vec,
    )


@jit_inner
def sector_scratch_nb(wf: np.ndarray, n_sectors: int) -> np.ndarray:
    """Per-sector scratch: row ``WF_SECTOR`` when the sectors fit it, else new.

    Its users (``risk_nb.flat_totals_nb``) overwrite it.
    """
    n = max(n_sectors, 1)
    return wf[WF_SECTOR, :n] if n <= wf.shape[1] else np.zeros(n)


@jit
def sync_open_nb(positions: np.ndarray, counters: np.ndarray, wi: np.ndarray) -> None:
    """Rebuild the open-slot list ``wi[WI_OPEN]`` from ``positions``."""
    n = 0
    for slot in range(positions.shape[0]):
        if positions[slot].active == 1:
            wi[WI_OPEN, n] = slot
            n += 1
    counters[C_OPEN] = n


@jit_inner
def open_insert_nb(wi: np.ndarray, n_open: int, slot: int) -> None:
    """Insert ``slot`` into the first ``n_open`` entries of the sorted open-slot list."""
    i = n_open
    while i > 0 and wi[WI_OPEN, i - 1] > slot:
        wi[WI_OPEN, i] = wi[WI_OPEN, i - 1]
        i -= 1
    wi[WI_OPEN, i] = slot


@jit
def begin_bar_nb(bar: int, t: int, window: int, wi: np.ndarray, meta: np.ndarray) -> None:
    """Start bar ``bar`` (row ``t``): a new epoch (every cached figure goes stale), the window."""
    meta[M_EPOCH] += 1
    meta[M_BAR] = bar
    first = max(t - window + 1, 1)
    meta[M_FIRST] = first
    meta[M_M] = max(t - first + 1, 0)
    meta[M_NLOC] = 0
    meta[M_NHELD] = 0
    meta[M_NFILL] = 0
    meta[M_NCD] = 0


@jit_inner
def touch_nb(
    closes: np.ndarray, s: int, wi: np.ndarray, win: np.ndarray, cov: np.ndarray, meta: np.ndarray
) -> int:
    """Make symbol ``s``'s window returns current; return its local index (-1: cache full).

    A symbol whose window was computed on the previous bar, with as many returns, keeps them
    shifted by one and computes only the new bar's return (the same figures as a from-scratch
    window: each return is computed once, by the same operation).
    """
    epoch = meta[M_EPOCH]
    if wi[WI_LOC_STAMP, s] == epoch:
        return wi[WI_LOC, s]
    m = meta[M_M]
    first = meta[M_FIRST]
    bar = meta[M_BAR]
    start = 0
    if (
        m > 0
        and wi[WI_WIN_STAMP, s] == epoch - 1
        and wi[WI_WIN_BAR, s] == bar - 1
        and wi[WI_WIN_M, s] == m
    ):
        for i in range(m - 1):
            win[0, s, i] = win[0, s, i + 1]
        start = m - 1
    for i in range(start, m):
        b = first + i
        c0 = closes[b - 1, s]
        c1 = closes[b, s]
        r = np.nan
        if math.isfinite(c0) and math.isfinite(c1) and c0 > 0.0 and c1 > 0.0:
            r = c1 / c0 - 1.0
        win[0, s, i] = r
    full = 1
    for i in range(m):
        if not math.isfinite(win[0, s, i]):
            full = 0
    if full == 1 and m > 0:
        sx = 0.0
        for i in range(m):
            sx += win[0, s, i]
        mx = sx / m
        for i in range(m):
            win[1, s, i] = win[0, s, i] - mx
    wi[WI_FULL, s] = full
    wi[WI_WIN_STAMP, s] = epoch
    wi[WI_WIN_BAR, s] = bar
    wi[WI_WIN_M, s] = m
    wi[WI_LOC_STAMP, s] = epoch
    n = meta[M_NLOC]
    if n >= cov.shape[0]:
        wi[WI_LOC, s] = -1
        return -1
    wi[WI_LOC, s] = n
    meta[M_NLOC] = n + 1
    for a in range(n + 1):
        cov[n, a] = np.nan
        cov[a, n] = np.nan
    return n


@jit_inner
def _pair_nb(win: np.ndarray, wi: np.ndarray, m: int, i: int, j: int) -> float:
    """``pair_cov_nb`` of the window returns of symbols ``i`` and ``j`` (both touched)."""
    if m < 2:
        return 0.0
    if wi[WI_FULL, i] == 1 and wi[WI_FULL, j] == 1:
        acc = 0.0
        for r in range(m):
            acc += win[1, i, r] * win[1, j, r]
        return acc / (m - 1)
    return pair_cov_nb(win[0, i, :m], win[0, j, :m])


@jit_inner
def _store_nb(cov: np.ndarray, wi: np.ndarray, li: int, j: int, v: float) -> None:
    lj = wi[WI_LOC, j]
    cov[li, lj] = v
    cov[lj, li] = v


@jit_inner
def cov_rows_nb(
    closes: np.ndarray,
    row_list: tuple,
    col_list: tuple,
    wi: np.ndarray,
    win: np.ndarray,
    cov: np.ndarray,
    meta: np.ndarray,
) -> None:
    """Compute (and cache) the missing covariances of a block of symbol pairs.

    ``row_list`` and ``col_list`` are ``(WI_* row, count)``: the symbols ``rows =
    wi[row_list[0], :n_rows]`` and ``js = wi[col_list[0], :n]`` (row indices into the
    workspace, not array views: no argument to reference-count). Row ``a`` pairs symbol
    ``rows[a]`` with ``js[a:n]`` when both are the same list (the upper triangle of a symmetric
    block), else with ``js[:n]``. One call does a whole block: a call per row costs the
    reference counting of its array arguments.
    Pairs of complete windows are done four at a time (independent sums, each in the order of
    :func:`~dollarbill_research.kernels.risk_nb.pair_cov_nb`).
    """
    rows, n_rows = row_list  # rows of wi read by index (a view would be reference-counted)
    js, n = col_list
    upper = 1 if rows == js else 0
    epoch = meta[M_EPOCH]
    m = meta[M_M]
    for a in range(n_rows):
        i = wi[rows, a]
        li = wi[WI_LOC, i]
        if wi[WI_LOC_STAMP, i] != epoch:
            li = touch_nb(closes, i, wi, win, cov, meta)
        n_p = 0
        for b in range(a if upper == 1 else 0, n):
            j = wi[js, b]
            # touched this bar: read the local index here (a call per pair costs more than the pair)
            lj = (
                wi[WI_LOC, j]
                if wi[WI_LOC_STAMP, j] == epoch
                else touch_nb(closes, j, wi, win, cov, meta)
            )
            if li < 0 or lj < 0 or not math.isnan(cov[li, lj]):
                continue
            if m >= 2 and wi[WI_FULL, i] == 1 and wi[WI_FULL, j] == 1:
                wi[WI_PEND, n_p] = j
                n_p += 1
            else:
                v = _pair_nb(win, wi, m, i, j)
                cov[li, lj] = v
                cov[lj, li] = v
        g = 0
        while g + 4 <= n_p:
            j0, j1 = wi[WI_PEND, g], wi[WI_PEND, g + 1]
            j2, j3 = wi[WI_PEND, g + 2], wi[WI_PEND, g + 3]
            a0 = a1 = a2 = a3 = 0.0
            for r in range(m):
                x = win[1, i, r]
                a0 += x * win[1, j0, r]
                a1 += x * win[1, j1, r]
                a2 += x * win[1, j2, r]
                a3 += x * win[1, j3, r]
            _store_nb(cov, wi, li, j0, a0 / (m - 1))
            _store_nb(cov, wi, li, j1, a1 / (m - 1))
            _store_nb(cov, wi, li, j2, a2 / (m - 1))
            _store_nb(cov, wi, li, j3, a3 / (m - 1))
            g += 4
        for q in range(g, n_p):  # the rest one at a time, still without a call per pair
            j0 = wi[WI_PEND, q]
            a0 = 0.0
            for r in range(m):
                a0 += win[1, i, r] * win[1, j0, r]
            _store_nb(cov, wi, li, j0, a0 / (m - 1))


@jit
def cov_nb(
    closes: np.ndarray,
    i: int,
    j: int,
    wi: np.ndarray,
    win: np.ndarray,
    cov: np.ndarray,
    meta: np.ndarray,
) -> float:
    """Covariance of symbols ``i`` and ``j`` over the bar's window (cached)."""
    li = touch_nb(closes, i, wi, win, cov, meta)
    lj = touch_nb(closes, j, wi, win, cov, meta)
    if li < 0 or lj < 0:
        return _pair_nb(win, wi, meta[M_M], i, j)
    v = cov[li, lj]
    if math.isnan(v):
        v = _pair_nb(win, wi, meta[M_M], i, j)
        cov[li, lj] = v
        cov[lj, li] = v
    return v


@jit_inner
def held_deltas_nb(
    pos_symbol: np.ndarray,
    delta_d: np.ndarray,
    k: int,
    wi: np.ndarray,
    wf: np.ndarray,
    row_sym: int,
    row_d: int,
) -> int:
    """Net dollar delta per held symbol of a flat book, ascending symbols, zero nets dropped.

    The nets are the sums of :func:`~dollarbill_research.kernels.risk_nb.symbol_deltas_nb`
    (finite deltas, book order); they go to ``wi[row_sym]`` / ``wf[row_d]``; returns their count.
    """
    scr = wf[WF_SCR]
    mark = wi[WI_MARK]
    syms = wi[row_sym]
    n = 0
    for a in range(k):
        s = pos_symbol[a]
        if math.isfinite(delta_d[a]):
            scr[s] += delta_d[a]
        if mark[s] == 0:
            mark[s] = 1
            syms[n] = s
            n += 1
    for a in range(1, n):  # insertion sort (a few dozen symbols)
        v = syms[a]
        b = a
        while b > 0 and syms[b - 1] > v:
            syms[b] = syms[b - 1]
            b -= 1
        syms[b] = v
    h = 0
    for a in range(n):
        s = syms[a]
        d = scr[s]
        scr[s] = 0.0
        mark[s] = 0
        if d != 0.0:
            syms[h] = s
            wf[row_d, h] = d
            h += 1
    return h


@jit
def quad_form_ws_nb(closes: np.ndarray, k: int, ws: Workspace) -> float:
    """``d' C d`` of the first ``k`` positions of the workspace's flat book, from the cache.

    :func:`~.risk_nb.quad_form_nb`'s sum over ``ws.book_i[BI_SYMBOL]`` / ``ws.book_f[BF_DELTA]``.
    """
    wi, wf, win, cov, meta = ws.wi, ws.wf, ws.win, ws.cov, ws.meta
    pos_symbol, delta_d = ws.book_i[BI_SYMBOL], ws.book_f[BF_DELTA]
    h = held_deltas_nb(pos_symbol, delta_d, k, wi, wf, np.int64(WI_HELD2), np.int64(WF_HD2))
    hs = wi[WI_HELD2]
    hd = wf[WF_HD2]
    cov_rows_nb(closes, (np.int64(WI_HELD2), h), (np.int64(WI_HELD2), h), wi, win, cov, meta)
    q = 0.0
    for a in range(h):
        i = hs[a]
        li = wi[WI_LOC, i]
        v = cov[li, li] if li >= 0 else np.nan
        if math.isnan(v):
            v = cov_nb(closes, i, i, wi, win, cov, meta)
        q += hd[a] * hd[a] * v
        for b in range(a + 1, h):
            lj = wi[WI_LOC, hs[b]]
            v = cov[li, lj] if li >= 0 and lj >= 0 else np.nan
            if math.isnan(v):
                v = cov_nb(closes, i, hs[b], wi, win, cov, meta)
            q += 2.0 * hd[a] * hd[b] * v
    return q
