"""Black–Scholes–Merton kernels with a continuous dividend yield.

Units (the py_vollib convention): ``vega`` per 1 vol point (0.01), ``theta`` per calendar day
(annual theta / 365), ``rho`` per 1 rate point (0.01). Inputs: spot ``s`` and strike ``k`` in
dollars, time ``t`` in years, ``r`` and ``q`` continuously compounded decimals, ``sigma``
annualised decimal. The normal CDF is exact (``erfc``), not a polynomial approximation.

Edge cases (no NaN leaks for finite inputs):
* ``t <= 0``: intrinsic value; delta is the step (call 1 if s > k else 0, put -1 if s < k
  else 0); gamma, vega, theta, rho are 0.
* ``sigma <= 0`` (and ``t > 0``): the forward-intrinsic limit, discounted:
  call ``max(s e^{-qt} - k e^{-rt}, 0)``; delta ``e^{-qt}`` when in the money; theta and rho
  are those of the discounted intrinsic; gamma and vega are 0.
"""

from __future__ import annotations

import math

from dollarbill_research.kernels._jit import jit

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0


@jit
def norm_cdf_nb(x: float) -> float:
    """Standard normal CDF, exact to double precision via ``erfc``."""
    return 0.5 * math.erfc(-x / SQRT2)


@jit
def norm_pdf_nb(x: float) -> float:
    """Standard normal density."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@jit
def bs_greeks_nb(
    is_call: bool, s: float, k: float, t: float, r: float, q: float, sigma: float
) -> tuple[float, float, float, float, float, float]:
    """Price and Greeks of one European option.

    Returns
    -------
    tuple
        ``(price, delta, gamma, vega, theta, rho)``: price in dollars per share of underlying,
        vega per vol point, theta per calendar day, rho per rate point.
    """
    if t <= 0.0:
        if is_call:
            price = max(s - k, 0.0)
            delta = 1.0 if s > k else 0.0
        else:
            price = max(k - s, 0.0)
            delta = -1.0 if s < k else 0.0
        return price, delta, 0.0, 0.0, 0.0, 0.0
    dq = math.exp(-q * t)
    dr = math.exp(-r * t)
    if sigma <= 0.0:
        fwd = s * dq - k * dr
        if is_call:
            if fwd > 0.0:
                return fwd, dq, 0.0, 0.0, (q * s * dq - r * k * dr) / DAYS_PER_YEAR, k * t * dr * 0.01
            return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        if fwd < 0.0:
            return -fwd, -dq, 0.0, 0.0, (r * k * dr - q * s * dq) / DAYS_PER_YEAR, -k * t * dr * 0.01
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    sqrt_t = math.sqrt(t)
    vol_t = sigma * sqrt_t
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_t
    d2 = d1 - vol_t
    pdf1 = norm_pdf_nb(d1)
    gamma = dq * pdf1 / (s * vol_t)
    vega = s * dq * pdf1 * sqrt_t * 0.01
    decay = -s * dq * pdf1 * sigma / (2.0 * sqrt_t)
    if is_call:
        nd1 = norm_cdf_nb(d1)
        nd2 = norm_cdf_nb(d2)
        price = s * dq * nd1 - k * dr * nd2
        delta = dq * nd1
        theta = decay - r * k * dr * nd2 + q * s * dq * nd1
        rho = k * t * dr * nd2 * 0.01
    else:
        nmd1 = norm_cdf_nb(-d1)
        nmd2 = norm_cdf_nb(-d2)
        price = k * dr * nmd2 - s * dq * nmd1
        delta = -dq * nmd1
        theta = decay + r * k * dr * nmd2 - q * s * dq * nmd1
        rho = -k * t * dr * nmd2 * 0.01
    return price, delta, gamma, vega, theta / DAYS_PER_YEAR, rho


@jit
def bs_price_nb(is_call: bool, s: float, k: float, t: float, r: float, q: float, sigma: float) -> float:
    """Price of one European option (dollars per share of underlying); see :func:`bs_greeks_nb`."""
    if t <= 0.0:
        return max(s - k, 0.0) if is_call else max(k - s, 0.0)
    dq = math.exp(-q * t)
    dr = math.exp(-r * t)
    if sigma <= 0.0:
        fwd = s * dq - k * dr
        return max(fwd, 0.0) if is_call else max(-fwd, 0.0)
    vol_t = sigma * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_t
    d2 = d1 - vol_t
    if is_call:
        return s * dq * norm_cdf_nb(d1) - k * dr * norm_cdf_nb(d2)
    return k * dr * norm_cdf_nb(-d2) - s * dq * norm_cdf_nb(-d1)
