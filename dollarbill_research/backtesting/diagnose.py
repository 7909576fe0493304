"""``result.diagnose()``: the guide's Troubleshooting section answered from a run's own records.

Checks (the guide's headings):

* **Still using fixed sizing**: portfolio management off, so every entry is
  ``floor(cash x position_size_pct% / unit cost)`` with no risk checks.
* **All trades rejected**: how many entry candidates were rejected, by which limit, how often,
  and for each exposure limit the value that would have let 50 %, 90 % and 100 % of its
  rejections through (quantiles of the projected exposures the kernel recorded; other limits
  and the path after a changed trade are not re-simulated, so this is a first estimate that a
  rerun confirms).
* **Position sizes too small / too large**: per strategy, the size of each entry as % of
  equity and which cap set it (``max_position_pct``, ``max_risk_per_trade``, free cash,
  scale-to-fit, or the sizing method itself), recomputed exactly from the fill records with
  the kernels' per-unit definitions (docs/architecture.md, "Per-unit candidate quantities").

The result is a :class:`Diagnosis`: ``text`` (a few lines), ``frame`` (one row per finding),
``limits`` (one row per rejection reason) and ``sizing`` (one row per strategy).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research.kernels import codes

if TYPE_CHECKING:
    from dollarbill_research.backtesting.result import BacktestResult
    from dollarbill_research.config.portfolio import PortfolioConfig

__all__ = [
    "LARGE_NOTIONAL_PCT",
    "LARGE_RISK_PCT",
    "SMALL_NOTIONAL_PCT",
    "Diagnosis",
    "diagnose",
    "entry_sizing",
]

#: An entry below this notional (% of equity) counts as small.
SMALL_NOTIONAL_PCT = 1.0
#: An entry above this notional (% of equity) counts as large.
LARGE_NOTIONAL_PCT = 25.0
#: An entry risking more than this (% of equity, units x unit max loss) counts as large.
LARGE_RISK_PCT = 5.0
#: Rejected share of entry candidates above which rejections are reported as a problem.
_REJECTED_PROBLEM = 0.5
_QUANTILES = (0.5, 0.9, 1.0)

# reason -> (config field, scale from the recorded fraction to the field's unit, field unit)
_LIMIT_FIELDS: dict[int, tuple[str, str, float]] = {
    codes.R_DELTA: ("risk_limits.max_portfolio_delta", "p_delta", 1.0),
    codes.R_GAMMA: ("risk_limits.max_portfolio_gamma", "p_gamma", 1.0),
    codes.R_VEGA: ("risk_limits.max_portfolio_vega", "p_vega", 1.0),
    codes.R_CONCENTRATION: ("risk_limits.max_concentration_pct", "p_concentration", 100.0),
    codes.R_SECTOR: ("risk_limits.max_sector_exposure_pct", "p_sector", 100.0),
    codes.R_VAR: ("risk_limits.max_var_pct", "p_var95", 100.0),
}
_PP_LIMIT = {
    codes.R_DELTA: codes.PP_MAX_DELTA,
    codes.R_GAMMA: codes.PP_MAX_GAMMA,
    codes.R_VEGA: codes.PP_MAX_VEGA,
    codes.R_CONCENTRATION: codes.PP_MAX_CONCENTRATION_PCT,
    codes.R_SECTOR: codes.PP_MAX_SECTOR_PCT,
    codes.R_VAR: codes.PP_MAX_VAR_PCT,
}
_OTHER_HINTS = {
    codes.R_STRATEGY_CAPACITY: "raise PortfolioConfig.max_strategy_allocation_pct or run fewer "
    "strategies on the same capital",
    codes.R_CASH: "add capital, or lower max_position_pct / position_size_pct so entries fit "
    "the free cash",
    codes.R_MAX_POSITIONS: "raise max_positions (BacktestConfig and PortfolioConfig; 0 = "
    "unlimited)",
    codes.R_ZERO_SIZE: "one unit costs or risks more than the caps allow: raise "
    "max_risk_per_trade or max_position_pct, or trade a smaller instrument",
    codes.R_ALREADY_OPEN: "expected: a strategy holds one position per symbol; repeated entry "
    "signals while it is open are rejected",
    codes.R_NO_PRICE: "the data has no usable close or iv on those bars; check the input",
}

_FINDING_SCHEMA = {
    "check": pl.String,
    "strategy": pl.String,
    "status": pl.String,
    "finding": pl.String,
    "hint": pl.String,
}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What :func:`diagnose` found.

    Attributes
    ----------
    text : str
        The findings as a few lines of plain text.
    frame : polars.DataFrame
        One row per finding: ``check`` (``fixed_sizing``, ``rejections``, ``limit``,
        ``sizing``), ``strategy`` (null for portfolio-wide findings), ``status`` (``ok``,
        ``info``, ``problem``), ``finding`` and ``hint``.
    limits : polars.DataFrame
        One row per rejection reason seen: ``reason``, ``n`` (rejections carrying it), ``share``
        (of all rejections), ``alone`` (rejections with no other reason), ``field``, ``limit``
        and ``let_50pct`` / ``let_90pct`` / ``let_100pct`` (the field value that would have let
        that share of its rejections through: the quantile of their projected exposures, rounded
        up to 3 significant digits; exposure limits only, in the field's unit).
    sizing : polars.DataFrame
        One row per strategy with entries: ``strategy``, ``entries``, ``median_qty``,
        ``median_notional_pct`` and ``median_risk_pct`` (% of equity), ``share_one_unit``,
        ``binding`` (the cap that set most sizes), ``binding_share``, ``kelly_fallback``
        (entries sized by Kelly's fallback), ``zero_size_rejections``.
    """

    text: str
    frame: pl.DataFrame
    limits: pl.DataFrame
    sizing: pl.DataFrame

    @property
    def problems(self) -> pl.DataFrame:
        """The findings with ``status == "problem"``."""
        return self.frame.filter(pl.col("status") == "problem")

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from dollarbill_research.report._html import esc, frame_table

        items = "".join(
            f'<li class="{esc(s)}"><b>{esc(s)}</b> {esc(f)}<br><small>{esc(h)}</small></li>'
            for s, f, h in self.frame.select("status", "finding", "hint").iter_rows()
        )
        return (
            f'<div class="dollarbill-diagnosis"><ul>{items}</ul>'
            f"{frame_table(self.limits) if self.limits.height else ''}"
            f"{frame_table(self.sizing) if self.sizing.height else ''}</div>"
        )


