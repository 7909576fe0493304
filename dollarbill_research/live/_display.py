"""Short text and HTML views of a :class:`~dollarbill_research.live.portfolio.Decisions`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from dollarbill_research.report._html import esc, format_metric, frame_table

if TYPE_CHECKING:
    from dollarbill_research.live.portfolio import Decisions

__all__ = ["decisions_html", "decisions_repr"]

_ORDER_COLS = ("symbol", "strategy", "side", "instrument", "legs", "qty", "price", "reason")
_REJECT_COLS = ("symbol", "strategy", "text")


def _equity(d: Decisions) -> float:
    return float(d.equity["equity"]) if d.equity.size else float("nan")


def _lines(frame: pl.DataFrame, cols: tuple[str, ...], limit: int) -> list[str]:
    keep = [c for c in cols if c in frame.columns]
    out = []
    for row in frame.head(limit).select(keep).iter_rows(named=True):
        parts = []
        for name, v in row.items():
            if name == "qty" and isinstance(v, float):
                parts.append(f"x{v:g}")
            elif name == "price" and isinstance(v, float):
                parts.append(f"@ {v:,.2f}")
            else:
                parts.append(str(v))
        out.append("    " + " ".join(parts)[:150])
    if frame.height > limit:
        out.append(f"    ... {frame.height - limit} more")
    return out


def decisions_repr(d: Decisions) -> str:
    """A few lines: the bar, equity, then up to 5 orders and 5 rejections (< 2 KB)."""
    when = str(d.timestamp)[:19].removesuffix("T00:00:00")
    lines = [
        f"Decisions({when}, equity={format_metric('final_equity', _equity(d))}"
        f", {d.orders.height} orders, {d.rejections.height} rejections, "
        f"{d.warnings.height} warnings)"
    ]
    if d.orders.height:
        lines += ["  orders:", *_lines(d.orders, _ORDER_COLS, 5)]
    if d.rejections.height:
        lines += ["  rejections:", *_lines(d.rejections, _REJECT_COLS, 5)]
    return "\n".join(lines)


def decisions_html(d: Decisions) -> str:
    """The bar's orders, rejections and warnings as HTML tables."""
    parts = [f"<strong>{esc(decisions_repr(d).splitlines()[0])}</strong>"]
    if d.orders.height:
        cols = [c for c in _ORDER_COLS if c in d.orders.columns]
        parts.append("<div>orders</div>" + frame_table(d.orders.select(cols), max_rows=20))
    if d.rejections.height:
        cols = [c for c in _REJECT_COLS if c in d.rejections.columns]
        parts.append("<div>rejections</div>" + frame_table(d.rejections.select(cols), max_rows=20))
    if d.warnings.height:
        parts.append("<div>warnings</div>" + frame_table(d.warnings, max_rows=20))
    return "<div>" + "".join(parts) + "</div>"
