"""Performance metrics of an equity curve and of a list of closed trades (SPEC §10).

Every definition matches empyrical-reloaded (tested against it), with an equity curve as input:

* returns: simple returns ``r_t = e_t / e_{t-1} - 1`` (``n_bars - 1`` of them); a bar whose
  previous equity is ``<= 0`` has return 0 (a wiped-out account cannot compound).
* total return: ``e_last / e_first - 1`` (fraction; NaN when ``e_first <= 0``).
* CAGR: ``(e_last / e_first) ** (1 / years) - 1`` with ``years`` the elapsed time in years
  (the Python layer computes it from timestamps as days / 365.25, or as ``n_returns /
  bars_per_year`` when no timestamps are given -- empyrical's convention; both agree for bars
  evenly spaced ``365.25 / bars_per_year`` days apart). NaN when ``years <= 0``; -1.0 when the
  curve ends at or below zero (empyrical gives NaN for a negative ending value).
* annual volatility: ``std(r, ddof=1) * sqrt(bars_per_year)``.
* Sharpe: ``mean(x) / std(x, ddof=1) * sqrt(bars_per_year)`` with excess returns
  ``x = r - risk_free_rate / bars_per_year`` (``risk_free_rate`` annual, decimal).
* Sortino: ``mean(x) * bars_per_year / (sqrt(mean(min(x, 0)^2)) * sqrt(bars_per_year))`` --
  downside deviation over *all* periods (empyrical's ``downside_risk``), same ``x`` as Sharpe.
* max drawdown: ``max_t (peak_t - e_t) / peak_t`` with the running peak including ``e_0``;
  a positive fraction (empyrical returns it negative).
* Calmar: ``CAGR / max drawdown``; NaN when there is no drawdown or the ratio is infinite.

NaN policy (as empyrical): fewer than 2 returns -> NaN volatility, Sharpe and Sortino. Zero
dispersion (every excess return equal) -> volatility 0 and Sharpe ``+inf`` / ``-inf`` by the sign
of the mean, NaN when the mean is 0 (a flat curve). No downside (every ``x >= 0``) -> Sortino
``+inf``, NaN when the mean is 0.

Trade statistics (:func:`trade_stats_nb`): a win is a trade with P&L > 0, a loss one with
P&L < 0 (a P&L of exactly 0 counts as a trade but neither). ``win_rate = wins / trades``;
``profit_factor = gross profit / |gross loss|`` (``+inf`` with no losses and some profit, NaN
with neither); ``avg_win`` the mean winning P&L, ``avg_loss`` the mean losing P&L (negative,
dollars); NaN where there is nothing to average.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner

# Layout of the equity-metric vector returned by equity_metrics_nb (one row per curve).
M_TOTAL_RETURN = 0
M_CAGR = 1
M_ANNUAL_VOLATILITY = 2
M_SHARPE = 3
M_SORTINO = 4
M_MAX_DRAWDOWN = 5
M_CALMAR = 6
N_EQUITY_METRICS = 7

# Layout of the trade-statistics vector returned by trade_stats_nb.
TS_N_TRADES = 0
TS_WIN_RATE = 1
TS_PROFIT_FACTOR = 2
TS_AVG_WIN = 3
TS_AVG_LOSS = 4
TS_GROSS_PROFIT = 5
TS_GROSS_LOSS = 6  # negative or 0
N_TRADE_STATS = 7


@jit
def simple_returns_nb(equity):  # type: ignore[no-untyped-def]
    """Simple returns of an equity curve, float64 ``(n_bars - 1,)``; 0 after equity <= 0."""
    n = equity.shape[0]
    out = np.zeros(max(n - 1, 0), dtype=np.float64)
    for t in range(1, n):
        prev = equity[t - 1]
        if prev > 0.0:
            out[t - 1] = equity[t] / prev - 1.0
    return out


@jit
def total_return_nb(equity):  # type: ignore[no-untyped-def]
    """``e_last / e_first - 1`` as a fraction; NaN for an empty curve or ``e_first <= 0``."""
    n = equity.shape[0]
    if n == 0 or not equity[0] > 0.0:
        return math.nan
    return equity[n - 1] / equity[0] - 1.0


@jit
def cagr_nb(equity, years):  # type: ignore[no-untyped-def]
    """Compound annual growth rate over ``years`` elapsed years (fraction per year).

    NaN when ``years <= 0`` or ``e_first <= 0``; -1.0 when the curve ends at or below zero.
    """
    n = equity.shape[0]
    if n < 2 or not years > 0.0 or not equity[0] > 0.0:
        return math.nan
    ratio = equity[n - 1] / equity[0]
    if ratio <= 0.0:
        return -1.0
    return ratio ** (1.0 / years) - 1.0


@jit_inner
def _mean_std(x):  # type: ignore[no-untyped-def]
    """Mean and sample std (ddof=1) of ``x``; std is exactly 0 when all values are equal."""
    n = x.shape[0]
    total = 0.0
    lo = math.inf
    hi = -math.inf
    for i in range(n):
        v = x[i]
        total += v
        lo = min(lo, v)
        hi = max(hi, v)
    mean = total / n
    if n < 2:
        return mean, math.nan
    if lo == hi:
        return mean, 0.0
    ss = 0.0
    for i in range(n):
        d = x[i] - mean
        ss += d * d
    return mean, math.sqrt(ss / (n - 1))


@jit
def _ratio(num, den):  # type: ignore[no-untyped-def]
    """``num / den`` with IEEE semantics for ``den == 0`` (numba would raise)."""
    if den != 0.0:
        return num / den
    if num > 0.0:
        return math.inf
    if num < 0.0:
        return -math.inf
    return math.nan


@jit
def annual_volatility_nb(returns, bars_per_year):  # type: ignore[no-untyped-def]
    """``std(returns, ddof=1) * sqrt(bars_per_year)``; NaN with fewer than 2 returns."""
    if returns.shape[0] < 2:
        return math.nan
    _, std = _mean_std(returns)
    return std * math.sqrt(bars_per_year)


@jit
def sharpe_ratio_nb(returns, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Annualised Sharpe of per-bar returns; ``risk_free_rate`` annual (decimal)."""
    n = returns.shape[0]
    if n < 2:
        return math.nan
    excess = returns - risk_free_rate / bars_per_year
    mean, std = _mean_std(excess)
    return _ratio(mean, std) * math.sqrt(bars_per_year)


