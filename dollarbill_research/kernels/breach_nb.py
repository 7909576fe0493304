"""Limits that hold: what the step kernel does when the book is above a limit (SPEC 5.5).

After marking and exits (and once more at the end of the bar, for the entries' costs), the step
kernel checks the book's exposures against every limit: ``|delta|``, ``|gamma|``, ``|vega|``
(fractions of equity), the largest concentration value, the largest sector gross and the VaR 95
(percent of equity). "Above" is :func:`~.approval_nb.exceeds_nb` (relative tolerance 1e-9).
Each limit found above is a row of the breaches record (:data:`~.records.BREACH_DTYPE`) and the
policy ``params.breach_policy`` acts on it:

* ``BREACH_BLOCK``: nothing is traded; the row lists the largest contributors, and approval
  rejects any entry that grows the exposure (today's behaviour).
* ``BREACH_REDUCE``: the open position contributing most to the breached exposure (and with a
  bar to trade at) is trimmed by the whole units needed to bring the exposure back inside, or
  closed when that is not enough; repeated with the next contributor until the exposure is
  inside. Fills have exit reason ``EXIT_RISK_REDUCE`` (a trim is a fill with ``qty`` below the
  open quantity; the position keeps the rest, with its entry costs and reserved cash in
  proportion).
* ``BREACH_HEDGE``: a delta breach whose largest contributor is an option position is hedged
  with shares of its underlying, in the hedge slot of that symbol (``records.new_state`` with
  ``hedge_slots``): bought or sold (fill reason ``risk_hedge``) by the shares needed to bring
  dollar delta inside, booked to the contributor's strategy (its P&L, capacity and exits: max
  hold, stops and its exit signal apply as to shares). Share contributors, including a hedge
  that itself became the largest contributor, are trimmed as under reduce; other breaches are
  reduced. A hedge is unwound (sold back, ``risk_hedge``) on the first bar, with a price, after
  its strategy no longer holds the position it hedged (:func:`unwind_hedges_nb`).

Contribution of an open position to each exposure (the largest goes first):

==============  ===============================================================================
delta/gamma/    the position's signed dollar figure times the sign of the book's total (positions
vega            on the other side do not contribute)
concentration   its concentration value (``|mv|``, max loss for defined-risk options)
sector          its ``|mv|`` when it is in the sector with the largest gross
VaR             its component ``delta_i x (C d)_s`` (``C`` the window covariance, ``d`` the net
                dollar delta per symbol); the trim solves the quadratic ``q(y) = T^2`` for the
                dollar delta ``y`` to remove
==============  ===============================================================================

Units to trim for a linear exposure ``X`` (dollars) with limit ``L`` (fraction) and per-unit
contribution ``x`` and costs ``c``: trimming ``n`` units moves ``n x`` to cash less ``n c`` of
costs, so ``n = ceil((X - L E) / (x - L c))`` (all of it when ``x <= L c``). The exposure is
recomputed after every trade (the same :func:`~.book_nb.book_exposures_into_nb` as the equity
record), so float residue or cost effects only ever cause one more unit.

A row's action is ``BA_UNREDUCIBLE`` when the exposure is still above its limit afterwards, with
a note: the remaining contributors have no bar (no price to trade at), the bar's cap of
``n_open + 6`` risk trades per pass was reached, no position contributes, or bringing another
limit inside pushed this one out again within the pass's rounds.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.approval_nb import exceeds_nb
from dollarbill_research.kernels.book_nb import book_exposures_into_nb, flatten_book_nb
from dollarbill_research.kernels.codes import (
    BA_BLOCK,
    BA_HEDGE,
    BA_REDUCE,
    BA_UNREDUCIBLE,
    BN_ACTION_CAP,
    BN_CONFLICT,
    BN_NO_BAR,
    BN_NO_CONTRIBUTOR,
    BN_NONE,
    BREACH_BLOCK,
    BREACH_HEDGE,
    EXIT_RISK_REDUCE,
    EXP_CONCENTRATION,
    EXP_DELTA,
    EXP_GAMMA,
    EXP_SECTOR,
    EXP_VAR95,
    EXP_VEGA,
    FILL_RISK_HEDGE,
    KIND_SHARES,
    R_CONCENTRATION,
    R_DELTA,
    R_GAMMA,
    R_SECTOR,
    R_VAR,
    R_VEGA,
)
from dollarbill_research.kernels.instruments_nb import costs_nb
from dollarbill_research.kernels.records import (
    A_CASH,
    BF_DELTA,
    BF_MV,
    BI_SYMBOL,
    C_BREACHES,
    C_OPEN,
    MAX_BREACH_SYMBOLS,
    BarAt,
    Book,
    Market,
    Records,
)
from dollarbill_research.kernels.risk_nb import Z95
from dollarbill_research.kernels.workspace_nb import (
    WF_BCD,
    WF_HD2,
    WI_HELD2,
    WI_OPEN,
    Workspace,
    cov_nb,
    held_deltas_nb,
)

BREACH_ROUNDS = 3  # passes over the six limits (a trim for one limit can move another)
BREACH_ROWS_PER_PASS = 6 * BREACH_ROUNDS
ACTIONS_EXTRA = 6  # risk trades per pass: n_open + this

# the limited exposures in the order they are handled: (reason bit, EXP_* index)
_LIMITED = (
    (R_DELTA, EXP_DELTA),
    (R_GAMMA, EXP_GAMMA),
    (R_VEGA, EXP_VEGA),
    (R_CONCENTRATION, EXP_CONCENTRATION),
    (R_SECTOR, EXP_SECTOR),
    (R_VAR, EXP_VAR95),
)


@jit_inner
def limit_of_nb(bit: int, params: np.record) -> float:
    """The limit (fraction of equity) of a limited exposure's reason bit."""
    if bit == R_DELTA:
        return params.max_portfolio_delta
    if bit == R_GAMMA:
        return params.max_portfolio_gamma
    if bit == R_VEGA:
        return params.max_portfolio_vega
    if bit == R_CONCENTRATION:
        return params.max_concentration_pct / 100.0
    if bit == R_SECTOR:
        return params.max_sector_exposure_pct / 100.0
    return params.max_var_pct / 100.0


