"""Performance attribution per strategy and in total (SPEC §5.6).

Inputs, for ``n_strat`` strategies over ``n_bars`` bars:

* closed trades: ``trade_strategy int64[k]`` (strategy index), ``trade_pnl float64[k]``
  (net dollars), ``trade_entry int64[k]`` and ``trade_exit int64[k]`` (bar indices);
* ``daily_pnl float64 (n_bars, n_strat)``: each strategy's P&L earned over each bar (realised
  and unrealised, net of costs), dollars;
* ``open_mask bool (n_bars, n_strat)``: the strategy holds a position at the bar's close;
* ``base float64 (n_bars,)``: the capital each bar's P&L is earned on -- the portfolio equity at
  the previous close (``base[0]`` = equity before the first bar).

Definitions (row ``j`` a strategy; the last row the total over all strategies):

* contribution returns ``r_{t,j} = daily_pnl[t, j] / base[t]`` (0 where ``base <= 0``). They
  add up across strategies to the portfolio's simple return when all P&L is attributed, so
  the Total row's Sharpe, Sortino and max drawdown are the portfolio's own.
* ``sharpe``, ``sortino``: of ``r_j``, exactly as the equity-curve metrics
  (:mod:`~dollarbill_research.kernels.metrics_nb`, empyrical's definitions).
* ``max_drawdown``: of the curve compounded by ``r_j`` from 1 (positive fraction, empyrical's
  ``max_drawdown(r_j)``); ``max_drawdown_usd``: largest fall of the cumulative dollar P&L
  from its running peak (the peak starts at 0).
* ``pnl``: ``sum_t daily_pnl[t, j]``; ``realized_pnl``: sum of closed-trade P&L;
  ``contribution``: ``pnl_j / pnl_total`` (NaN when the total is 0; may be negative or > 1).
* trade statistics as :func:`~dollarbill_research.kernels.metrics_nb.trade_stats_nb`;
  ``avg_bars_held``: mean ``exit - entry`` over closed trades.
* ``exposure``: fraction of bars with ``open_mask`` set (Total: any strategy open).
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner
from dollarbill_research.kernels.metrics_nb import (
    TS_AVG_LOSS,
    TS_AVG_WIN,
    TS_N_TRADES,
    TS_PROFIT_FACTOR,
    TS_WIN_RATE,
    max_drawdown_returns_nb,
    sharpe_ratio_nb,
    sortino_ratio_nb,
    trade_stats_nb,
)

# Columns of the attribution matrix (one row per strategy, then the total).
A_N_TRADES = 0
A_WIN_RATE = 1
A_PROFIT_FACTOR = 2
A_AVG_WIN = 3
A_AVG_LOSS = 4
A_REALIZED_PNL = 5
A_PNL = 6
A_CONTRIBUTION = 7
A_SHARPE = 8
A_SORTINO = 9
A_MAX_DRAWDOWN = 10
A_MAX_DRAWDOWN_USD = 11
A_EXPOSURE = 12
A_AVG_BARS_HELD = 13
N_ATTRIBUTION = 14


@jit
def open_mask_from_trades_nb(n_bars, n_strat, trade_strategy, trade_entry, trade_exit):  # type: ignore[no-untyped-def]
    """``bool (n_bars, n_strat)``: open on bars ``entry <= t < exit`` of each closed trade."""
    mask = np.zeros((n_bars, n_strat), dtype=np.bool_)
    for i in range(trade_strategy.shape[0]):
        j = trade_strategy[i]
        for t in range(max(trade_entry[i], 0), min(trade_exit[i], n_bars)):
            mask[t, j] = True
    return mask


@jit_inner
def _max_drawdown_usd(pnl):  # type: ignore[no-untyped-def]
    cum = 0.0
    peak = 0.0
    worst = 0.0
    for t in range(pnl.shape[0]):
        cum += pnl[t]
        peak = max(peak, cum)
        worst = max(worst, peak - cum)
    return worst


@jit
def attribution_nb(  # type: ignore[no-untyped-def]
    trades,
    daily_pnl,
    open_mask,
    base,
    annual,
):
    """Attribution matrix float64 ``(n_strat + 1, N_ATTRIBUTION)``; the last row is the total.

    ``trades`` is ``(strategy, pnl, entry_bar, exit_bar)`` of the closed trades and ``annual``
    ``(bars_per_year, risk_free_rate)``.
    """
    trade_strategy, trade_pnl, trade_entry, trade_exit = trades
    bpy, rf = annual
    n_bars, n_strat = daily_pnl.shape
    out = np.empty((n_strat + 1, N_ATTRIBUTION), dtype=np.float64)
    held = (trade_exit - trade_entry).astype(np.float64)
    total_pnl = np.zeros(n_bars)
    total_open = np.zeros(n_bars, dtype=np.bool_)
    for j in range(n_strat + 1):
        if j < n_strat:
            sel = trade_strategy == j
            series = np.ascontiguousarray(daily_pnl[:, j])
            opened = 0
            for t in range(n_bars):
                total_pnl[t] += series[t]
                if open_mask[t, j]:
                    opened += 1
                    total_open[t] = True
            pnl = trade_pnl[sel]
            bars = held[sel]
        else:
            series = total_pnl
            opened = 0
            for t in range(n_bars):
                if total_open[t]:
                    opened += 1
            pnl = trade_pnl
            bars = held
        returns = np.zeros(n_bars)
        for t in range(n_bars):
            if base[t] > 0.0:
                returns[t] = series[t] / base[t]
        exposure = opened / n_bars if n_bars > 0 else math.nan
        ts = trade_stats_nb(pnl)
        out[j, A_N_TRADES] = ts[TS_N_TRADES]
        out[j, A_WIN_RATE] = ts[TS_WIN_RATE]
        out[j, A_PROFIT_FACTOR] = ts[TS_PROFIT_FACTOR]
        out[j, A_AVG_WIN] = ts[TS_AVG_WIN]
        out[j, A_AVG_LOSS] = ts[TS_AVG_LOSS]
        out[j, A_REALIZED_PNL] = pnl.sum()
        out[j, A_PNL] = series.sum()
        out[j, A_SHARPE] = sharpe_ratio_nb(returns, bpy, rf)
        out[j, A_SORTINO] = sortino_ratio_nb(returns, bpy, rf)
        out[j, A_MAX_DRAWDOWN] = max_drawdown_returns_nb(returns)
        out[j, A_MAX_DRAWDOWN_USD] = _max_drawdown_usd(series)
        out[j, A_EXPOSURE] = exposure
        out[j, A_AVG_BARS_HELD] = bars.mean() if bars.shape[0] > 0 else math.nan
    grand = out[n_strat, A_PNL]
    for j in range(n_strat + 1):
        out[j, A_CONTRIBUTION] = out[j, A_PNL] / grand if grand != 0.0 else math.nan
    return out
