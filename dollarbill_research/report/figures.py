"""The report's figures, each a standalone :class:`matplotlib.figure.Figure` (no pyplot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research.backtesting.plot import draw_rejections
from dollarbill_research.plotting._common import new_figure
from dollarbill_research.report.analytics import monthly_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dollarbill_research.backtesting.result import BacktestResult

__all__ = [
    "calendar_figure",
    "equity_figure",
    "exposure_figure",
    "greeks_figure",
    "rejections_figure",
    "rolling_sharpe_figure",
    "strategy_pnl_figure",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_GREEKS = (
    ("delta_exposure", "net delta", "tab:blue", True),
    ("gamma_exposure", "gamma (1% move)", "tab:orange", True),
    ("vega_exposure", "vega (10 vol pts)", "tab:green", True),
    ("theta_exposure", "theta per day", "tab:brown", False),
    ("var_95", "VaR 95 (one bar)", "tab:purple", True),
    ("concentration", "largest position", "tab:gray", False),
)


def equity_figure(result: BacktestResult, drawdowns: pl.DataFrame) -> Figure:
    """Equity and cash above, underwater curve below; the worst drawdowns shaded and numbered."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    fig = new_figure(11.0, 5.5)
    ax, ax_dd = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    ax.plot(ts, eq["equity"].to_numpy(), label="equity", linewidth=1.2)
    ax.plot(ts, eq["cash"].to_numpy(), label="cash", linewidth=0.8, alpha=0.6)
    ax.set_ylabel("dollars")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    ax_dd.fill_between(ts, -100.0 * eq["drawdown"].to_numpy(), 0.0, color="tab:red", alpha=0.45)
    ax_dd.set_ylabel("underwater %")
    ax_dd.grid(alpha=0.3)
    last = ts[-1] if len(ts) else None
    # numpy datetimes like ``ts`` (UTC instants): python datetimes of a zoned column would mix
    # tz-aware and naive values, which matplotlib refuses
    peaks, recoveries = drawdowns["peak"].to_numpy(), drawdowns["recovery"].to_numpy()
    for k, (peak, recovery) in enumerate(zip(peaks, recoveries, strict=True), 1):
        end = recovery if not np.isnat(recovery) else last
        for a in (ax, ax_dd):
            a.axvspan(peak, end, color="tab:red", alpha=0.08)
        ax.annotate(
            str(k),
            xy=(peak, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            va="top",
            color="tab:red",
        )
    return fig


def calendar_figure(monthly: pl.DataFrame, yearly: pl.DataFrame) -> Figure:
    """Monthly-returns heatmap (years x months, percent) beside yearly returns bars."""
    years, grid = monthly_table(monthly)
    fig = new_figure(11.0, max(2.6, 0.9 + 0.42 * len(years)))
    ax, ax_y = fig.subplots(1, 2, width_ratios=(3, 1))
    pct = grid * 100.0
    finite = pct[np.isfinite(pct)]
    vmax = max(float(np.max(np.abs(finite))) if finite.size else 1.0, 1e-9)
    image = ax.imshow(
        np.ma.masked_invalid(pct), cmap="RdYlGn", vmin=-vmax, vmax=vmax, aspect="auto"
    )
    fig.colorbar(image, ax=ax, label="%", shrink=0.8)
    ax.set_xticks(range(12), _MONTHS, fontsize=8)
    ax.set_yticks(range(len(years)), [str(y) for y in years], fontsize=8)
    for (row, col), value in np.ndenumerate(pct):
        if np.isfinite(value):
            ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=7)
    ax.set_title("monthly returns (%)", fontsize=10)
    labels = [str(d.year) for d in yearly["period"].to_list()]
    values = (yearly["return"] * 100.0).to_numpy()
    colors = ["tab:green" if v >= 0 else "tab:red" for v in values]
    ax_y.barh(labels, values, color=colors)
    ax_y.invert_yaxis()
    ax_y.axvline(0.0, color="black", linewidth=0.6)
    for i, v in enumerate(values):
        ax_y.text(v, i, f" {v:.1f}%", va="center", fontsize=7)
    ax_y.set_title("yearly returns (%)", fontsize=10)
    ax_y.grid(alpha=0.3, axis="x")
    return fig


