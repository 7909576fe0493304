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
from dollarbill_research.kernels.records import C_FILLS, C_OPEN, C_REJECTIONS
from dollarbill_research.kernels.step_nb import step_nb
from dollarbill_research.kernels.workspace_nb import sync_open_nb


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
def run_bars_nb(
    t0: int,
    t1: int,
    days: np.ndarray,
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
    equity_rec: np.ndarray,
    strat_pnl: np.ndarray,
    ws: tuple,
    bar_offset: int,
) -> int:
    """Run rows ``t0 .. t1-1`` (panel row = signal row = record row; bar = row + bar_offset).

    ``ws`` is the step workspace (:func:`~.workspace_nb.new_workspace`). ``bar_offset`` is 0 for
    a whole history; the streaming driver runs each chunk's rows with the chunk's first global
    bar minus its history rows (so entry bars, max-hold and records keep global bar numbers).

    Returns
    -------
    int
        ``t1`` when every bar ran, else the first bar that did not run for lack of record room.
    """
    sync_open_nb(positions, counters, ws[2])
    most = signal.shape[0] * signal.shape[2]  # every (strategy, symbol) signals
    for t in range(t0, t1):
        used = max(counters[C_FILLS], counters[C_REJECTIONS])
        bound = min(fills.shape[0], rejections.shape[0])
        # the exact count (a scan of the bar's signals) only when the cheap bound does not fit
        if used + counters[C_OPEN] + most > bound:
            need = records_needed_nb(signal, t, counters[C_OPEN])
            if (
                counters[C_FILLS] + need > fills.shape[0]
                or counters[C_REJECTIONS] + need > rejections.shape[0]
            ):
                return t
        step_nb(
            t + bar_offset,
            t,
            t,
            days[t],
            close,
            iv,
            valid,
            sector_codes,
            n_sectors,
            signal,
            confidence,
            templates,
            strat_capacity,
            bp,
            pp,
            account,
            counters,
            positions,
            legs,
            stats,
            fills,
            rejections,
            equity_rec,
            strat_pnl,
            t,
            ws,
        )
    return t1
