"""One-page plot of a backtest: equity, drawdown, exposures vs limits, rejections over time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dollarbill_research.backtesting.result import BacktestResult

__all__ = ["plot_result"]


def plot_result(result: BacktestResult, path: Path, title: str) -> Path:
    """Draw the four panels with matplotlib (Agg backend) and save them to ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    fig, axes = plt.subplots(4, 1, figsize=(11, 11), sharex=True)
    ax = axes[0]
    ax.plot(ts, eq["equity"].to_numpy(), label="equity")
    ax.plot(ts, eq["cash"].to_numpy(), label="cash", alpha=0.6)
    ax.set_ylabel("dollars")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax = axes[1]
    ax.fill_between(ts, -100.0 * eq["drawdown"].to_numpy(), 0.0, color="tab:red", alpha=0.4)
    ax.set_ylabel("drawdown %")
    ax = axes[2]
    for col, color in (
        ("delta_exposure", "tab:blue"),
        ("gamma_exposure", "tab:orange"),
        ("vega_exposure", "tab:green"),
        ("var_95", "tab:purple"),
    ):
        values = eq[col].fill_null(float("nan")).to_numpy()
        ax.plot(ts, 100.0 * values, color=color, label=col)
        if col in result.limits:
            limit = 100.0 * result.limits[col]
            ax.axhline(limit, color=color, linestyle="--", linewidth=0.8)
            if col != "var_95":
                ax.axhline(-limit, color=color, linestyle="--", linewidth=0.8)
    ax.set_ylabel("% of equity")
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[3]
    rej = result.rejections
    if rej.height:
        counts = (
            rej.explode("reasons")
            .group_by("timestamp", "reasons")
            .len()
            .sort("timestamp")
            .pivot(on="reasons", index="timestamp", values="len")
            .fill_null(0)
        )
        x = counts["timestamp"].to_numpy()
        bottom = None
        for name in [c for c in counts.columns if c != "timestamp"]:
            y = counts[name].to_numpy()
            ax.bar(x, y, bottom=bottom, label=name, width=1.0)
            bottom = y if bottom is None else bottom + y
        ax.legend(loc="upper left", fontsize=8)
    ax.set_ylabel("rejections")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
