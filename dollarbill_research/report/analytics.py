"""Numbers behind the report's figures: drawdown periods, calendar returns, rolling Sharpe.

All take an equity curve (dollars, one value per bar) and its timestamps; returns are simple
bar returns ``equity[t] / equity[t-1] - 1`` as in :mod:`dollarbill_research.kernels.metrics_nb`.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray

__all__ = ["calendar_returns", "drawdown_periods", "monthly_table", "rolling_sharpe"]


def drawdown_periods(
    equity: FloatArray, timestamps: pl.Series | np.ndarray, n: int = 5
) -> pl.DataFrame:
    """The ``n`` deepest drawdowns, deepest first.

    A drawdown starts at a running peak, has its trough at the lowest equity before the curve
    regains the peak, and ends (``recovery``) at the first bar back at or above the peak (null
    when still under water at the end).

    Returns
    -------
    polars.DataFrame
        ``peak, trough, recovery`` (timestamps, the input's dtype), ``depth`` (positive
        fraction of the peak),
        ``bars`` (peak to recovery, or to the last bar), ``bars_to_trough``.
    """
    eq = np.asarray(equity, dtype=np.float64)
    rows = []
    i, size = 0, eq.shape[0]
    while i < size:
        peak = i
        j = i + 1
        while j < size and eq[j] >= eq[peak]:
            peak = j
            j += 1
        if j >= size:
            break
        trough = j
        while j < size and eq[j] < eq[peak]:
            if eq[j] < eq[trough]:
                trough = j
            j += 1
        recovered = j < size
        depth = 1.0 - eq[trough] / eq[peak] if eq[peak] > 0 else math.nan
        rows.append(
            (
                peak,
                trough,
                j if recovered else None,
                depth,
                (j if recovered else size - 1) - peak,
                trough - peak,
            )
        )
        i = j
    rows.sort(key=lambda r: (-r[3], r[0]))
    rows = rows[:n]
    ts = _series(timestamps)
    recovery = ts.gather([r[2] if r[2] is not None else 0 for r in rows])
    missing = pl.Series([r[2] is None for r in rows], dtype=pl.Boolean)
    return pl.DataFrame(
        {
            "peak": ts.gather([r[0] for r in rows]),
            "trough": ts.gather([r[1] for r in rows]),
            "recovery": pl.select(pl.when(missing).then(None).otherwise(recovery)).to_series(),
            "depth": pl.Series([r[3] for r in rows], dtype=pl.Float64),
            "bars": pl.Series([r[4] for r in rows], dtype=pl.Int64),
            "bars_to_trough": pl.Series([r[5] for r in rows], dtype=pl.Int64),
        }
    )


def _series(timestamps: pl.Series | np.ndarray) -> pl.Series:
    """Timestamps as a polars series (any temporal dtype and zone is kept)."""
    if isinstance(timestamps, pl.Series):
        return timestamps
    return pl.Series("timestamp", np.asarray(timestamps))


def calendar_returns(
    equity: FloatArray, timestamps: pl.Series | np.ndarray, every: str
) -> pl.DataFrame:
    """Compounded return per calendar period (``every="1mo"`` or ``"1y"``).

    Each period's return is its last equity over the previous period's last equity, minus 1;
    the first period starts from the first equity value. Columns ``period`` (start of the
    period, date), ``return`` (fraction).
    """
    frame = pl.DataFrame(
        {"timestamp": _series(timestamps), "equity": np.asarray(equity, dtype=np.float64)}
    )
    if not frame.height:
        return pl.DataFrame(schema={"period": pl.Date, "return": pl.Float64})
    last = (
        frame.with_columns(pl.col("timestamp").dt.date().dt.truncate(every).alias("period"))
        .group_by("period", maintain_order=True)
        .agg(pl.col("equity").last())
        .sort("period")
    )
    prev = pl.concat([pl.Series([float(frame["equity"][0])]), last["equity"].head(-1)])
    return last.select("period", (pl.col("equity") / prev.to_numpy() - 1.0).alias("return"))


def monthly_table(monthly: pl.DataFrame) -> tuple[list[int], FloatArray]:
    """Years and a ``(n_years, 12)`` grid of monthly returns (NaN for missing months)."""
    if not monthly.height:
        return [], np.zeros((0, 12))
    years = sorted({d.year for d in monthly["period"].to_list()})
    grid = np.full((len(years), 12), np.nan)
    index = {y: i for i, y in enumerate(years)}
    for d, r in monthly.iter_rows():
        grid[index[d.year], d.month - 1] = r
    return years, grid


def rolling_sharpe(
    equity: FloatArray, window: int, bars_per_year: int, risk_free_rate: float
) -> FloatArray:
    """Annualised Sharpe of the last ``window`` bar returns at each bar (NaN before).

    Same definition as the run's Sharpe: mean excess return ``r - rf / bars_per_year`` over
    the standard deviation (``ddof=1``), times ``sqrt(bars_per_year)``; NaN on zero variance.
    """
    eq = np.asarray(equity, dtype=np.float64)
    out = np.full(eq.shape[0], np.nan)
    if eq.shape[0] <= window or window < 2:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        r = eq[1:] / eq[:-1] - 1.0
    x = r - risk_free_rate / bars_per_year
    windows = np.lib.stride_tricks.sliding_window_view(x, window)
    mean = windows.mean(axis=1)
    std = windows.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std > 1e-15, mean / std * math.sqrt(bars_per_year), np.nan)
    out[window:] = ratio
    return out
