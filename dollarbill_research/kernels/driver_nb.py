"""The backtest driver: :func:`~.step_nb.step_nb` over a range of bars, in compiled code.

Record buffers are preallocated by the caller. Before each bar the driver checks that the
buffers have room for the worst case of that bar (every open position exits and every signal
becomes a record); when they do not, it returns early and the Python side grows the buffers
(doubling) and calls again from the returned bar, so nothing is ever dropped and the result does
not depend on the initial capacity.
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.alloc_time_nb import (
    committed_nb,
    rebalance_due_nb,
    strategy_returns_nb,
)
from dollarbill_research.kernels.breach_nb import ACTIONS_EXTRA, BREACH_ROWS_PER_PASS
from dollarbill_research.kernels.records import (
    C_BREACHES,
    C_FILLS,
    C_OPEN,
    C_REJECTIONS,
    AllocTime,
    BarAt,
    Book,
    Market,
    Records,
    SignalBlock,
    Span,
)
from dollarbill_research.kernels.step_nb import step_nb
from dollarbill_research.kernels.workspace_nb import WI_OPEN, Workspace, sync_open_nb


@jit_inner
def records_needed_nb(signal: np.ndarray, ts: int, n_open: int) -> int:
    """Upper bound on the records one bar can write: open positions + non-zero signals."""
    need = n_open
    for s in range(signal.shape[0]):
        for j in range(signal.shape[2]):
            if signal[s, ts, j] != 0:
                need += 1
    return need


@jit
def run_bars_nb(span: Span, market: Market, sig: SignalBlock, param_rows: np.ndarray, book: Book,
                rec: Records, ws: Workspace, alloc_time: AllocTime) -> int:  # fmt: skip
    """Run rows ``span.t0 .. span.t1-1`` (panel row = signal row = record row).

    ``bar = row + span.bar_offset``. ``ws`` is the step workspace
    (:func:`~.workspace_nb.new_workspace`). Allocation through time (:mod:`.alloc_time_nb`):
    at a bar where a rebalance is due (other than ``span.rebalanced_at``, the bar the caller
    just rebalanced) the driver returns that row and the caller updates ``sig.capacity`` with
    ``rebalance_nb`` from ``alloc_time.strat_returns[:bar]`` (so the allocation kernels
    compile only for runs that use them); the targets in force on each bar go to
    ``alloc_time.targets`` and each bar's strategy returns to ``alloc_time.strat_returns``
    (both ``(n_bars, n_strategies)`` of the whole history, indexed by *bar*);
    ``alloc_time.alloc`` holds the custom weights and bounds; ``alloc_time.committed_prev``
    (``(n_strategies,)``, state kept across calls) each strategy's committed dollars at the
    last close.

    ``span.bar_offset`` is 0 for a whole history; the streaming driver runs each chunk's rows
    with the chunk's first global bar minus its history rows (so entry bars, max-hold,
    rebalances and records keep global bar numbers).

    Returns
    -------
    int
        ``span.t1`` when every bar ran, else the first bar that did not run (lack of record
        room, or a rebalance is due).
    """
    counters, positions = book.counters, book.positions
    fills, rejections, breaches, strat_pnl = rec.fills, rec.rejections, rec.breaches, rec.strat_pnl
    signal, strat_capacity = sig.signal, sig.capacity
    sync_open_nb(positions, counters, ws.wi)
    most = signal.shape[0] * signal.shape[2]  # every (strategy, symbol) signals
    pm = param_rows[0].use_portfolio_management > 0.0
    for t in range(span.t0, span.t1):
        used = max(counters[C_FILLS], counters[C_REJECTIONS])
        bound = min(fills.shape[0], rejections.shape[0])
        # breach passes (portfolio management on): two per bar, each at most n_open + extra
        # fills (the second after the entries) and BREACH_ROWS_PER_PASS rows; hedge unwinds
        # at most n_open fills
        extra = 3 * (counters[C_OPEN] + most + ACTIONS_EXTRA) if pm else 0
        if pm and counters[C_BREACHES] + 2 * BREACH_ROWS_PER_PASS > breaches.shape[0]:
            return t
        # the exact count (a scan of the bar's signals) only when the cheap bound does not fit
        if used + counters[C_OPEN] + most + extra > bound:
            need = records_needed_nb(signal, t, counters[C_OPEN])
            # + hedge unwinds (<= n_open) + two breach passes (n_open + n_signals + extra)
            need_fills = need + (need + 2 * counters[C_OPEN] + 2 * ACTIONS_EXTRA if pm else 0)
            if (
                counters[C_FILLS] + need_fills > fills.shape[0]
                or counters[C_REJECTIONS] + need > rejections.shape[0]
            ):
                return t
        bar = t + span.bar_offset
        if bar != span.rebalanced_at and rebalance_due_nb(bar, strat_capacity.shape[0], param_rows):
            return t  # the caller recomputes the capacities (rebalance_nb) and calls again
        for s in range(strat_capacity.shape[0]):  # a loop: a slice copy compiles numba's
            alloc_time.targets[bar, s] = strat_capacity[s]  # shape-mismatch error path (2 s)
        step_nb(BarAt(bar, t, t, t, market.days[t]), market, sig, param_rows, book, rec, ws)
        # committed_prev holds the previous close's committed dollars (zeros before bar 0)
        pnl_prev = strat_pnl[t - 1] if t > 0 else np.zeros(strat_pnl.shape[1])
        strategy_returns_nb(
            strat_pnl[t], pnl_prev, alloc_time.committed_prev, alloc_time.strat_returns[bar]
        )
        committed_nb(positions, ws.wi[WI_OPEN], counters[C_OPEN], alloc_time.committed_prev)
    return span.t1
