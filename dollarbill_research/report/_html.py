"""Small HTML builders shared by the report and the Jupyter reprs (escaped, deterministic)."""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "PERCENT_METRICS",
    "figure_img",
    "format_metric",
    "frame_table",
    "kv_table",
    "metric_unit",
    "table",
]

#: Metrics that are fractions shown as percent.
PERCENT_METRICS = frozenset(
    {"total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate", "exposure"}
)
_DOLLAR_METRICS = frozenset(
    {
        "total_costs", "avg_win", "avg_loss", "final_equity", "pnl", "realized_pnl", "avg_pnl",
        "best", "worst", "costs", "cash_flow", "max_drawdown_usd", "equity", "cash",
        "initial_capital", "fixed_dollar_amount",
    }
)  # fmt: skip


def esc(value: object) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def metric_unit(name: str) -> str:
    """``"%"`` for fractions, ``"$"`` for dollars, ``""`` otherwise."""
    if name in PERCENT_METRICS:
        return "%"
    if name in _DOLLAR_METRICS:
        return "$"
    return ""


def format_metric(name: str, value: object) -> str:
    """Text of a metric value: fractions as percent, dollars with separators, ratios 3 digits."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,d}"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    unit = metric_unit(name)
    if unit == "%":
        return f"{value * 100:.2f}%"
    if unit == "$":
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,d}"
    return f"{value:.3f}"


def format_plain(value: object) -> str:
    """Text of a setting or table value without units (temporal values as ISO text)."""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(format_plain(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def cell(value: object, name: str = "") -> str:
    """A ``<td>``; numbers carry their exact value in ``data-value`` and align right."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<td class="num" data-value="{esc(repr(value))}">{esc(format_metric(name, value))}'
            "</td>"
        )
    return f"<td>{esc('–' if value is None else value)}</td>"


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    cls: str = "",
    names: Sequence[str] | None = None,
) -> str:
    """An HTML table; ``names`` gives the metric name per column for number formatting."""
    names = names or header
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(cell(v, n) for v, n in zip(row, names, strict=False)) + "</tr>"
        for row in rows
    )
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv_table(items: Iterable[tuple[str, object]], *, cls: str = "kv", plain: bool = False) -> str:
    """Two-column table of name / value (values formatted by name, or as given: ``plain``)."""
    rows = "".join(
        f"<tr><th>{esc(k)}</th>"
        + (f"<td>{esc(format_plain(v))}</td>" if plain else cell(v, k))
        + "</tr>"
        for k, v in items
    )
    return f'<table class="{esc(cls)}"><tbody>{rows}</tbody></table>'


def frame_table(frame: pl.DataFrame, *, max_rows: int = 50, cls: str = "") -> str:
    """A polars frame as an HTML table (first ``max_rows`` rows; lists joined by ``; ``)."""
    shown = frame.head(max_rows)
    rows = [
        [v if isinstance(v, int | float) and not isinstance(v, bool) else format_plain(v)
         for v in row]
        for row in shown.iter_rows()
    ]  # fmt: skip
    out = table(frame.columns, rows, cls=cls)
    if frame.height > max_rows:
        out += f'<p class="note">{frame.height - max_rows} more rows not shown.</p>'
    return out


def figure_img(fig: Figure, *, alt: str, dpi: int = 80) -> str:
    """``fig`` as an inline base64 PNG ``<img>`` (no metadata: the bytes are deterministic)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'
