"""Backtest performance metrics: the :class:`Metrics` record and :func:`compute_metrics`.

Definitions (SPEC §10, matching empyrical-reloaded) live in
:mod:`dollarbill_research.kernels.metrics_nb`; this module validates inputs once and turns the
kernels' vectors into an immutable record. Fractions are fractions (``total_return=0.12`` is
12 %); the seed's ``result.metrics.total_return * 100`` prints percent.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.metrics_nb import (
    M_ANNUAL_VOLATILITY,
    M_CAGR,
    M_CALMAR,
    M_MAX_DRAWDOWN,
    M_SHARPE,
    M_SORTINO,
    M_TOTAL_RETURN,
    TS_AVG_LOSS,
    TS_AVG_WIN,
    TS_N_TRADES,
    TS_PROFIT_FACTOR,
    TS_WIN_RATE,
    cagr_nb,
    equity_metrics_matrix_nb,
    equity_metrics_nb,
    trade_stats_nb,
)

__all__ = [
    "DAYS_PER_YEAR",
    "EQUITY_METRIC_NAMES",
    "Metrics",
    "compute_metrics",
    "elapsed_years",
    "equity_metrics_matrix",
]

DAYS_PER_YEAR = 365.25
_NS_PER_YEAR = DAYS_PER_YEAR * 86_400 * 1_000_000_000

#: Column names of :func:`equity_metrics_matrix`, in the kernel's ``M_*`` order.
EQUITY_METRIC_NAMES: tuple[str, ...] = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Summary metrics of one backtest (all ratios are fractions, money in dollars).

    Attributes
    ----------
    total_return : float
        ``equity_last / equity_first - 1``.
    max_drawdown : float
        Largest peak-to-trough decline, positive fraction of the peak.
    cagr : float
        Compound annual growth rate on elapsed years (days / 365.25).
    annual_volatility : float
        ``std(returns, ddof=1) * sqrt(bars_per_year)``.
    sharpe_ratio, sortino_ratio, calmar_ratio : float
        Annualised ratios; see :mod:`dollarbill_research.kernels.metrics_nb` for the NaN policy.
    win_rate : float
        Winning closed trades / closed trades (NaN without trades).
    profit_factor : float
        Gross profit / |gross loss| (``inf`` with profits and no losses, NaN with neither).
    n_trades : int
        Closed trades.
    total_costs : float
        Commissions, spread and slippage paid, dollars.
    exposure : float
        Fraction of bars with at least one open position (NaN when not supplied).
    turnover : float
        Annualised turnover: traded notional (entries and exits, both counted) / mean equity /
        elapsed years. A strategy that buys and sells its whole equity once a year has 2.0.
    avg_win, avg_loss : float
        Mean winning and mean losing closed-trade P&L in dollars (``avg_loss`` is negative).
    risk_free_rate : float
        The annual rate Sharpe and Sortino subtract (``risk_free_rate / bars_per_year`` per
        bar): the config's ``risk_free_rate``, 0 allowed.
    cagr_count : float
        CAGR on ``(n_bars - 1) / bars_per_year`` years (count-based, as empyrical computes
        it), for comparisons with empyrical; ``cagr`` uses elapsed calendar time.
    """

    total_return: float
    max_drawdown: float
    cagr: float
    annual_volatility: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    win_rate: float
    profit_factor: float
    n_trades: int
    total_costs: float
    exposure: float
    turnover: float
    avg_win: float
    avg_loss: float
    risk_free_rate: float = 0.0
    cagr_count: float = math.nan

    def to_dict(self) -> dict[str, float | int]:
        """Return the metrics as a plain ``{name: value}`` dict in field order."""
        return asdict(self)


