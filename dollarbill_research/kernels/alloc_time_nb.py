"""Allocation through time (SPEC 5.3, 5.4): strategy capacities recomputed every N bars.

Each strategy may commit at most ``target_i x equity`` dollars (``Strategy <name> at capacity``
otherwise). The targets start at the configured ones (equal weights, or the custom weights,
within the bounds) and, for the methods that learn from returns (``ALLOC_RISK_PARITY``,
``ALLOC_VOLATILITY_WEIGHTED``, ``ALLOC_PERFORMANCE_WEIGHTED``) with more than one strategy, are
recomputed at every bar ``t > 0`` with ``t % params.rebalance_bars == 0`` by
:func:`~.allocation_nb.allocation_targets_nb` (the :class:`StrategyAllocator`'s kernel) from the
strategies' returns of bars ``0 .. t-1`` only (no look-ahead).

A strategy's return on bar ``t`` is its P&L on the bar (the change of its cumulative realised +
marked P&L after costs) per dollar it had committed at the previous close (``unit_cost x qty`` of
its open positions: premium, margin or cash secured, share notional):
``pnl_t / committed_{t-1}``; NaN when it had nothing committed (no position, no return). So
each method sees a strategy's own risk and return per dollar at work, whatever capacity it had:
risk parity gives calm strategies more room, and a strategy cut to a small capacity does not
look more volatile for it.

``alloc`` is float64 ``(3, n_strategies)``: custom weights, lower and upper bounds (fractions).
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit
from dollarbill_research.kernels.allocation_nb import allocation_targets_nb
from dollarbill_research.kernels.codes import (
    ALLOC_PERFORMANCE_WEIGHTED,
    ALLOC_RISK_PARITY,
    ALLOC_VOLATILITY_WEIGHTED,
)

ALLOC_CUSTOM_ROW = 0
ALLOC_LO_ROW = 1
ALLOC_HI_ROW = 2


@jit
def rebalance_due_nb(bar: int, n_strategies: int, param_rows: np.ndarray) -> bool:
    """True when the capacities are recomputed before bar ``bar`` (module docstring)."""
    params = param_rows[0]  # the parameter record (a 1-row array from Python: fast dispatch)
    if params.use_portfolio_management <= 0.0 or n_strategies < 2 or bar <= 0:
        return False
    method = int(params.allocation_method)
    if method not in (ALLOC_RISK_PARITY, ALLOC_VOLATILITY_WEIGHTED, ALLOC_PERFORMANCE_WEIGHTED):
        return False
    every = int(params.rebalance_bars)
    return every > 0 and bar % every == 0


@jit
def rebalance_nb(
    bar: int, returns: np.ndarray, alloc: np.ndarray, param_rows: np.ndarray,
    capacity: np.ndarray,
) -> None:  # fmt: skip
    """Recompute ``capacity`` (targets, fractions of equity) from ``returns[:bar]`` when due."""
    if not rebalance_due_nb(bar, capacity.shape[0], param_rows):
        return
    params = param_rows[0]
    t = allocation_targets_nb(
        int(params.allocation_method), returns[:bar], alloc[ALLOC_CUSTOM_ROW],
        alloc[ALLOC_LO_ROW], alloc[ALLOC_HI_ROW], params.bars_per_year, params.risk_free_rate,
    )  # fmt: skip
    for s in range(capacity.shape[0]):
        capacity[s] = t[s]


@jit
def strategy_returns_nb(
    pnl_now: np.ndarray, pnl_prev: np.ndarray, committed_prev: np.ndarray, out: np.ndarray
) -> None:
    """Each strategy's return on a bar (module docstring) into ``out`` (NaN: nothing committed)."""
    for s in range(out.shape[0]):
        c = committed_prev[s]
        if c > 0.0 and math.isfinite(c):
            out[s] = (pnl_now[s] - pnl_prev[s]) / c
        else:
            out[s] = np.nan


@jit
def committed_nb(
    positions: np.ndarray, open_slots: np.ndarray, n_open: int, out: np.ndarray
) -> None:
    """Dollars committed per strategy by the open positions ``open_slots[:n_open]``."""
    out[:] = 0.0
    for i in range(n_open):
        p = positions[open_slots[i]]
        out[p.strategy] += p.committed
