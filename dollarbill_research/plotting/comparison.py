"""Sizing methods (or any configurations) side by side: equity curves and a metric table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.plotting._common import format_value, new_figure, save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_TABLE_METRICS", "Curve", "comparison_curves", "plot_sizing_comparison"]

#: Metrics shown in the table by default (fractions are printed as percent).
DEFAULT_TABLE_METRICS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "win_rate",
    "n_trades",
)
_PERCENT = {"total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate", "exposure"}


@dataclass(frozen=True, slots=True)
class Curve:
    """One line of the comparison: a label, its equity curve and its metrics."""

    label: str
    timestamps: np.ndarray
    equity: FloatArray
    metrics: dict[str, object]


def comparison_curves(results: object, label_by: Sequence[str] | None = None) -> list[Curve]:
    """Normalise what :func:`plot_sizing_comparison` accepts into :class:`Curve` objects.

    Parameters
    ----------
    results : SweepResult or mapping of label -> BacktestResult
        A sweep run with ``keep_best=N`` (its kept equity curves, labelled by ``label_by``), or
        ``{"VolatilityBased": result, ...}`` of objects with an ``equity`` frame (``timestamp``
        and ``equity`` columns) and ``metrics``.
    label_by : sequence of str, optional
        Sweep parameter columns that name each curve; default ``sizing_method`` when swept,
        else every swept parameter.
    """
    if isinstance(results, Mapping):
        return [_from_backtest(str(label), res) for label, res in results.items()]
    frame = getattr(results, "frame", None)
    curves = getattr(results, "curves", None)
    if isinstance(frame, pl.DataFrame) and isinstance(curves, Mapping):
        if not curves:
            raise ConfigError(
                "plot_sizing_comparison: the sweep kept no equity curves; "
                "hint: run sweep(..., keep_best=5)"
            )
        params = list(getattr(results, "param_names", ()))
        if label_by is None:
            label_by = ["sizing_method"] if "sizing_method" in params else params
        out = []
        for config_id, eq in curves.items():
            row = frame.filter(pl.col("config_id") == config_id).row(0, named=True)
            label = ", ".join(f"{format_value(row[n])}" for n in label_by) or f"#{config_id}"
            out.append(Curve(label, eq["timestamp"].to_numpy(), eq["equity"].to_numpy(), dict(row)))
        return out
    raise ConfigError(
        f"plot_sizing_comparison got {type(results).__name__}; hint: pass a sweep result with "
        "kept curves (keep_best=N) or a dict of label -> BacktestResult"
    )


def _from_backtest(label: str, result: object) -> Curve:
    equity = getattr(result, "equity", None)
    if not isinstance(equity, pl.DataFrame) or not {"timestamp", "equity"} <= set(equity.columns):
        raise ConfigError(
            f"plot_sizing_comparison[{label!r}] has no equity frame with timestamp and equity "
            "columns; hint: pass BacktestResult objects"
        )
    metrics = getattr(result, "metrics", None)
    if dataclasses.is_dataclass(metrics) and not isinstance(metrics, type):
        values = dataclasses.asdict(metrics)
    elif isinstance(metrics, Mapping):
        values = dict(metrics)
    else:
        values = {}
    return Curve(label, equity["timestamp"].to_numpy(), equity["equity"].to_numpy(), values)


def _cell(name: str, value: object) -> str:
    if name in _PERCENT and isinstance(value, float) and value == value:
        return f"{value * 100:.1f}%"
    return format_value(value)


def plot_sizing_comparison(
    results: object,
    *,
    metrics: Sequence[str] = DEFAULT_TABLE_METRICS,
    label_by: Sequence[str] | None = None,
    path: PathLike | None = None,
    title: str = "Sizing methods compared",
) -> Figure:
    """Equity curves (with drawdowns below) beside a table of metrics, one line per configuration.

    Parameters
    ----------
    results : SweepResult or mapping of label -> BacktestResult
        See :func:`comparison_curves`. To compare the five sizing methods in one call:
        ``plot_sizing_comparison(sweep(data, strategy, {"sizing_method": [...]}, keep_best=5))``.
    metrics : sequence of str
        Metric names for the table; fractions (returns, drawdown, win rate) print as percent.
    label_by : sequence of str, optional
        Parameter columns naming each curve (sweep input only).
    path : str or path-like, optional
        Save the figure there.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        A standalone figure (Agg-safe).
    """
    curves = comparison_curves(results, label_by)
    if not curves:
        raise ConfigError("plot_sizing_comparison: nothing to plot (empty input)")
    fig = new_figure(13.0, 6.0)
    grid = fig.add_gridspec(2, 2, width_ratios=(3, 2), height_ratios=(3, 1))
    ax_eq = fig.add_subplot(grid[0, 0])
    ax_dd = fig.add_subplot(grid[1, 0], sharex=ax_eq)
    ax_tab = fig.add_subplot(grid[:, 1])
    for curve in curves:
        eq = curve.equity
        peak = np.maximum.accumulate(eq)
        with np.errstate(divide="ignore", invalid="ignore"):
            drawdown = np.where(peak > 0, eq / peak - 1.0, 0.0)
        (line,) = ax_eq.plot(curve.timestamps, eq, label=curve.label, linewidth=1.2)
        ax_dd.fill_between(curve.timestamps, drawdown * 100, 0, color=line.get_color(), alpha=0.25)
    ax_eq.set_ylabel("equity ($)")
    ax_eq.legend(fontsize=8, loc="upper left")
    ax_eq.grid(alpha=0.3)
    ax_dd.set_ylabel("drawdown (%)")
    ax_dd.grid(alpha=0.3)
    ax_tab.axis("off")
    cells = [[_cell(m, c.metrics.get(m, float("nan"))) for m in metrics] for c in curves]
    table = ax_tab.table(
        cellText=np.array(cells, dtype=object).T.tolist(),
        rowLabels=list(metrics),
        colLabels=[c.label.replace(", ", "\n") for c in curves],
        loc="center",
        cellLoc="right",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.4)
    lines = max(label.count(", ") + 1 for label in (c.label for c in curves))
    for (row, _col), cell in table.get_celld().items():
        if row == 0 and lines > 1:  # labels of several parameters: one per line
            cell.set_height(cell.get_height() * lines)
    fig.suptitle(title)
    save(fig, path)
    return fig