# --- per-entry sizing reconstruction ---------------------------------------------------------
def _unit_quantities(
    kind: int,
    direction: float,
    legs: list[tuple[int, float, float]],
    spot: float,
    value: float,
    stop_distance: float,
) -> tuple[float, float]:
    """``(unit_cost, unit_max_loss)``: the Python twin of ``instruments_nb.unit_quantities_nb``."""
    notional = spot * codes.OPTION_MULTIPLIER
    if kind == codes.KIND_SHARES:
        return spot, spot * stop_distance
    single = kind in (codes.KIND_CALL, codes.KIND_PUT)
    if (single or kind in (codes.KIND_STRADDLE, codes.KIND_STRANGLE)) and direction > 0.0:
        return value, value
    if kind == codes.KIND_CASH_SECURED_PUT or (kind == codes.KIND_PUT and direction < 0.0):
        k100 = legs[0][1] * codes.OPTION_MULTIPLIER
        return k100, max(k100 + value, 0.0)
    if kind in (codes.KIND_CALL, codes.KIND_STRADDLE, codes.KIND_STRANGLE):
        return notional, notional * stop_distance
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


# --- the checks -------------------------------------------------------------------------------
def _limit_value(result: BacktestResult, reason: int) -> float:
    pc: PortfolioConfig | None = result.portfolio_config
    if pc is None:
        return math.nan
    return float(pc.to_kernel()[_PP_LIMIT[reason]])


