"""Entries of one bar: candidates by confidence -> sizing -> approval -> fills with costs.

Candidates are the (strategy, symbol) pairs with ``SIG_LONG`` / ``SIG_SHORT`` on the bar whose
slot is free (a strategy that already holds the symbol keeps its position; the repeated signal
is not a rejection). They are taken in order of decreasing confidence, ties broken by strategy
index and then symbol index (a stable sort of the (strategy, symbol)-ordered list).

Portfolio management off: ``units = floor(free cash x position_size_pct% / unit_cost)`` and no
risk checks beyond cash (costs included), ``max_positions`` and the liquidity caps
(:func:`~dollarbill_research.kernels.sizing_nb.liquidity_cap_nb`, applied in both modes).
On: the method of
``params.sizing_method`` (risk parity over all of the bar's candidates at the bar's equity),
then pre-trade approval against the *current* book, which includes the fills made earlier in the
same bar: :func:`~dollarbill_research.kernels.context_nb.ctx_begin_nb` once per bar,
:func:`~dollarbill_research.kernels.approval_nb.decide_ctx_nb` per candidate (the same answers
as ``decide_nb``) and :func:`~dollarbill_research.kernels.context_nb.ctx_add_nb` per fill (the
lazy form of ``book_context_nb`` / ``context_add_nb``: the same numbers).
Free cash is ``cash - reserved``.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.approval_nb import decide_ctx_nb
from dollarbill_research.kernels.book_nb import book_set_nb
from dollarbill_research.kernels.candidates_nb import (
    U_CONC,
    U_CONTRACTS,
    U_COST,
    U_COST1,
    U_DEFINED,
    U_DELTA,
    U_DVOL,
    U_EXPIRY,
    U_GAMMA,
    U_MAX_LOSS,
    U_MV,
    U_NOTIONAL,
    U_SIGMA,
    U_THETA,
    U_VEGA,
    candidate_nb,
    kelly_inputs_nb,
    stable_argsort_into_nb,
)
from dollarbill_research.kernels.codes import (
    FILL_ENTRY,
    MAX_LEGS,
    N_EXPOSURES,
    R_CASH,
    R_COST,
    R_MAX_POSITIONS,
    R_NO_PRICE,
    R_UNIT_TOO_LARGE,
    R_ZERO_SIZE,
    SIG_LONG,
    SIG_SHORT,
    SIZE_KELLY,
    SIZE_RISK_PARITY,
    T_DIRECTION,
    T_KIND,
)
from dollarbill_research.kernels.context_nb import (
    CX_DCD,
    CX_LEN,
    ctx_add_nb,
    ctx_begin_nb,
    ctx_cd_nb,
    flat_totals_nb,
)
from dollarbill_research.kernels.fills_nb import record_fill_nb, set_projected_nb
from dollarbill_research.kernels.records import (
    A_CASH,
    A_RESERVED,
    BF_MV,
    C_OPEN,
    C_REJECTIONS,
    BarAt,
    Book,
    Candidate,
    Context,
    Market,
    Records,
    Room,
    SignalBlock,
)
from dollarbill_research.kernels.sizing_nb import (
    floor_within_nb,
    liquidity_cap_nb,
    risk_parity_units_nb,
    simple_units_nb,
    size_units_nb,
)
from dollarbill_research.kernels.workspace_nb import (
    V_NAN,
    V_PROJ,
    V_TOT,
    WF_CAPACITY,
    WF_CD,
    WF_COMMITTED,
    WF_CONF,
    WF_VAR,
    WI_CAND,
    WI_NLEGS,
    WI_OPEN,
    WI_ORDER,
    WI_ORDER2,
    Workspace,
    open_insert_nb,
    sector_scratch_nb,
)


@jit_inner
def cost_too_high_nb(unit_costs: float, unit_max_loss: float, max_pct: float) -> bool:
    """Whether a round trip costs more than ``max_pct`` % of the unit's max loss.

    The round trip is ``2 x`` one unit's entry costs at today's prices; ``max_pct`` 0 = off; a
    unit without a finite positive max loss is never rejected here.
    """
    if max_pct <= 0.0 or not (math.isfinite(unit_max_loss) and unit_max_loss > 0.0):
        return False
    return 2.0 * unit_costs > max_pct / 100.0 * unit_max_loss


@jit_inner
def enter_nb(at: BarAt, market: Market, sig: SignalBlock, params: np.record, book: Book,
             rec: Records, ws: Workspace) -> None:  # fmt: skip
    """Process the bar's entry candidates (see the module docstring).

    The flat book of the open positions is in the workspace ``ws`` (:mod:`.workspace_nb`);
    fills are appended to it and to the open-slot list.
    """
    bar, t, ts, day = at.bar, at.t, at.ts, at.day
    close, iv, valid = market.close, market.iv, market.valid
    sector_codes, n_sectors = market.sector_codes, market.n_sectors
    signal, confidence, templates = sig.signal, sig.confidence, sig.templates
    account, counters, positions, legs, stats = book
    fills, rejections = rec.fills, rec.rejections
    k = counters[C_OPEN]
    equity = account[A_CASH]
    for i in range(k):
        equity += ws.book_f[BF_MV, i]
    book_i, book_f, wi, wf = ws.book_i, ws.book_f, ws.wi, ws.wf
    n_strat = signal.shape[0]
    n_sym = signal.shape[2]
    # one scan of the bar's signals: candidate slots into the workspace list
    slots = wi[WI_CAND]
    n = 0
    for s in range(n_strat):
        base = s * n_sym
        row = signal[s, ts]  # contiguous: the scan indexes one dimension
        for j in range(n_sym):
            sg = row[j]
            if (sg in (SIG_LONG, SIG_SHORT)) and positions[base + j].active == 0:
                slots[n] = base + j
                n += 1
    if n == 0:
        return
    # per-candidate scratch lives in the workspace (no allocation per bar)
    conf = wf[WF_CONF, :n]
    n_legs = wi[WI_NLEGS, :n]
    u = ws.cand[:n]
    cand_legs = ws.cand_legs[:n]
    for i in range(n):
        for leg in range(MAX_LEGS):
            cand_legs[i, leg].type = 0
            cand_legs[i, leg].strike = 0.0
            cand_legs[i, leg].ratio = 0.0
            cand_legs[i, leg].price = 0.0
    for i in range(n):  # first the confidences alone: their loads (the bar's first reads of
        s = slots[i] // n_sym  # its confidence rows, often cache misses) overlap, which they
        c = confidence[s, ts, slots[i] - s * n_sym]  # cannot across candidate_nb's calls
        conf[i] = -c if math.isfinite(c) else 0.0
    for i in range(n):
        s = slots[i] // n_sym
        j = slots[i] - s * n_sym
        sg = signal[s, ts, j]
        side = 0 if sg == SIG_LONG else 1
        n_legs[i] = 0
        if valid[t, j]:
            n_legs[i] = candidate_nb(
                templates[s, side], close[t, j], iv[t, j], day, params, cand_legs, i, u[i]
            )
        else:
            u[i, :] = np.nan
    order = stable_argsort_into_nb(conf, wi[WI_ORDER, :n], wi[WI_ORDER2, :n])
    pm = params.use_portfolio_management > 0.0
    method = int(params.sizing_method)
    rp_units = conf  # read only under risk parity, which replaces it
    if pm and method == SIZE_RISK_PARITY:
        rp_units = risk_parity_units_nb(
            equity, u[:, U_COST].copy(), u[:, U_MAX_LOSS].copy(), u[:, U_DVOL].copy(), params
        )
    committed = wf[WF_COMMITTED, :n_strat]
    committed[:] = 0.0
    for a in range(counters[C_OPEN]):
        p = positions[wi[WI_OPEN, a]]
        committed[p.strategy] += p.committed
    capacity = wf[WF_CAPACITY, :n_strat]
    for a in range(n_strat):
        capacity[a] = sig.capacity[a] * equity
    nan_proj = ws.vec[V_NAN, :N_EXPOSURES]
    proj_row = ws.vec[V_PROJ]  # decide_ctx_nb's projection of the candidate (no allocation)
    # book context once per bar (covariance of held symbols), updated after every fill
    m = k if pm else 0
    tot = ws.vec[V_TOT, :CX_LEN]
    sector_abs = sector_scratch_nb(wf, n_sectors)
    flat_totals_nb(book_i, book_f, m, tot, sector_abs)
    if pm:
        tot[CX_DCD] = ctx_begin_nb(close, k, ws)
    cd = wf[WF_CD]
    var_sym = wf[WF_VAR]
    ctx = Context(tot, sector_abs, cd, var_sym)  # once per bar: its arrays change in place
    for q in range(n):
        i = order[q]
        s = slots[i] // n_sym
        j = slots[i] - s * n_sym
        cost = u[i, U_COST]
        free = account[A_CASH] - account[A_RESERVED]
        reason = 0
        warn = 0
        units = 0.0
        proj = nan_proj
        if not math.isfinite(cost):
            reason = 1 << R_NO_PRICE
        elif u[i, U_CONTRACTS] > 0.0 and cost_too_high_nb(
            u[i, U_COST1], u[i, U_MAX_LOSS], params.max_round_trip_cost_pct
        ):  # option structures only: a share's "max loss" is its stop distance
            reason = 1 << R_COST
        elif not pm:
            if params.position_size_units > 0.0:  # fixed size (capped by free cash below)
                units = params.position_size_units
            else:
                units = simple_units_nb(free, params.position_size_pct, cost)
            units, warn, reason = liquidity_cap_nb(
                units, equity, u[i, U_NOTIONAL], u[i, U_CONTRACTS], params
            )
        else:
            if method == SIZE_RISK_PARITY:
                units = rp_units[i]
            else:
                p_win, payoff, n_closed = 0.0, 0.0, np.int64(0)  # read by Kelly only
                if method == SIZE_KELLY:
                    p_win, payoff, n_closed = kelly_inputs_nb(stats, s, params)
                units, warn = size_units_nb(
                    method,
                    equity,
                    free,
                    (cost, u[i, U_MAX_LOSS], u[i, U_DVOL]),
                    params,
                    (p_win, payoff, n_closed),
                )
            # a Kelly size whose one unit does not fit the caps comes back as a reason bit
            too_large = warn & (1 << R_UNIT_TOO_LARGE)
            warn &= ~too_large
            units, w3, r3 = liquidity_cap_nb(
                units, equity, u[i, U_NOTIONAL], u[i, U_CONTRACTS], params
            )
            warn |= w3
            if too_large | r3:
                reason = too_large | r3
            else:
                ctx_cd_nb(close, j, wi, wf, ws.win, ws.cov, ws.meta)
                cand = Candidate(
                    cost, u[i, U_DELTA], u[i, U_GAMMA], u[i, U_VEGA], u[i, U_THETA],
                    u[i, U_MV], u[i, U_CONC], j, sector_codes[j], s,
                )  # fmt: skip
                room = Room(equity, free, counters[C_OPEN], committed, capacity)
                units, reason, w2, proj = decide_ctx_nb(units, cand, ctx, room, params, proj_row)
                warn |= w2
        if reason == 0:
            if params.max_positions > 0.0 and counters[C_OPEN] >= params.max_positions:
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
            set_projected_nb(r, proj, cash_needed * max(units, 1.0))
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
        open_insert_nb(wi, counters[C_OPEN], slot)
        counters[C_OPEN] += 1
        row = record_fill_nb(
            fills, counters, positions, legs, slot,
            (bar, np.int64(FILL_ENTRY), warn),  # typed, not a literal (one specialization)
            (1.0, units, value, -value * units, costs, 0.0),
        )  # fmt: skip
        set_projected_nb(fills[row], proj, cash_needed * units)
        book_set_nb(book_i, book_f, k, positions, slot, sector_codes)
        if pm:
            filled = Candidate(
                cost, u[i, U_DELTA], u[i, U_GAMMA], u[i, U_VEGA], u[i, U_THETA], u[i, U_MV],
                u[i, U_CONC], j, sector_codes[j], s,
            )  # fmt: skip
            ctx_add_nb(close, units, filled, tot, sector_abs, ws)
        k += 1
        committed[s] += p.committed
        equity -= costs