@jit_inner
def any_breach_nb(exposures: np.ndarray, params: np.record) -> bool:
    """True when any limited exposure of ``exposures`` (``EXP_*``) is above its limit."""
    for bit, e in _LIMITED:  # noqa: SIM110 (no generators in numba)
        if exceeds_nb(abs(exposures[e]), limit_of_nb(bit, params)):
            return True
    return False


@jit_inner
def refresh_nb(market: Market, book: Book, ws: Workspace, out: np.ndarray) -> float:
    """Rebuild the flat book and its exposures (into ``out``); return equity.

    The same operations in the same order as the step kernel's, so the figures the breach pass
    sees are those of the equity record.
    """
    book_i, book_f, wi = ws.book_i, ws.book_f, ws.wi
    k = flatten_book_nb(
        book.positions, market.sector_codes, wi, book.counters[C_OPEN], book_i, book_f
    )
    equity = book.account[A_CASH]
    for i in range(k):
        equity += book_f[BF_MV, i]
    book_exposures_into_nb(k, equity, market.n_sectors, market.close, np.bool_(True), ws, out)
    return equity


@jit_inner
def var_components_nb(
    close: np.ndarray, positions: np.ndarray, counters: np.ndarray, ws: Workspace
) -> tuple[float, int]:
    """``(C d)_s`` per held symbol into ``wf[WF_BCD]``; return ``(d' C d, held count)``."""
    book_i, book_f, wi, wf = ws.book_i, ws.book_f, ws.wi, ws.wf
    win, cov, meta = ws.win, ws.cov, ws.meta
    k = counters[C_OPEN]
    h = held_deltas_nb(
        book_i[BI_SYMBOL], book_f[BF_DELTA], k, wi, wf, np.int64(WI_HELD2), np.int64(WF_HD2)
    )
    hs = wi[WI_HELD2]
    hd = wf[WF_HD2]
    q = 0.0
    for a in range(h):
        acc = 0.0
        for b in range(h):
            acc += cov_nb(close, hs[a], hs[b], wi, win, cov, meta) * hd[b]
        wf[WF_BCD, hs[a]] = acc
        q += hd[a] * acc
    return q, h


