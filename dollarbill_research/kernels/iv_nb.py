"""Implied volatility of European options: bracketed Newton on the log of the OTM price.

Method. A price is first checked against the no-arbitrage bounds (lower: discounted forward
intrinsic ``max(±(s e^{-qt} - k e^{-rt}), 0)``; upper: ``s e^{-qt}`` for calls, ``k e^{-rt}``
for puts). An in-the-money price is turned into the out-of-the-money price of the same strike
by put–call parity (this subtraction is where deep in-the-money quotes lose their information:
the time value must stand above the rounding of the intrinsic value). The solver then runs
Newton on ``f(σ) = ln P_otm(σ) - ln P*``: for an out-of-the-money option ``ln P`` is increasing
and concave in ``σ``, so Newton converges monotonically from the left and works in relative
price terms, which keeps far out-of-the-money quotes (prices of 1e-200 included) solvable to
full precision. A bracket ``[lo, hi]`` is kept from the sign of ``f`` at every iterate; any step
that leaves the bracket (or meets an underflowed price) is replaced by bisection (geometric
once both ends are positive), so the solver cannot diverge.

Returns ``NaN`` for ``t <= 0``, NaN inputs, a price below the lower bound or at/above the upper
bound (σ = ∞). A price equal to the lower bound returns ``0.0`` (the ``sigma <= 0`` limit of
:func:`bs_price_nb`). Units: ``σ`` annualised decimal, ``t`` in years, ``r``/``q`` continuous.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from dollarbill_research.kernels._jit import jit, jit_inner, jit_parallel
from dollarbill_research.kernels.pricing_nb import INV_SQRT2, INV_SQRT_2PI

IV_MAX_ITER = 100
IV_REL_TOL = 4.0e-16  # stop when a Newton step moves sigma by less than this (relative)
IV_SIGMA_START_MAX = 10.0


@jit_inner
def _otm_price_vega(
    otm_call: bool, s_dq: float, k_dr: float, ln_fk: float, sqrt_t: float, sigma: float
) -> tuple[float, float]:
    """Out-of-the-money price and ``dP/dσ`` (per unit σ, not per point)."""
    vol_t = sigma * sqrt_t
    d1 = ln_fk / vol_t + 0.5 * vol_t
    d2 = d1 - vol_t
    sign = 1.0 if otm_call else -1.0
    nd1 = 0.5 * math.erfc(-sign * d1 * INV_SQRT2)
    nd2 = 0.5 * math.erfc(-sign * d2 * INV_SQRT2)
    price = sign * (s_dq * nd1 - k_dr * nd2)
    vega = s_dq * INV_SQRT_2PI * math.exp(-0.5 * d1 * d1) * sqrt_t
    return price, vega


@jit
def implied_vol_nb(
    is_call: bool, price: float, s: float, k: float, t: float, r: float, q: float
) -> float:
    """Black–Scholes–Merton implied volatility of one European option (see module docstring)."""
    if not (t > 0.0) or math.isnan(price + s + k + r + q):
        return np.nan
    s_dq = s * math.exp(-q * t)
    k_dr = k * math.exp(-r * t)
    fwd_intr = s_dq - k_dr
    if is_call:
        lower = max(fwd_intr, 0.0)
        upper = s_dq
    else:
        lower = max(-fwd_intr, 0.0)
        upper = k_dr
    if not (price >= lower and price < upper):
        return np.nan
    otm_call = fwd_intr <= 0.0
    target = price if is_call == otm_call else price - abs(fwd_intr)
    if target <= 0.0:
        return 0.0
    ln_fk = math.log(s_dq / k_dr)
    sqrt_t = math.sqrt(t)
    ln_target = math.log(target)
    # Start: the larger of the inflection point sqrt(2|ln F/K| / t) (where vega peaks) and
    # the at-the-money (Brenner–Subrahmanyam) estimate; both err to the right of the root for
    # far out-of-the-money quotes, from where the first Newton step is safe.
    sigma = max(
        math.sqrt(2.0 * abs(ln_fk)) / sqrt_t,
        math.sqrt(2.0 * math.pi) * target / (math.sqrt(s_dq * k_dr) * sqrt_t),
    )
    sigma = min(max(sigma, 1e-3), IV_SIGMA_START_MAX)
    lo = 0.0
    hi = np.inf
    for _ in range(IV_MAX_ITER):
        p, v = _otm_price_vega(otm_call, s_dq, k_dr, ln_fk, sqrt_t, sigma)
        if p > target:
            hi = sigma
        elif p < target:
            lo = sigma
        else:
            return sigma
        if p > 0.0 and v > 0.0:
            step = (math.log(p) - ln_target) * p / v
            nxt = sigma - step
        else:
            nxt = -1.0  # underflowed price: force the bisection below
        if not (lo < nxt < hi):
            if hi == np.inf:
                nxt = 2.0 * sigma
            elif lo > 0.0:
                nxt = math.sqrt(lo * hi)
            else:
                nxt = 0.5 * hi
            if hi < np.inf and hi - lo <= IV_REL_TOL * hi:
                return sigma
        elif abs(nxt - sigma) <= IV_REL_TOL * nxt:
            return nxt
        sigma = nxt
    return sigma


@jit
def implied_vol_vec_nb(
    is_call: np.ndarray,
    price: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    out: np.ndarray,
) -> None:
    """Implied vols of ``n`` options into ``out`` (all arrays shape ``(n,)``); serial loop."""
    for i in range(out.shape[0]):
        out[i] = implied_vol_nb(is_call[i], price[i], s[i], k[i], t[i], r[i], q[i])


@jit_parallel
def implied_vol_vec_par_nb(
    is_call: np.ndarray,
    price: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    out: np.ndarray,
) -> None:
    """Threaded twin of :func:`implied_vol_vec_nb` (``prange`` over options)."""
    for i in prange(out.shape[0]):
        out[i] = implied_vol_nb(is_call[i], price[i], s[i], k[i], t[i], r[i], q[i])
