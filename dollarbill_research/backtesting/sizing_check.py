"""Per-entry sizing rebuilt from a run's fill records, and the "position sizes" findings.

Used by :func:`~dollarbill_research.backtesting.diagnose.diagnose`.

The kernel records each fill's quantity, per-unit value, legs and spot, and the cash it needed
as a fraction of the pre-entry equity. From those and the kernels' per-unit definitions
(docs/architecture.md, "Per-unit candidate quantities") every cap the sizing applied is
recomputed exactly: ``max_position_pct`` on ``units x unit_cost``, ``max_risk_per_trade`` on
``units x unit_max_loss``, the free cash, and with portfolio management off
``position_size_pct`` of free cash.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research.kernels import codes

if TYPE_CHECKING:
    from dollarbill_research.backtesting.result import BacktestResult

__all__ = [
    "LARGE_NOTIONAL_PCT",
    "LARGE_RISK_PCT",
    "SMALL_NOTIONAL_PCT",
    "ZERO_SIZE_HINT",
    "entry_sizing",
    "make_finding",
    "sizing_findings",
    "sizing_frame",
]

#: An entry below this notional (% of equity) counts as small.
SMALL_NOTIONAL_PCT = 1.0
#: An entry above this notional (% of equity) counts as large.
LARGE_NOTIONAL_PCT = 25.0
#: An entry risking more than this (% of equity, units x unit max loss) counts as large.
LARGE_RISK_PCT = 5.0
ZERO_SIZE_HINT = (
    "one unit costs or risks more than the caps allow: raise max_risk_per_trade or "
    "max_position_pct, or trade a smaller instrument"
)


def make_finding(
    check: str, strategy: str | None, status: str, finding: str, hint: str
) -> dict[str, object]:
    """One row of ``Diagnosis.frame``."""
    return {
        "check": check,
        "strategy": strategy,
        "status": status,
        "finding": finding,
        "hint": hint,
    }


# --- per-entry sizing reconstruction ---------------------------------------------------------
def _unit_quantities(
    kind: int,
    direction: float,
    legs: list[tuple[int, float, float]],
    spot: float,
    value: float,
    stop_distance: float,
) -> tuple[float, float]:
    """``(unit_cost, unit_max_loss)``, as the unit-quantities kernel of ``instruments_nb`` gives."""
    notional = spot * codes.OPTION_MULTIPLIER
    if kind == codes.KIND_SHARES:
        return spot, spot * stop_distance
    single = kind in (codes.KIND_CALL, codes.KIND_PUT)
    if (single or kind in (codes.KIND_STRADDLE, codes.KIND_STRANGLE)) and direction > 0.0:
        return value, value
    if kind == codes.KIND_CASH_SECURED_PUT:
        k100 = legs[0][1] * codes.OPTION_MULTIPLIER
        return k100 + value, max(k100 + value, 0.0)
    if kind == codes.KIND_PUT:  # naked short put
        k100 = legs[0][1] * codes.OPTION_MULTIPLIER
        return _naked_requirement(legs, spot), max(k100 + value, 0.0)
    if kind in (codes.KIND_CALL, codes.KIND_STRADDLE, codes.KIND_STRANGLE):
        return _naked_requirement(legs, spot), notional * stop_distance
    if direction < 0.0:
        return value, value
    widths = {codes.LEG_PUT: 0.0, codes.LEG_CALL: 0.0}
    for typ, strike, ratio in legs:
        if ratio < 0.0:
            for typ2, strike2, ratio2 in legs:
                if ratio2 > 0.0 and typ2 == typ:
                    widths[typ] = max(widths.get(typ, 0.0), abs(strike2 - strike))
    loss = max(widths.values()) * codes.OPTION_MULTIPLIER + value
    return loss, loss


def _naked_requirement(legs: list[tuple[int, float, float]], spot: float) -> float:
    """The short legs' broker-style margin, as the instruments kernel computes it."""
    req = 0.0
    for typ, strike, ratio in legs:
        if ratio >= 0.0 or typ == codes.LEG_STOCK:
            continue
        if typ == codes.LEG_CALL:
            r = max(0.20 * spot - max(strike - spot, 0.0), 0.10 * spot)
        else:
            r = max(0.20 * spot - max(spot - strike, 0.0), 0.10 * strike)
        req = max(req, r * codes.OPTION_MULTIPLIER * abs(ratio))
    return req


