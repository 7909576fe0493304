"""``sweep_result.report(path)``: one self-contained HTML page about a parameter sweep.

Sections (ids): ``run``, ``ranking``, ``heatmaps``, ``best-curves``, ``rejections``,
``selection-bias`` (a marked place for deflated Sharpe / PBO once the sweep keeps its returns),
``errors``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.plotting._common import new_figure
from dollarbill_research.report._html import esc, figure_img, frame_table, kv_table
from dollarbill_research.report._page import Section, check_output, render_page, write_page

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

    from dollarbill_research.sweep.result import SweepResult

__all__ = ["SWEEP_SECTION_IDS", "sweep_report", "sweep_sections", "swept_axes"]

SWEEP_SECTION_IDS: tuple[str, ...] = (
    "run",
    "ranking",
    "heatmaps",
    "best-curves",
    "rejections",
    "selection-bias",
    "errors",
)
_RANK_METRICS = (
    "total_return",
    "cagr",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "win_rate",
    "n_trades",
    "n_rejections",
)
_MAX_HEATMAPS = 6


def swept_axes(result: SweepResult) -> list[str]:
    """Parameter columns that take more than one value in the frame (grid order)."""
    frame = result.frame
    return [p for p in result.param_names if p in frame.columns and frame[p].n_unique() > 1]


def _run_section(result: SweepResult) -> str:
    frame = result.frame
    failed = frame.filter(pl.col("error").is_not_null()).height if "error" in frame.columns else 0
    axes = swept_axes(result)
    values = [
        (p, ", ".join(str(v) for v in frame[p].unique(maintain_order=True).to_list()[:12]))
        for p in axes
    ]
    return kv_table(
        [
            ("configurations", frame.height),
            ("failed", failed),
            ("ranking metric", result.metric),
            ("backend", f"{result.backend} ({result.n_jobs} jobs)"),
            ("elapsed", f"{result.elapsed_s:.2f} s ({result.configs_per_second:.1f} cfg/s)"),
            ("equity curves kept", len(result.curves)),
            *values,
        ]
    )


def _ranking_section(result: SweepResult) -> str:
    best = result.best(n=20)
    cols = [
        "config_id",
        *result.param_names,
        *[m for m in _RANK_METRICS if m in best.columns and m not in result.param_names],
    ]
    return (
        f'<p class="note">Best 20 configurations by {esc(result.metric)} (failed rows left '
        "out).</p>"
        + frame_table(best.select([c for c in cols if c in best.columns]), cls="ranking")
    )


def _heatmaps_section(result: SweepResult) -> str:
    from dollarbill_research.plotting.heatmap import plot_heatmap

    axes = swept_axes(result)
    if len(axes) < 2:
        return (
            '<p class="note">Fewer than two parameters vary in this sweep, so there is no '
            f"heatmap (varying: {esc(', '.join(axes) or 'none')}).</p>"
        )
    out = []
    pairs = list(itertools.combinations(axes, 2))
    for x, y in pairs[:_MAX_HEATMAPS]:
        fig = plot_heatmap(result, x, y, result.metric)
        out.append(f"<div>{figure_img(fig, alt=f'heatmap {y} x {x}')}</div>")
    note = ""
    if len(pairs) > _MAX_HEATMAPS:
        note = f'<p class="note">{len(pairs) - _MAX_HEATMAPS} more pairs not drawn.</p>'
    return note + '<div class="grid2">' + "".join(out) + "</div>"


def _curves_section(result: SweepResult) -> str:
    from dollarbill_research.plotting.comparison import plot_sizing_comparison

    if not result.curves:
        return (
            '<p class="note">The sweep kept no equity curves; run it with keep_best=5 to see '
            "the best curves here.</p>"
        )
    axes = swept_axes(result) or list(result.param_names)
    fig = plot_sizing_comparison(
        result, label_by=axes, title=f"best {len(result.curves)} by {result.metric}"
    )
    return figure_img(fig, alt="best equity curves")


def _rejections_figure(frame: pl.DataFrame, columns: list[str]) -> Figure:
    fig = new_figure(11.0, 3.2)
    ax = fig.add_subplot()
    x = np.arange(frame.height)
    bottom = np.zeros(frame.height)
    for col in columns:
        y = frame[col].fill_null(0).cast(pl.Float64).to_numpy()
        ax.bar(x, y, bottom=bottom, label=col.removeprefix("rejected_"), width=0.9)
        bottom += y
    ax.set_xlabel("config_id")
    if frame.height <= 40:
        ax.set_xticks(x, [str(v) for v in frame["config_id"].to_list()], fontsize=7)
    ax.set_ylabel("rejections")
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    ax.grid(alpha=0.3, axis="y")
    return fig


def _rejections_section(result: SweepResult) -> str:
    frame = result.frame
    reason_cols = [
        c for c in frame.columns if c.startswith("rejected_") and frame[c].fill_null(0).sum() > 0
    ]
    if "n_rejections" not in frame.columns or not reason_cols:
        return '<p class="note">No configuration rejected an entry.</p>'
    table_frame = frame.select("config_id", *result.param_names, "n_rejections", *reason_cols)
    return figure_img(
        _rejections_figure(frame, reason_cols), alt="rejections per configuration"
    ) + frame_table(table_frame, max_rows=100)


def _selection_bias_section(result: SweepResult) -> str:
    # Placeholder, kept on purpose: the deflated Sharpe ratio and the probability of backtest
    # overfitting need every configuration's returns (sweep(..., keep_returns=True)); their
    # section is filled in here when those results are available.
    extra = getattr(result, "selection_bias_html", None)
    if callable(extra):
        return str(extra())
    return (
        '<div class="placeholder" data-placeholder="selection-bias">Selection bias (deflated '
        "Sharpe ratio, probability of backtest overfitting): not computed for this sweep. "
        f"With {result.frame.height} configurations tried, the best "
        f"{esc(result.metric)} overstates what to expect out of sample.</div>"
    )


def _errors_section(result: SweepResult) -> str:
    frame = result.frame
    if "error" not in frame.columns:
        return '<p class="note">No errors.</p>'
    failed = frame.filter(pl.col("error").is_not_null())
    if not failed.height:
        return '<p class="note">Every configuration ran.</p>'
    return frame_table(failed.select("config_id", *result.param_names, "error"))


def sweep_sections(result: SweepResult) -> list[Section]:
    """Every section of the sweep report, in order (ids: :data:`SWEEP_SECTION_IDS`)."""
    return [
        Section("run", "Sweep", _run_section(result)),
        Section("ranking", "Ranking", _ranking_section(result)),
        Section("heatmaps", "Heatmaps of the swept parameters", _heatmaps_section(result)),
        Section("best-curves", "Best equity curves", _curves_section(result)),
        Section("rejections", "Rejections per configuration", _rejections_section(result)),
        Section("selection-bias", "Selection bias", _selection_bias_section(result)),
        Section("errors", "Failed configurations", _errors_section(result)),
    ]


def sweep_report(result: SweepResult, path: PathLike, *, title: str = "Sweep report") -> Path:
    """Write the report of ``result`` to ``path`` (HTML); return the path."""
    out = check_output(path)
    best = result.best(n=1)
    subtitle = f"{result.frame.height} configurations"
    if best.height:
        subtitle += f"; best {result.metric} = {best[result.metric][0]:.4g}"
    return write_page(out, render_page(title, subtitle, sweep_sections(result)))
