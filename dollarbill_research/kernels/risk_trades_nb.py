"""Risk trades of the breach pass (:mod:`.breach_nb`): trims, closes, share hedges, unwinds.

* :func:`trim_position_nb` sells back part of an open position at its mark (a partial close);
* :func:`close_for_risk_nb` closes a whole position for risk and drops its open slot;
* :func:`hedge_nb` trades shares of an option position's underlying against its delta, in the
  hedge slot of the symbol (:func:`~.records.new_state` with ``hedge_slots``);
* :func:`unwind_hedges_nb` sells back hedges whose strategy no longer holds the position.

See docs/risk-model.md, "Limits that hold: breach policies".
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.codes import (
    FILL_RISK_HEDGE,
    KIND_SHARES,
    LEG_STOCK,
)
from dollarbill_research.kernels.fills_nb import record_fill_nb
from dollarbill_research.kernels.instruments_nb import costs_nb
from dollarbill_research.kernels.records import A_CASH, A_RESERVED, C_OPEN, BarAt, Book, Market
from dollarbill_research.kernels.workspace_nb import WI_OPEN, open_insert_nb


@jit_inner
def open_remove_nb(wi: np.ndarray, n_open: int, slot: int) -> None:
    """Remove ``slot`` from the first ``n_open`` entries of the sorted open-slot list."""
    w = 0
    for i in range(n_open):
        s = wi[WI_OPEN, i]
        if s != slot:
            wi[WI_OPEN, w] = s
            w += 1


@jit_inner
def trim_position_nb(
    bar: int,
    slot: int,
    n: float,
    reason: int,
    book: Book,
    fills: np.ndarray,
    params: np.record,
) -> None:
    """Sell back ``n < qty`` units of an open position at its mark (a partial close).

    Costs of the ``n`` units are paid; the realised P&L of the units carries their share of the
    entry costs; reserved cash, committed dollars and entry costs shrink in proportion. The
    strategy's realised P&L and costs are updated; its closed-trade count is not (the trade is
    still open).
    """
    account, counters, positions, legs, stats = book
    p = positions[slot]
    q = p.qty
    frac = n / q
    costs = costs_nb(legs, slot, p.n_legs, n, p.sigma, params)
    cash_flow = p.value * n
    account[A_CASH] += cash_flow - costs
    released = p.reserved * frac
    account[A_RESERVED] -= released
    p.reserved -= released
    ec = p.entry_costs * frac
    p.entry_costs -= ec
    p.committed -= p.committed * frac
    pnl = (p.value - p.entry_value) * n - ec - costs
    st = stats[p.strategy]
    st.realized_pnl += pnl
    st.costs += costs
    record_fill_nb(
        fills, counters, positions, legs, slot, (bar, reason, np.int64(0)),
        (-1.0, n, p.value, cash_flow, costs, pnl),
    )  # fmt: skip
    nq = q - n
    r = nq / q
    p.qty = nq
    p.mv = p.value * nq
    p.delta_d *= r
    p.gamma_d *= r
    p.vega10 *= r
    p.theta *= r
    p.conc = p.unit_max_loss * nq if p.defined_risk == 1 else abs(p.mv)


@jit_inner
def close_for_risk_nb(
    bar: int,
    slot: int,
    reason: int,
    book: Book,
    fills: np.ndarray,
    params: np.record,
    wi: np.ndarray,
) -> None:
    """Close a whole position for risk (exit reason ``risk_reduce``) and drop its open slot."""
    n_open = book.counters[C_OPEN]
    _step.close_position_nb(bar, slot, reason, book, fills, params)
    open_remove_nb(wi, n_open, slot)


@jit_inner
def hedge_nb(
    at: BarAt,
    owner_slot: int,
    need: tuple,
    market: Market,
    book: Book,
    fills: np.ndarray,
    params: np.record,
    wi: np.ndarray,
) -> float:
    """Trade shares of the owner's underlying (``direction`` +1 buy / -1 sell) against delta.

    ``need`` is ``(direction, equity, limit, total)``: the side to trade, equity (dollars), the
    delta limit (fraction of equity) and the book's total ``|D|`` (dollars). The hedge slot of
    a symbol is ``n_strategies x n_symbols + symbol`` (:func:`~.records.new_state`).

    Shares needed: ``n = ceil((|D| - L E) / (s - L c))`` for spot ``s`` and per-share costs
    ``c``, at most what keeps the hedge within the concentration limit and its sector within
    the sector limit, and what free cash pays for. An open hedge in the other direction is
    trimmed (or closed) first; one in the same direction is added to (average entry value).
    Returns the shares traded (0: no hedge fits; the caller reduces instead).
    """
    bar, t, day = at.bar, at.t, at.day
    direction, equity, limit, total = need
    close, sector_codes = market.close, market.sector_codes
    account, counters, positions, legs, stats = book
    hedge_base = stats.shape[0] * close.shape[1]
    owner = positions[owner_slot]
    j = owner.symbol
    h = hedge_base + j
    s = close[t, j]
    hp = positions[h]
    if hp.active == 1 and hp.direction != direction:  # the hedge is on the breached side
        n = min(hp.qty, max(1.0, math.ceil((total - limit * equity) / s - 1e-9)))
        if n >= hp.qty:
            close_for_risk_nb(bar, h, np.int64(FILL_RISK_HEDGE), book, fills, params, wi)
        else:
            trim_position_nb(bar, h, n, np.int64(FILL_RISK_HEDGE), book, fills, params)
        return n
    if hp.active == 0:
        legs[h, 0].type = LEG_STOCK
        legs[h, 0].strike = 0.0
        legs[h, 0].ratio = direction
        legs[h, 0].price = s
        for leg in range(1, legs.shape[1]):
            legs[h, leg].type = 0
            legs[h, leg].strike = 0.0
            legs[h, leg].ratio = 0.0
            legs[h, leg].price = 0.0
    c1 = costs_nb(legs, h, np.int64(1), 1.0, owner.sigma, params)
    denom = s - limit * c1
    n = 1.0
    if denom > 0.0:
        n = max(1.0, float(math.ceil((total - limit * equity) / denom - 1e-9)))
    free = account[A_CASH] - account[A_RESERVED]
    per_share = s + c1  # free cash used per share, long (paid) or short (2 s reserved - s)
    n = min(n, math.floor(free / per_share)) if per_share > 0.0 else 0.0
    # the hedge must not breach concentration or its sector's limit (one limit for another)
    held = hp.qty * s if hp.active == 1 else 0.0
    n = min(n, math.floor((params.max_concentration_pct / 100.0 * equity - held) / s))
    sector = sector_codes[j]
    gross = 0.0
    for i in range(counters[C_OPEN]):
        q = positions[wi[WI_OPEN, i]]
        if sector_codes[q.symbol] == sector:
            gross += abs(q.mv)
    n = min(n, math.floor((params.max_sector_exposure_pct / 100.0 * equity - gross) / s))
    if not (n >= 1.0):
        return 0.0
    costs = costs_nb(legs, h, np.int64(1), n, owner.sigma, params)
    value = direction * s
    account[A_CASH] -= value * n + costs
    reserved = (s - value) * n
    account[A_RESERVED] += reserved
    st = stats[owner.strategy]
    st.costs += costs
    if hp.active == 0:
        hp.active = 1
        hp.symbol = j
        hp.strategy = owner.strategy
        hp.kind = KIND_SHARES
        hp.n_legs = 1
        hp.entry_bar = bar
        hp.defined_risk = 0
        hp.direction = direction
        hp.entry_day = day
        hp.expiry_day = np.inf
        hp.qty = n
        hp.entry_value = value
        hp.entry_costs = costs
        hp.reserved = reserved
        hp.committed = s * n
        hp.unit_max_loss = s * params.stop_distance
        open_insert_nb(wi, counters[C_OPEN], h)
        counters[C_OPEN] += 1
    else:
        q = hp.qty
        hp.entry_value = (hp.entry_value * q + value * n) / (q + n)
        hp.entry_costs += costs
        hp.reserved += reserved
        hp.committed += s * n
        hp.qty = q + n
    hp.value = value
    hp.spot = s
    hp.sigma = owner.sigma
    hp.mv = value * hp.qty
    hp.delta_d = value * hp.qty
    hp.gamma_d = 0.0
    hp.vega10 = 0.0
    hp.theta = 0.0
    hp.conc = abs(hp.mv)
    record_fill_nb(fills, counters, positions, legs, h, (bar, np.int64(FILL_RISK_HEDGE),
                   np.int64(0)), (1.0, n, value, -value * n, costs, 0.0))  # fmt: skip
    return n


@jit_inner
def unwind_hedges_nb(
    bar: int,
    t: int,
    valid: np.ndarray,
    book: Book,
    fills: np.ndarray,
    params: np.record,
    wi: np.ndarray,
) -> None:
    """Sell back every hedge whose strategy no longer holds a position in its symbol."""
    counters, positions = book.counters, book.positions
    n_symbols = valid.shape[1]
    base = book.stats.shape[0] * n_symbols
    if positions.shape[0] <= base:
        return
    i = 0
    while i < counters[C_OPEN]:
        slot = wi[WI_OPEN, i]
        if slot >= base:
            p = positions[slot]
            owner = positions[p.strategy * n_symbols + p.symbol]
            if owner.active == 0 and valid[t, p.symbol]:
                close_for_risk_nb(bar, slot, np.int64(FILL_RISK_HEDGE), book, fills, params, wi)
                continue  # the list shifted left
        i += 1


# At the bottom: step_nb imports breach_nb, which imports this module; numba resolves
# ``_step.close_position_nb`` when a kernel using it is compiled, after every module is loaded.
from dollarbill_research.kernels import step_nb as _step  # noqa: E402
