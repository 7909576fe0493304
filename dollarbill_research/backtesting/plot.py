"""One-page plot of a backtest: equity, drawdown, exposures vs limits, rejections over time.

Built on :class:`matplotlib.figure.Figure` (no pyplot): the user's backend and pyplot's figure
list are left alone, and the returned figure displays inline in Jupyter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.plotting._common import new_figure, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from dollarbill_research.backtesting.result import BacktestResult

__all__ = ["draw_exposures", "draw_rejections", "plot_result", "rejection_counts_by_bar"]

_EXPOSURE_COLORS = (
    ("delta_exposure", "tab:blue"),
    ("gamma_exposure", "tab:orange"),
    ("vega_exposure", "tab:green"),
    ("var_95", "tab:purple"),
)


def draw_exposures(ax: Axes, result: BacktestResult) -> None:
    """Greek exposures and VaR in % of equity, with their limits as dashed lines."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    for col, color in _EXPOSURE_COLORS:
        values = eq[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        ax.plot(ts, 100.0 * values, color=color, label=col, linewidth=1.0)
        if col in result.limits:
            limit = 100.0 * result.limits[col]
            ax.axhline(limit, color=color, linestyle="--", linewidth=0.8)
            if col != "var_95":
                ax.axhline(-limit, color=color, linestyle="--", linewidth=0.8)
    ax.set_ylabel("% of equity")
    ax.legend(loc="upper left", fontsize=7, ncol=4)
    ax.grid(alpha=0.3)


def rejection_counts_by_bar(result: BacktestResult, every: str | None = None) -> pl.DataFrame:
    """Rejections per timestamp and reason: ``timestamp`` then one count column per reason.

    A rejection with several reasons counts once under each. With ``every`` (a polars duration
    such as ``"1w"`` or ``"1mo"``) the counts are per period, labelled by the period's start.
    Empty (only ``timestamp``) when the run rejected nothing.
    """
    reasons = getattr(result, "rejection_reasons", None)  # counting renders no reason text
    rej = reasons() if reasons is not None else result.rejections
    if not rej.height:
        return pl.DataFrame({"timestamp": rej["timestamp"]})
    if every is not None:
        rej = rej.with_columns(pl.col("timestamp").dt.truncate(every))
    return (
        rej.explode("reasons")
        .group_by("timestamp", "reasons")
        .len()
        .sort("timestamp", "reasons")
        .pivot(on="reasons", index="timestamp", values="len", sort_columns=True)
        .fill_null(0)
    )


def draw_rejections(ax: Axes, result: BacktestResult, every: str | None = None,
                    width: float = 1.0) -> None:  # fmt: skip
    """Stacked bars of rejections per bar (or per ``every`` period), by reason."""
    counts = rejection_counts_by_bar(result, every)
    if counts.width > 1:
        x = counts["timestamp"].to_numpy()
        bottom = np.zeros(counts.height)
        for name in counts.columns[1:]:
            y = counts[name].to_numpy().astype(np.float64)
            ax.bar(x, y, bottom=bottom, label=name, width=width, align="edge")
            bottom = bottom + y
        ax.legend(loc="upper left", fontsize=7, ncol=4)
    else:
        ax.text(0.5, 0.5, "no rejections", transform=ax.transAxes, ha="center", va="center")
    period = {"1w": "week", "1mo": "month", "1y": "year"}.get(every or "", every)
    ax.set_ylabel("rejections per bar" if every is None else f"rejections per {period}")


def plot_result(
    result: BacktestResult, path: PathLike | None = None, title: str = "Backtest"
) -> Figure:
    """Draw the four panels; save to ``path`` when given; return the figure."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    fig = new_figure(11.0, 11.0)
    axes = fig.subplots(4, 1, sharex=True)
    ax = axes[0]
    ax.plot(ts, eq["equity"].to_numpy(), label="equity")
    ax.plot(ts, eq["cash"].to_numpy(), label="cash", alpha=0.6)
    ax.set_ylabel("dollars")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.fill_between(ts, -100.0 * eq["drawdown"].to_numpy(), 0.0, color="tab:red", alpha=0.4)
    ax.set_ylabel("drawdown %")
    ax.grid(alpha=0.3)
    draw_exposures(axes[2], result)
    draw_rejections(axes[3], result)
    save(fig, path, dpi=90)
    return fig
