"""Heatmap of one sweep metric over two parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.plotting._common import (
    format_value,
    new_figure,
    require_columns,
    results_frame,
    save,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["heatmap_table", "plot_heatmap"]

Aggregate = Literal["mean", "median", "max", "min"]


def heatmap_table(
    results: object, x: str, y: str, metric: str, *, aggregate: Aggregate = "mean"
) -> tuple[list[object], list[object], np.ndarray]:
    """The grid behind :func:`plot_heatmap`.

    Rows whose metric is null or NaN (failed configurations, runs without trades) are left out;
    several rows for one ``(x, y)`` cell (other parameters varied too) are combined with
    ``aggregate``.

    Returns
    -------
    tuple
        ``(x_values, y_values, values)`` with ``values`` float64 ``(len(y_values), len(x_values))``,
        NaN where no configuration covers the cell. Axis values are sorted.
    """
    frame = results_frame(results)
    require_columns(frame, [x, y, metric], "plot_heatmap")
    if x == y:
        raise ConfigError(f"plot_heatmap x={x!r} and y={y!r} must be two different parameters")
    if aggregate not in ("mean", "median", "max", "min"):
        raise ConfigError(f"plot_heatmap aggregate={aggregate!r} must be mean, median, max or min")
    col = pl.col(metric).cast(pl.Float64)
    usable = frame.filter(col.is_not_null() & col.is_not_nan())
    cells = usable.group_by([x, y]).agg(getattr(col, aggregate)().alias("value"))
    x_values = sorted(frame[x].unique().drop_nulls().to_list())
    y_values = sorted(frame[y].unique().drop_nulls().to_list())
    values = np.full((len(y_values), len(x_values)), np.nan)
    xi = {v: i for i, v in enumerate(x_values)}
    yi = {v: i for i, v in enumerate(y_values)}
    for xv, yv, value in cells.select(x, y, "value").iter_rows():
        values[yi[yv], xi[xv]] = value
    return x_values, y_values, values


def plot_heatmap(
    results: object,
    x: str,
    y: str,
    metric: str = "sharpe_ratio",
    *,
    aggregate: Aggregate = "mean",
    path: PathLike | None = None,
    cmap: str = "RdYlGn",
    annotate: bool = True,
    title: str | None = None,
) -> Figure:
    """Heatmap of ``metric`` over two swept parameters.

    Parameters
    ----------
    results : SweepResult or polars.DataFrame
        The value returned by :func:`~dollarbill_research.sweep.sweep` (or its ``frame``).
    x, y : str
        Parameter columns for the horizontal and vertical axes (e.g. ``"max_risk_per_trade"``,
        ``"sizing_method"``).
    metric : str
        A metric column, e.g. ``"sharpe_ratio"``, ``"total_return"`` (fraction), ``"max_drawdown"``.
    aggregate : {"mean", "median", "max", "min"}
        How rows sharing a cell are combined.
    path : str or path-like, optional
        Save the figure there (format from the suffix).
    cmap : str
        Matplotlib colormap name.
    annotate : bool
        Write each cell's value.
    title : str, optional
        Defaults to ``"<metric> (<aggregate>)"``.

    Returns
    -------
    matplotlib.figure.Figure
        A standalone figure (no pyplot state; safe under the Agg backend and in threads).
    """
    x_values, y_values, values = heatmap_table(results, x, y, metric, aggregate=aggregate)
    fig = new_figure(max(4.0, 1.0 + 0.9 * len(x_values)), max(3.0, 1.0 + 0.5 * len(y_values)))
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, cmap=cmap, aspect="auto", origin="lower")
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_xticks(range(len(x_values)), [format_value(v) for v in x_values], rotation=30)
    ax.set_yticks(range(len(y_values)), [format_value(v) for v in y_values])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title if title is not None else f"{metric} ({aggregate})")
    if annotate and values.size <= 400:
        finite = values[np.isfinite(values)]
        mid = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for (row, col), value in np.ndenumerate(values):
            if np.isfinite(value):
                color = "black" if abs(value - mid) < 0.35 * (np.ptp(finite) or 1) else "white"
                ax.text(col, row, f"{value:.3g}", ha="center", va="center", fontsize=8, color=color)
    save(fig, path)
    return fig
