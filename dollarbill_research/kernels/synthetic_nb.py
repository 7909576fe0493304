"""Numba kernel of the synthetic universe's path simulation (numpy + math only).

All randomness is drawn beforehand by numpy's PCG64 generators
(:mod:`dollarbill_research.data.synthetic`); this kernel only runs the recursions, so the
paths are a pure function of the draws. The model is described in that module's docstring.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research._typing import FloatArray, IntArray
from dollarbill_research.kernels._jit import jit

__all__ = ["market_regimes_nb", "simulate_paths_nb"]

# draw layout: normals[i, t, :] and uniforms[i, t, :]
N_IDIO, N_BRIDGE, N_VOLSHOCK, N_JUMP, N_VOLUME, N_IV = 0, 1, 2, 3, 4, 5
N_NORMALS = 6
U_HIGH, U_LOW, U_JUMP = 0, 1, 2
N_UNIFORMS = 3

# model constants (see synthetic.py for their meaning)
DT = 1.0 / 252.0
P_CALM_TO_STRESS = 0.01
P_STRESS_TO_CALM = 0.05
REGIME_MULT = (0.8, 1.6)
LOADING_MARKET = 0.5
LOADING_SECTOR = 0.4
VOL_OF_LOGVOL = 0.3
LOGVOL_HALF_LIFE = 30.0
LEVERAGE = -0.5
JUMP_RATE = 4.0  # per year
JUMP_VAR_SHARE = 0.1  # share of total variance from jumps
JUMP_MEAN = -0.0707  # times base vol
JUMP_STD = 0.1414  # times base vol
OVERNIGHT_SHARE = 0.25
IV_HORIZON = 21.0
IV_NOISE = 0.08
VOLUME_NOISE = 0.35


@jit
def market_regimes_nb(uniforms: FloatArray) -> IntArray:
    """Two-state Markov chain (0 calm, 1 stress) driven by one uniform per bar; starts calm."""
    n = uniforms.shape[0]
    out = np.zeros(n, dtype=np.int64)
    state = 0
    for t in range(n):
        u = uniforms[t]
        if state == 0 and u < P_CALM_TO_STRESS:
            state = 1
        elif state == 1 and u < P_STRESS_TO_CALM:
            state = 0
        out[t] = state
    return out


@jit
def simulate_paths_nb(
    profile: tuple,
    regime: IntArray,
    z_market: FloatArray,
    z_sector: FloatArray,
    normals: FloatArray,
    uniforms: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Simulate OHLC, volume and iv for every symbol.

    Parameters
    ----------
    profile : tuple
        Per symbol: ``(base_vol, drift, vrp, base_volume, start_price, sector)``, float64
        ``(n_symbols,)`` annualised vol level, annual drift, implied-vol premium (fraction),
        typical shares per bar, first reference close, and int64 ``(n_symbols,)`` row of
        ``z_sector`` each symbol loads on.
    regime : numpy.ndarray
        int64 ``(n_bars,)`` market regime (0 calm, 1 stress).
    z_market : numpy.ndarray
        float64 ``(n_bars,)`` standard normal market shocks.
    z_sector : numpy.ndarray
        float64 ``(n_sectors, n_bars)`` standard normal sector shocks.
    normals, uniforms : numpy.ndarray
        float64 ``(n_symbols, n_bars, N_NORMALS)`` and ``(n_symbols, n_bars, N_UNIFORMS)``.

    Returns
    -------
    tuple of numpy.ndarray
        ``open, high, low, close, volume, iv``, each float64 ``(n_symbols, n_bars)``.
    """
    base_vol, drift, vrp, base_volume, start_price, sector = profile
    n_sym, n_bars = normals.shape[0], normals.shape[1]
    o = np.empty((n_sym, n_bars))
    h = np.empty((n_sym, n_bars))
    lo = np.empty((n_sym, n_bars))
    c = np.empty((n_sym, n_bars))
    vol = np.empty((n_sym, n_bars))
    iv = np.empty((n_sym, n_bars))
    sqdt = math.sqrt(DT)
    loading_idio = math.sqrt(1.0 - LOADING_MARKET**2 - LOADING_SECTOR**2)
    phi = 0.5 ** (1.0 / LOGVOL_HALF_LIFE)
    innov = VOL_OF_LOGVOL * math.sqrt(1.0 - phi * phi)
    lev_other = math.sqrt(1.0 - LEVERAGE * LEVERAGE)
    x_shift = VOL_OF_LOGVOL * VOL_OF_LOGVOL  # E[exp(2x - 2 s^2)] = 1 for x ~ N(0, s^2)
    diff_share = math.sqrt(1.0 - JUMP_VAR_SHARE)
    p_jump = JUMP_RATE * DT
    f = OVERNIGHT_SHARE
    bridge = math.sqrt(f * (1.0 - f) * DT)
    decay = (1.0 - phi**IV_HORIZON) / (IV_HORIZON * (1.0 - phi))
    for i in range(n_sym):
        sig0 = base_vol[i]
        x = 0.0  # log-vol starts at its mean
        prev = start_price[i]
        for t in range(n_bars):
            mult = REGIME_MULT[regime[t]]
            sigma = sig0 * mult * math.exp(x - x_shift) * diff_share
            z = (
                LOADING_MARKET * z_market[t]
                + LOADING_SECTOR * z_sector[sector[i], t]
                + loading_idio * normals[i, t, N_IDIO]
            )
            w_full = sqdt * z
            w_open = f * w_full + bridge * normals[i, t, N_BRIDGE]
            gap = sigma * w_open
            if uniforms[i, t, U_JUMP] < p_jump:
                gap += sig0 * (JUMP_MEAN + JUMP_STD * normals[i, t, N_JUMP])
            day = sigma * (w_full - w_open) + (drift[i] - 0.5 * sigma * sigma) * DT
            op = prev * math.exp(gap)
            cl = op * math.exp(day)
            v = sigma * sigma * DT * (1.0 - f)
            up = 0.5 * (
                day + math.sqrt(day * day - 2.0 * v * math.log(1.0 - uniforms[i, t, U_HIGH]))
            )
            dn = 0.5 * (
                day - math.sqrt(day * day - 2.0 * v * math.log(1.0 - uniforms[i, t, U_LOW]))
            )
            o[i, t] = op
            c[i, t] = cl
            h[i, t] = op * math.exp(max(up, day, 0.0))
            lo[i, t] = op * math.exp(min(dn, day, 0.0))
            move = abs(gap + day) / (sig0 * sqdt)
            raw = base_volume[i] * mult * (0.6 + 0.4 * move)
            raw *= math.exp(VOLUME_NOISE * normals[i, t, N_VOLUME] - 0.5 * VOLUME_NOISE**2)
            vol[i, t] = math.floor(raw + 0.5)
            # log-vol update (leverage: shocks correlated with today's return shock)
            shock = LEVERAGE * z + lev_other * normals[i, t, N_VOLSHOCK]
            x = phi * x + innov * shock
            # iv: mean-reverting forecast of the next IV_HORIZON bars' variance, plus premium
            nxt = sig0 * mult * math.exp(x - x_shift)
            fvar = (1.0 - JUMP_VAR_SHARE) * (decay * nxt * nxt + (1.0 - decay) * sig0 * sig0)
            fvar += JUMP_VAR_SHARE * sig0 * sig0
            noise = math.exp(IV_NOISE * normals[i, t, N_IV] - 0.5 * IV_NOISE**2)
            iv[i, t] = math.sqrt(fvar) * (1.0 + vrp[i]) * noise
            prev = cl
    return o, h, lo, c, vol, iv
