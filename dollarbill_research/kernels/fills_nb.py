"""Fill records: one :data:`~dollarbill_research.kernels.records.FILL_DTYPE` row per entry or exit.

:func:`record_fill_nb` copies the position's identity, legs and the trade's figures; the
projected-exposure fields of an entry are set afterwards with :func:`set_projected_nb` (they
are NaN on exits).
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.records import C_FILLS


@jit_inner
def record_fill_nb(
    fills: np.ndarray,
    counters: np.ndarray,
    positions: np.ndarray,
    legs: np.ndarray,
    slot: int,
    codes: tuple,
    amounts: tuple,
) -> int:
    """Append one fill of position ``slot``; return its row (projected fields are NaN).

    ``codes`` is ``(bar, reason, warn)`` (int64: pass typed values, ``np.int64(0)``, not
    literals) and ``amounts`` ``(side, qty, price, cash_flow, costs, pnl)`` (float64): the
    fields of :data:`~.records.FILL_DTYPE` of the same names.
    """
    bar, reason, warn = codes
    side, qty, price, cash_flow, costs, pnl = amounts
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
    f.leg0_type, f.leg1_type = legs[slot, 0].type, legs[slot, 1].type
    f.leg2_type, f.leg3_type = legs[slot, 2].type, legs[slot, 3].type
    f.leg0_strike, f.leg1_strike = legs[slot, 0].strike, legs[slot, 1].strike
    f.leg2_strike, f.leg3_strike = legs[slot, 2].strike, legs[slot, 3].strike
    f.leg0_ratio, f.leg1_ratio = legs[slot, 0].ratio, legs[slot, 1].ratio
    f.leg2_ratio, f.leg3_ratio = legs[slot, 2].ratio, legs[slot, 3].ratio
    f.p_delta = f.p_gamma = f.p_vega = f.p_concentration = np.nan
    f.p_sector = f.p_var95 = f.cash_needed = np.nan
    counters[C_FILLS] = n + 1
    return n


@jit_inner
def set_projected_nb(rec: np.ndarray, proj: np.ndarray, cash_needed: float) -> None:
    """Write the projected exposures ``proj`` (``EXP_*``) and the cash need into a record."""
    rec.p_delta = proj[0]
    rec.p_gamma = proj[1]
    rec.p_vega = proj[2]
    rec.p_concentration = proj[4]
    rec.p_sector = proj[5]
    rec.p_var95 = proj[6]
    rec.cash_needed = cash_needed