def _floor_within(budget: float, unit: float) -> float:
    """Largest whole ``n >= 0`` with ``n x unit <= budget`` (the kernel's ``floor_within_nb``)."""
    if not (math.isfinite(unit) and unit > 0.0) or not math.isfinite(budget) or budget <= 0.0:
        return 0.0
    n = math.floor(budget / unit)
    for _ in range(2):
        if n > 0 and n * unit > budget:
            n -= 1
        elif (n + 1) * unit <= budget:
            n += 1
    return float(max(n, 0))


def entry_sizing(result: BacktestResult) -> pl.DataFrame:
    """One row per entry fill with the sizing inputs and the cap that set its size.

    Columns: ``bar``, ``strategy``, ``symbol``, ``qty``, ``equity`` (pre-entry equity the
    sizing saw, dollars), ``free_cash``, ``unit_cost``, ``unit_max_loss``, ``notional_pct``
    (``qty x unit_cost / equity``, percent), ``risk_pct`` (``qty x unit_max_loss / equity``),
    ``cap_notional``, ``cap_risk``, ``cap_cash`` (unit caps of ``max_position_pct``,
    ``max_risk_per_trade`` and free cash) and ``binding``.

    The pre-entry equity and free cash are rebuilt backwards from the bar's end-of-bar record
    (each entry lowers equity by its costs and free cash by ``unit_cost x qty + costs``).
    """
    raw = result.raw
    fills = raw.fills
    entries = np.flatnonzero(fills["side"] > 0)
    config = result.config
    pc = result.portfolio_config
    pm = bool(config.use_portfolio_management) if config is not None else bool(result.limits)
    stop = pc.stop_distance if pc is not None else 0.05
    eq = raw.equity
    first_bar = int(eq["bar"][0]) if eq.shape[0] else 0
    rows = []
    # walk entries backwards per bar, accumulating what later entries took
    later_costs: dict[int, float] = {}
    later_free: dict[int, float] = {}
    for idx in entries[::-1].tolist():
        f = fills[idx]
        bar = int(f["bar"])
        rec = eq[bar - first_bar]
        legs = [
            (int(f[f"leg{i}_type"]), float(f[f"leg{i}_strike"]), float(f[f"leg{i}_ratio"]))
            for i in range(int(f["n_legs"]))
        ]
        value = float(f["price"])
        cost, max_loss = _unit_quantities(
            int(f["kind"]), float(f["direction"]), legs, float(f["spot"]), value, stop
        )
        qty = float(f["qty"])
        costs = float(f["costs"])
        equity = float(rec["equity"]) + later_costs.get(bar, 0.0) + costs
        free = float(rec["cash"] - rec["reserved"]) + later_free.get(bar, 0.0) + cost * qty + costs
        later_costs[bar] = later_costs.get(bar, 0.0) + costs
        later_free[bar] = later_free.get(bar, 0.0) + cost * qty + costs
        cost1 = costs / qty if qty > 0 else 0.0
        cap_cash = _floor_within(free, cost + cost1)
        if pm and pc is not None:
            cap_notional = _floor_within(equity * pc.max_position_pct / 100.0, cost)
            cap_risk = _floor_within(equity * pc.max_risk_per_trade / 100.0, max_loss)
        else:
            size_pct = config.position_size_pct if config is not None else math.nan
            cap_notional = _floor_within(free * size_pct / 100.0, cost)
            cap_risk = math.inf
        rows.append(
            {
                "bar": bar,
                "strategy": result.strategies[int(f["strategy"])],
                "symbol": result.symbols[int(f["symbol"])],
                "qty": qty,
                "equity": equity,
                "free_cash": free,
                "unit_cost": cost,
                "unit_max_loss": max_loss,
                "notional_pct": 100.0 * qty * cost / equity if equity > 0 else math.nan,
                "risk_pct": 100.0 * qty * max_loss / equity if equity > 0 else math.nan,
                "cap_notional": cap_notional,
                "cap_risk": cap_risk,
                "cap_cash": cap_cash,
                "binding": _binding(qty, cap_notional, cap_risk, cap_cash, int(f["warn"]), pm),
                "kelly_fallback": bool(int(f["warn"]) >> codes.W_KELLY_FALLBACK & 1),
            }
        )
    schema = {
        "bar": pl.Int64,
        "strategy": pl.String,
        "symbol": pl.String,
        "qty": pl.Float64,
        "equity": pl.Float64,
        "free_cash": pl.Float64,
        "unit_cost": pl.Float64,
        "unit_max_loss": pl.Float64,
        "notional_pct": pl.Float64,
        "risk_pct": pl.Float64,
        "cap_notional": pl.Float64,
        "cap_risk": pl.Float64,
        "cap_cash": pl.Float64,
        "binding": pl.String,
        "kelly_fallback": pl.Boolean,
    }
    return pl.DataFrame(rows[::-1], schema=schema)


