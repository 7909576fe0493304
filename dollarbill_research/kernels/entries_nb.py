"""Entries of one bar: candidates by confidence -> sizing -> approval -> fills with costs.

Candidates are the (strategy, symbol) pairs with ``SIG_LONG`` / ``SIG_SHORT`` on the bar whose
slot is free (a strategy that already holds the symbol keeps its position; the repeated signal
is not a rejection). They are taken in order of decreasing confidence, ties broken by strategy
index and then symbol index (a stable sort of the (strategy, symbol)-ordered list).

Portfolio management off: ``units = floor(free cash x position_size_pct% / unit_cost)`` and no
risk checks beyond cash (costs included) and ``max_positions``. On: the method of
``pp[PP_SIZING_METHOD]`` (risk parity over all of the bar's candidates at the bar's equity),
then pre-trade approval against the *current* book, which includes the fills made earlier in the
same bar: :func:`~dollarbill_research.kernels.context_nb.book_context_nb` once per bar,
:func:`~dollarbill_research.kernels.approval_nb.decide_ctx_nb` per candidate (the same answers
as ``decide_nb``) and :func:`~dollarbill_research.kernels.context_nb.context_add_nb` per fill.
Free cash is ``cash - reserved``.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit
from dollarbill_research.kernels.approval_nb import decide_ctx_nb
from dollarbill_research.kernels.book_nb import book_set_nb
from dollarbill_research.kernels.codes import (
    FILL_ENTRY,
    KIND_SHARES,
    MAX_LEGS,
    N_EXPOSURES,
    PP_SIZING_METHOD,
    PP_STOP_DISTANCE,
    PP_VAR_WINDOW,
    R_CASH,
    R_MAX_POSITIONS,
    R_NO_PRICE,
    R_ZERO_SIZE,
    SIG_LONG,
    SIG_SHORT,
    SIZE_RISK_PARITY,
    T_DIRECTION,
    T_DTE_DAYS,
    T_KIND,
)
from dollarbill_research.kernels.context_nb import book_context_nb, context_add_nb
from dollarbill_research.kernels.instruments_nb import (
    build_legs_nb,
    costs_nb,
    price_legs_nb,
    unit_quantities_nb,
)
from dollarbill_research.kernels.records import (
    A_CASH,
    A_RESERVED,
    BF_CONC,
    BF_DELTA,
    BF_GAMMA,
    BF_MV,
    BF_THETA,
    BF_VEGA,
    BI_SECTOR,
    BI_SYMBOL,
    BP_DIVIDEND_YIELD,
    BP_DTE_DAYS,
    BP_MAX_POSITIONS,
    BP_POSITION_SIZE_PCT,
    BP_RISK_FREE_RATE,
    BP_USE_PM,
    C_FILLS,
    C_OPEN,
    C_REJECTIONS,
    LEG_DTYPE,
)
from dollarbill_research.kernels.sizing_nb import (
    floor_within_nb,
    risk_parity_units_nb,
    simple_units_nb,
    size_units_nb,
)

# per-candidate float columns
U_COST = 0
U_MAX_LOSS = 1
U_DVOL = 2
U_DELTA = 3
U_GAMMA = 4
U_VEGA = 5
U_THETA = 6
U_MV = 7
U_CONC = 8
U_SIGMA = 9
U_EXPIRY = 10
U_COST1 = 11  # costs of one unit
U_DEFINED = 12  # 1.0 = defined risk (concentration value is the max loss)
U_LEN = 13


@jit
def record_fill_nb(
    fills: np.ndarray,
    counters: np.ndarray,
    bar: int,
    positions: np.ndarray,
    slot: int,
    legs: np.ndarray,
    reason: int,
    side: float,
    qty: float,
    price: float,
    cash_flow: float,
    costs: float,
    pnl: float,
    warn: int,
) -> int:
    """Append one fill of position ``slot``; return its row (projected fields are NaN)."""
    n = counters[C_FILLS]
    p = positions[slot]
    f = fills[n]
    f.bar = bar
    f.symbol = p.symbol
    f.strategy = p.strategy
    f.kind = p.kind
    f.reason = reason
    f.warn = warn
    f.n_legs = p.n_legs
    f.direction = p.direction
    f.side = side
    f.qty = qty
    f.price = price
    f.cash_flow = cash_flow
    f.costs = costs
    f.pnl = pnl
    f.spot = p.spot
    f.sigma = p.sigma
    f.expiry_day = p.expiry_day
    lg = legs[slot]
    f.leg0_type, f.leg1_type, f.leg2_type, f.leg3_type = (
        lg[0].type,
        lg[1].type,
        lg[2].type,
        lg[3].type,
    )
    f.leg0_strike, f.leg1_strike, f.leg2_strike, f.leg3_strike = (
        lg[0].strike,
        lg[1].strike,
        lg[2].strike,
        lg[3].strike,
    )
    f.leg0_ratio, f.leg1_ratio, f.leg2_ratio, f.leg3_ratio = (
        lg[0].ratio,
        lg[1].ratio,
        lg[2].ratio,
        lg[3].ratio,
    )
    f.p_delta = f.p_gamma = f.p_vega = f.p_concentration = np.nan
    f.p_sector = f.p_var95 = f.cash_needed = np.nan
    counters[C_FILLS] = n + 1
    return n


@jit
def _set_projected(rec: np.ndarray, proj: np.ndarray, cash_needed: float) -> None:
    rec.p_delta = proj[0]
    rec.p_gamma = proj[1]
    rec.p_vega = proj[2]
    rec.p_concentration = proj[4]
    rec.p_sector = proj[5]
    rec.p_var95 = proj[6]
    rec.cash_needed = cash_needed


@jit
def candidate_nb(
    template: np.ndarray,
    s: float,
    sigma: float,
    day: float,
    bp: np.ndarray,
    pp: np.ndarray,
    legs: np.ndarray,
    u: np.ndarray,
) -> int:
    """Build and price one unit of ``template``; fill ``u`` (``U_*``); return its leg count.

    ``u[U_COST]`` is NaN when the candidate cannot be priced (no usable spot, or an option
    without a usable volatility).
    """
    kind = int(template[T_KIND])
    is_shares = kind == KIND_SHARES
    sigma_ok = math.isfinite(sigma) and sigma > 0.0
    if not (math.isfinite(s) and s > 0.0) or not (is_shares or sigma_ok):
        u[:] = np.nan
        return 0
    if not sigma_ok:
        sigma = 0.0
    dte = template[T_DTE_DAYS] if template[T_DTE_DAYS] > 0.0 else bp[BP_DTE_DAYS]
    t_years = dte / 365.0
    r = bp[BP_RISK_FREE_RATE]
    q = bp[BP_DIVIDEND_YIELD]
    n_legs = build_legs_nb(template, s, t_years, r, q, sigma, legs)
    value, delta, abs_delta, gamma, vega, theta = price_legs_nb(
        legs, n_legs, s, t_years, r, q, sigma
    )
    direction = 1.0 if template[T_DIRECTION] >= 0.0 else -1.0
    cost, max_loss, defined = unit_quantities_nb(
        kind, direction, legs, n_legs, s, value, pp[PP_STOP_DISTANCE]
    )
    if not (math.isfinite(value) and math.isfinite(cost) and cost > 0.0):
        cost = np.nan
    u[U_COST] = cost
    u[U_MAX_LOSS] = max_loss
    u[U_DVOL] = max(abs(delta), 0.1 * abs_delta) * s * sigma
    u[U_DELTA] = delta * s
    u[U_GAMMA] = gamma * s * s * 0.01
    u[U_VEGA] = vega * 10.0
    u[U_THETA] = theta
    u[U_MV] = value
    u[U_CONC] = max_loss if defined else abs(value)
    u[U_SIGMA] = sigma
    u[U_EXPIRY] = np.inf if is_shares else day + dte
    u[U_COST1] = costs_nb(legs, n_legs, 1.0, sigma, bp)
    u[U_DEFINED] = 1.0 if defined else 0.0
    return n_legs


@jit
def _kelly_inputs(stats: np.ndarray, s: int) -> tuple[float, float, int]:
    st = stats[s]
    n = st.n_closed
    if n == 0:
        return 0.0, 0.0, 0
    n_loss = n - st.n_wins
    p = st.n_wins / n
    if st.n_wins == 0:
        return p, 0.0, n
    if n_loss == 0 or st.sum_loss <= 0.0:
        return p, np.inf, n
    return p, (st.sum_win / st.n_wins) / (st.sum_loss / n_loss), n


@jit
def enter_nb(
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
    book_i: np.ndarray,
    book_f: np.ndarray,
    k: int,
    equity: float,
) -> int:
    """Process the bar's entry candidates (see the module docstring); return the book size."""
    n_strat = signal.shape[0]
    n_sym = signal.shape[2]
    n = 0
    for s in range(n_strat):
        for j in range(n_sym):
            sg = signal[s, ts, j]
            if (sg in (SIG_LONG, SIG_SHORT)) and positions[s * n_sym + j].active == 0:
                n += 1
    if n == 0:
        return k
    cand = np.empty((n, 2), dtype=np.int64)
    conf = np.empty(n)
    u = np.empty((n, U_LEN))
    cand_legs = np.zeros((n, MAX_LEGS), dtype=LEG_DTYPE)
    n_legs = np.zeros(n, dtype=np.int64)
    i = 0
    for s in range(n_strat):
        for j in range(n_sym):
            sg = signal[s, ts, j]
            if (sg in (SIG_LONG, SIG_SHORT)) and positions[s * n_sym + j].active == 0:
                cand[i, 0] = s
                cand[i, 1] = j
                c = confidence[s, ts, j]
                conf[i] = -c if math.isfinite(c) else 0.0
                side = 0 if sg == SIG_LONG else 1
                if valid[t, j]:
                    n_legs[i] = candidate_nb(
                        templates[s, side], close[t, j], iv[t, j], day, bp, pp, cand_legs[i], u[i]
                    )
                else:
                    u[i, :] = np.nan
                i += 1
    order = np.argsort(conf, kind="mergesort")
    pm = bp[BP_USE_PM] > 0.0
    method = int(pp[PP_SIZING_METHOD])
    rp_units = np.zeros(n)
    if pm and method == SIZE_RISK_PARITY:
        rp_units = risk_parity_units_nb(
            equity, u[:, U_COST].copy(), u[:, U_MAX_LOSS].copy(), u[:, U_DVOL].copy(), pp
        )
    committed = np.zeros(n_strat)
    for slot in range(positions.shape[0]):
        if positions[slot].active == 1:
            committed[positions[slot].strategy] += positions[slot].committed
    capacity = strat_capacity * equity
    nan_proj = np.full(N_EXPOSURES, np.nan)
    # book context once per bar (covariance of held symbols), updated after every fill
    m = k if pm else 0
    tot, sector_abs, sym_delta, cd, var_sym, rets = book_context_nb(
        book_i[BI_SYMBOL, :m],
        book_i[BI_SECTOR, :m],
        book_f[BF_DELTA, :m],
        book_f[BF_GAMMA, :m],
        book_f[BF_VEGA, :m],
        book_f[BF_THETA, :m],
        book_f[BF_MV, :m],
        book_f[BF_CONC, :m],
        n_sectors,
        close[:, : n_sym if pm else 0],
        t,
        int(pp[PP_VAR_WINDOW]) if pm else 0,
    )
    for q in range(n):
        i = order[q]
        s = cand[i, 0]
        j = cand[i, 1]
        cost = u[i, U_COST]
        free = account[A_CASH] - account[A_RESERVED]
        reason = 0
        warn = 0
        units = 0.0
        proj = nan_proj
        if not math.isfinite(cost):
            reason = 1 << R_NO_PRICE
        elif not pm:
            units = simple_units_nb(free, bp[BP_POSITION_SIZE_PCT], cost)
        else:
            if method == SIZE_RISK_PARITY:
                units = rp_units[i]
            else:
                p_win, payoff, n_closed = _kelly_inputs(stats, s)
                units, warn = size_units_nb(
                    method,
                    equity,
                    free,
                    cost,
                    u[i, U_MAX_LOSS],
                    u[i, U_DVOL],
                    pp,
                    p_win,
                    payoff,
                    n_closed,
                )
            units, reason, w2, proj = decide_ctx_nb(
                units,
                cost,
                u[i, U_DELTA],
                u[i, U_GAMMA],
                u[i, U_VEGA],
                u[i, U_THETA],
                u[i, U_MV],
                u[i, U_CONC],
                j,
                sector_codes[j],
                s,
                tot,
                sector_abs,
                cd,
                var_sym,
                equity,
                free,
                counters[C_OPEN],
                committed,
                capacity,
                pp,
            )
            warn |= w2
        if reason == 0:
            if bp[BP_MAX_POSITIONS] > 0.0 and counters[C_OPEN] >= bp[BP_MAX_POSITIONS]:
                reason |= 1 << R_MAX_POSITIONS
            # costs must fit in free cash too
            units = min(units, floor_within_nb(free, cost + u[i, U_COST1]))
            if units < 1.0 and reason == 0:
                reason |= (1 << R_CASH) if cost + u[i, U_COST1] > free else (1 << R_ZERO_SIZE)
        cash_needed = cost / equity if equity > 0.0 else np.nan
        if reason != 0:
            r = rejections[counters[C_REJECTIONS]]
            r.bar = bar
            r.symbol = j
            r.strategy = s
            r.reason = reason
            r.warn = warn
            r.units = units
            _set_projected(r, proj, cash_needed * max(units, 1.0))
            counters[C_REJECTIONS] += 1
            continue
        slot = s * n_sym + j
        for leg in range(MAX_LEGS):
            legs[slot, leg] = cand_legs[i, leg]
        template = templates[s, 0 if signal[s, ts, j] == SIG_LONG else 1]
        costs = units * u[i, U_COST1]
        value = u[i, U_MV]
        p = positions[slot]
        p.active = 1
        p.symbol = j
        p.strategy = s
        p.kind = int(template[T_KIND])
        p.n_legs = n_legs[i]
        p.entry_bar = bar
        p.defined_risk = 1 if u[i, U_DEFINED] > 0.0 else 0
        p.direction = 1.0 if template[T_DIRECTION] >= 0.0 else -1.0
        p.entry_day = day
        p.expiry_day = u[i, U_EXPIRY]
        p.qty = units
        p.entry_value = value
        p.entry_costs = costs
        p.reserved = (cost - value) * units
        p.committed = cost * units
        p.unit_max_loss = u[i, U_MAX_LOSS]
        p.value = value
        p.spot = close[t, j]
        p.sigma = u[i, U_SIGMA]
        p.mv = value * units
        p.delta_d = u[i, U_DELTA] * units
        p.gamma_d = u[i, U_GAMMA] * units
        p.vega10 = u[i, U_VEGA] * units
        p.theta = u[i, U_THETA] * units
        p.conc = u[i, U_CONC] * units
        account[A_CASH] -= value * units + costs
        account[A_RESERVED] += p.reserved
        st = stats[s]
        st.n_entries += 1
        st.costs += costs
        counters[C_OPEN] += 1
        row = record_fill_nb(
            fills,
            counters,
            bar,
            positions,
            slot,
            legs,
            FILL_ENTRY,
            1.0,
            units,
            value,
            -value * units,
            costs,
            0.0,
            warn,
        )
        _set_projected(fills[row], proj, cash_needed * units)
        book_set_nb(book_i, book_f, k, positions, slot, sector_codes)
        if pm:
            context_add_nb(
                units,
                u[i, U_DELTA],
                u[i, U_GAMMA],
                u[i, U_VEGA],
                u[i, U_THETA],
                u[i, U_MV],
                u[i, U_CONC],
                j,
                sector_codes[j],
                tot,
                sector_abs,
                sym_delta,
                cd,
                var_sym,
                rets,
            )
        k += 1
        committed[s] += p.committed
        equity -= costs
    return k
