"""``result.report(path)``: one self-contained HTML page about a backtest.

Sections (their ``id`` is the anchor and what the tests look for): ``run``, ``config``,
``metrics``, ``diagnosis``, ``equity``, ``drawdowns``, ``calendar``, ``rolling-sharpe``,
``exposure``, ``greeks``, ``rejections``, ``breaches``, ``trades``, ``attribution``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.report import figures
from dollarbill_research.report._html import esc, figure_img, frame_table, kv_table, table
from dollarbill_research.report._page import Section, check_output, render_page, write_page
from dollarbill_research.report.analytics import calendar_returns, drawdown_periods, rolling_sharpe

if TYPE_CHECKING:
    from pathlib import Path

    from dollarbill_research.backtesting.result import BacktestResult

__all__ = ["SECTION_IDS", "backtest_report", "backtest_sections"]

SECTION_IDS: tuple[str, ...] = (
    "run",
    "config",
    "metrics",
    "diagnosis",
    "equity",
    "drawdowns",
    "calendar",
    "rolling-sharpe",
    "exposure",
    "greeks",
    "rejections",
    "breaches",
    "trades",
    "attribution",
)
_ROLLING_WINDOW = 63  # bars (a quarter of daily bars)


def _run_section(result: BacktestResult) -> str:
    from dollarbill_research import __version__
    from dollarbill_research.backtesting.summary import _mode

    ts = result.equity["timestamp"]
    period = f"{str(ts[0])[:10]} .. {str(ts[-1])[:10]}" if len(ts) else "empty"
    syms = ", ".join(result.symbols[:30]) + (" ..." if len(result.symbols) > 30 else "")
    bpy = result.config.bars_per_year if result.config is not None else None
    return kv_table(
        [
            ("period", period),
            ("bars", result.equity.height),
            ("bars per year", bpy),
            ("symbols", f"{len(result.symbols)}: {syms}"),
            ("strategies", ", ".join(result.strategies)),
            ("mode", _mode(result)),
            ("fills", result.trades.height),
            ("rejections", result.rejections.height),
            ("dollarbill-research", __version__),
        ]
    )


def _config_section(result: BacktestResult) -> str:
    if result.config is None:
        return '<p class="note">The run\'s settings were not recorded with this result.</p>'
    out = '<div class="grid2"><div><h3>BacktestConfig</h3>'
    out += kv_table(result.config.to_dict().items(), plain=True) + "</div>"
    pc = result.portfolio_config
    if pc is not None:
        items = []
        for key, value in pc.to_dict().items():
            if isinstance(value, dict):
                items += [(f"{key}.{k}", v) for k, v in value.items()]
            else:
                items.append((key, value))
        note = (
            ""
            if result.config.use_portfolio_management
            else '<p class="note">Portfolio management is off: these settings were not used.</p>'
        )
        out += "<div><h3>PortfolioConfig</h3>" + note + kv_table(items, plain=True) + "</div>"
    return out + "</div>"


def _metrics_section(result: BacktestResult) -> str:
    return kv_table(result.metrics.to_dict().items(), cls="kv metrics")


def _diagnosis_section(result: BacktestResult) -> str:
    diag = result.diagnose()
    items = "".join(
        f'<li class="{esc(s)}"><b>[{esc(s)}]</b> {esc(f)}'
        + (f"<br><small>&rarr; {esc(h)}</small>" if h and s != "ok" else "")
        + "</li>"
        for s, f, h in diag.frame.select("status", "finding", "hint").iter_rows()
    )
    out = f"<ul>{items}</ul>"
    if diag.limits.height:
        out += "<h3>Rejections by limit</h3>" + frame_table(diag.limits)
    if diag.sizing.height:
        out += "<h3>Sizing per strategy</h3>" + frame_table(diag.sizing)
    return out


def _drawdowns_table(dd: pl.DataFrame) -> str:
    rows = [
        (k, str(p)[:10], str(t)[:10], str(r)[:10] if r is not None else "not recovered", d, b)
        for k, (p, t, r, d, b, _bt) in enumerate(dd.iter_rows(), 1)
    ]
    return table(
        ["#", "peak", "trough", "recovery", "depth", "bars"],
        rows,
        names=["#", "", "", "", "max_drawdown", "n"],
    )


_EXPOSURE_LIMITS = (
    ("delta_exposure", "net delta", True),
    ("gamma_exposure", "gamma (1% move)", True),
    ("vega_exposure", "vega (10 vol points)", True),
    ("var_95", "VaR 95 (one bar)", False),
)


def _greeks_table(result: BacktestResult) -> str:
    """Per limited exposure: the limit, the largest and mean size, bars past the limit."""
    eq = result.equity
    rows = []
    for col, label, signed in _EXPOSURE_LIMITS:
        values = eq[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        size = abs(values) if signed else values
        finite = size[~(size != size)]
        limit = result.limits.get(col)
        peak = float(finite.max()) if finite.size else float("nan")
        mean = float(finite.mean()) if finite.size else float("nan")
        over = int((finite > limit).sum()) if limit is not None else 0
        share = over / finite.size if finite.size and limit is not None else float("nan")
        rows.append((label, limit, peak, mean, over, share))
    return table(
        ["exposure", "limit", "largest", "mean", "bars past the limit", "share of bars"],
        rows,
        names=["", "exposure", "exposure", "exposure", "n", "exposure"],
    )


def _rejections_section(result: BacktestResult) -> str:
    rej = result.rejections
    if not rej.height:
        return '<p class="note">The run rejected no entry.</p>'
    by_reason = (
        rej.explode("reasons")
        .group_by("reasons")
        .len()
        .sort("len", "reasons", descending=[True, False])
    )
    by_strategy = (
        rej.explode("reasons")
        .group_by("strategy", "reasons")
        .len()
        .pivot(on="reasons", index="strategy", values="len", sort_columns=True)
        .fill_null(0)
        .sort("strategy")
    )
    examples = rej.unique("text", keep="first", maintain_order=True).head(10)
    return (
        figure_img(figures.rejections_figure(result), alt="rejections by reason over time")
        + '<div class="grid2"><div><h3>By reason</h3>'
        + table(["reason", "rejections"], by_reason.rows())
        + "</div><div><h3>By strategy</h3>"
        + frame_table(by_strategy)
        + "</div></div>"
        + "<h3>Examples</h3>"
        + frame_table(examples.select("timestamp", "symbol", "strategy", "text"))
    )


_BREACH_FRACTIONS = ("value", "limit", "value_after")  # fractions of equity


def _breaches_section(result: BacktestResult) -> str:
    breaches = getattr(result, "breaches", None)
    if not isinstance(breaches, pl.DataFrame) or not breaches.height:
        why = "" if isinstance(breaches, pl.DataFrame) else " (this result has no breach records)"
        return f'<p class="note">The run recorded no limit breaches or risk actions{esc(why)}.</p>'
    fractions = [c for c in _BREACH_FRACTIONS if c in breaches.columns
                 and breaches.schema[c].is_float()]  # fmt: skip
    shown = breaches.with_columns(
        (pl.col(c) * 100.0).round(3).alias(f"{c} (%)") for c in fractions
    ).drop(fractions)
    keys = [c for c in ("exposure", "action") if c in breaches.columns]
    if not keys:
        keys = [c for c, t in breaches.schema.items() if t == pl.String and c != "note"][:2]
    out = f"<p>{breaches.height} breach records.</p>"
    if keys:
        counts = (
            breaches.group_by(keys)
            .len()
            .sort("len", *keys, descending=[True, *[False] * len(keys)])
        )
        out += "<h3>Counts</h3>" + frame_table(counts)
    return out + "<h3>Records</h3>" + frame_table(shown, max_rows=30)


def _trades_section(result: BacktestResult) -> str:
    trades = result.trades
    if not trades.height:
        return '<p class="note">The run made no trade.</p>'
    closed = trades.filter(pl.col("side") == "close")
    costs = trades.group_by("strategy", "instrument").agg(pl.col("costs").sum().alias("costs"))
    summary = (
        closed.group_by("strategy", "instrument")
        .agg(
            pl.len().alias("closed"),
            (pl.col("pnl") > 0).mean().alias("win_rate"),
            pl.col("pnl").sum().alias("pnl"),
            pl.col("pnl").mean().alias("avg_pnl"),
            pl.col("pnl").max().alias("best"),
            pl.col("pnl").min().alias("worst"),
        )
        .join(costs, on=["strategy", "instrument"], how="full", coalesce=True)
        .sort("strategy", "instrument")
    )
    exits = (
        closed.group_by("strategy", "reason")
        .len()
        .pivot(on="reason", index="strategy", values="len", sort_columns=True)
        .fill_null(0)
        .sort("strategy")
    )
    cols = ["timestamp", "symbol", "strategy", "instrument", "legs", "qty", "pnl", "reason"]
    best = closed.sort("pnl", descending=True).head(5).select(cols)
    worst = closed.sort("pnl").head(5).select(cols)
    return (
        "<h3>By strategy and instrument</h3>"
        + frame_table(summary)
        + "<h3>Exit reasons</h3>"
        + frame_table(exits)
        + "<h3>Best closed trades</h3>"
        + frame_table(best)
        + "<h3>Worst closed trades</h3>"
        + frame_table(worst)
    )


def _attribution_section(result: BacktestResult) -> str:
    return frame_table(result.attribution) + figure_img(
        figures.strategy_pnl_figure(result), alt="cumulative P&L per strategy"
    )


def backtest_sections(result: BacktestResult) -> list[Section]:
    """Every section of the backtest report, in order (ids: :data:`SECTION_IDS`)."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    equity = eq["equity"].to_numpy()
    dd = drawdown_periods(equity, eq["timestamp"], n=5)
    monthly = calendar_returns(equity, eq["timestamp"], "1mo")
    yearly = calendar_returns(equity, eq["timestamp"], "1y")
    cfg = result.config
    bpy = cfg.bars_per_year if cfg is not None else 252
    rf = cfg.risk_free_rate if cfg is not None else 0.0
    window = min(_ROLLING_WINDOW, max(len(equity) // 4, 2))
    roll = rolling_sharpe(equity, window, bpy, rf)
    greeks_note = (
        '<p class="note">Dashed red lines are the portfolio limits (net delta, gamma, vega and '
        "VaR are checked before every entry; exposures may drift past a limit as markets move)."
        "</p>"
        if result.limits
        else '<p class="note">Portfolio management was off: no exposure limits applied.</p>'
    )
    return [
        Section("run", "Run", _run_section(result)),
        Section("config", "Configuration", _config_section(result)),
        Section("metrics", "Metrics", _metrics_section(result)),
        Section("diagnosis", "Diagnosis", _diagnosis_section(result)),
        Section(
            "equity",
            "Equity and drawdown",
            figure_img(figures.equity_figure(result, dd), alt="equity and underwater curve"),
        ),
        Section(
            "drawdowns",
            "Worst 5 drawdowns",
            _drawdowns_table(dd) if dd.height else '<p class="note">No drawdown.</p>',
        ),
        Section(
            "calendar",
            "Monthly and yearly returns",
            figure_img(figures.calendar_figure(monthly, yearly), alt="monthly returns")
            if monthly.height
            else '<p class="note">No returns.</p>',
        ),
        Section(
            "rolling-sharpe",
            f"Rolling Sharpe ({window} bars)",
            figure_img(
                figures.rolling_sharpe_figure(ts, roll, window, result.metrics.sharpe_ratio),
                alt="rolling Sharpe",
            ),
        ),
        Section(
            "exposure",
            "Gross and net exposure",
            figure_img(figures.exposure_figure(result), alt="gross and net exposure"),
        ),
        Section(
            "greeks",
            "Greek exposures against their limits",
            greeks_note
            + _greeks_table(result)
            + figure_img(figures.greeks_figure(result), alt="greek exposures"),
        ),
        Section("rejections", "Rejections by reason over time", _rejections_section(result)),
        Section("breaches", "Breaches and risk actions", _breaches_section(result)),
        Section("trades", "Trades", _trades_section(result)),
        Section("attribution", "Per-strategy attribution", _attribution_section(result)),
    ]


def backtest_report(
    result: BacktestResult,
    path: PathLike,
    *,
    title: str = "Backtest report",
) -> Path:
    """Write the report of ``result`` to ``path`` (HTML); return the path."""
    out = check_output(path)
    sections = backtest_sections(result)
    m = result.metrics
    subtitle = (
        f"total return {m.total_return * 100:.2f}%, Sharpe {m.sharpe_ratio:.2f}, max drawdown "
        f"{m.max_drawdown * 100:.2f}%"
        if not math.isnan(m.total_return)
        else ""
    )
    return write_page(out, render_page(title, subtitle, sections))
