"""Figure creation and saving shared by the plots (no pyplot global state: Agg-safe)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import ConfigError

if TYPE_CHECKING:  # matplotlib is imported on first plot, not with the package
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A standalone figure (not registered with pyplot; Jupyter still displays it).

    Never touches the backend or pyplot's figure list; the figure has ``_repr_png_`` so it
    shows inline even in a notebook that never imported pyplot.
    """
    from dollarbill_research.plotting._figure import InlineFigure

    return InlineFigure(figsize=(width, height), layout="constrained")


def save(fig: Figure, path: PathLike | None, dpi: int = 110) -> None:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf) when given."""
    if path is None:
        return
    out = Path(path)
    if not out.parent.exists():
        raise ConfigError(f"plot path={str(out)!r}: folder {str(out.parent)!r} does not exist")
    fig.savefig(out, dpi=dpi)


def results_frame(results: object) -> pl.DataFrame:
    """The per-configuration frame of a ``SweepResult``, or the frame itself."""
    frame = getattr(results, "frame", results)
    if not isinstance(frame, pl.DataFrame):
        raise ConfigError(
            f"results of type {type(results).__name__} is not a sweep result or polars DataFrame; "
            "hint: pass the value returned by sweep(...)"
        )
    return frame


def require_columns(frame: pl.DataFrame, names: list[str], what: str) -> None:
    """Raise naming the missing column(s) and the available ones."""
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ConfigError(
            f"{what}: column(s) {missing} not in the results; available: {frame.columns}"
        )


def format_value(value: object) -> str:
    """Compact text for a table cell or tick label."""
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        return f"{value:.4g}"
    return str(value)