@jit_inner
def score_nb(
    bit: int, p: np.void, sign: float, worst_sector: int, sector_codes: np.ndarray, wf: np.ndarray
) -> float:
    """Contribution of open position ``p`` to the breached exposure (<= 0: none)."""
    if bit == R_DELTA:
        return sign * p.delta_d
    if bit == R_GAMMA:
        return sign * p.gamma_d
    if bit == R_VEGA:
        return sign * p.vega10
    if bit == R_CONCENTRATION:
        return abs(p.conc)
    if bit == R_SECTOR:
        return abs(p.mv) if sector_codes[p.symbol] == worst_sector else 0.0
    return p.delta_d * wf[WF_BCD, p.symbol]


@jit_inner
def worst_sector_nb(
    positions: np.ndarray, wi: np.ndarray, n_open: int, sector_codes: np.ndarray, n_sectors: int
) -> tuple[int, float]:
    """The sector with the largest gross ``sum |mv|`` and that gross (dollars)."""
    gross = np.zeros(max(n_sectors, 1))
    for i in range(n_open):
        p = positions[wi[WI_OPEN, i]]
        gross[sector_codes[p.symbol]] += abs(p.mv)
    best = 0  # np.argmax (first maximum; first NaN), as a loop
    for s in range(1, gross.shape[0]):
        if math.isnan(gross[best]):
            break
        if gross[s] > gross[best] or math.isnan(gross[s]):
            best = s
    return best, gross[best]


@jit_inner
def units_to_trim_nb(
    bit: int,
    p: np.void,
    slot: int,
    need: tuple,
    legs: np.ndarray,
    params: np.record,
    close: np.ndarray,
    ws: Workspace,
) -> float:
    """Whole units of ``p`` to sell back so that the exposure lands inside its limit.

    ``need`` is ``(equity, limit, total, score, q_form)``: equity (dollars), the limit (fraction
    of equity), the book's total exposure (dollars), ``p``'s contribution and ``d' C d``.
    """
    equity, limit, total, score, q_form = need
    q = p.qty
    if bit == R_VAR:
        wi, wf, win, cov, meta = ws.wi, ws.wf, ws.win, ws.cov, ws.meta
        s = p.symbol
        c_ss = cov_nb(close, s, s, wi, win, cov, meta)
        a = 1.0 if p.delta_d >= 0.0 else -1.0
        b = a * wf[WF_BCD, s]
        target = limit * equity / Z95
        if not (c_ss > 0.0):
            return q
        disc = b * b - c_ss * (q_form - target * target)
        y = b / c_ss if disc < 0.0 else (b - math.sqrt(disc)) / c_ss
        per_unit = abs(p.delta_d) / q
        if not (per_unit > 0.0):
            return q
        n = math.ceil(y / per_unit - 1e-9)
        return min(max(float(n), 1.0), q)
    per_unit = score / q
    c1 = costs_nb(legs, slot, p.n_legs, 1.0, p.sigma, params)
    denom = per_unit - limit * c1
    excess = (total if bit != R_CONCENTRATION else score) - limit * equity
    if not (denom > 0.0) or not math.isfinite(excess):
        return q
    n = math.ceil(excess / denom - 1e-9)
    return min(max(float(n), 1.0), q)