def _as_curve(equity: object, name: str = "equity") -> FloatArray:
    arr = np.asarray(equity, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise DataError(
            f"{name} must be a non-empty 1-D array of equity values, got shape {arr.shape}; "
            "hint: pass the equity column of the result frame"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(
            f"{name} has a non-finite value {arr[bad[0]]!r} at bar {int(bad[0])}; "
            "hint: equity must be finite at every bar"
        )
    return np.ascontiguousarray(arr)


def _check_annualisation(bars_per_year: float, risk_free_rate: float) -> None:
    if not (isinstance(bars_per_year, numbers.Real) and math.isfinite(bars_per_year)) or (
        bars_per_year <= 0
    ):
        raise ConfigError(f"bars_per_year={bars_per_year!r} must be in (0, inf); hint: 252")
    if not (isinstance(risk_free_rate, numbers.Real) and math.isfinite(risk_free_rate)):
        raise ConfigError(
            f"risk_free_rate={risk_free_rate!r} must be a finite annual rate (0.05 = 5 %)"
        )


def elapsed_years(timestamps: object, n_bars: int, bars_per_year: float = 252) -> float:
    """Elapsed time between the first and last timestamp in years of 365.25 days.

    Parameters
    ----------
    timestamps : array-like of datetime64 (any unit), dates or datetimes, or None
        One per bar, non-decreasing. ``None`` uses empyrical's convention
        ``(n_bars - 1) / bars_per_year``.
    n_bars : int
        Number of bars (length of the equity curve).
    bars_per_year : float
        Bars per year, used only when ``timestamps`` is None.

    Returns
    -------
    float
        Years (0.0 for a single bar).
    """
    if timestamps is None:
        return max(n_bars - 1, 0) / float(bars_per_year)
    ts = np.asarray(timestamps)
    if ts.dtype.kind != "M":
        try:
            ts = ts.astype("datetime64[ns]")
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"timestamps of dtype {ts.dtype} are not dates or datetimes; "
                "hint: pass datetime64 values (e.g. frame['timestamp'].to_numpy())"
            ) from exc
    if ts.ndim != 1 or ts.shape[0] != n_bars:
        raise DataError(
            f"timestamps must be 1-D with one value per bar ({n_bars}), got shape {ts.shape}"
        )
    ns = ts.astype("datetime64[ns]").view(np.int64)
    if n_bars and np.isnat(ts).any():
        raise DataError(f"timestamps contain NaT at bar {int(np.flatnonzero(np.isnat(ts))[0])}")
    steps = np.diff(ns)
    if (steps < 0).any():
        bar = int(np.flatnonzero(steps < 0)[0]) + 1
        raise DataError(f"timestamps decrease at bar {bar}; hint: sort the bars by time")
    if n_bars < 2:
        return 0.0
    return float(ns[-1] - ns[0]) / _NS_PER_YEAR


def compute_metrics(
    equity: FloatArray,
    timestamps: object,
    *,
    bars_per_year: float = 252,
    risk_free_rate: float = 0.0,
    trade_pnl: FloatArray | None = None,
    costs: float = 0.0,
    exposure_mask: object = None,
    traded_notional: float = 0.0,
) -> Metrics:
    """Compute the :class:`Metrics` of one backtest.

    Parameters
    ----------
    equity : float64 array, shape (n_bars,)
        Equity (cash + marked positions) at each bar's close, dollars; finite.
    timestamps : array-like of datetime64, shape (n_bars,), or None
        Bar times for CAGR and turnover; None uses ``(n_bars - 1) / bars_per_year`` years.
    bars_per_year : float
        Annualisation factor (252 for daily bars).
    risk_free_rate : float
        Annual risk-free rate, decimal; per bar it is ``risk_free_rate / bars_per_year``.
    trade_pnl : float64 array, shape (n_trades,), optional
        Net P&L of each closed trade, dollars (None: no trades).
    costs : float
        Total transaction costs paid, dollars.
    exposure_mask : bool array, shape (n_bars,), optional
        True on bars with at least one open position (None: exposure is NaN).
    traded_notional : float
        Sum of |notional| of every fill (entries and exits), dollars.

    Returns
    -------
    Metrics

    Examples
    --------
    >>> import numpy as np
    >>> m = compute_metrics(np.array([100.0, 110.0, 99.0]), None)
    >>> round(m.total_return * 100, 2), round(m.max_drawdown, 3)
    (-1.0, 0.1)
    """
    _check_annualisation(bars_per_year, risk_free_rate)
    curve = _as_curve(equity)
    n_bars = curve.shape[0]
    years = elapsed_years(timestamps, n_bars, bars_per_year)
    vec = equity_metrics_nb(curve, years, float(bars_per_year), float(risk_free_rate))

    if trade_pnl is None or np.size(trade_pnl) == 0:
        pnl = np.zeros(0, dtype=np.float64)
    else:
        pnl = _as_curve(trade_pnl, "trade_pnl")
    ts = trade_stats_nb(pnl)

    if exposure_mask is None:
        exposure = math.nan
    else:
        mask = np.asarray(exposure_mask, dtype=bool)
        if mask.shape != (n_bars,):
            raise DataError(
                f"exposure_mask must have shape ({n_bars},) like equity, got {mask.shape}"
            )
        exposure = float(mask.mean())
    for name, value in (("costs", costs), ("traded_notional", traded_notional)):
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise DataError(f"{name}={value!r} must be a finite number >= 0 (dollars)")
    mean_equity = float(curve.mean())
    turnover = traded_notional / mean_equity / years if years > 0 and mean_equity > 0 else math.nan
    return Metrics(
        total_return=float(vec[M_TOTAL_RETURN]),
        max_drawdown=float(vec[M_MAX_DRAWDOWN]),
        cagr=float(vec[M_CAGR]),
        annual_volatility=float(vec[M_ANNUAL_VOLATILITY]),
        sharpe_ratio=float(vec[M_SHARPE]),
        sortino_ratio=float(vec[M_SORTINO]),
        calmar_ratio=float(vec[M_CALMAR]),
        win_rate=float(ts[TS_WIN_RATE]),
        profit_factor=float(ts[TS_PROFIT_FACTOR]),
        n_trades=int(ts[TS_N_TRADES]),
        total_costs=float(costs),
        exposure=exposure,
        turnover=float(turnover),
        avg_win=float(ts[TS_AVG_WIN]),
        avg_loss=float(ts[TS_AVG_LOSS]),
        risk_free_rate=float(risk_free_rate),
        cagr_count=float(cagr_nb(curve, (n_bars - 1) / float(bars_per_year))),
    )


def equity_metrics_matrix(
    equity: FloatArray,
    timestamps: object,
    *,
    bars_per_year: float = 252,
    risk_free_rate: float = 0.0,
) -> FloatArray:
    """Curve metrics of many equity curves sharing one time axis (sweeps).

    Parameters
    ----------
    equity : float64 array, shape (n_configs, n_bars)
        One equity curve per row, finite.
    timestamps : array-like of datetime64, shape (n_bars,), or None
        Shared bar times (None: ``(n_bars - 1) / bars_per_year`` years).
    bars_per_year, risk_free_rate : float
        As in :func:`compute_metrics`.

    Returns
    -------
    float64 array, shape (n_configs, 7)
        Columns named by :data:`EQUITY_METRIC_NAMES`.
    """
    _check_annualisation(bars_per_year, risk_free_rate)
    arr = np.asarray(equity, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise DataError(f"equity must be 2-D (n_configs, n_bars), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        row, bar = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(f"equity has a non-finite value at config {row}, bar {bar}")
    years = elapsed_years(timestamps, arr.shape[1], bars_per_year)
    return equity_metrics_matrix_nb(
        np.ascontiguousarray(arr),
        np.full(arr.shape[0], years),
        float(bars_per_year),
        float(risk_free_rate),
    )
