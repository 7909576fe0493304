"""Instrument templates -> legs, leg pricing and the per-unit candidate quantities.

A position is one unit count ``qty`` of a set of legs. Each leg has a type (``LEG_STOCK``,
``LEG_CALL``, ``LEG_PUT``), a strike and a signed ratio (+1 long, -1 short); option legs carry the
multiplier 100, stock legs 1. The per-unit value ``V = sum(ratio x mult x price)`` is signed
(a credit structure has ``V < 0``); its Greeks are the sums over legs.

Geometry (``S`` = underlying close; see ``codes``): strikes come from the template's moneyness,
width and wing (fractions of ``S``) or, when ``T_DELTA_TARGET > 0``, from the strike whose
``|delta|`` equals the target; every strike is rounded to the strike grid ``T_STRIKE_STEP``
(0 = automatic: 0.5 below $25, 1 below $200, 5 below $1000, else 10). A long wing that rounds onto
its short strike is moved one grid step further out of the money.

Per-unit quantities follow docs/architecture.md; ``unit_cost`` is also the free cash one unit
needs: a long pays ``V``; a short or credit position receives ``-V`` and has
``unit_cost - V`` dollars reserved while open.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import (
    KIND_CALL,
    KIND_CALL_CREDIT_SPREAD,
    KIND_CASH_SECURED_PUT,
    KIND_IRON_BUTTERFLY,
    KIND_PUT,
    KIND_PUT_CREDIT_SPREAD,
    KIND_SHARES,
    KIND_STRADDLE,
    KIND_STRANGLE,
    LEG_CALL,
    LEG_PUT,
    LEG_STOCK,
    OPTION_MULTIPLIER,
    T_DELTA_TARGET,
    T_DIRECTION,
    T_KIND,
    T_MONEYNESS,
    T_STRIKE_STEP,
    T_WIDTH,
    T_WING,
)
from dollarbill_research.kernels.pricing_nb import bs_greeks_nb


@jit
def strike_step_nb(s: float, step: float) -> float:
    """Strike grid in dollars: ``step`` when positive, else automatic by price level."""
    if step > 0.0:
        return step
    if s < 25.0:
        return 0.5
    if s < 200.0:
        return 1.0
    if s < 1000.0:
        return 5.0
    return 10.0


@jit_inner
def round_strike_nb(k: float, step: float) -> float:
    """Nearest grid strike (half away from zero), at least one grid step."""
    return max(math.floor(k / step + 0.5) * step, step)


@jit_inner
def strike_for_delta_nb(
    is_call: bool, target: float, s: float, t: float, r: float, q: float, sigma: float
) -> float:
    """Strike whose ``|delta|`` equals ``target`` (bisection on ``[0.2 S, 5 S]``, 60 steps)."""
    lo = 0.2 * s
    hi = 5.0 * s
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        d = abs(bs_greeks_nb(is_call, s, mid, t, r, q, sigma)[1])
        # call |delta| falls with the strike, put |delta| rises
        if (d > target) == is_call:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@jit_inner
def _set_leg(legs: np.ndarray, i: int, leg_type: int, strike: float, ratio: float) -> None:
    legs[i].type = leg_type
    legs[i].strike = strike
    legs[i].ratio = ratio
    legs[i].price = 0.0


@jit_inner
def build_legs_nb(
    template: np.ndarray,
    s: float,
    t: float,
    r: float,
    q: float,
    sigma: float,
    legs: np.ndarray,
) -> int:
    """Write the legs of one unit of ``template`` into ``legs`` (``LEG_DTYPE (MAX_LEGS,)``).

    Parameters
    ----------
    template : numpy.ndarray
        float64 ``(TEMPLATE_LEN,)``.
    s : float
        Underlying close (dollars).
    t, r, q, sigma : float
        Years to expiry, rate, dividend yield, volatility (used only for delta-targeted strikes).
    legs : numpy.ndarray
        Output row of ``LEG_DTYPE``.

    Returns
    -------
    int
        Number of legs written (1 to 4).
    """
    kind = int(template[T_KIND])
    d = 1.0 if template[T_DIRECTION] >= 0.0 else -1.0
    step = strike_step_nb(s, template[T_STRIKE_STEP])
    m = template[T_MONEYNESS] if template[T_MONEYNESS] > 0.0 else 1.0
    width = template[T_WIDTH]
    wing = template[T_WING] if template[T_WING] > 0.0 else 0.05
    dt = template[T_DELTA_TARGET]
    # typed (not literal) ints and bools: a literal argument compiles one more specialization
    i0, i1, i2, i3 = np.int64(0), np.int64(1), np.int64(2), np.int64(3)
    put, call = np.int64(LEG_PUT), np.int64(LEG_CALL)
    if kind == KIND_SHARES:
        _set_leg(legs, i0, np.int64(LEG_STOCK), 0.0, d)
        return 1
    k_mid = round_strike_nb(m * s, step)
    if kind in (KIND_CALL, KIND_PUT, KIND_CASH_SECURED_PUT):
        is_call = kind == KIND_CALL
        k = k_mid
        if dt > 0.0:
            k = round_strike_nb(strike_for_delta_nb(is_call, dt, s, t, r, q, sigma), step)
        ratio = -1.0 if kind == KIND_CASH_SECURED_PUT else d
        _set_leg(legs, i0, call if is_call else put, k, ratio)
        return 1
    if kind == KIND_STRADDLE:
        _set_leg(legs, i0, call, k_mid, d)
        _set_leg(legs, i1, put, k_mid, d)
        return 2
    # short strikes of strangles and credit structures
    k_sp = round_strike_nb((m - width) * s, step)
    k_sc = round_strike_nb((m + width) * s, step)
    if dt > 0.0:
        no = dt < 0.0  # False as a typed bool
        k_sp = round_strike_nb(strike_for_delta_nb(no, dt, s, t, r, q, sigma), step)
        k_sc = round_strike_nb(strike_for_delta_nb(not no, dt, s, t, r, q, sigma), step)
    if kind == KIND_IRON_BUTTERFLY:
        k_sp = k_mid
        k_sc = k_mid
    k_lp = round_strike_nb(k_sp - wing * s, step)
    if k_lp >= k_sp:
        k_lp = k_sp - step
    k_lp = max(k_lp, 0.5 * step)
    k_lc = round_strike_nb(k_sc + wing * s, step)
    if k_lc <= k_sc:
        k_lc = k_sc + step
    if kind == KIND_STRANGLE:
        _set_leg(legs, i0, put, k_sp, d)
        _set_leg(legs, i1, call, k_sc, d)
        return 2
    if kind == KIND_PUT_CREDIT_SPREAD:
        _set_leg(legs, i0, put, k_sp, -d)
        _set_leg(legs, i1, put, k_lp, d)
        return 2
    if kind == KIND_CALL_CREDIT_SPREAD:
        _set_leg(legs, i0, call, k_sc, -d)
        _set_leg(legs, i1, call, k_lc, d)
        return 2
    # iron condor / iron butterfly
    _set_leg(legs, i0, put, k_sp, -d)
    _set_leg(legs, i1, put, k_lp, d)
    _set_leg(legs, i2, call, k_sc, -d)
    _set_leg(legs, i3, call, k_lc, d)
    return 4


@jit_inner
def price_legs_nb(
    legs: np.ndarray, row: int, n_legs: int, s: float, t: float, r: float, q: float, sigma: float
) -> tuple[float, float, float, float, float, float]:
    """Mark one unit of the legs in ``legs[row, :n_legs]``: update each leg's ``price``.

    ``legs`` is a 2-D leg array (``(n_slots, MAX_LEGS)``); a row index instead of a row view
    keeps the per-position mark free of array reference counting.

    Returns
    -------
    tuple
        ``(value, delta_sh, abs_delta_sh, gamma_sh, vega_pt, theta_day)``: signed dollar value
        of one unit; net delta in share equivalents; sum of |leg delta| in share equivalents;
        gamma in share equivalents per dollar; vega in dollars per vol point; theta in dollars
        per calendar day.
    """
    value = 0.0
    delta = 0.0
    abs_delta = 0.0
    gamma = 0.0
    vega = 0.0
    theta = 0.0
    for i in range(n_legs):
        leg = legs[row, i]
        ratio = leg.ratio
        if leg.type == LEG_STOCK:
            leg.price = s
            value += ratio * s
            delta += ratio
            abs_delta += abs(ratio)
            continue
        g = bs_greeks_nb(leg.type == LEG_CALL, s, leg.strike, t, r, q, sigma)
        leg.price = g[0]
        w = ratio * OPTION_MULTIPLIER
        value += w * g[0]
        delta += w * g[1]
        abs_delta += abs(w * g[1])
        gamma += w * g[2]
        vega += w * g[3]
        theta += w * g[4]
    return value, delta, abs_delta, gamma, vega, theta


@jit_inner
def intrinsic_legs_nb(legs: np.ndarray, row: int, n_legs: int, s: float) -> float:
    """Settle one unit of ``legs[row, :n_legs]`` at spot ``s``: leg prices become intrinsic.

    Returns the signed dollar value of one unit at expiry (calls ``max(s - K, 0)``, puts
    ``max(K - s, 0)``, times ratio and multiplier; stock legs at ``s``).
    """
    value = 0.0
    for i in range(n_legs):
        leg = legs[row, i]
        if leg.type == LEG_STOCK:
            leg.price = s
            value += leg.ratio * s
            continue
        intrinsic = max(s - leg.strike, 0.0) if leg.type == LEG_CALL else max(leg.strike - s, 0.0)
        leg.price = intrinsic
        value += leg.ratio * OPTION_MULTIPLIER * intrinsic
    return value


@jit_inner
def costs_nb(
    legs: np.ndarray, row: int, n_legs: int, qty: float, sigma: float, params: np.record
) -> float:
    """Dollar costs of trading ``qty`` units at the current prices of ``legs[row, :n_legs]``.

    Commission per share and per contract, half the bid-ask spread and the volatility-scaled
    slippage ``slippage_vol_mult x sigma / sqrt(bars_per_year)`` of each leg's value. The half
    spread is ``share_spread_pct / 2`` % of a stock leg's value (``params.share_spread_pct``,
    which is ``spread_pct`` unless set); an option leg pays per share at least
    the tick rule's minimum, ``max(price x spread_pct / 200, tick)`` with ``tick =
    params.tick_low`` below $3 and ``params.tick_high`` at $3 or more (docs/risk-model.md).
    """
    half = params.spread_pct / 200.0
    slip = 0.0
    if params.slippage_vol_mult > 0.0 and sigma > 0.0 and params.bars_per_year > 0.0:
        slip = params.slippage_vol_mult * sigma / math.sqrt(params.bars_per_year)
    stock_frac = params.share_spread_pct / 200.0 + slip
    stock_gross = 0.0
    shares = 0.0
    contracts = 0.0
    option_cost = 0.0
    for i in range(n_legs):
        leg = legs[row, i]
        if leg.type == LEG_STOCK:
            stock_gross += abs(leg.ratio * leg.price)
            shares += abs(leg.ratio)
        else:
            n = abs(leg.ratio)
            contracts += n
            price = abs(leg.price)
            tick = params.tick_low if price < 3.0 else params.tick_high
            option_cost += n * OPTION_MULTIPLIER * (max(price * half, tick) + price * slip)
    commission = shares * params.commission_per_share + contracts * params.commission_per_contract
    return qty * (commission + stock_gross * stock_frac + option_cost)


@jit_inner
def naked_requirement_nb(legs: np.ndarray, n_legs: int, s: float) -> float:
    """Broker-style margin of the short option legs of one unit, excluding premium (dollars).

    Per short leg (CBOE/FINRA rule 4210 style): calls ``max(20% x S - OTM, 10% x S)``, puts
    ``max(20% x S - OTM, 10% x K)``, with ``OTM`` the amount out of the money, times the
    multiplier and the leg's ratio; a short straddle or strangle needs the larger side only
    (only one side can finish in the money), so the maximum over the short legs is returned.
    """
    req = 0.0
    for i in range(n_legs):
        leg = legs[i]
        if leg.ratio >= 0.0 or leg.type == LEG_STOCK:
            continue
        k = leg.strike
        if leg.type == LEG_CALL:
            r = max(0.20 * s - max(k - s, 0.0), 0.10 * s)
        else:
            r = max(0.20 * s - max(s - k, 0.0), 0.10 * k)
        req = max(req, r * OPTION_MULTIPLIER * abs(leg.ratio))
    return req


@jit_inner
def unit_quantities_nb(
    kind: int,
    direction: float,
    legs: np.ndarray,
    n_legs: int,
    s: float,
    value: float,
    stop_distance: float,
) -> tuple[float, float, bool]:
    """Buying power, max loss and risk type of one unit (docs/architecture.md table).

    ``unit_cost`` is the buying power one unit takes, i.e. the free cash it needs: the
    collateral reserved while it is open (``unit_cost - value``) net of any credit received
    (``value < 0``). The margin rule (docs/risk-model.md, "Margin"): long premium pays the
    premium; defined-risk credit structures reserve the widest wing (buying power = max
    loss); a cash-secured put reserves ``strike x 100`` (buying power ``strike x 100 -
    premium``); naked short calls, puts, straddles and strangles reserve the premium plus
    :func:`naked_requirement_nb` (buying power = that requirement). Shares: their price.

    Returns
    -------
    tuple
        ``(unit_cost, unit_max_loss, defined_risk)`` in dollars. ``defined_risk`` selects max
        loss (True) or |market value| for the concentration value.
    """
    notional = s * OPTION_MULTIPLIER
    if kind == KIND_SHARES:
        return s, s * stop_distance, False
    single = kind in (KIND_CALL, KIND_PUT)
    if (single or kind in (KIND_STRADDLE, KIND_STRANGLE)) and direction > 0.0:
        return value, value, True  # long premium
    if kind == KIND_CASH_SECURED_PUT:
        k100 = legs[0].strike * OPTION_MULTIPLIER
        return k100 + value, max(k100 + value, 0.0), True
    if kind == KIND_PUT:  # naked short put: max loss if the stock goes to 0
        k100 = legs[0].strike * OPTION_MULTIPLIER
        return naked_requirement_nb(legs, n_legs, s), max(k100 + value, 0.0), True
    if kind in (KIND_CALL, KIND_STRADDLE, KIND_STRANGLE):
        return naked_requirement_nb(legs, n_legs, s), notional * stop_distance, False
    # credit spreads, condors, butterflies
    if direction < 0.0:
        return value, value, True  # bought for a debit
    put_w = 0.0
    call_w = 0.0
    for i in range(n_legs):
        if legs[i].ratio < 0.0:
            for j in range(n_legs):
                if legs[j].ratio > 0.0 and legs[j].type == legs[i].type:
                    w = abs(legs[j].strike - legs[i].strike)
                    if legs[i].type == LEG_PUT:
                        put_w = max(put_w, w)
                    else:
                        call_w = max(call_w, w)
    loss = max(put_w, call_w) * OPTION_MULTIPLIER + value
    return loss, loss, True


@jit_inner
def unit_liquidity_nb(legs: np.ndarray, n_legs: int, s: float) -> tuple[float, float]:
    """Underlying notional and option contracts of one unit (the liquidity caps' measures).

    Shares: ``|ratio| x s`` and 0 contracts; option structures: ``s x 100`` (one unit controls
    one lot of the underlying, the largest per-leg ratio times 100 shares) and the sum of
    ``|ratio|`` over option legs (4 for an iron condor).
    """
    contracts = 0.0
    lot = 0.0
    shares = 0.0
    for i in range(n_legs):
        if legs[i].type == LEG_STOCK:
            shares += abs(legs[i].ratio)
        else:
            contracts += abs(legs[i].ratio)
            lot = max(lot, abs(legs[i].ratio))
    return shares * s + lot * OPTION_MULTIPLIER * s, contracts
