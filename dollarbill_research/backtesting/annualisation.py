"""How many bars make a year, inferred from the bar times when the config does not say.

Annualised metrics (volatility, Sharpe, Sortino) and the per-bar risk-free rate scale with
``bars_per_year``. ``BacktestConfig.bars_per_year=None`` (the default) lets the engine and the
sweep infer it from the panel's timestamps with :func:`infer_bars_per_year`; the value used is
the run's ``config.bars_per_year``.

>>> import numpy as np
>>> days = np.arange("2024-01-01", "2025-01-01", dtype="datetime64[D]")
>>> weekdays = days[np.is_busday(days)]
>>> infer_bars_per_year(weekdays), infer_bars_per_year(days), infer_bars_per_year(days[::7])
(252, 365, 52)
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["DEFAULT_BARS_PER_YEAR", "infer_bars_per_year", "resolve_bars_per_year"]

#: Daily trading bars in a year, used when nothing can be inferred (fewer than three bars).
DEFAULT_BARS_PER_YEAR = 252
_DAY_NS = 86_400_000_000_000
#: (lowest, highest median spacing in days, bars per year)
_SPACINGS: tuple[tuple[float, float, int], ...] = (
    (5.0, 9.0, 52),  # weekly
    (25.0, 35.0, 12),  # monthly
    (80.0, 100.0, 4),  # quarterly
    (330.0, 400.0, 1),  # yearly
)


def infer_bars_per_year(timestamps: np.ndarray) -> int:
    """Bars per year of a bar index: 252 for trading days, 365 with weekend bars, 52 weekly...

    Parameters
    ----------
    timestamps : numpy.ndarray
        ``datetime64`` bar times, increasing.

    Returns
    -------
    int
        Daily bars: 252, or 365 when more than 10 % of the bars fall on a weekend (markets that
        trade every day). Intraday bars: that times the median number of bars per day. Weekly,
        monthly, quarterly, yearly bars: 52, 12, 4, 1. Anything else: the observed bars per
        365.25-day year, rounded. Fewer than three bars: :data:`DEFAULT_BARS_PER_YEAR`.
    """
    ns = np.asarray(timestamps).astype("datetime64[ns]").astype(np.int64)
    if ns.size < 3:
        return DEFAULT_BARS_PER_YEAR
    gaps = np.diff(ns).astype(np.float64) / _DAY_NS
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return DEFAULT_BARS_PER_YEAR
    median = float(np.median(gaps))
    day = ns // _DAY_NS
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    days_per_year = 365 if np.mean(weekday >= 5) > 0.10 else DEFAULT_BARS_PER_YEAR
    if median < 0.9:  # intraday
        _, per_day = np.unique(day, return_counts=True)
        return days_per_year * max(1, round(float(np.median(per_day))))
    if median <= 4.5:  # daily (weekends and holidays make gaps of up to four days)
        return days_per_year
    for low, high, bars in _SPACINGS:
        if low <= median <= high:
            return bars
    years = (ns[-1] - ns[0]) / (365.25 * _DAY_NS)
    return max(1, round((ns.size - 1) / years)) if years > 0 else DEFAULT_BARS_PER_YEAR


def resolve_bars_per_year(config: object, timestamps: np.ndarray) -> object:
    """``config`` itself when it sets ``bars_per_year``, else a copy with the inferred value."""
    if getattr(config, "bars_per_year", DEFAULT_BARS_PER_YEAR) is not None:
        return config
    return dataclasses.replace(config, bars_per_year=infer_bars_per_year(timestamps))  # type: ignore[type-var]
