"""Entry candidates: one unit of a template built and priced into the per-unit columns ``U_*``.

Also the strategy's Kelly inputs from its closed-trade statistics and the stable ordering of a
bar's candidates by confidence.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.codes import (
    KIND_SHARES,
    PP_STOP_DISTANCE,
    T_DIRECTION,
    T_DTE_DAYS,
    T_KIND,
)
from dollarbill_research.kernels.instruments_nb import (
    build_legs_nb,
    costs_nb,
    price_legs_nb,
    unit_quantities_nb,
)
from dollarbill_research.kernels.records import (
    BP_DIVIDEND_YIELD,
    BP_DTE_DAYS,
    BP_RISK_FREE_RATE,
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


@jit_inner
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
    legs2 = legs.reshape((1, legs.shape[0]))  # the row form the pricing kernels take
    value, delta, abs_delta, gamma, vega, theta = price_legs_nb(
        legs2, np.int64(0), n_legs, s, t_years, r, q, sigma
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
    u[U_COST1] = costs_nb(legs2, np.int64(0), n_legs, 1.0, sigma, bp)
    u[U_DEFINED] = 1.0 if defined else 0.0
    return n_legs


@jit_inner
def kelly_inputs_nb(stats: np.ndarray, s: int) -> tuple[float, float, int]:
    """Win rate, payoff ratio and closed trades of strategy ``s`` (Kelly sizing inputs)."""
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


@jit_inner
def stable_argsort_nb(keys: np.ndarray) -> np.ndarray:
    """Indices that sort ``keys`` ascending, ties in index order (a stable merge sort).

    The permutation of ``np.argsort(keys, kind="mergesort")`` for keys without NaN.
    """
    n = keys.shape[0]
    order = np.arange(n)
    tmp = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            a = lo
            b = mid
            o = lo
            while a < mid and b < hi:
                if keys[order[b]] < keys[order[a]]:
                    tmp[o] = order[b]
                    b += 1
                else:
                    tmp[o] = order[a]
                    a += 1
                o += 1
            while a < mid:
                tmp[o] = order[a]
                a += 1
                o += 1
            while b < hi:
                tmp[o] = order[b]
                b += 1
                o += 1
            lo = hi
        order, tmp = tmp, order
        width *= 2
    return order
