"""Performance attribution frames (SPEC §5.6): per strategy and total, deterministic ranking.

Definitions are in :mod:`dollarbill_research.kernels.attribution_nb`: Sharpe, Sortino and max
drawdown are computed on each strategy's *contribution returns* (its P&L over a bar divided by
the portfolio equity at the previous close), so the Total row reproduces the portfolio's own
metrics when every dollar of P&L is attributed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.attribution_nb import (
    A_AVG_BARS_HELD,
    A_EXPOSURE,
    attribution_nb,
    open_mask_from_trades_nb,
)

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "LOWER_IS_BETTER",
    "TOTAL_ROW",
    "attribution_frame",
    "best_strategy",
    "compare_strategies",
]

TOTAL_ROW = "Total"

#: Metric columns of the attribution frame, in the kernel's ``A_*`` order.
ATTRIBUTION_COLUMNS: tuple[str, ...] = (
    "n_trades",
    "win_rate",
    "profit_factor",
    "avg_win",
    "avg_loss",
    "realized_pnl",
    "pnl",
    "contribution",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_usd",
    "exposure",
    "avg_bars_held",
)

#: Metrics ranked ascending by :func:`compare_strategies` (smaller is better).
LOWER_IS_BETTER: frozenset[str] = frozenset({"max_drawdown", "max_drawdown_usd"})


def _int_array(name: str, value: object, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n or (n and arr.dtype.kind not in "iu"):
        raise DataError(
            f"{name} must be a 1-D integer array of length {n} (one per trade), "
            f"got dtype {arr.dtype} and shape {arr.shape}"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def _float_array(name: str, value: object, shape: tuple[int, ...]) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise DataError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise DataError(f"{name} has a non-finite value at index {where}; hint: fill with 0")
    return np.ascontiguousarray(arr)


def attribution_frame(
    strategy_names: Sequence[str],
    *,
    trade_strategy: object,
    trade_pnl: object,
    daily_pnl: object,
    trade_entry_bar: object = None,
    trade_exit_bar: object = None,
    open_mask: object = None,
    equity: object = None,
    initial_capital: float | None = None,
    bars_per_year: float = 252,
    risk_free_rate: float = 0.0,
) -> pl.DataFrame:
    """Attribution per strategy plus a ``"Total"`` row.

    Parameters
    ----------
    strategy_names : sequence of str, length n_strat
        Names; ``trade_strategy`` and the columns of ``daily_pnl`` index into it.
    trade_strategy : int array, shape (k,)
        Strategy index of each closed trade.
    trade_pnl : float array, shape (k,)
        Net P&L of each closed trade, dollars.
    daily_pnl : float array, shape (n_bars, n_strat)
        P&L of each strategy over each bar (realised + unrealised, net of costs), dollars.
    trade_entry_bar, trade_exit_bar : int arrays, shape (k,), optional
        Entry and exit bar of each trade (for ``avg_bars_held``, and for ``exposure`` when
        ``open_mask`` is not given: open on bars ``entry <= t < exit``).
    open_mask : bool array, shape (n_bars, n_strat), optional
        True where the strategy holds a position at the bar's close.
    equity : float array, shape (n_bars,), optional
        Portfolio equity at each close; bar t's P&L is divided by ``equity[t-1]``.
    initial_capital : float, optional
        Equity before bar 0 (default ``equity[0] - daily_pnl[0].sum()``); without ``equity``
        every bar's P&L is divided by it.
    bars_per_year, risk_free_rate : float
        Annualisation and annual risk-free rate (decimal) for Sharpe and Sortino.

    Returns
    -------
    polars.DataFrame
        Column ``strategy`` then :data:`ATTRIBUTION_COLUMNS`; one row per strategy ordered by
        name, then ``"Total"``. ``exposure`` / ``avg_bars_held`` are NaN when their inputs are
        missing.
    """
    names = list(strategy_names)
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise DataError(f"strategy_names must be unique non-empty strings, got {names!r}")
    if TOTAL_ROW in names:
        raise DataError(f"strategy name {TOTAL_ROW!r} is reserved for the total row")
    n_strat = len(names)
    pnl = np.asarray(trade_pnl, dtype=np.float64).reshape(-1)
    k = pnl.shape[0]
    pnl = _float_array("trade_pnl", pnl, (k,))
    strat = _int_array("trade_strategy", trade_strategy, k)
    if k and (strat.min() < 0 or strat.max() >= n_strat):
        bad = int(np.flatnonzero((strat < 0) | (strat >= n_strat))[0])
        raise DataError(
            f"trade_strategy[{bad}]={int(strat[bad])} is not a strategy index in [0, {n_strat})"
        )
    daily_arr = np.asarray(daily_pnl, dtype=np.float64)
    if daily_arr.ndim != 2 or daily_arr.shape[1] != n_strat:
        raise DataError(
            f"daily_pnl must have shape (n_bars, {n_strat}), got {daily_arr.shape}; "
            "hint: one column per strategy name"
        )
    n_bars = daily_arr.shape[0]
    daily = _float_array("daily_pnl", daily_arr, (n_bars, n_strat))

    have_bars = trade_entry_bar is not None and trade_exit_bar is not None
    if have_bars:
        entry = _int_array("trade_entry_bar", trade_entry_bar, k)
        exit_ = _int_array("trade_exit_bar", trade_exit_bar, k)
        if (exit_ < entry).any():
            bad = int(np.flatnonzero(exit_ < entry)[0])
            raise DataError(f"trade {bad} exits (bar {exit_[bad]}) before it enters")
    else:
        entry = np.zeros(k, dtype=np.int64)
        exit_ = np.zeros(k, dtype=np.int64)

    if open_mask is not None:
        mask = np.asarray(open_mask, dtype=bool)
        if mask.shape != (n_bars, n_strat):
            raise DataError(f"open_mask must have shape {(n_bars, n_strat)}, got {mask.shape}")
        mask = np.ascontiguousarray(mask)
    elif have_bars:
        mask = open_mask_from_trades_nb(n_bars, n_strat, strat, entry, exit_)
    else:
        mask = np.zeros((n_bars, n_strat), dtype=bool)

    if initial_capital is not None and (
        not isinstance(initial_capital, numbers.Real)
        or not math.isfinite(initial_capital)
        or initial_capital <= 0
    ):
        raise ConfigError(f"initial_capital={initial_capital!r} must be a finite number > 0")
    if equity is not None:
        eq = _float_array("equity", equity, (n_bars,))
        if initial_capital is not None:
            start = float(initial_capital)
        else:
            start = float(eq[0] - daily[0].sum()) if n_bars else 1.0
        base = np.concatenate([[start], eq[:-1]])
    elif initial_capital is not None:
        base = np.full(n_bars, float(initial_capital))
    else:
        raise ConfigError(
            "attribution_frame needs equity or initial_capital to turn P&L into returns; "
            "hint: pass equity=result_equity or initial_capital=100000"
        )
    if not (isinstance(bars_per_year, numbers.Real) and bars_per_year > 0):
        raise ConfigError(f"bars_per_year={bars_per_year!r} must be > 0; hint: 252")

    out = attribution_nb(
        (strat, pnl, entry, exit_),
        daily,
        mask,
        np.ascontiguousarray(base, dtype=np.float64),
        (float(bars_per_year), float(risk_free_rate)),
    )
    if open_mask is None and not have_bars:
        out[:, A_EXPOSURE] = np.nan
    if not have_bars:
        out[:, A_AVG_BARS_HELD] = np.nan
    order = [*sorted(range(n_strat), key=lambda j: names[j]), n_strat]
    data: dict[str, object] = {"strategy": [names[j] if j < n_strat else TOTAL_ROW for j in order]}
    for c, col in enumerate(ATTRIBUTION_COLUMNS):
        values = out[order, c]
        data[col] = values.astype(np.int64) if col == "n_trades" else values
    return pl.DataFrame(data)


def compare_strategies(
    frame: pl.DataFrame, metric: str = "sharpe", *, descending: bool | None = None
) -> pl.DataFrame:
    """Strategies ranked by ``metric`` (the Total row dropped), with a ``rank`` column.

    Parameters
    ----------
    frame : polars.DataFrame
        An :func:`attribution_frame`.
    metric : str
        One of :data:`ATTRIBUTION_COLUMNS`.
    descending : bool, optional
        Default: ascending for :data:`LOWER_IS_BETTER` metrics (drawdowns), else descending.

    Returns
    -------
    polars.DataFrame
        Sorted by the metric (NaN and null last), ties broken by strategy name ascending;
        ``rank`` starts at 1.
    """
    if metric not in ATTRIBUTION_COLUMNS or metric not in frame.columns:
        raise ConfigError(
            f"metric={metric!r} is not an attribution column; "
            f"choose from {', '.join(ATTRIBUTION_COLUMNS)}"
        )
    if descending is None:
        descending = metric not in LOWER_IS_BETTER
    key = "__sort_key"
    ranked = (
        frame.filter(pl.col("strategy") != TOTAL_ROW)
        .with_columns(pl.col(metric).cast(pl.Float64).fill_nan(None).alias(key))
        .sort([key, "strategy"], descending=[descending, False], nulls_last=True)
        .drop(key)
    )
    return ranked.with_columns(pl.int_range(1, ranked.height + 1, dtype=pl.Int64).alias("rank"))


def best_strategy(frame: pl.DataFrame, metric: str = "sharpe") -> str:
    """Name of the best strategy by ``metric`` (:func:`compare_strategies` order).

    Ties are broken by name; a strategy whose metric is NaN never beats one with a value
    (if all are NaN, the first name wins).
    """
    ranked = compare_strategies(frame, metric)
    if ranked.height == 0:
        raise DataError("the attribution frame has no strategy rows")
    return str(ranked["strategy"][0])
