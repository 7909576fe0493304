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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research.backtesting.sizing_check import (
    LARGE_NOTIONAL_PCT,
    LARGE_RISK_PCT,
    SMALL_NOTIONAL_PCT,
    ZERO_SIZE_HINT,
    entry_sizing,
    make_finding,
    sizing_findings,
    sizing_frame,
)
from dollarbill_research.kernels import codes
from dollarbill_research.kernels.params import portfolio_params

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
_OTHER_HINTS = {
    codes.R_STRATEGY_CAPACITY: "raise PortfolioConfig.max_strategy_allocation_pct or run fewer "
    "strategies on the same capital",
    codes.R_CASH: "add capital, or lower max_position_pct / position_size_pct so entries fit "
    "the free cash",
    codes.R_MAX_POSITIONS: "raise max_positions (BacktestConfig and PortfolioConfig; 0 = "
    "unlimited)",
    codes.R_ZERO_SIZE: ZERO_SIZE_HINT,
    codes.R_ALREADY_OPEN: "expected: a strategy holds one position per symbol; repeated entry "
    "signals while it is open are rejected",
    codes.R_NO_PRICE: "the data has no usable close or iv on those bars; check the input",
    codes.R_LIQUIDITY: "one unit is above BacktestConfig.max_contracts_per_trade or "
    "max_notional_multiple x equity; raise them (0 = off) or trade smaller structures",
    codes.R_UNIT_TOO_LARGE: "Kelly's probe (one unit) does not fit max_position_pct / "
    "max_risk_per_trade; raise those or lower PortfolioConfig.kelly_probe_units",
    codes.R_COST: "the structures' spreads and commissions eat their max loss (cheap underlyings, "
    "narrow wings); trade wider or pricier structures, or raise "
    "BacktestConfig.max_round_trip_cost_pct (0 = off)",
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
        up to 3 significant digits; exposure limits only, in the field's unit; null for the
        other reasons).
    sizing : polars.DataFrame
        One row per strategy with entries: ``strategy``, ``entries``, ``median_qty``,
        ``median_notional_pct`` and ``median_risk_pct`` (% of equity), ``share_one_unit``,
        ``binding`` (the cap that set most sizes), ``binding_share``, ``kelly_fallback``
        (entries sized by Kelly's fallback), ``zero_size_rejections`` and
        ``zero_size_unit_pct`` (median cash one unit of those candidates needs, % of equity).
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
            f'<li class="{esc(s)}"><b>{esc(s)}</b> {esc(f)}'
            + (f"<br><small>&rarr; {esc(h)}</small>" if h and s != "ok" else "")
            + "</li>"
            for s, f, h in self.frame.select("status", "finding", "hint").iter_rows()
        )
        return (
            f'<div class="dollarbill-diagnosis"><ul>{items}</ul>'
            f"{frame_table(self.limits) if self.limits.height else ''}"
            f"{frame_table(self.sizing) if self.sizing.height else ''}</div>"
        )


# --- the checks -------------------------------------------------------------------------------
def _limit_value(result: BacktestResult, reason: int) -> float:
    pc: PortfolioConfig | None = result.portfolio_config
    if pc is None:
        return math.nan
    name = _LIMIT_FIELDS[reason][0].removeprefix("risk_limits.")  # the kernels' field name
    return float(getattr(portfolio_params(pc.to_kernel()), name))


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
    frame = pl.DataFrame(rows, schema=schema).sort("n", "reason", descending=[True, False])
    # NaN only where a value is not defined (reasons without a limit): show those as null
    return frame.with_columns(
        pl.col("limit", *(f"let_{int(q * 100)}pct" for q in _QUANTILES)).fill_nan(None)
    )


def _just_above(value: float, digits: int = 3) -> float:
    """The smallest number of ``digits`` significant digits strictly above ``value`` (> 0)."""
    if not (math.isfinite(value) and value > 0.0):
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    out = math.floor(value / step + 1e-9) * step + step
    return float(f"{out:.{digits + 2}g}")


def _fmt_limit(field: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "?"
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
            make_finding(
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
    out.append(make_finding("rejections", None, status, what, hint))
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
        out.append(make_finding("limit", None, sev, finding, _hint_for(row)))
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


def diagnose(result: BacktestResult) -> Diagnosis:
    """Run every check on ``result`` (see the module docstring)."""
    findings: list[dict[str, object]] = []
    config = result.config
    if config is None:
        findings.append(
            make_finding(
                "fixed_sizing",
                None,
                "info",
                "the run's settings were not recorded with this result",
                "results from BacktestEngine.run carry their config",
            )
        )
    elif not config.use_portfolio_management:
        findings.append(
            make_finding(
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
            make_finding(
                "fixed_sizing", None, "ok", f"portfolio management is on (sizing {method})", ""
            )
        )
    limits = _limits_frame(result)
    findings += _rejection_findings(result, limits)
    entries = entry_sizing(result)
    sizing = sizing_frame(result, entries)
    pc = result.portfolio_config
    pm_on = config is not None and config.use_portfolio_management
    findings += sizing_findings(sizing, pc.max_position_pct if pc is not None and pm_on else None)
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
