"""Position sizing kernels (SPEC 5.2): units of shares or contracts, floored, never negative.

Every candidate is described by per-unit quantities (docs/architecture.md, "Per-unit candidate
quantities"): ``unit_cost`` (cash per unit, dollars), ``unit_max_loss`` (dollars lost per unit
at the stop / at expiry for defined-risk structures) and ``unit_dollar_vol`` (annualised dollar
volatility of one unit, ``|delta| x spot x sigma x multiplier``).

Methods (``params.sizing_method``, codes ``SIZE_*``):

* FixedFractional(pct): ``equity x pct% / unit_cost`` with ``pct = params.fixed_fraction_pct``.
* FixedDollar(amount): ``amount / unit_cost`` with ``amount = params.fixed_dollar_amount``.
* VolatilityBased: ``equity x max_risk% / unit_dollar_vol``; the annualised dollar volatility of
  the position equals the risk budget, so a higher volatility gives fewer units.
* KellyCriterion: ``f = kelly_fraction x (p - (1 - p) / b)`` clamped to ``[0, kelly_cap]``,
  ``units = max(equity x f / unit_max_loss, kelly_probe_units)``, with ``p`` and ``b`` from
  the strategy's rolling window of returns on max loss, shrunk toward no edge
  (:func:`~dollarbill_research.kernels.candidates_nb.kelly_inputs_nb`). While ``f <= 0`` it
  trades ``kelly_probe_units`` (``W_KELLY_PROBE``) so its statistics can recover. Before
  ``kelly_min_trades`` closed trades it falls back to FixedFractional(``max_risk_per_trade``),
  at least the probe size, and sets ``W_KELLY_FALLBACK``. When the caps leave less than one
  unit of a size of at least one, the mask carries ``R_UNIT_TOO_LARGE`` (a rejection reason).
* RiskParity: the candidates of one bar share a notional budget
  ``C = equity x max_position_pct% x n`` with inverse-volatility weights on the per-dollar
  volatility ``unit_dollar_vol / unit_cost``, so each contributes the same dollar volatility
  (:func:`risk_parity_units_nb`). One candidate alone gets ``equity x max_position_pct%``.
* Simple (portfolio management off): ``floor(cash x position_size_pct% / unit_cost)`` with
  ``position_size_pct = params.fixed_fraction_pct`` and no caps (:func:`simple_units_nb`).

After the method every size goes through :func:`cap_units_nb`: notional
``units x unit_cost <= equity x max_position_pct%`` and risk
``units x unit_max_loss <= equity x max_risk_per_trade%``, then floor.

Kernels trust their inputs but never raise: a non-finite or non-positive equity, unit cost,
max loss or (where used) dollar volatility gives 0 units.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import (
    OPTION_MULTIPLIER,
    R_LIQUIDITY,
    R_UNIT_TOO_LARGE,
    SIZE_FIXED_DOLLAR,
    SIZE_FIXED_FRACTIONAL,
    SIZE_KELLY,
    SIZE_RISK_PARITY,
    SIZE_SIMPLE,
    SIZE_VOLATILITY_BASED,
    W_KELLY_FALLBACK,
    W_KELLY_PROBE,
    W_LIQUIDITY_CAPPED,
)


@jit_inner
def _usable(x: float) -> bool:
    """True for a finite, strictly positive number."""
    return math.isfinite(x) and x > 0.0


@jit
def floor_within_nb(budget: float, unit: float) -> float:
    """Largest whole number of units ``n >= 0`` with ``n x unit <= budget`` (exact in floats).

    ``floor(budget / unit)`` can be off by one either way (the division rounds); this steps
    to the exact answer, so the caps hold exactly as written and are never needlessly tight.
    """
    if not _usable(unit) or not math.isfinite(budget) or budget <= 0.0:
        return 0.0
    n = np.floor(budget / unit)
    for _ in range(2):  # the division is off by at most one unit; bounded for huge n
        if n > 0.0 and n * unit > budget:
            n -= 1.0
        elif (n + 1.0) * unit <= budget:
            n += 1.0
    return max(n, 0.0)


@jit
def cap_units_nb(
    units: float, equity: float, unit_cost: float, unit_max_loss: float, params: np.record
) -> float:
    """Apply the notional and max-risk caps to ``units``, then floor.

    Parameters
    ----------
    units : float
        Raw size from a method (may be fractional).
    equity : float
        Current equity in dollars.
    unit_cost, unit_max_loss : float
        Dollars per unit (see the module docstring).
    params : numpy.record
        The settings (:data:`~.params.PARAMS_DTYPE`), read by name.

    Returns
    -------
    float
        Whole units in ``[0, units]`` with ``units x unit_cost <= equity x max_position_pct%``
        and ``units x unit_max_loss <= equity x max_risk_per_trade%``; 0 for unusable inputs.
    """
    if not (math.isfinite(units) and units > 0.0):
        return 0.0
    if not (_usable(equity) and _usable(unit_cost) and _usable(unit_max_loss)):
        return 0.0
    n = np.floor(units)
    n = min(n, floor_within_nb(equity * params.max_position_pct / 100.0, unit_cost))
    n = min(n, floor_within_nb(equity * params.max_risk_per_trade / 100.0, unit_max_loss))
    return max(n, 0.0)


@jit
def simple_units_nb(cash: float, position_size_pct: float, unit_cost: float) -> float:
    """Sizing with portfolio management off: ``floor(cash x position_size_pct% / unit_cost)``."""
    if not _usable(cash) or not _usable(position_size_pct):
        return 0.0
    return floor_within_nb(cash * position_size_pct / 100.0, unit_cost)


@jit
def liquidity_cap_nb(
    units: float, equity: float, unit_notional: float, unit_contracts: float, params: np.record
) -> tuple[float, int, int]:
    """Apply the liquidity caps (portfolio management on and off) to whole ``units``.

    ``units x unit_contracts <= params.max_contracts_per_trade`` and ``units x unit_notional <=
    params.max_notional_multiple x equity`` (a cap of 0 is off). Returns ``(units, warn, reason)``:
    ``W_LIQUIDITY_CAPPED`` when a cap reduced the size, ``R_LIQUIDITY`` when not even one unit
    fits (both as masks; 0 when the caps did not bind).
    """
    if not (math.isfinite(units) and units > 0.0):
        return units, 0, 0
    n = units
    cap_c = params.max_contracts_per_trade
    if cap_c > 0.0 and unit_contracts > 0.0:
        n = min(n, floor_within_nb(cap_c, unit_contracts))
    cap_n = params.max_notional_multiple
    if cap_n > 0.0 and unit_notional > 0.0:
        n = min(n, floor_within_nb(cap_n * equity, unit_notional))
    if n >= units:
        return units, 0, 0
    if n < 1.0:
        return 0.0, 0, 1 << R_LIQUIDITY
    return n, 1 << W_LIQUIDITY_CAPPED, 0


@jit_inner
def kelly_fraction_nb(
    win_rate: float, payoff_ratio: float, kelly_fraction: float, kelly_cap: float
) -> float:
    """Fractional Kelly ``kelly_fraction x (p - (1 - p) / b)`` clamped to ``[0, kelly_cap]``.

    ``p`` is the win rate in ``[0, 1]`` and ``b`` the payoff ratio (average win / average loss).
    A payoff ratio that is not finite and positive gives 0 (no edge can be measured), except
    ``b = inf`` (no losing trade so far), which gives the cap when ``p > 0``.
    """
    if not math.isfinite(win_rate) or win_rate <= 0.0:
        return 0.0
    p = min(win_rate, 1.0)
    if math.isnan(payoff_ratio) or payoff_ratio <= 0.0:
        return 0.0
    edge = p if math.isinf(payoff_ratio) else p - (1.0 - p) / payoff_ratio
    f = kelly_fraction * edge
    if not math.isfinite(f) or f <= 0.0:
        return 0.0
    return min(f, kelly_cap)


@jit
def size_units_nb(
    method: int, equity: float, cash: float, unit: tuple, params: np.record, kelly: tuple
) -> tuple[float, int]:
    """Size one candidate with ``method`` (a ``SIZE_*`` code), then apply the caps.

    Parameters
    ----------
    method : int
        ``SIZE_*`` code (usually ``int(params.sizing_method)``).
    equity, cash : float
        Dollars. ``cash`` is only read by ``SIZE_SIMPLE`` (the cash check is approval's job).
    unit : tuple
        ``(unit_cost, unit_max_loss, unit_dollar_vol)``: per-unit quantities in dollars
        (``unit_dollar_vol`` annualised).
    params : numpy.record
        The settings (:data:`~.params.PARAMS_DTYPE`).
    kelly : tuple
        ``(win_rate, payoff_ratio, n_closed)``: the strategy's closed-trade win rate in
        ``[0, 1]``, average win / average loss, and closed trades so far (Kelly applies from
        ``params.kelly_min_trades``), as :func:`~.candidates_nb.kelly_inputs_nb` returns them.

    Returns
    -------
    tuple of (float, int)
        Whole units (>= 0) and a warning mask (``1 << W_KELLY_FALLBACK`` when Kelly fell back).
    """
    unit_cost, unit_max_loss, unit_dollar_vol = unit
    win_rate, payoff_ratio, n_closed = kelly
    warn = 0
    if method == SIZE_SIMPLE:
        return simple_units_nb(cash, params.fixed_fraction_pct, unit_cost), warn
    if not (_usable(equity) and _usable(unit_cost)):
        return 0.0, warn
    raw = 0.0
    if method == SIZE_FIXED_FRACTIONAL:
        raw = equity * params.fixed_fraction_pct / 100.0 / unit_cost
    elif method == SIZE_FIXED_DOLLAR:
        raw = params.fixed_dollar_amount / unit_cost
    elif method == SIZE_VOLATILITY_BASED:
        if _usable(unit_dollar_vol):
            raw = equity * params.max_risk_per_trade / 100.0 / unit_dollar_vol
    elif method == SIZE_KELLY:
        probe = params.kelly_probe_units
        if n_closed < params.kelly_min_trades:
            warn |= 1 << W_KELLY_FALLBACK
            raw = max(equity * params.max_risk_per_trade / 100.0 / unit_cost, probe)
        elif _usable(unit_max_loss):
            f = kelly_fraction_nb(win_rate, payoff_ratio, params.kelly_fraction, params.kelly_cap)
            if f > 0.0:
                raw = max(equity * f / unit_max_loss, probe)
            else:
                warn |= 1 << W_KELLY_PROBE
                raw = probe
        units = cap_units_nb(raw, equity, unit_cost, unit_max_loss, params)
        if units < 1.0 and raw >= 1.0:
            warn |= 1 << R_UNIT_TOO_LARGE  # one unit does not fit the caps: a recorded reason
        return units, warn
    elif method == SIZE_RISK_PARITY:
        raw = equity * params.max_position_pct / 100.0 / unit_cost
    return cap_units_nb(raw, equity, unit_cost, unit_max_loss, params), warn


@jit
def risk_parity_units_nb(
    equity: float,
    unit_cost: np.ndarray,
    unit_max_loss: np.ndarray,
    unit_dollar_vol: np.ndarray,
    params: np.record,
) -> np.ndarray:
    """Risk-parity sizes for the candidates of one bar, capped.

    Usable candidates (finite positive cost and dollar volatility) share the notional budget
    ``C = equity x max_position_pct% x n_usable`` with weights proportional to
    ``unit_cost / unit_dollar_vol`` (inverse per-dollar volatility), so that before the caps and
    the floor every candidate carries the same dollar volatility ``C / sum(cost_j / dvol_j)``.

    Parameters
    ----------
    equity : float
        Dollars.
    unit_cost, unit_max_loss, unit_dollar_vol : numpy.ndarray
        float64 ``(n,)`` per-unit quantities.
    params : numpy.record
        The settings (:data:`~.params.PARAMS_DTYPE`), read by name.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` whole units; 0 for unusable candidates.
    """
    n = unit_cost.shape[0]
    out = np.zeros(n)
    if not _usable(equity):
        return out
    inv_sum = 0.0
    n_ok = 0
    for i in range(n):
        if _usable(unit_cost[i]) and _usable(unit_dollar_vol[i]):
            inv_sum += unit_cost[i] / unit_dollar_vol[i]
            n_ok += 1
    if n_ok == 0 or not _usable(inv_sum):
        return out
    budget = equity * params.max_position_pct / 100.0 * n_ok
    for i in range(n):
        if _usable(unit_cost[i]) and _usable(unit_dollar_vol[i]):
            raw = budget / inv_sum / unit_dollar_vol[i]  # dollars_i / unit_cost_i
            out[i] = cap_units_nb(raw, equity, unit_cost[i], unit_max_loss[i], params)
    return out


@jit
def size_many_nb(
    method: int,
    equity: np.ndarray,
    cash: np.ndarray,
    units_in: tuple,
    params: np.record,
    kelly: tuple,
    group: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Size ``n`` candidates (any mix of symbols and bars) in one call.

    All arguments except ``method`` and ``params`` are arrays of shape ``(n,)`` (equity and
    cash per candidate, e.g. the equity of the candidate's bar), or tuples of them:
    ``units_in`` is ``(unit_cost, unit_max_loss, unit_dollar_vol)`` and ``kelly``
    ``(win_rate, payoff_ratio, n_closed)`` as in :func:`size_units_nb`. ``group`` (int64) says
    which candidates share one risk-parity budget (usually the bar index); it is ignored by the
    other methods.

    Returns
    -------
    tuple of numpy.ndarray
        ``units`` float64 ``(n,)`` and ``warn`` int64 ``(n,)`` masks.
    """
    unit_cost, unit_max_loss, unit_dollar_vol = units_in
    win_rate, payoff_ratio, n_closed = kelly
    n = unit_cost.shape[0]
    units = np.zeros(n)
    warn = np.zeros(n, dtype=np.int64)
    if method != SIZE_RISK_PARITY:
        for i in range(n):
            units[i], warn[i] = size_units_nb(
                method,
                equity[i],
                cash[i],
                (unit_cost[i], unit_max_loss[i], unit_dollar_vol[i]),
                params,
                (win_rate[i], payoff_ratio[i], n_closed[i]),
            )
        return units, warn
    order = np.argsort(group, kind="mergesort")
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and group[order[stop]] == group[order[start]]:
            stop += 1
        idx = order[start:stop]
        sub = risk_parity_units_nb(
            equity[idx[0]], unit_cost[idx], unit_max_loss[idx], unit_dollar_vol[idx], params
        )
        for j in range(stop - start):
            units[idx[j]] = sub[j]
        start = stop
    return units, warn


# ---------------------------------------------------------------------------------------------
# Per-unit max loss helpers (the engine computes per-unit quantities itself; these pin the
# definitions of docs/architecture.md for tests and the Python sizer).
# ---------------------------------------------------------------------------------------------


@jit
def shares_max_loss_nb(price: float, stop_distance: float) -> float:
    """Max loss of one share at the stop: ``price x stop_distance`` (0 when unusable)."""
    if not (_usable(price) and _usable(stop_distance)):
        return 0.0
    return price * stop_distance


@jit
def long_option_max_loss_nb(premium: float) -> float:
    """Max loss of one long option contract: ``premium x 100``."""
    if not _usable(premium):
        return 0.0
    return premium * OPTION_MULTIPLIER


@jit
def credit_structure_max_loss_nb(
    put_wing_width: float, call_wing_width: float, credit: float
) -> float:
    """Max loss of one credit spread / iron condor / iron butterfly: ``(widest - credit) x 100``.

    Widths are the distances in dollars between each short strike and its long wing (0 for a
    missing side, e.g. a put credit spread has ``call_wing_width = 0``); ``credit`` is the net
    credit per share of underlying. Only one side can finish in the money at expiry, so the
    widest wing bounds the loss. Returns 0 (unusable) when the credit is at least the width.
    """
    widest = max(put_wing_width, call_wing_width)
    if not (math.isfinite(widest) and math.isfinite(credit)):
        return 0.0
    loss = (widest - credit) * OPTION_MULTIPLIER
    return loss if loss > 0.0 else 0.0
