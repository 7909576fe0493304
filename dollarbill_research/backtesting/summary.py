"""Headline numbers of a result: ``summary()`` frame, short ``__repr__`` and ``_repr_html_``.

The reprs stay a few lines (well under 2 KB whatever the run's size): frames are summarised by
their shape, never printed.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import polars as pl

from dollarbill_research.backtesting.result import frame_height
from dollarbill_research.report._html import esc, format_metric, kv_table

if TYPE_CHECKING:
    from dollarbill_research.backtesting.metrics import Metrics
    from dollarbill_research.backtesting.result import BacktestResult

__all__ = ["metrics_html", "metrics_repr", "result_html", "result_repr", "summary_frame"]

_HEADLINE = ("total_return", "cagr", "sharpe_ratio", "max_drawdown", "n_trades")


def _period(result: BacktestResult) -> tuple[str, str, int]:
    ts = result.equity["timestamp"]
    if not len(ts):
        return "", "", 0
    return str(ts[0])[:10], str(ts[-1])[:10], len(ts)


def _final_equity(result: BacktestResult) -> float:
    eq = result.equity["equity"]
    return float(eq[-1]) if len(eq) else float("nan")


def _mode(result: BacktestResult) -> str:
    config = result.config
    if config is None:
        return "unknown"
    if not config.use_portfolio_management:
        return "portfolio management off (fixed sizing)"
    pc = result.portfolio_config
    if pc is None:
        return "portfolio management on"
    return f"portfolio management on ({pc.sizing_method.value})"


def summary_frame(result: BacktestResult) -> pl.DataFrame:
    """One row per headline figure: ``name`` (str), ``value`` (float64), ``display`` (str).

    Rows: ``bars``, ``final_equity``, every :class:`Metrics` field (fractions as fractions in
    ``value``, as percent in ``display``), ``n_rejections`` and ``n_rejected_entries`` (distinct
    symbol/strategy/bar candidates).
    """
    metrics = result.metrics.to_dict()
    rows: list[tuple[str, float]] = [
        ("bars", float(result.equity.height)),
        ("final_equity", _final_equity(result)),
        *((k, float(v)) for k, v in metrics.items()),
        ("n_rejections", float(frame_height(result, "rejections"))),
    ]
    display = [
        format_metric(name, int(value) if name in ("bars", "n_trades", "n_rejections") else value)
        for name, value in rows
    ]
    return pl.DataFrame(
        {"name": [r[0] for r in rows], "value": [r[1] for r in rows], "display": display},
        schema={"name": pl.String, "value": pl.Float64, "display": pl.String},
    )


def metrics_repr(metrics: Metrics) -> str:
    """A few lines: headline metrics first, then the rest."""
    values = dataclasses.asdict(metrics)
    parts = [f"{k}={format_metric(k, v)}" for k, v in values.items()]
    lines, line = [], "Metrics("
    for part in parts:
        if len(line) + len(part) > 92:
            lines.append(line.rstrip())
            line = "    "
        line += part + ", "
    lines.append(line.rstrip(", ") + ")")
    return "\n".join(lines)


def metrics_html(metrics: Metrics) -> str:
    """The metrics as a two-column HTML table."""
    return kv_table(dataclasses.asdict(metrics).items(), cls="dollarbill-metrics")


def result_repr(result: BacktestResult) -> str:
    """``BacktestResult(...)`` in a few lines: period, mode, headline metrics, frame sizes."""
    start, end, n_bars = _period(result)
    m = result.metrics
    head = ", ".join(f"{k}={format_metric(k, getattr(m, k))}" for k in _HEADLINE)
    strategies = ", ".join(result.strategies[:4]) + (" ..." if len(result.strategies) > 4 else "")
    n_sym = len(result.symbols)
    lines = [
        f"BacktestResult({start} .. {end}, {n_bars} bars, {n_sym} symbols, {_mode(result)})",
        f"  strategies: {strategies}",
        f"  {head}",
        f"  final_equity={format_metric('final_equity', _final_equity(result))}, "
        f"trades frame {frame_height(result, 'trades')} rows, rejections "
        f"{frame_height(result, 'rejections')}",
        "  .metrics .equity .trades .rejections .attribution .summary() .diagnose() "
        ".plot() .report(path)",
    ]
    return "\n".join(lines)


def result_html(result: BacktestResult) -> str:
    """The headline table (and the strategies) as HTML for Jupyter."""
    start, end, n_bars = _period(result)
    rows = [
        ("period", f"{start} .. {end}"),
        ("bars", n_bars),
        ("symbols", len(result.symbols)),
        ("strategies", ", ".join(result.strategies)),
        ("mode", _mode(result)),
        ("final_equity", _final_equity(result)),
        *((k, getattr(result.metrics, k)) for k in _HEADLINE),
        ("annual_volatility", result.metrics.annual_volatility),
        ("win_rate", result.metrics.win_rate),
        ("total_costs", result.metrics.total_costs),
        ("rejections", frame_height(result, "rejections")),
    ]
    return (
        '<div class="dollarbill-result"><strong>BacktestResult</strong>'
        f"{kv_table(rows)}<small>{esc('result.summary(), result.diagnose(), result.report(path)')}"
        "</small></div>"
    )
