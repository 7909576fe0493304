"""The one step kernel: advance a portfolio state by one bar for every symbol.

Order within a bar (SPEC 6): cash interest since the last bar -> mark every open position ->
exits (expiry, max hold, stop loss, take profit, signal exit) -> entry candidates by confidence
(ties: strategy index, then symbol index) -> sizing -> approval -> fills with costs -> records.
Everything happens at bar ``t``'s close: a signal computed on bar ``t`` fills at bar ``t``'s
close, never earlier (no look-ahead; the kernel reads no row after ``t``).

The backtest driver (:mod:`~dollarbill_research.kernels.driver_nb`) calls :func:`step_nb` for
every bar; :class:`~dollarbill_research.live.LivePortfolio` calls it once per ``on_bar`` with
the state it keeps between calls. State and record layouts: :mod:`.records`.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.book_nb import (
    book_exposures_into_nb,
    flatten_book_nb,
)
from dollarbill_research.kernels.breach_nb import any_breach_nb, breach_pass_nb
from dollarbill_research.kernels.codes import (
    BREACH_BLOCK,
    BREACH_HEDGE,
    EXIT_EXPIRY,
    EXIT_EXPIRY_NO_DATA,
    EXIT_MAX_HOLD,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXPIRY_TOLERANCE_DAYS,
    LEG_STOCK,
    N_EXPOSURES,
    SIG_EXIT,
)
from dollarbill_research.kernels.entries_nb import enter_nb
from dollarbill_research.kernels.fills_nb import record_fill_nb
from dollarbill_research.kernels.instruments_nb import costs_nb, intrinsic_legs_nb, price_legs_nb
from dollarbill_research.kernels.records import (
    A_BAR_INTEREST,
    A_CASH,
    A_LAST_DAY,
    A_RESERVED,
    BF_MV,
    C_OPEN,
    BarAt,
    Book,
    Market,
    Records,
    SignalBlock,
)
from dollarbill_research.kernels.risk_trades_nb import unwind_hedges_nb
from dollarbill_research.kernels.workspace_nb import (
    M_TOUCH,
    V_EXPOSURES,
    V_PRE,
    WI_OPEN,
    Workspace,
    begin_bar_nb,
)

DAYS_PER_YEAR = 365.0


@jit_inner
def accrue_interest_nb(day: float, account: np.ndarray, params: np.record) -> None:
    """Credit cash interest for the calendar days since the last bar (none on the first bar).

    ``cash x cash_interest_rate x (day - last_day) / 365``, simple, on all cash including the
    collateral reserved for short and credit positions; a rate of 0 leaves cash untouched.
    """
    interest = 0.0
    last = account[A_LAST_DAY]
    rate = params.cash_interest_rate
    if rate != 0.0 and math.isfinite(last) and day > last:
        interest = account[A_CASH] * rate * (day - last) / DAYS_PER_YEAR
        account[A_CASH] += interest
    account[A_BAR_INTEREST] = interest
    account[A_LAST_DAY] = day


@jit_inner
def mark_all_nb(
    at: BarAt,
    close: np.ndarray,
    iv: np.ndarray,
    valid: np.ndarray,
    positions: np.ndarray,
    legs: np.ndarray,
    params: np.record,
    open_slots: np.ndarray,
) -> None:
    """Reprice every open position whose symbol has a bar at row ``t`` (others keep their mark).

    A position is marked at the bar's close and ``iv``. Time to expiry is
    ``max(expiry_day - day, 0) / 365`` years, so a position at or past expiry is worth its
    intrinsic value. An unusable ``iv`` keeps the previous mark's volatility. ``open_slots``
    holds the open slots (the first ``counters[C_OPEN]`` of the list). Arrays one by one, not
    the records: every array argument is reference-counted on a call, once per bar here.
    """
    t, day = at.t, at.day
    n_open = open_slots.shape[0]
    r = params.risk_free_rate
    q = params.dividend_yield
    for i in range(n_open):
        slot = open_slots[i]
        p = positions[slot]
        j = p.symbol
        s = close[t, j]
        if not (valid[t, j] and math.isfinite(s) and s > 0.0):
            continue
        sigma = iv[t, j]
        if not (math.isfinite(sigma) and sigma > 0.0):
            sigma = p.sigma
        if p.n_legs == 1 and legs[slot, 0].type == LEG_STOCK:
            # shares: price_legs_nb's stock leg, without a call (its array argument is
            # reference-counted on every call, which costs more than this)
            legs[slot, 0].price = s
            ratio = legs[slot, 0].ratio
            value, delta, gamma, vega, theta = ratio * s, ratio, 0.0, 0.0, 0.0
        else:
            t_years = max(p.expiry_day - day, 0.0) / DAYS_PER_YEAR
            value, delta, _abs_delta, gamma, vega, theta = price_legs_nb(
                legs, slot, p.n_legs, s, t_years, r, q, sigma
            )
        qty = p.qty
        p.value = value
        p.spot = s
        p.sigma = sigma
        p.mv = value * qty
        p.delta_d = delta * s * qty
        p.gamma_d = gamma * s * s * 0.01 * qty
        p.vega10 = vega * 10.0 * qty
        p.theta = theta * qty
        p.conc = p.unit_max_loss * qty if p.defined_risk == 1 else abs(p.mv)


@jit_inner
def exit_reason_nb(
    p: np.void, bar: int, day: float, sig: int, max_hold: float, stops: tuple
) -> int:
    """Exit reason code for an open, freshly marked position record ``p`` (0 = keep it).

    ``stops`` is ``(stop_loss_pct, take_profit_pct, short_stop_loss_pct,
    short_take_profit_pct)``; a record and scalars only (no array arguments), so the
    per-position check costs no reference counting.
    """
    if day >= p.expiry_day - EXPIRY_TOLERANCE_DAYS:
        return EXIT_EXPIRY  # the bar of the expiry's session date (any UTC offset)
    if max_hold > 0.0 and bar - p.entry_bar >= max_hold:
        return EXIT_MAX_HOLD
    basis = abs(p.entry_value)
    if basis > 0.0:
        ret = (p.value - p.entry_value) / basis * 100.0  # % of entry value (or credit)
        credit = p.entry_value < 0.0
        stop = stops[2] if credit else stops[0]
        take = stops[3] if credit else stops[1]
        if ret <= -stop:
            return EXIT_STOP_LOSS
        if ret >= take:
            return EXIT_TAKE_PROFIT
    if sig == SIG_EXIT:
        return EXIT_SIGNAL
    return 0


@jit_inner
def close_position_nb(
    bar: int, slot: int, reason: int, book: Book, fills: np.ndarray, params: np.record
) -> None:
    """Close a position at its current mark and record the fill.

    Expiry (``EXIT_EXPIRY`` / ``EXIT_EXPIRY_NO_DATA``) settles at intrinsic value at the last
    marked spot (this bar's close, or the last close before expiry when the symbol has no bar)
    without costs.
    """
    account, counters, positions, legs, stats = book
    p = positions[slot]
    qty = p.qty
    expiry = reason in (EXIT_EXPIRY, EXIT_EXPIRY_NO_DATA)
    if expiry:
        p.value = intrinsic_legs_nb(legs, slot, p.n_legs, p.spot)
        p.mv = p.value * qty
    costs = 0.0 if expiry else costs_nb(legs, slot, p.n_legs, qty, p.sigma, params)
    cash_flow = p.value * qty
    account[A_CASH] += cash_flow - costs
    account[A_RESERVED] -= p.reserved
    if counters[C_OPEN] == 1:
        account[A_RESERVED] = 0.0  # no drift once the book is empty
    pnl = (p.value - p.entry_value) * qty - p.entry_costs - costs
    st = stats[p.strategy]
    st.n_closed += 1
    st.realized_pnl += pnl
    st.costs += costs
    if pnl > 0.0:
        st.n_wins += 1
        st.sum_win += pnl
    else:
        st.sum_loss -= pnl
    risk = p.unit_max_loss * qty
    if risk > 0.0 and math.isfinite(pnl):  # Kelly's window: return on max loss
        st.k_ret[st.k_head] = pnl / risk
        st.k_head = (st.k_head + 1) % st.k_ret.shape[0]
        st.k_n = min(st.k_n + 1, st.k_ret.shape[0])
    record_fill_nb(
        fills, counters, positions, legs, slot,
        (bar, reason, np.int64(0)),  # typed, not a literal (one specialization)
        (-1.0, qty, p.value, cash_flow, costs, pnl),
    )  # fmt: skip
    p.active = 0
    counters[C_OPEN] -= 1


@jit_inner
def exits_nb(
    at: BarAt,
    valid: np.ndarray,
    signal: np.ndarray,
    book: Book,
    fills: np.ndarray,
    params: np.record,
    open_slots: np.ndarray,
) -> None:
    """Close every open position with an exit reason on this bar.

    Only symbols with a bar exit, except at expiry: an option whose symbol has no bar on or
    after its expiry date settles on the first bar of the run past it (``EXIT_EXPIRY_NO_DATA``,
    intrinsic at its last close). ``open_slots[:counters[C_OPEN]]`` (slot order) is compacted
    in place.
    """
    bar, t, ts, day = at.bar, at.t, at.ts, at.day
    positions = book.positions
    n_open = book.counters[C_OPEN]
    max_hold = params.max_days_hold
    stops = (
        params.stop_loss_pct,
        params.take_profit_pct,
        params.short_stop_loss_pct,
        params.short_take_profit_pct,
    )
    w = 0
    for i in range(n_open):
        slot = open_slots[i]
        p = positions[slot]
        j = p.symbol
        reason = 0
        if valid[t, j]:
            sig = int(signal[p.strategy, ts, j])
            reason = exit_reason_nb(p, bar, day, sig, max_hold, stops)
        elif day >= p.expiry_day - EXPIRY_TOLERANCE_DAYS:
            reason = EXIT_EXPIRY_NO_DATA
        if reason != 0:
            close_position_nb(bar, slot, reason, book, fills, params)
        else:
            open_slots[w] = slot
            w += 1


@jit_inner
def record_equity_nb(
    at: BarAt,
    book: Book,
    exposures: np.ndarray,
    pre: np.ndarray,
    equity_rec: np.ndarray,
    strat_pnl: np.ndarray,
    open_slots: np.ndarray,
) -> float:
    """Write the end-of-bar equity row and per-strategy cumulative P&L; return equity."""
    bar, row = at.bar, at.row
    account, counters, positions, stats = book.account, book.counters, book.positions, book.stats
    pv = 0.0
    for s in range(strat_pnl.shape[1]):
        strat_pnl[row, s] = stats[s].realized_pnl
    for i in range(counters[C_OPEN]):
        p = positions[open_slots[i]]
        pv += p.mv
        strat_pnl[row, p.strategy] += p.mv - p.entry_value * p.qty - p.entry_costs
    e = equity_rec[row]
    e.bar = bar
    e.n_positions = counters[C_OPEN]
    e.cash = account[A_CASH]
    e.reserved = account[A_RESERVED]
    e.positions_value = pv
    e.equity = account[A_CASH] + pv
    e.exp_delta, e.exp_gamma, e.exp_vega, e.exp_theta = (
        exposures[0],
        exposures[1],
        exposures[2],
        exposures[3],
    )
    e.exp_concentration, e.exp_sector, e.exp_var95, e.exp_var99 = (
        exposures[4],
        exposures[5],
        exposures[6],
        exposures[7],
    )
    e.exp_gross, e.exp_net, e.exp_diversification = exposures[8], exposures[9], exposures[10]
    e.pre_delta, e.pre_gamma, e.pre_vega, e.pre_theta = pre[0], pre[1], pre[2], pre[3]
    e.pre_concentration, e.pre_sector, e.pre_var95, e.pre_var99 = pre[4], pre[5], pre[6], pre[7]
    e.pre_gross, e.pre_net, e.pre_diversification = pre[8], pre[9], pre[10]
    e.interest = account[A_BAR_INTEREST]
    return e.equity


@jit_inner
def touch_rows_nb(at: BarAt, market: Market, sig: SignalBlock, meta: np.ndarray) -> None:
    """Read the bar's rows once, in order (the marks, exits and entries read them scattered)."""
    t, ts = at.t, at.ts
    close, iv, valid = market.close, market.iv, market.valid
    n = 0
    for j in range(close.shape[1]):
        n += (close[t, j] > 0.0) + (iv[t, j] > 0.0) + valid[t, j]
    for s in range(sig.signal.shape[0]):
        for j in range(close.shape[1]):
            n += (sig.signal[s, ts, j] != 0) + (sig.confidence[s, ts, j] > 0.0)
    meta[M_TOUCH] = n


@jit
def step_nb(at: BarAt, market: Market, sig: SignalBlock, param_rows: np.ndarray, book: Book,
            rec: Records, ws: Workspace) -> float:  # fmt: skip
    """Advance the state by one bar.

    Parameters
    ----------
    at : BarAt
        The global bar (recorded; entry bars and max-hold use it), its row ``t`` in ``market``
        (rows ``<= t`` may be read: the VaR window; never rows after ``t``), its row ``ts`` in
        ``sig.signal`` / ``sig.confidence``, the row ``row`` of ``rec.equity`` and
        ``rec.strat_pnl`` written, and its calendar ``day`` (time to expiry, interest).
    market : Market
        Closes, implied vols, bars present and sectors (:class:`~.records.Market`).
    sig : SignalBlock
        Signal codes, confidences, templates ``(n_strategies, 2, TEMPLATE_LEN)`` and each
        strategy's allocation target (fraction of equity).
    param_rows : numpy.ndarray
        The settings: one row of :data:`~.params.PARAMS_DTYPE` (``params.params_array``);
        ``param_rows[0]`` is the record the kernels read by name. An array, not the record,
        because Python calls this kernel (a record argument costs microseconds to dispatch).
    book : Book
        The state (:mod:`.records`), updated in place.
    rec : Records
        Record buffers; ``book.counters`` says how many rows are used. The caller guarantees
        room for ``n_open + n_signals`` more rows (portfolio management on: ``3 n_open + 2
        n_signals + 2 ACTIONS_EXTRA`` fills and ``2 BREACH_ROWS_PER_PASS`` breaches,
        :mod:`.breach_nb`).
    ws : Workspace
        The workspace of :mod:`.workspace_nb` (not state; its open-slot list must match
        ``book.positions``: :func:`~.workspace_nb.sync_open_nb`).

    Returns
    -------
    float
        Equity at the bar's close (dollars).
    """
    account, counters, positions = book.account, book.counters, book.positions
    book_i, book_f, wi = ws.book_i, ws.book_f, ws.wi
    close, sector_codes, n_sectors = market.close, market.sector_codes, market.n_sectors
    bar, t, day = at.bar, at.t, at.day
    open_slots = wi[WI_OPEN]
    params = param_rows[0]
    pm = params.use_portfolio_management > 0.0
    begin_bar_nb(bar, t, int(params.var_window) if pm else 0, wi, ws.meta)
    touch_rows_nb(at, market, sig, ws.meta)
    accrue_interest_nb(day, account, params)
    mark_all_nb(at, close, market.iv, market.valid, positions, book.legs, params,
                open_slots[: counters[C_OPEN]])  # fmt: skip
    exits_nb(at, market.valid, sig.signal, book, rec.fills, params, open_slots)
    if pm and params.breach_policy == BREACH_HEDGE:  # hedges of positions closed: sell back
        unwind_hedges_nb(bar, t, market.valid, book, rec.fills, params, wi)
    k = flatten_book_nb(positions, sector_codes, wi, counters[C_OPEN], book_i, book_f)
    pre = ws.vec[V_PRE, :N_EXPOSURES]
    for e in range(N_EXPOSURES):
        pre[e] = np.nan
    if pm:
        equity = account[A_CASH]
        for i in range(k):
            equity += book_f[BF_MV, i]
        book_exposures_into_nb(k, equity, n_sectors, close, pm, ws, pre)
        if any_breach_nb(pre, params):  # limits that hold (breach_nb): record, then act
            breach_pass_nb(at, market, params, book, rec, ws, pre)
    enter_nb(at, market, sig, params, book, rec, ws)
    k = counters[C_OPEN]
    exposures = ws.vec[V_EXPOSURES, :N_EXPOSURES]
    equity = account[A_CASH]
    for i in range(k):
        equity += book_f[BF_MV, i]
    book_exposures_into_nb(k, equity, n_sectors, close, pm, ws, exposures)
    if pm and params.breach_policy != BREACH_BLOCK and any_breach_nb(exposures, params):
        # the entries' costs shrank equity (or an entry moved another limit): act again
        breach_pass_nb(at, market, params, book, rec, ws, exposures)
    return record_equity_nb(at, book, exposures, pre, rec.equity, rec.strat_pnl, open_slots)
