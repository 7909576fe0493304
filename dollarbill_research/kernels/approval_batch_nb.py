"""Size and approve one bar's candidates in one call (the benchmark and batch users).

Candidates are processed in the order given (the engine orders them by confidence). With
``sequential=True`` every approved trade is added to the book context, the cash, the open count
and its strategy's exposure before the next candidate is decided — what a bar of the backtest
does. With ``sequential=False`` every candidate is decided against the same book (a what-if
screen).
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.kernels._jit import jit
from dollarbill_research.kernels.approval_nb import decide_ctx_nb
from dollarbill_research.kernels.codes import N_EXPOSURES, SIZE_RISK_PARITY
from dollarbill_research.kernels.context_nb import context_add_nb
from dollarbill_research.kernels.records import Candidate, CandidateBlock, Context, Room
from dollarbill_research.kernels.sizing_nb import risk_parity_units_nb, size_units_nb


@jit
def decide_many_nb(
    room: Room,
    cands: CandidateBlock,
    kelly: tuple,
    ctx: tuple,
    params: np.record,
    sequential: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Size (``params.sizing_method``) and decide ``n`` candidates against a book context.

    Parameters
    ----------
    room : Room
        Equity and cash (dollars at the bar), open positions before the bar's entries, and
        float64 ``(n_strategies,)`` dollars committed and allowed per strategy (copied, not
        modified).
    cands : CandidateBlock
        float64 ``(n,)`` per-unit candidate quantities (architecture.md) and int64 ``(n,)``
        symbols, sectors and strategies.
    kelly : tuple
        ``(win_rate, payoff_ratio, n_closed)``: per strategy ``(n_strategies,)`` closed-trade
        statistics for Kelly (float, float, int64).
    ctx : tuple
        The book context ``(tot, sector_abs, sym_delta, cd, var_sym, rets)`` from
        :func:`~dollarbill_research.kernels.context_nb.book_context_nb` (modified in place when
        ``sequential``: pass copies to keep the originals).
    params : numpy.record
        The settings (:data:`~.params.PARAMS_DTYPE`).
    sequential : bool
        Add each approved trade to the book before deciding the next candidate.

    Returns
    -------
    tuple of numpy.ndarray
        ``units (n,)`` float64, ``reason (n,)`` and ``warn (n,)`` int64 masks, ``projected
        (n, N_EXPOSURES)`` float64.
    """
    equity, cash, n_open = room.equity, room.cash, room.n_open
    strategy_exposure, strategy_capacity = room.strategy_exposure, room.strategy_capacity
    win_rate, payoff_ratio, n_closed = kelly
    tot, sector_abs, _sym_delta, cd, var_sym, _rets = ctx
    unit_cost, unit_max_loss, unit_dollar_vol = (
        cands.unit_cost, cands.unit_max_loss, cands.unit_dollar_vol
    )  # fmt: skip
    unit_delta_d, unit_gamma_d, unit_vega10 = (
        cands.unit_delta_d,
        cands.unit_gamma_d,
        cands.unit_vega10,
    )
    unit_theta, unit_mv, unit_conc = cands.unit_theta, cands.unit_mv, cands.unit_conc
    cand_symbol, cand_sector, cand_strategy = cands.symbol, cands.sector, cands.strategy
    n = unit_cost.shape[0]
    method = int(params.sizing_method)
    units = np.zeros(n)
    reason = np.zeros(n, dtype=np.int64)
    warn = np.zeros(n, dtype=np.int64)
    projected = np.zeros((n, N_EXPOSURES))
    if method == SIZE_RISK_PARITY:
        units[:] = risk_parity_units_nb(equity, unit_cost, unit_max_loss, unit_dollar_vol, params)
    st_exp = strategy_exposure.copy()
    context = Context(tot, sector_abs, cd, var_sym)  # once: its arrays change in place
    for i in range(n):
        st = cand_strategy[i]
        if method != SIZE_RISK_PARITY:
            has_stats = 0 <= st < win_rate.shape[0]
            units[i], warn[i] = size_units_nb(
                method,
                equity,
                cash,
                (unit_cost[i], unit_max_loss[i], unit_dollar_vol[i]),
                params,
                (
                    win_rate[st] if has_stats else 0.0,
                    payoff_ratio[st] if has_stats else 0.0,
                    n_closed[st] if has_stats else 0,
                ),
            )
        cand = Candidate(
            unit_cost[i], unit_delta_d[i], unit_gamma_d[i], unit_vega10[i], unit_theta[i],
            unit_mv[i], unit_conc[i], cand_symbol[i], cand_sector[i], st,
        )  # fmt: skip
        room = Room(equity, cash, n_open, st_exp, strategy_capacity)
        u, r, w, _ = decide_ctx_nb(units[i], cand, context, room, params, projected[i])
        units[i] = u
        reason[i] = r
        warn[i] |= w
        if sequential and r == 0 and u > 0.0:
            context_add_nb(u, cand, ctx)
            cash -= u * unit_cost[i]
            n_open += 1
            if 0 <= st < st_exp.shape[0]:
                st_exp[st] += u * unit_cost[i]
    return units, reason, warn, projected