@jit_inner
def _add_symbol(rec: np.void, sym: int) -> None:
    n = rec.n_symbols
    for i in range(min(n, MAX_BREACH_SYMBOLS)):
        if _sym_at(rec, i) == sym:
            return
    if n < MAX_BREACH_SYMBOLS:
        _set_sym(rec, n, sym)
    rec.n_symbols = n + 1 if n < MAX_BREACH_SYMBOLS else n


@jit_inner
def _sym_at(rec: np.void, i: int) -> int:
    if i == 0:
        return rec.sym0
    if i == 1:
        return rec.sym1
    if i == 2:
        return rec.sym2
    if i == 3:
        return rec.sym3
    if i == 4:
        return rec.sym4
    if i == 5:
        return rec.sym5
    if i == 6:
        return rec.sym6
    return rec.sym7


@jit_inner
def _set_sym(rec: np.void, i: int, sym: int) -> None:
    if i == 0:
        rec.sym0 = sym
    elif i == 1:
        rec.sym1 = sym
    elif i == 2:
        rec.sym2 = sym
    elif i == 3:
        rec.sym3 = sym
    elif i == 4:
        rec.sym4 = sym
    elif i == 5:
        rec.sym5 = sym
    elif i == 6:
        rec.sym6 = sym
    else:
        rec.sym7 = sym


@jit_inner
def breach_pass_nb(
    at: BarAt,
    market: Market,
    params: np.record,
    book: Book,
    recs: Records,
    ws: Workspace,
    exposures: np.ndarray,
) -> None:
    """Record every limit the book is above and act by the breach policy (module docstring).

    ``exposures`` (``EXP_*``) holds the book's current exposures on entry and its exposures
    after the actions on return; the flat book and the open-slot list of ``ws`` are rebuilt.
    The caller guarantees room for ``BREACH_ROWS_PER_PASS`` breach rows and
    ``n_open + ACTIONS_EXTRA`` fills.
    """
    bar, t = at.bar, at.t
    close, valid, sector_codes, n_sectors = (
        market.close, market.valid, market.sector_codes, market.n_sectors
    )  # fmt: skip
    counters, positions, stats = book.counters, book.positions, book.stats
    fills, breaches = recs.fills, recs.breaches
    wi, wf = ws.wi, ws.wf
    policy = int(params.breach_policy)
    rounds = 1 if policy == BREACH_BLOCK else BREACH_ROUNDS
    hedge_base = stats.shape[0] * close.shape[1]  # first hedge slot (records.new_state)
    first_row = counters[C_BREACHES]
    cap = counters[C_OPEN] + ACTIONS_EXTRA
    trades = 0
    equity = refresh_nb(market, book, ws, exposures)
    for _rnd in range(rounds):
        found = False
        for bit, e in _LIMITED:
            limit = limit_of_nb(bit, params)
            value = abs(exposures[e])
            if not exceeds_nb(value, limit):
                continue
            found = True
            rec = breaches[counters[C_BREACHES]]
            counters[C_BREACHES] += 1
            rec.bar = bar
            rec.exposure = bit
            rec.value = value
            rec.limit = limit
            rec.n_symbols = 0
            rec.note = BN_NONE
            rec.action = BA_BLOCK if policy == BREACH_BLOCK else BA_REDUCE
            while exceeds_nb(abs(exposures[e]), limit):
                n_open = counters[C_OPEN]
                sign = 1.0 if exposures[e] >= 0.0 else -1.0
                worst = 0
                total = abs(exposures[e]) * equity
                q_form = 0.0
                if bit == R_SECTOR:
                    worst, total = worst_sector_nb(positions, wi, n_open, sector_codes, n_sectors)
                elif bit == R_VAR:
                    q_form, _h = var_components_nb(close, positions, counters, ws)
                best = np.int64(-1)  # not a literal: a literal -1 compiles the callees twice
                best_score = 0.0
                blocked = False
                for i in range(n_open):
                    slot = wi[WI_OPEN, i]
                    p = positions[slot]
                    sc = score_nb(bit, p, sign, worst, sector_codes, wf)
                    if not (sc > 0.0):
                        continue
                    if policy == BREACH_BLOCK:
                        continue
                    if not (valid[t, p.symbol] and math.isfinite(p.value) and p.qty > 0.0):
                        blocked = True
                        continue
                    if sc > best_score:
                        best = slot
                        best_score = sc
                if policy == BREACH_BLOCK:
                    _list_contributors(bit, sign, worst, book, sector_codes, ws, rec)
                    break
                if best < 0:
                    rec.note = BN_NO_BAR if blocked else BN_NO_CONTRIBUTOR
                    break
                if trades >= cap:
                    rec.note = BN_ACTION_CAP
                    break
                p = positions[best]
                _add_symbol(rec, p.symbol)
                trades += 1
                hedged = 0.0
                if (
                    policy == BREACH_HEDGE
                    and bit == R_DELTA
                    and best < hedge_base
                    and positions.shape[0] > hedge_base
                    and p.kind != KIND_SHARES
                ):
                    # hedge an option position's delta with shares of its underlying
                    hedged = hedge_nb(
                        at, best, (-sign, equity, limit, total), market, book, fills, params, wi
                    )
                    if hedged > 0.0:
                        rec.action = BA_HEDGE
                if hedged == 0.0:
                    n = units_to_trim_nb(
                        bit,
                        p,
                        best,
                        (equity, limit, total, best_score, q_form),
                        book.legs,
                        params,
                        close,
                        ws,
                    )
                    reason = FILL_RISK_HEDGE if best >= hedge_base else EXIT_RISK_REDUCE
                    if n >= p.qty:
                        close_for_risk_nb(bar, best, np.int64(reason), book, fills, params, wi)
                    else:
                        trim_position_nb(bar, best, n, np.int64(reason), book, fills, params)
                equity = refresh_nb(market, book, ws, exposures)
            rec.value_after = abs(exposures[e])
            if policy != BREACH_BLOCK and exceeds_nb(rec.value_after, limit):
                rec.action = BA_UNREDUCIBLE
        if not found:
            break
    if policy == BREACH_BLOCK:
        return
    # still above after the last round (bringing one limit inside pushed another out): the
    # last row of that exposure says so
    for bit, e in _LIMITED:
        limit = limit_of_nb(bit, params)
        if not exceeds_nb(abs(exposures[e]), limit):
            continue
        for r in range(counters[C_BREACHES] - 1, first_row - 1, -1):
            rec = breaches[r]
            if rec.exposure == bit:
                rec.action = BA_UNREDUCIBLE
                if rec.note == BN_NONE:
                    rec.note = BN_CONFLICT
                rec.value_after = abs(exposures[e])
                break


