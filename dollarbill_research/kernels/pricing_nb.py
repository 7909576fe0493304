"""Black–Scholes–Merton kernels with a continuous dividend yield.

Units (the py_vollib convention): ``vega`` per 1 vol point (0.01), ``theta`` per calendar day
(annual theta / 365), ``rho`` per 1 rate point (0.01). Inputs: spot ``s`` and strike ``k`` in
dollars, time ``t`` in years, ``r`` and ``q`` continuously compounded decimals, ``sigma``
annualised decimal. The normal CDF is exact (``erfc``), not a polynomial approximation.

Edge cases (no NaN leaks for finite inputs with ``s > 0`` and ``k > 0``):

* ``t <= 0``: intrinsic value; delta is the step (call 1 if s > k else 0, put -1 if s < k
  else 0); gamma, vega, theta, rho are 0.
* ``sigma <= 0`` (or ``sigma * sqrt(t)`` underflowing to 0) with ``t > 0``: the
  forward-intrinsic limit, discounted: call ``max(s e^{-qt} - k e^{-rt}, 0)``; delta ``e^{-qt}``
  when in the money; theta and rho are those of the discounted intrinsic; gamma and vega are 0.

A NaN in any input gives NaN outputs (for ``t`` NaN and ``sigma`` NaN alike).

Layout: scalar kernels (``bs_greeks_nb``, ``bs_price_nb``) are the unit; the ``*_vec_nb``
kernels loop them over flat, equally long, C-contiguous float64 arrays and write into
preallocated outputs; the ``*_vec_par_nb`` twins split that loop over threads (``prange``).
``is_call`` arrays are ``np.bool_`` (``int8`` works too but compiles a second signature).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from dollarbill_research.kernels._jit import jit, jit_parallel

SQRT2 = math.sqrt(2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0
POINT = 0.01  # one vol point / one rate point


@jit
def norm_cdf_nb(x: float) -> float:
    """Standard normal CDF, exact to double precision via ``erfc``."""
    return 0.5 * math.erfc(-x * INV_SQRT2)


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
        delta per dollar of spot, gamma per dollar squared, vega per vol point, theta per
        calendar day, rho per rate point.
    """
    if t <= 0.0:
        if is_call:
            return max(s - k, 0.0), 1.0 if s > k else 0.0, 0.0, 0.0, 0.0, 0.0
        return max(k - s, 0.0), -1.0 if s < k else 0.0, 0.0, 0.0, 0.0, 0.0
    dq = 1.0 if q == 0.0 else math.exp(-q * t)
    dr = 1.0 if r == 0.0 else math.exp(-r * t)
    sqrt_t = math.sqrt(t)
    vol_t = sigma * sqrt_t
    sign = 1.0 if is_call else -1.0
    if vol_t <= 0.0:
        fwd = sign * (s * dq - k * dr)
        if fwd > 0.0:
            theta = sign * (q * s * dq - r * k * dr) / DAYS_PER_YEAR
            return fwd, sign * dq, 0.0, 0.0, theta, sign * k * t * dr * POINT
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_t
    d2 = d1 - vol_t
    s_dq = s * dq
    k_dr = k * dr
    pdf_s = s_dq * INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)  # s e^{-qt} phi(d1)
    nd1 = 0.5 * math.erfc(-sign * d1 * INV_SQRT2)  # N(sign d1)
    nd2 = 0.5 * math.erfc(-sign * d2 * INV_SQRT2)  # N(sign d2)
    price = sign * (s_dq * nd1 - k_dr * nd2)
    delta = sign * dq * nd1
    gamma = pdf_s / (s * s * vol_t)
    vega = pdf_s * sqrt_t * POINT
    theta = -pdf_s * sigma / (2.0 * sqrt_t) + sign * (q * s_dq * nd1 - r * k_dr * nd2)
    rho = sign * k_dr * t * nd2 * POINT
    return price, delta, gamma, vega, theta / DAYS_PER_YEAR, rho


@jit
def bs_price_nb(
    is_call: bool, s: float, k: float, t: float, r: float, q: float, sigma: float
) -> float:
    """Price of one European option (dollars per share of underlying); see :func:`bs_greeks_nb`."""
    if t <= 0.0:
        return max(s - k, 0.0) if is_call else max(k - s, 0.0)
    dq = 1.0 if q == 0.0 else math.exp(-q * t)
    dr = 1.0 if r == 0.0 else math.exp(-r * t)
    vol_t = sigma * math.sqrt(t)
    sign = 1.0 if is_call else -1.0
    if vol_t <= 0.0:
        return max(sign * (s * dq - k * dr), 0.0)
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_t
    d2 = d1 - vol_t
    nd1 = 0.5 * math.erfc(-sign * d1 * INV_SQRT2)
    nd2 = 0.5 * math.erfc(-sign * d2 * INV_SQRT2)
    return sign * (s * dq * nd1 - k * dr * nd2)


@jit
def bs_price_vec_nb(
    is_call: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    out: np.ndarray,
) -> None:
    """Prices of ``n`` options into ``out`` (all arrays shape ``(n,)``); serial loop."""
    for i in range(out.shape[0]):
        out[i] = bs_price_nb(is_call[i], s[i], k[i], t[i], r[i], q[i], sigma[i])


@jit_parallel
def bs_price_vec_par_nb(
    is_call: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    out: np.ndarray,
) -> None:
    """Threaded twin of :func:`bs_price_vec_nb` (``prange`` over options)."""
    for i in prange(out.shape[0]):
        out[i] = bs_price_nb(is_call[i], s[i], k[i], t[i], r[i], q[i], sigma[i])


@jit
def bs_greeks_vec_nb(
    is_call: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    out: np.ndarray,
) -> None:
    """Price and five Greeks of ``n`` options into the six output arrays; serial loop.

    ``out`` float64 ``(6, n)`` receives the rows price, delta, gamma, vega, theta, rho; the
    inputs have shape ``(n,)``; units as in :func:`bs_greeks_nb`.
    """
    for i in range(out.shape[1]):
        out[:, i] = bs_greeks_nb(is_call[i], s[i], k[i], t[i], r[i], q[i], sigma[i])


@jit_parallel
def bs_greeks_vec_par_nb(
    is_call: np.ndarray,
    s: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    sigma: np.ndarray,
    out: np.ndarray,
) -> None:
    """Threaded twin of :func:`bs_greeks_vec_nb` (``prange`` over options)."""
    for i in prange(out.shape[1]):
        out[:, i] = bs_greeks_nb(is_call[i], s[i], k[i], t[i], r[i], q[i], sigma[i])
