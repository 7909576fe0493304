"""Matplotlib plots of sweeps and backtests (standalone figures: Agg-safe, no pyplot state)."""

from dollarbill_research.plotting.comparison import (
    DEFAULT_TABLE_METRICS,
    comparison_curves,
    plot_sizing_comparison,
)
from dollarbill_research.plotting.heatmap import heatmap_table, plot_heatmap

__all__ = [
    "DEFAULT_TABLE_METRICS",
    "comparison_curves",
    "heatmap_table",
    "plot_heatmap",
    "plot_sizing_comparison",
]