@jit_inner
def _list_contributors(
    bit: int,
    sign: float,
    worst: int,
    book: Book,
    sector_codes: np.ndarray,
    ws: Workspace,
    rec: np.void,
) -> None:
    """The symbols of the largest contributors, largest first (``block``: nothing is traded)."""
    positions, wi, wf = book.positions, ws.wi, ws.wf
    n_open = book.counters[C_OPEN]
    taken = np.zeros(MAX_BREACH_SYMBOLS, dtype=np.int64)
    for r in range(MAX_BREACH_SYMBOLS):
        best = -1
        best_score = 0.0
        for i in range(n_open):
            slot = wi[WI_OPEN, i]
            skip = False
            for a in range(r):
                if taken[a] == slot:
                    skip = True
            if skip:
                continue
            sc = score_nb(bit, positions[slot], sign, worst, sector_codes, wf)
            if sc > best_score:
                best = slot
                best_score = sc
        if best < 0:
            return
        taken[r] = best
        _add_symbol(rec, positions[best].symbol)


# At the bottom (the risk trades import step_nb, which imports this module): numba resolves
# these names when the pass is compiled, after every module is loaded.
from dollarbill_research.kernels.risk_trades_nb import (  # noqa: E402
    close_for_risk_nb,
    hedge_nb,
    trim_position_nb,
)