def _limits_frame(result: BacktestResult) -> pl.DataFrame:
    rec = result.raw.rejections
    masks = rec["reason"].astype(np.int64)
    rows = []
    total = max(len(masks), 1)
    for reason in range(codes.N_REASONS):
        has = (masks >> reason & 1).astype(bool)
        n = int(has.sum())
        if n == 0:
            continue
        alone = int((masks[has] == (1 << reason)).sum())
        row: dict[str, object] = {
            "reason": codes.REASON_NAMES[reason],
            "n": n,
            "share": n / total,
            "alone": alone,
            "field": _LIMIT_FIELDS[reason][0] if reason in _LIMIT_FIELDS else None,
            "limit": math.nan,
            **{f"let_{int(q * 100)}pct": math.nan for q in _QUANTILES},
        }
        if reason in _LIMIT_FIELDS:
            _field, col, scale = _LIMIT_FIELDS[reason]
            values = np.abs(rec[col][has]) * scale
            values = values[np.isfinite(values)]
            row["limit"] = _limit_value(result, reason)
            if values.size:
                for q in _QUANTILES:
                    value = float(np.quantile(values, q, method="higher"))
                    row[f"let_{int(q * 100)}pct"] = _just_above(value)
        rows.append(row)
    schema = {
        "reason": pl.String,
        "n": pl.Int64,
        "share": pl.Float64,
        "alone": pl.Int64,
        "field": pl.String,
        "limit": pl.Float64,
        **{f"let_{int(q * 100)}pct": pl.Float64 for q in _QUANTILES},
    }
    return pl.DataFrame(rows, schema=schema).sort("n", "reason", descending=[True, False])


def _just_above(value: float, digits: int = 3) -> float:
    """The smallest number of ``digits`` significant digits strictly above ``value`` (> 0)."""
    if not (math.isfinite(value) and value > 0.0):
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    out = math.floor(value / step + 1e-9) * step + step
    return float(f"{out:.{digits + 2}g}")


def _fmt_limit(field: str, value: float) -> str:
    return f"{value:.3g}" if field.endswith("_pct") else f"{value:.3f}"


def _rejection_findings(result: BacktestResult, limits: pl.DataFrame) -> list[dict[str, object]]:
    masks = result.raw.rejections["reason"]
    # repeated entry signals while the strategy holds the symbol are expected, not a limit
    n_repeat = int(np.count_nonzero(masks == (1 << codes.R_ALREADY_OPEN)))
    n_rej = masks.shape[0] - n_repeat
    n_ent = int(np.count_nonzero(result.raw.fills["side"] > 0))
    n_cand = n_rej + n_ent
    out: list[dict[str, object]] = []
    if n_cand == 0:
        out.append(
            _finding(
                "rejections",
                None,
                "info",
                "the strategies sent no entry signal"
                + (f" (only {n_repeat} repeats while holding)" if n_repeat else ""),
                "check the strategy's parameters and the data's date range",
            )
        )
        return out
    share = n_rej / n_cand
    if n_ent == 0:
        status, what = "problem", f"all {n_rej} entry candidates were rejected"
    elif share > _REJECTED_PROBLEM:
        status, what = "problem", f"{n_rej} of {n_cand} entry candidates ({share:.0%}) rejected"
    else:
        status, what = "ok", f"{n_rej} of {n_cand} entry candidates ({share:.0%}) rejected"
    if n_repeat:
        what += f" (not counting {n_repeat} repeated signals while holding)"
    top = limits.filter(pl.col("reason") != "already_open").head(3).select("reason", "n").rows()
    if top:
        what += "; most often: " + ", ".join(f"{r} ({n})" for r, n in top)
    hint = "the limits leave room for most trades"
    blocking = limits.filter(pl.col("reason") != "already_open")
    if status == "problem" and blocking.height:
        hint = _hint_for(blocking.row(0, named=True))
    out.append(_finding("rejections", None, status, what, hint))
    for row in limits.iter_rows(named=True):
        reason = row["reason"]
        code = _code_of(reason)
        if code in _LIMIT_FIELDS:
            finding = (
                f"{reason}: {row['n']} rejections ({row['alone']} by this limit alone) at "
                f"{row['field']}={_fmt_limit(row['field'], row['limit'])}"
            )
            sev = "problem" if status == "problem" and row["share"] >= 0.25 else "info"
        else:
            finding = f"{reason}: {row['n']} rejections ({row['alone']} for this reason alone)"
            sev = (
                "info"
                if code == codes.R_ALREADY_OPEN
                else ("problem" if status == "problem" and row["share"] >= 0.25 else "info")
            )
        out.append(_finding("limit", None, sev, finding, _hint_for(row)))
    return out


def _code_of(name: str) -> int:
    return next(c for c, n in codes.REASON_NAMES.items() if n == name)


def _hint_for(row: dict[str, object]) -> str:
    code = _code_of(str(row["reason"]))
    if code in _LIMIT_FIELDS:
        field = str(row["field"])
        let50, let90 = row["let_50pct"], row["let_90pct"]
        if isinstance(let50, float) and math.isfinite(let50):
            return (
                f"{field}={_fmt_limit(field, let50)} would have let half of these through and "
                f"{_fmt_limit(field, float(let90))} 90% (projected exposures of the rejected "
                "entries; other limits unchanged; rerun to confirm)"
            )
        return f"raise {field} gradually (the guide's fix), or lower max_risk_per_trade"
    return _OTHER_HINTS.get(code, "")