def _binding(qty: float, notional: float, risk: float, cash: float, warn: int, pm: bool) -> str:
    """Name of the cap that set ``qty`` (the smallest cap it reached), else the method."""
    reached = [
        (cap, name)
        for cap, name in (
            (notional, "max_position_pct" if pm else "position_size_pct"),
            (risk, "max_risk_per_trade"),
            (cash, "free_cash"),
        )
        if qty >= cap - 0.5
    ]
    if reached:
        return min(reached)[1]
    if warn >> codes.W_SCALED_DOWN & 1:
        return "scale_to_fit"
    return "sizing_method"


def sizing_frame(result: BacktestResult, entries: pl.DataFrame) -> pl.DataFrame:
    """One row per strategy (see ``Diagnosis.sizing``) from :func:`entry_sizing` rows."""
    rec = result.raw.rejections
    zero_mask = (rec["reason"] >> codes.R_ZERO_SIZE & 1).astype(bool)
    zero = Counter(result.strategies[int(s)] for s in rec["strategy"][zero_mask].tolist())
    # a zero-size rejection records the cash one unit needs (fraction of equity)
    unit_need: dict[str, float] = {}
    for s in set(rec["strategy"][zero_mask].tolist()):
        need = rec["cash_needed"][zero_mask & (rec["strategy"] == s)] * 100.0
        need = need[np.isfinite(need)]
        if need.size:
            unit_need[result.strategies[int(s)]] = float(np.median(need))
    rows = []
    for strategy in result.strategies:
        sub = entries.filter(pl.col("strategy") == strategy)
        if not sub.height and not zero[strategy]:
            continue
        counts = Counter(sub["binding"].to_list())
        binding, n_bind = counts.most_common(1)[0] if counts else (None, 0)
        rows.append(
            {
                "strategy": strategy,
                "entries": sub.height,
                "median_qty": sub["qty"].median() if sub.height else None,
                "median_notional_pct": sub["notional_pct"].median() if sub.height else None,
                "median_risk_pct": sub["risk_pct"].median() if sub.height else None,
                "share_one_unit": float((sub["qty"] == 1.0).mean()) if sub.height else None,
                "binding": binding,
                "binding_share": n_bind / sub.height if sub.height else None,
                "kelly_fallback": int(sub["kelly_fallback"].sum()),
                "zero_size_rejections": zero[strategy],
                "zero_size_unit_pct": unit_need.get(strategy),
            }
        )
    schema = {
        "strategy": pl.String,
        "entries": pl.Int64,
        "median_qty": pl.Float64,
        "median_notional_pct": pl.Float64,
        "median_risk_pct": pl.Float64,
        "share_one_unit": pl.Float64,
        "binding": pl.String,
        "binding_share": pl.Float64,
        "kelly_fallback": pl.Int64,
        "zero_size_rejections": pl.Int64,
        "zero_size_unit_pct": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


_RAISE = {
    "max_position_pct": "raise PortfolioConfig.max_position_pct",
    "max_risk_per_trade": "raise PortfolioConfig.max_risk_per_trade",
    "position_size_pct": "raise BacktestConfig.position_size_pct (or turn portfolio management on)",
    "free_cash": "add capital or hold fewer positions at once",
    "scale_to_fit": "the portfolio limits scaled these down: raise the binding risk limit",
    "sizing_method": "the sizing method set the size below the caps: raise max_risk_per_trade "
    "(VolatilityBased, Kelly fallback), fixed_fraction_pct / fixed_dollar_amount, or try "
    "another sizing method",
}
_LOWER = {
    "max_position_pct": "lower PortfolioConfig.max_position_pct",
    "max_risk_per_trade": "lower PortfolioConfig.max_risk_per_trade",
    "position_size_pct": "lower BacktestConfig.position_size_pct",
    "free_cash": "lower max_position_pct so one entry cannot take all free cash",
    "scale_to_fit": "tighten the binding risk limit",
    "sizing_method": "lower max_position_pct (it caps every method) or use a stricter sizing "
    "method (VolatilityBased sizes down in calm markets less than FixedDollar)",
}


def _zero_size_text(row: dict[str, object], max_position_pct: float | None) -> tuple[str, str]:
    """``(finding, hint)`` about a strategy's candidates sized to zero units."""
    n = row["zero_size_rejections"]
    need = row["zero_size_unit_pct"]
    if not n:
        return "", ""
    text = f"{n} candidates sized to zero"
    if not isinstance(need, float):
        return text, ZERO_SIZE_HINT
    text += f" (one unit needs a median {need:.1f}% of equity"
    if max_position_pct is not None and need > max_position_pct:
        text += f", above max_position_pct={max_position_pct:g}%)"
        return text, (
            f"raise PortfolioConfig.max_position_pct above {need:.1f}%, add capital, or trade a "
            "cheaper instrument (narrower spreads, lower-priced underlyings)"
        )
    if max_position_pct is not None:
        text += f", within max_position_pct={max_position_pct:g}%: max_risk_per_trade or the "
        text += "sizing method gave less than one unit)"
    else:
        text += ")"
    return text, ZERO_SIZE_HINT


def sizing_findings(
    sizing: pl.DataFrame, max_position_pct: float | None
) -> list[dict[str, object]]:
    """The sizing findings (small, large or ok) of each row of :func:`sizing_frame`."""
    out = []
    for row in sizing.iter_rows(named=True):
        name = row["strategy"]
        binding = row["binding"]
        zero_text, zero_hint = _zero_size_text(row, max_position_pct)
        if not row["entries"]:
            out.append(
                make_finding("sizing", name, "problem", f"{name}: no entry; {zero_text}", zero_hint)
            )
            continue
        notional, risk = row["median_notional_pct"], row["median_risk_pct"]
        text = (
            f"{name}: {row['entries']} entries, median {notional:.2f}% of equity (risk "
            f"{risk:.2f}%), size set by {binding} in {row['binding_share']:.0%}"
        )
        if row["kelly_fallback"]:
            text += f"; {row['kelly_fallback']} sized by Kelly's FixedFractional fallback"
        if zero_text:
            text += f"; {zero_text}"
        small = (
            notional < SMALL_NOTIONAL_PCT
            or row["share_one_unit"] > 0.5
            or row["zero_size_rejections"] > row["entries"]
        )
        large = notional > LARGE_NOTIONAL_PCT or risk > LARGE_RISK_PCT
        if small:
            hint = _RAISE.get(binding, "")
            if row["zero_size_rejections"] > row["entries"] and zero_hint:
                hint = zero_hint
            out.append(make_finding("sizing", name, "problem", "sizes small: " + text, hint))
        elif large:
            out.append(
                make_finding(
                    "sizing", name, "problem", "sizes large: " + text, _LOWER.get(binding, "")
                )
            )
        else:
            out.append(
                make_finding(
                    "sizing",
                    name,
                    "ok",
                    text,
                    f"{binding} sets these sizes: to change them, {_RAISE.get(binding, '')} "
                    "(or lower it)",
                )
            )
    return out