@jit
def sortino_ratio_nb(returns, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Annualised Sortino: downside deviation over all periods below ``risk_free_rate / bpy``."""
    n = returns.shape[0]
    if n < 2:
        return math.nan
    mar = risk_free_rate / bars_per_year
    total = 0.0
    down = 0.0
    for i in range(n):
        x = returns[i] - mar
        total += x
        if x < 0.0:
            down += x * x
    mean = total / n
    downside = math.sqrt(down / n) * math.sqrt(bars_per_year)
    return _ratio(mean * bars_per_year, downside)


@jit
def max_drawdown_nb(equity):  # type: ignore[no-untyped-def]
    """Largest peak-to-trough decline as a positive fraction of the running peak (0 if none)."""
    peak = -math.inf
    worst = 0.0
    for t in range(equity.shape[0]):
        e = equity[t]
        peak = max(peak, e)
        if peak > 0.0:
            worst = max(worst, (peak - e) / peak)
    return worst


@jit
def drawdown_nb(equity):  # type: ignore[no-untyped-def]
    """Drawdown series ``(peak_t - e_t) / peak_t`` (positive fractions), shape ``(n_bars,)``."""
    n = equity.shape[0]
    out = np.zeros(n, dtype=np.float64)
    peak = -math.inf
    for t in range(n):
        peak = max(peak, equity[t])
        if peak > 0.0:
            out[t] = (peak - equity[t]) / peak
    return out


@jit
def max_drawdown_returns_nb(returns):  # type: ignore[no-untyped-def]
    """Max drawdown of the curve compounded from 1.0 by ``returns`` (empyrical's definition)."""
    peak = 1.0
    level = 1.0
    worst = 0.0
    for t in range(returns.shape[0]):
        level *= 1.0 + returns[t]
        peak = max(peak, level)
        if peak > 0.0:
            worst = max(worst, (peak - level) / peak)
    return worst


@jit
def calmar_ratio_nb(cagr, max_drawdown):  # type: ignore[no-untyped-def]
    """``cagr / max_drawdown``; NaN when there is no drawdown or the result is not finite."""
    if not max_drawdown > 0.0:
        return math.nan
    out = cagr / max_drawdown
    if math.isinf(out):
        return math.nan
    return out


@jit
def equity_metrics_nb(equity, years, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """All curve metrics of one equity curve, float64 ``(N_EQUITY_METRICS,)`` (``M_*`` layout)."""
    out = np.empty(N_EQUITY_METRICS, dtype=np.float64)
    returns = simple_returns_nb(equity)
    out[M_TOTAL_RETURN] = total_return_nb(equity)
    out[M_CAGR] = cagr_nb(equity, years)
    out[M_ANNUAL_VOLATILITY] = annual_volatility_nb(returns, bars_per_year)
    out[M_SHARPE] = sharpe_ratio_nb(returns, bars_per_year, risk_free_rate)
    out[M_SORTINO] = sortino_ratio_nb(returns, bars_per_year, risk_free_rate)
    out[M_MAX_DRAWDOWN] = max_drawdown_nb(equity)
    out[M_CALMAR] = calmar_ratio_nb(out[M_CAGR], out[M_MAX_DRAWDOWN])
    return out


@jit
def equity_metrics_matrix_nb(equity, years, bars_per_year, risk_free_rate):  # type: ignore[no-untyped-def]
    """Curve metrics for many curves: ``equity (n_curves, n_bars)``, ``years (n_curves,)``.

    Returns float64 ``(n_curves, N_EQUITY_METRICS)``. Serial on purpose: sweeps already run
    configurations on threads (``nogil``), and a nested ``parallel=True`` kernel would fight them.
    """
    n = equity.shape[0]
    out = np.empty((n, N_EQUITY_METRICS), dtype=np.float64)
    for i in range(n):
        out[i] = equity_metrics_nb(equity[i], years[i], bars_per_year, risk_free_rate)
    return out


@jit
def trade_stats_nb(pnl):  # type: ignore[no-untyped-def]
    """Statistics of closed-trade P&L (dollars), float64 ``(N_TRADE_STATS,)`` (``TS_*`` layout)."""
    out = np.empty(N_TRADE_STATS, dtype=np.float64)
    n = pnl.shape[0]
    wins = 0
    losses = 0
    gross_profit = 0.0
    gross_loss = 0.0
    for i in range(n):
        p = pnl[i]
        if p > 0.0:
            wins += 1
            gross_profit += p
        elif p < 0.0:
            losses += 1
            gross_loss += p
    out[TS_N_TRADES] = n
    out[TS_WIN_RATE] = wins / n if n > 0 else math.nan
    out[TS_PROFIT_FACTOR] = _ratio(gross_profit, -gross_loss) if n > 0 else math.nan
    out[TS_AVG_WIN] = gross_profit / wins if wins > 0 else math.nan
    out[TS_AVG_LOSS] = gross_loss / losses if losses > 0 else math.nan
    out[TS_GROSS_PROFIT] = gross_profit
    out[TS_GROSS_LOSS] = gross_loss
    return out
