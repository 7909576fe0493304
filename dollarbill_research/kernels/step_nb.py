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
from dollarbill_research.kernels.book_nb import book_exposures_into_nb, flatten_book_nb
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
    PP_BREACH_POLICY,
    PP_VAR_WINDOW,
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
    BP_CASH_RATE,
    BP_DIVIDEND_YIELD,
    BP_MAX_HOLD,
    BP_RISK_FREE_RATE,
    BP_SHORT_STOP_LOSS_PCT,
    BP_SHORT_TAKE_PROFIT_PCT,
    BP_STOP_LOSS_PCT,
    BP_TAKE_PROFIT_PCT,
    BP_USE_PM,
    C_OPEN,
)
from dollarbill_research.kernels.risk_trades_nb import unwind_hedges_nb
from dollarbill_research.kernels.workspace_nb import WI_OPEN, begin_bar_nb

DAYS_PER_YEAR = 365.0


@jit_inner
def accrue_interest_nb(day: float, account: np.ndarray, bp: np.ndarray) -> None:
    """Credit cash interest for the calendar days since the last bar (none on the first bar).

    ``cash x cash_interest_rate x (day - last_day) / 365``, simple, on all cash including the
    collateral reserved for short and credit positions; a rate of 0 leaves cash untouched.
    """
    interest = 0.0
    last = account[A_LAST_DAY]
    rate = bp[BP_CASH_RATE]
    if rate != 0.0 and math.isfinite(last) and day > last:
        interest = account[A_CASH] * rate * (day - last) / DAYS_PER_YEAR
        account[A_CASH] += interest
    account[A_BAR_INTEREST] = interest
    account[A_LAST_DAY] = day


@jit_inner
def mark_all_nb(
    t: int,
    day: float,
    close: np.ndarray,
    iv: np.ndarray,
    valid: np.ndarray,
    positions: np.ndarray,
    legs: np.ndarray,
    bp: np.ndarray,
    open_slots: np.ndarray,
    n_open: int,
) -> None:
    """Reprice every open position whose symbol has a bar at row ``t`` (others keep their mark).

    A position is marked at the bar's close and ``iv``. Time to expiry is
    ``max(expiry_day - day, 0) / 365`` years, so a position at or past expiry is worth its
    intrinsic value. An unusable ``iv`` keeps the previous mark's volatility.
    """
    r = bp[BP_RISK_FREE_RATE]
    q = bp[BP_DIVIDEND_YIELD]
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
    bar: int,
    slot: int,
    reason: int,
    positions: np.ndarray,
    legs: np.ndarray,
    account: np.ndarray,
    counters: np.ndarray,
    stats: np.ndarray,
    fills: np.ndarray,
    bp: np.ndarray,
) -> None:
    """Close a position at its current mark and record the fill.

    Expiry (``EXIT_EXPIRY`` / ``EXIT_EXPIRY_NO_DATA``) settles at intrinsic value at the last
    marked spot (this bar's close, or the last close before expiry when the symbol has no bar)
    without costs.
    """
    p = positions[slot]
    qty = p.qty
    expiry = reason in (EXIT_EXPIRY, EXIT_EXPIRY_NO_DATA)
    if expiry:
        p.value = intrinsic_legs_nb(legs, slot, p.n_legs, p.spot)
        p.mv = p.value * qty
    costs = 0.0 if expiry else costs_nb(legs, slot, p.n_legs, qty, p.sigma, bp)
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
        fills,
        counters,
        bar,
        positions,
        slot,
        legs,
        reason,
        -1.0,
        qty,
        p.value,
        cash_flow,
        costs,
        pnl,
        np.int64(0),  # typed, not a literal (one specialization)
    )
    p.active = 0
    counters[C_OPEN] -= 1


