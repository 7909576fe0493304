"""Pre-trade approval kernels (SPEC 5.5): a candidate against every limit on the projected book.

Two ways in, same answers:

* :func:`decide_nb` — the contract of docs/architecture.md: the book as flat per-position arrays,
  everything computed from scratch (O(k + held symbols^2 x window) per call).
* :func:`~dollarbill_research.kernels.context_nb.book_context_nb` once per bar, then
  :func:`decide_ctx_nb` per candidate and ``context_add_nb`` after each fill — O(1) per
  decision, used by :func:`~dollarbill_research.kernels.approval_batch_nb.decide_many_nb` and
  the benchmark. The projected VaR is exact: ``d'Cd + 2 x (Cd)_s + x^2 C_ss`` for ``x`` dollars
  of delta added in symbol ``s`` (:mod:`context_nb`).

A candidate is a :class:`~.records.Candidate` (its per-unit quantities, architecture.md
"Per-unit candidate quantities", and its symbol, sector and strategy), what the book leaves it a
:class:`~.records.Room` (equity, free cash, open positions, strategy dollars), the book context a
:class:`~.records.Context`, the limits named fields of the parameter record (``params.
max_portfolio_delta`` is ``RiskLimits.max_portfolio_delta``). A new position is added for the
candidate.

Checks (reason bits ``R_*``, several at once):

* ``R_NO_PRICE``: equity or unit cost not finite positive, or a per-unit quantity not finite.
* ``R_MAX_POSITIONS``: ``params.portfolio_max_positions > 0`` and ``n_open`` is at it.
* ``R_ZERO_SIZE``: fewer than one whole unit.
* ``R_DELTA``, ``R_GAMMA``, ``R_VEGA``, ``R_VAR``: the projected ``|exposure|`` exceeds its limit
  *and* exceeds the current ``|exposure|`` (a trade that does not increase the magnitude never
  fires that limit, so hedges are always allowed on it).
* "Exceeds" is :func:`exceeds_nb`: strictly above the limit with a relative tolerance of
  ``EXCEED_RTOL`` (1e-9), so a trade landing exactly on a limit is approved (and scale-to-fit
  returns that size).
* ``R_CONCENTRATION``: the new position's concentration value / equity exceeds the limit.
* ``R_SECTOR``: the candidate's sector sum of ``|mv|`` / equity exceeds the limit.
* ``R_STRATEGY_CAPACITY``: ``strategy_exposure[st] + units x unit_cost > strategy_capacity[st]``
  (dollars committed; ``inf`` = no cap; a strategy index outside the arrays is not capped).
* ``R_CASH``: ``units x unit_cost > cash``.

Warnings: the exposure bits (``R_DELTA`` .. ``R_VAR``) when the projected ``|exposure|`` passes
``params.warn_fraction x limit`` without a rejection on that limit; ``W_SCALED_DOWN`` when
scale-to-fit reduced the size. With ``params.scale_to_fit`` the largest whole size that passes the
limit, cash and capacity checks is found by bisection (each feasible set is an interval
``[0, u*]``: the checks are convex in ``u``), and the trade is approved at that size if it is at
least 1; otherwise the reasons at the requested size are returned.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.codes import (
    EXCEED_RTOL,
    EXP_CONCENTRATION,
    EXP_DELTA,
    EXP_DIVERSIFICATION,
    EXP_GAMMA,
    EXP_GROSS,
    EXP_NET,
    EXP_SECTOR,
    EXP_THETA,
    EXP_VAR95,
    EXP_VAR99,
    EXP_VEGA,
    N_EXPOSURES,
    R_CASH,
    R_CONCENTRATION,
    R_DELTA,
    R_GAMMA,
    R_MAX_POSITIONS,
    R_NO_PRICE,
    R_SECTOR,
    R_STRATEGY_CAPACITY,
    R_VAR,
    R_VEGA,
    R_ZERO_SIZE,
    W_SCALED_DOWN,
)
from dollarbill_research.kernels.context_nb import (
    CX_CONC,
    CX_DCD,
    CX_DELTA,
    CX_GAMMA,
    CX_GROSS,
    CX_NET,
    CX_SECTOR_MAX,
    CX_SQ,
    CX_THETA,
    CX_VEGA,
    book_totals_nb,
    cd_entry_nb,
)
from dollarbill_research.kernels.records import Candidate, Context, FlatBook, Room
from dollarbill_research.kernels.risk_nb import (
    Z95,
    Z99,
    pair_cov_nb,
    quad_form_nb,
    symbol_deltas_nb,
    window_returns_nb,
)

_STRUCTURAL = (1 << R_NO_PRICE) | (1 << R_MAX_POSITIONS) | (1 << R_ZERO_SIZE)


@jit_inner
def _var_sd(q: float) -> float:
    return math.sqrt(q) if q > 0.0 else 0.0


@jit_inner
def exceeds_nb(value: float, limit: float) -> bool:
    """True when ``value`` is strictly above ``limit`` beyond the relative tolerance.

    "Exceeds" means ``value > limit x (1 + EXCEED_RTOL)`` (1e-9): a trade that lands exactly on
    a limit (up to float residue such as ``0.27 + 0.03``) is inside it.
    """
    return value > limit * (1.0 + EXCEED_RTOL)


@jit_inner
def _grows_past(cur: float, proj: float, limit: float) -> bool:
    """True when ``|proj|`` exceeds ``limit`` and the trade increased the magnitude."""
    return exceeds_nb(abs(proj), limit) and abs(proj) > abs(cur)


@jit_inner
def _limit_mask(u: float, cand: Candidate, ctx: Context, room: Room, params: np.record) -> int:
    """Reason bits of the limit, capacity and cash checks at ``u`` units (0 at ``u = 0``).

    Each limit is a named setting of ``params`` (``RiskLimits`` field names): for example
    ``params.max_portfolio_delta`` bounds the book's ``|dollar delta| / equity``.
    """
    mask = 0
    if u <= 0.0:
        return mask
    tot, equity = ctx.tot, room.equity
    d0 = tot[CX_DELTA] / equity
    if _grows_past(d0, d0 + u * cand.unit_delta_d / equity, params.max_portfolio_delta):
        mask |= 1 << R_DELTA
    g0 = tot[CX_GAMMA] / equity
    if _grows_past(g0, g0 + u * cand.unit_gamma_d / equity, params.max_portfolio_gamma):
        mask |= 1 << R_GAMMA
    v0 = tot[CX_VEGA] / equity
    if _grows_past(v0, v0 + u * cand.unit_vega10 / equity, params.max_portfolio_vega):
        mask |= 1 << R_VEGA
    if exceeds_nb(u * abs(cand.unit_conc) / equity, params.max_concentration_pct / 100.0):
        mask |= 1 << R_CONCENTRATION
    sector = (ctx.sector_abs[cand.sector] + u * abs(cand.unit_mv)) / equity
    if exceeds_nb(sector, params.max_sector_exposure_pct / 100.0):
        mask |= 1 << R_SECTOR
    x = u * cand.unit_delta_d
    q = tot[CX_DCD] + 2.0 * x * ctx.cd[cand.symbol] + x * x * ctx.var_sym[cand.symbol]
    var0 = Z95 * _var_sd(tot[CX_DCD]) / equity
    if _grows_past(var0, Z95 * _var_sd(q) / equity, params.max_var_pct / 100.0):
        mask |= 1 << R_VAR
    st = cand.strategy
    if 0 <= st < room.strategy_capacity.shape[0] and (
        room.strategy_exposure[st] + u * cand.unit_cost > room.strategy_capacity[st]
    ):
        mask |= 1 << R_STRATEGY_CAPACITY
    if u * cand.unit_cost > room.cash:
        mask |= 1 << R_CASH
    return mask


@jit_inner
def project_nb(u: float, cand: Candidate, ctx: Context, equity: float, out: np.ndarray) -> None:
    """Exposures (``EXP_*``, fractions of equity) of the book plus ``u`` units of the candidate.

    Written into ``out[:N_EXPOSURES]`` (zeros when equity is not positive): the entries pass
    a workspace row, so a candidate allocates nothing.
    """
    for e in range(N_EXPOSURES):
        out[e] = 0.0
    if not (math.isfinite(equity) and equity > 0.0):
        return
    if not (math.isfinite(u) and u > 0.0):
        u = 0.0
    tot = ctx.tot
    unit_mv = cand.unit_mv
    out[EXP_DELTA] = (tot[CX_DELTA] + u * cand.unit_delta_d) / equity
    out[EXP_GAMMA] = (tot[CX_GAMMA] + u * cand.unit_gamma_d) / equity
    out[EXP_VEGA] = (tot[CX_VEGA] + u * cand.unit_vega10) / equity
    out[EXP_THETA] = (tot[CX_THETA] + u * cand.unit_theta) / equity
    gross = tot[CX_GROSS] + u * abs(unit_mv)
    sq = tot[CX_SQ] + u * u * unit_mv * unit_mv
    out[EXP_GROSS] = gross / equity
    out[EXP_NET] = (tot[CX_NET] + u * unit_mv) / equity
    out[EXP_CONCENTRATION] = max(tot[CX_CONC], u * abs(cand.unit_conc)) / equity
    out[EXP_SECTOR] = (
        max(tot[CX_SECTOR_MAX], ctx.sector_abs[cand.sector] + u * abs(unit_mv)) / equity
    )
    x = u * cand.unit_delta_d
    s = cand.symbol
    sd = _var_sd(tot[CX_DCD] + 2.0 * x * ctx.cd[s] + x * x * ctx.var_sym[s])
    out[EXP_VAR95] = Z95 * sd / equity
    out[EXP_VAR99] = Z99 * sd / equity
    out[EXP_DIVERSIFICATION] = gross * gross / sq if sq > 0.0 else 0.0


@jit_inner
def warn_mask_nb(projected: np.ndarray, reason_mask: int, params: np.record) -> int:
    """Warning bits for exposures past ``params.warn_fraction`` of their limit, not rejected."""
    wf = params.warn_fraction
    warn = 0
    for bit, e, limit in (
        (R_DELTA, EXP_DELTA, params.max_portfolio_delta),
        (R_GAMMA, EXP_GAMMA, params.max_portfolio_gamma),
        (R_VEGA, EXP_VEGA, params.max_portfolio_vega),
        (R_CONCENTRATION, EXP_CONCENTRATION, params.max_concentration_pct / 100.0),
        (R_SECTOR, EXP_SECTOR, params.max_sector_exposure_pct / 100.0),
        (R_VAR, EXP_VAR95, params.max_var_pct / 100.0),
    ):
        if not (reason_mask >> bit) & 1 and abs(projected[e]) > wf * limit:
            warn |= 1 << bit
    return warn


@jit
def decide_ctx_nb(
    units: float, cand: Candidate, ctx: Context, room: Room, params: np.record, out: np.ndarray
) -> tuple[float, int, int, np.ndarray]:
    """Decide one candidate against a book context (see the module docstring).

    Returns
    -------
    tuple
        ``(units, reason_mask, warn_mask, projected)``: the approved (possibly scaled-down) or
        requested whole units, int64 masks, and the projected exposures at those units (the
        current book when the candidate has no usable price), written into ``out`` (float64, at
        least ``N_EXPOSURES``) and returned. Approved means ``reason_mask == 0`` and
        ``units > 0``.
    """
    reason = 0
    u = np.floor(units) if math.isfinite(units) and units > 0.0 else 0.0
    finite = (
        math.isfinite(cand.unit_delta_d)
        and math.isfinite(cand.unit_gamma_d)
        and math.isfinite(cand.unit_vega10)
        and math.isfinite(cand.unit_theta)
        and math.isfinite(cand.unit_mv)
        and math.isfinite(cand.unit_conc)
    )
    ok_price = math.isfinite(cand.unit_cost) and cand.unit_cost > 0.0 and finite
    equity = room.equity
    if not (math.isfinite(equity) and equity > 0.0) or not ok_price:
        reason |= 1 << R_NO_PRICE
        none = Candidate(
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, cand.symbol, cand.sector, cand.strategy
        )  # the current book
        project_nb(0.0, none, ctx, equity, out)
        return u, reason, 0, out
    if params.portfolio_max_positions > 0.0 and room.n_open >= params.portfolio_max_positions:
        reason |= 1 << R_MAX_POSITIONS
    if u < 1.0:
        reason |= 1 << R_ZERO_SIZE
    limits = _limit_mask(u, cand, ctx, room, params)
    reason |= limits
    warn = 0
    if limits != 0 and reason & _STRUCTURAL == 0 and params.scale_to_fit > 0.0:
        lo = 0.0  # bisection: the feasible sizes are an interval [0, u*]
        hi = u
        while hi - lo > 1.0:
            mid = np.floor(0.5 * (lo + hi))
            if _limit_mask(mid, cand, ctx, room, params) == 0:
                lo = mid
            else:
                hi = mid
        if lo >= 1.0:
            u = lo
            reason = 0
            warn |= 1 << W_SCALED_DOWN
    project_nb(u, cand, ctx, equity, out)
    warn |= warn_mask_nb(out, reason, params)
    return u, reason, warn, out


@jit
def decide_nb(
    units: float,
    cand: Candidate,
    book: FlatBook,
    room: Room,
    closes: np.ndarray,
    t: int,
    params: np.record,
) -> tuple[float, int, int, np.ndarray]:
    """Decide one candidate against a book given as flat per-position arrays (the contract).

    Same result as :func:`book_context_nb` + :func:`decide_ctx_nb`, but only the covariance row
    of the candidate's symbol is computed. ``book.pos_strategy`` is part of the shared book
    layout; strategy exposure arrives already summed in ``room.strategy_exposure`` (dollars
    committed). The VaR window is ``params.var_window`` bars.
    """
    n_sym = closes.shape[1]
    cand_symbol = cand.symbol
    n_sectors = cand.sector + 1
    for i in range(book.pos_sector.shape[0]):
        n_sectors = max(n_sectors, book.pos_sector[i] + 1)
    tot, sector_abs = book_totals_nb(book, n_sectors)
    rets = window_returns_nb(closes, t, int(params.var_window))
    sym_delta = symbol_deltas_nb(n_sym, book.pos_symbol, book.delta_d)
    tot[CX_DCD] = quad_form_nb(rets, sym_delta)
    cd = np.zeros(n_sym)
    var_sym = np.zeros(n_sym)
    var_sym[cand_symbol] = pair_cov_nb(rets[:, cand_symbol], rets[:, cand_symbol])
    cd[cand_symbol] = cd_entry_nb(rets, sym_delta, cand_symbol)
    ctx = Context(tot, sector_abs, cd, var_sym)
    return decide_ctx_nb(units, cand, ctx, room, params, np.zeros(N_EXPOSURES))