def _finding(
    check: str, strategy: str | None, status: str, finding: str, hint: str
) -> dict[str, object]:
    return {
        "check": check,
        "strategy": strategy,
        "status": status,
        "finding": finding,
        "hint": hint,
    }


def _sizing_frame(result: BacktestResult, entries: pl.DataFrame) -> pl.DataFrame:
    zero = Counter(
        result.strategies[int(s)]
        for s, m in zip(
            result.raw.rejections["strategy"].tolist(),
            result.raw.rejections["reason"].tolist(),
            strict=True,
        )
        if m >> codes.R_ZERO_SIZE & 1
    )
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


def _sizing_findings(sizing: pl.DataFrame) -> list[dict[str, object]]:
    out = []
    for row in sizing.iter_rows(named=True):
        name = row["strategy"]
        binding = row["binding"]
        if not row["entries"]:
            out.append(
                _finding(
                    "sizing",
                    name,
                    "problem",
                    f"{name}: no entry; {row['zero_size_rejections']} sized to zero",
                    _OTHER_HINTS[codes.R_ZERO_SIZE],
                )
            )
            continue
        notional, risk = row["median_notional_pct"], row["median_risk_pct"]
        text = (
            f"{name}: {row['entries']} entries, median {notional:.2f}% of equity (risk "
            f"{risk:.2f}%), size set by {binding} in {row['binding_share']:.0%}"
        )
        if row["kelly_fallback"]:
            text += f"; {row['kelly_fallback']} sized by Kelly's FixedFractional fallback"
        small = (
            notional < SMALL_NOTIONAL_PCT
            or row["share_one_unit"] > 0.5
            or row["zero_size_rejections"] > row["entries"]
        )
        large = notional > LARGE_NOTIONAL_PCT or risk > LARGE_RISK_PCT
        if small:
            out.append(
                _finding("sizing", name, "problem", "sizes small: " + text, _RAISE.get(binding, ""))
            )
        elif large:
            out.append(
                _finding("sizing", name, "problem", "sizes large: " + text, _LOWER.get(binding, ""))
            )
        else:
            out.append(
                _finding(
                    "sizing",
                    name,
                    "ok",
                    text,
                    f"to change sizes, {_RAISE.get(binding, '')} (or lower it)",
                )
            )
    return out


def diagnose(result: BacktestResult) -> Diagnosis:
    """Run every check on ``result`` (see the module docstring)."""
    findings: list[dict[str, object]] = []
    config = result.config
    if config is None:
        findings.append(
            _finding(
                "fixed_sizing",
                None,
                "info",
                "the run's settings were not recorded with this result",
                "results from BacktestEngine.run carry their config",
            )
        )
    elif not config.use_portfolio_management:
        findings.append(
            _finding(
                "fixed_sizing",
                None,
                "problem",
                f"portfolio management is off: every entry is floor(free cash x "
                f"{config.position_size_pct:g}% / unit cost), with no sizing method and no risk "
                "limits",
                "set config.use_portfolio_management = True, or use "
                "BacktestEngine.with_portfolio(config, PortfolioConfig(...))",
            )
        )
    else:
        method = result.portfolio_config.sizing_method.value if result.portfolio_config else "?"
        findings.append(
            _finding(
                "fixed_sizing", None, "ok", f"portfolio management is on (sizing {method})", ""
            )
        )
    limits = _limits_frame(result)
    findings += _rejection_findings(result, limits)
    entries = entry_sizing(result)
    sizing = _sizing_frame(result, entries)
    findings += _sizing_findings(sizing)
    frame = pl.DataFrame(findings, schema=_FINDING_SCHEMA)
    n_problems = frame.filter(pl.col("status") == "problem").height
    lines = [f"Diagnosis: {n_problems} problem{'' if n_problems == 1 else 's'}"]
    for status, finding, hint in frame.select("status", "finding", "hint").iter_rows():
        if status == "ok" and not finding:
            continue
        lines.append(f"[{status}] {finding}")
        if hint and status != "ok":
            lines.append(f"        -> {hint}")
    return Diagnosis("\n".join(lines), frame, limits, sizing)