@jit_inner
def exits_nb(
    bar: int,
    t: int,
    ts: int,
    day: float,
    valid: np.ndarray,
    signal: np.ndarray,
    positions: np.ndarray,
    legs: np.ndarray,
    account: np.ndarray,
    counters: np.ndarray,
    stats: np.ndarray,
    fills: np.ndarray,
    bp: np.ndarray,
    open_slots: np.ndarray,
) -> None:
    """Close every open position with an exit reason on this bar.

    Only symbols with a bar exit, except at expiry: an option whose symbol has no bar on or
    after its expiry date settles on the first bar of the run past it (``EXIT_EXPIRY_NO_DATA``,
    intrinsic at its last close). ``open_slots[:counters[C_OPEN]]`` (slot order) is compacted
    in place.
    """
    n_open = counters[C_OPEN]
    max_hold = bp[BP_MAX_HOLD]
    stops = (
        bp[BP_STOP_LOSS_PCT],
        bp[BP_TAKE_PROFIT_PCT],
        bp[BP_SHORT_STOP_LOSS_PCT],
        bp[BP_SHORT_TAKE_PROFIT_PCT],
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
            close_position_nb(
                bar, slot, reason, positions, legs, account, counters, stats, fills, bp
            )
        else:
            open_slots[w] = slot
            w += 1


@jit_inner
def record_equity_nb(
    bar: int,
    row: int,
    positions: np.ndarray,
    account: np.ndarray,
    counters: np.ndarray,
    stats: np.ndarray,
    exposures: np.ndarray,
    pre: np.ndarray,
    equity_rec: np.ndarray,
    strat_pnl: np.ndarray,
    open_slots: np.ndarray,
) -> float:
    """Write the end-of-bar equity row and per-strategy cumulative P&L; return equity."""
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


@jit
def step_nb(
    bar: int,
    t: int,
    ts: int,
    day: float,
    close: np.ndarray,
    iv: np.ndarray,
    valid: np.ndarray,
    sector_codes: np.ndarray,
    n_sectors: int,
    signal: np.ndarray,
    confidence: np.ndarray,
    templates: np.ndarray,
    strat_capacity: np.ndarray,
    bp: np.ndarray,
    pp: np.ndarray,
    account: np.ndarray,
    counters: np.ndarray,
    positions: np.ndarray,
    legs: np.ndarray,
    stats: np.ndarray,
    fills: np.ndarray,
    rejections: np.ndarray,
    breaches: np.ndarray,
    equity_rec: np.ndarray,
    strat_pnl: np.ndarray,
    row: int,
    ws: tuple,
) -> float:
    """Advance the state by one bar.

    Parameters
    ----------
    bar : int
        Global bar number (recorded; entry bars and max-hold use it).
    t : int
        Row of bar ``bar`` in ``close``, ``iv``, ``valid`` (float64/bool ``(n_rows, n_symbols)``);
        rows ``<= t`` may be read (VaR window), never rows after ``t``.
    ts : int
        Row of bar ``bar`` in ``signal`` (int8) and ``confidence`` (float64),
        ``(n_strategies, n_rows_sig, n_symbols)``.
    day : float
        Calendar day of the bar (days since 1970-01-01) for time to expiry.
    sector_codes : numpy.ndarray
        int64 ``(n_symbols,)``; ``n_sectors`` sectors.
    templates : numpy.ndarray
        float64 ``(n_strategies, 2, TEMPLATE_LEN)``.
    strat_capacity : numpy.ndarray
        float64 ``(n_strategies,)``: each strategy's allocation target, fraction of equity.
    bp, pp : numpy.ndarray
        Backtest (``BP_*``) and portfolio (``PP_*``) parameter vectors.
    account, counters, positions, legs, stats : numpy.ndarray
        The state (:mod:`.records`), updated in place.
    fills, rejections, breaches : numpy.ndarray
        Record buffers; ``counters`` says how many rows are used. The caller guarantees room
        for ``n_open + n_signals`` more rows (portfolio management on: ``3 n_open + 2 n_signals
        + 2 ACTIONS_EXTRA`` fills and ``2 BREACH_ROWS_PER_PASS`` breaches, :mod:`.breach_nb`).
    equity_rec, strat_pnl : numpy.ndarray
        Per-bar records; row ``row`` is written.
    ws : tuple
        The workspace of :mod:`.workspace_nb` (not state; its open-slot list must match
        ``positions``: :func:`~.workspace_nb.sync_open_nb`).

    Returns
    -------
    float
        Equity at the bar's close (dollars).
    """
    book_i, book_f, wi, _wf, _win, _cov, meta = ws
    open_slots = wi[WI_OPEN]
    pm = bp[BP_USE_PM] > 0.0
    begin_bar_nb(t, int(pp[PP_VAR_WINDOW]) if pm else 0, wi, meta)
    accrue_interest_nb(day, account, bp)
    mark_all_nb(t, day, close, iv, valid, positions, legs, bp, open_slots, counters[C_OPEN])
    exits_nb(
        bar, t, ts, day, valid, signal, positions, legs, account, counters, stats, fills, bp,
        open_slots,
    )  # fmt: skip
    if pm and pp[PP_BREACH_POLICY] == BREACH_HEDGE:  # hedges of positions closed: sell back
        unwind_hedges_nb(bar, t, valid, positions, legs, account, counters, stats, fills, bp, wi,
                         signal.shape[0], signal.shape[2])  # fmt: skip
    k = flatten_book_nb(positions, sector_codes, wi, counters[C_OPEN], book_i, book_f)
    pre = np.full(N_EXPOSURES, np.nan)
    equity = account[A_CASH]
    for i in range(k):
        equity += book_f[BF_MV, i]
    if pm:
        book_exposures_into_nb(book_i, book_f, k, equity, n_sectors, close, pm, ws, pre)
        if any_breach_nb(pre, pp):  # limits that hold (breach_nb): record, then act by policy
            breach_pass_nb(
                bar, t, close, valid, sector_codes, n_sectors, bp, pp, account, counters,
                positions, legs, stats, fills, breaches, ws, pre, day,
            )  # fmt: skip
            k = counters[C_OPEN]
            equity = account[A_CASH]
            for i in range(k):
                equity += book_f[BF_MV, i]
    k = enter_nb(
        bar, t, ts, day, close, iv, valid, sector_codes, n_sectors, signal, confidence,
        templates, strat_capacity, bp, pp, account, counters, positions, legs, stats, fills,
        rejections, k, equity, ws,
    )  # fmt: skip
    exposures = np.empty(N_EXPOSURES)
    equity = account[A_CASH]
    for i in range(k):
        equity += book_f[BF_MV, i]
    book_exposures_into_nb(book_i, book_f, k, equity, n_sectors, close, pm, ws, exposures)
    if pm and pp[PP_BREACH_POLICY] != BREACH_BLOCK and any_breach_nb(exposures, pp):
        # the entries' costs shrank equity (or an entry moved another limit): act again
        breach_pass_nb(
            bar, t, close, valid, sector_codes, n_sectors, bp, pp, account, counters, positions,
            legs, stats, fills, breaches, ws, exposures, day,
        )  # fmt: skip
    return record_equity_nb(
        bar, row, positions, account, counters, stats, exposures, pre, equity_rec, strat_pnl,
        open_slots,
    )  # fmt: skip