def rolling_sharpe_figure(ts: np.ndarray, values: np.ndarray, window: int, full: float) -> Figure:
    """Rolling Sharpe with the full-period Sharpe as a dashed line."""
    fig = new_figure(11.0, 2.8)
    ax = fig.add_subplot()
    ax.plot(ts, values, linewidth=1.0, label=f"rolling {window} bars")
    if np.isfinite(full):
        ax.axhline(full, color="black", linestyle="--", linewidth=0.8, label=f"full {full:.2f}")
    ax.axhline(0.0, color="gray", linewidth=0.5)
    ax.set_ylabel("Sharpe")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def exposure_figure(result: BacktestResult) -> Figure:
    """Gross and net exposure (% of equity) and the number of open positions."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    fig = new_figure(11.0, 3.2)
    ax = fig.add_subplot()
    ax.plot(ts, 100.0 * eq["gross_exposure"].to_numpy(), label="gross", linewidth=1.0)
    ax.plot(ts, 100.0 * eq["net_exposure"].to_numpy(), label="net", linewidth=1.0)
    ax.set_ylabel("% of equity")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.step(
        ts,
        eq["n_positions"].to_numpy(),
        color="tab:gray",
        alpha=0.5,
        linewidth=0.8,
        where="post",
        label="open positions",
    )
    ax2.set_ylabel("open positions")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    return fig


def greeks_figure(result: BacktestResult) -> Figure:
    """One panel per exposure (% of equity) with its limit band when the run had one."""
    eq = result.equity
    ts = eq["timestamp"].to_numpy()
    fig = new_figure(11.0, 6.0)
    axes = fig.subplots(3, 2, sharex=True).ravel()
    limit_of = dict(result.limits)
    if result.portfolio_config is not None and result.limits:
        limit_of["concentration"] = result.portfolio_config.risk_limits.max_concentration_pct / 100
    for ax, (col, label, color, signed) in zip(axes, _GREEKS, strict=True):
        values = 100.0 * eq[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        ax.plot(ts, values, color=color, linewidth=0.9)
        limit = limit_of.get(col)
        if limit is not None:
            ax.axhline(100.0 * limit, color="tab:red", linestyle="--", linewidth=0.8)
            if signed and col != "var_95":
                ax.axhline(-100.0 * limit, color="tab:red", linestyle="--", linewidth=0.8)
            ax.set_title(f"{label} (limit {100 * limit:.1f}%)", fontsize=9)
        else:
            ax.set_title(f"{label} (no limit)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("% of equity")
    return fig


def rejections_figure(result: BacktestResult) -> Figure:
    """Rejections per month (per bar for runs under a year of daily bars), stacked by reason."""
    fig = new_figure(11.0, 3.0)
    ax = fig.add_subplot()
    if result.equity.height > 250:
        draw_rejections(ax, result, every="1mo", width=27.0)
    else:
        draw_rejections(ax, result)
    ax.grid(alpha=0.3)
    return fig


def strategy_pnl_figure(result: BacktestResult) -> Figure:
    """Cumulative P&L per strategy (dollars, realised + unrealised, after costs)."""
    ts = result.equity["timestamp"].to_numpy()
    fig = new_figure(11.0, 3.2)
    ax = fig.add_subplot()
    pnl = result.raw.strat_pnl
    for s, name in enumerate(result.strategies):
        ax.plot(ts, pnl[:, s], linewidth=1.0, label=name)
    ax.axhline(0.0, color="gray", linewidth=0.5)
    ax.set_ylabel("cumulative P&L ($)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
