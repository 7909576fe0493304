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
    T_DIRECTION,
    T_DTE_DAYS,
    T_KIND,
)
from dollarbill_research.kernels.instruments_nb import (
    build_legs_nb,
    costs_nb,
    price_legs_nb,
    unit_liquidity_nb,
    unit_quantities_nb,
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
U_NOTIONAL = 13  # underlying notional of one unit (liquidity cap), dollars
U_CONTRACTS = 14  # option contracts in one unit (liquidity cap)
U_LEN = 15


@jit_inner
def candidate_nb(
    template: np.ndarray,
    s: float,
    sigma: float,
    day: float,
    params: np.record,
    cand_legs: np.ndarray,
    row: int,
    u: np.ndarray,
) -> int:
    """Build and price one unit of ``template`` into ``cand_legs[row]``; fill ``u`` (``U_*``).

    Returns the leg count. ``u[U_COST]`` is NaN when the candidate cannot be priced (no usable
    spot, or an option without a usable volatility). The legs are a row of the 2-D leg array
    (the pricing kernels take a row index: no reshaped view per candidate).
    """
    kind = int(template[T_KIND])
    is_shares = kind == KIND_SHARES
    sigma_ok = math.isfinite(sigma) and sigma > 0.0
    if not (math.isfinite(s) and s > 0.0) or not (is_shares or sigma_ok):
        u[:] = np.nan
        return 0
    if not sigma_ok:
        sigma = 0.0
    dte = template[T_DTE_DAYS] if template[T_DTE_DAYS] > 0.0 else params.days_to_expiry
    t_years = dte / 365.0
    r = params.risk_free_rate
    q = params.dividend_yield
    legs = cand_legs[row]
    n_legs = build_legs_nb(template, s, t_years, r, q, sigma, legs)
    value, delta, abs_delta, gamma, vega, theta = price_legs_nb(
        cand_legs, row, n_legs, s, t_years, r, q, sigma
    )
    direction = 1.0 if template[T_DIRECTION] >= 0.0 else -1.0
    cost, max_loss, defined = unit_quantities_nb(
        kind, direction, legs, n_legs, s, value, params.stop_distance
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
    u[U_COST1] = costs_nb(cand_legs, row, n_legs, 1.0, sigma, params)
    u[U_DEFINED] = 1.0 if defined else 0.0
    u[U_NOTIONAL], u[U_CONTRACTS] = unit_liquidity_nb(legs, n_legs, s)
    return n_legs


@jit_inner
def kelly_inputs_nb(stats: np.ndarray, s: int, params: np.record) -> tuple[float, float, int]:
    """Kelly's win rate, payoff ratio and closed-trade count for strategy ``s``.

    Over the last ``w = min(closed trades, kelly_window)`` trades' returns on max loss
    ``r = pnl / (unit max loss x qty)``: ``p = wins / w`` and ``b = mean(r | r > 0) /
    mean(-r | r <= 0)`` (``inf`` without a losing trade, 0 without a winning one). The win rate
    returned is shrunk toward the break-even rate ``p0 = 1 / (1 + b)`` by ``n0 =
    kelly_shrinkage_trades`` pseudo-trades, ``p_s = (w p + n0 p0) / (w + n0)``, which scales the
    Kelly edge ``p - (1 - p) / b`` by ``w / (w + n0)`` (docs/risk-model.md, "Kelly").
    """
    st = stats[s]
    n = st.n_closed
    size = st.k_ret.shape[0]
    w = min(st.k_n, int(params.kelly_window))
    if w <= 0:
        return 0.0, 0.0, n
    n_win = 0
    sum_win = 0.0
    sum_loss = 0.0
    for i in range(w):
        r = st.k_ret[(st.k_head - 1 - i) % size]
        if r > 0.0:
            n_win += 1
            sum_win += r
        else:
            sum_loss -= r
    p = n_win / w
    if n_win == 0:
        return p, 0.0, n
    n_loss = w - n_win
    if n_loss == 0 or sum_loss <= 0.0:
        b = np.inf
        p0 = 0.0
    else:
        b = (sum_win / n_win) / (sum_loss / n_loss)
        p0 = 1.0 / (1.0 + b)
    n0 = params.kelly_shrinkage_trades
    return (w * p + n0 * p0) / (w + n0), b, n


@jit_inner
def stable_argsort_into_nb(keys: np.ndarray, order: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Indices that sort ``keys`` ascending, ties in index order (a stable merge sort).

    The permutation of ``np.argsort(keys, kind="mergesort")`` for keys without NaN, built in
    two int64 buffers of ``keys``' length; returns the buffer that holds it (either one).
    """
    n = keys.shape[0]
    for i in range(n):
        order[i] = i
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
