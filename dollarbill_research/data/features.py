"""Volatility features: realised vol, range estimators and THE implied-vol proxy.

Each feature is a polars expression evaluated per symbol (``.over("symbol")``) on the canonical
frame (sorted by symbol, timestamp), and the two used by kernels also have a panel twin
(:func:`realized_vol_panel`, :func:`iv_proxy_panel`) built on the numba kernels of
:mod:`dollarbill_research.kernels.features_nb`; the two forms agree to round-off (tested).

Conventions: log returns between a symbol's consecutive available bars (a missing bar is spanned,
never filled); a value at bar ``t`` uses bars ``<= t`` only (no look-ahead); vols are annualised
decimals (0.25 = 25 %) with ``bars_per_year`` (252 for daily bars).

**Implied-vol proxy.** When the data has no ``iv`` (or a null ``iv`` cell), options are priced
at an EWMA (RiskMetrics) forecast of volatility: ``var_0 = seed_vol**2 / bars_per_year`` on the
symbol's first bar, ``var_t = lam * var_{t-1} + (1 - lam) * r_t**2`` after it, and
``iv_t = max(sqrt(bars_per_year * var_t), floor)`` with ``lam = 0.94``, ``seed_vol = 0.30``,
``floor = 0.05``. It has no volatility risk premium: it forecasts realised vol.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.features_nb import iv_proxy_nb, realized_vol_nb

__all__ = [
    "BARS_PER_YEAR",
    "IV_PROXY_FLOOR",
    "IV_PROXY_LAMBDA",
    "IV_PROXY_SEED_VOL",
    "garman_klass_vol",
    "iv_proxy",
    "iv_proxy_panel",
    "log_returns",
    "parkinson_vol",
    "realized_vol",
    "realized_vol_panel",
]

BARS_PER_YEAR = 252.0
IV_PROXY_LAMBDA = 0.94
IV_PROXY_SEED_VOL = 0.30
IV_PROXY_FLOOR = 0.05


def log_returns(column: str = "close", *, by: str = "symbol") -> pl.Expr:
    """Log return since the symbol's previous bar (null on its first bar)."""
    return pl.col(column).log().diff().over(by)


def realized_vol(
    window: int = 21,
    *,
    column: str = "close",
    bars_per_year: float = BARS_PER_YEAR,
    by: str = "symbol",
) -> pl.Expr:
    """Rolling close-to-close realised volatility per symbol, annualised.

    ``std(log returns of the last window bars, ddof=1) * sqrt(bars_per_year)``; null until the
    symbol has ``window`` returns. Past and current bars only.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"symbol": ["A"] * 4, "close": [100.0, 101.0, 100.0, 102.0]})
    >>> f.select(realized_vol(2, bars_per_year=1.0))["realized_vol"].null_count()
    2
    """
    _check_window(window)
    _check_positive("bars_per_year", bars_per_year)
    r = pl.col(column).log().diff()
    vol = r.rolling_std(window_size=window, min_samples=window) * math.sqrt(bars_per_year)
    return vol.over(by).alias("realized_vol")


def parkinson_vol(
    window: int = 21, *, bars_per_year: float = BARS_PER_YEAR, by: str = "symbol"
) -> pl.Expr:
    """Parkinson high-low range volatility per symbol, annualised.

    ``sqrt(mean(ln(high/low)**2 over window) / (4 ln 2) * bars_per_year)``; null for the first
    ``window - 1`` bars of each symbol.
    """
    _check_window(window)
    _check_positive("bars_per_year", bars_per_year)
    hl2 = (pl.col("high") / pl.col("low")).log() ** 2
    var = hl2.rolling_mean(window_size=window, min_samples=window) / (4.0 * math.log(2.0))
    return (var * bars_per_year).sqrt().over(by).alias("parkinson_vol")


def garman_klass_vol(
    window: int = 21, *, bars_per_year: float = BARS_PER_YEAR, by: str = "symbol"
) -> pl.Expr:
    """Garman–Klass OHLC volatility per symbol, annualised.

    ``sqrt(mean(0.5 ln(H/L)**2 - (2 ln 2 - 1) ln(C/O)**2 over window) * bars_per_year)``, the
    mean clipped at 0; null for the first ``window - 1`` bars of each symbol.
    """
    _check_window(window)
    _check_positive("bars_per_year", bars_per_year)
    hl = (pl.col("high") / pl.col("low")).log()
    co = (pl.col("close") / pl.col("open")).log()
    term = 0.5 * hl**2 - (2.0 * math.log(2.0) - 1.0) * co**2
    var = term.rolling_mean(window_size=window, min_samples=window).clip(lower_bound=0.0)
    return (var * bars_per_year).sqrt().over(by).alias("garman_klass_vol")


def iv_proxy(
    *,
    column: str = "close",
    lam: float = IV_PROXY_LAMBDA,
    seed_vol: float = IV_PROXY_SEED_VOL,
    floor: float = IV_PROXY_FLOOR,
    bars_per_year: float = BARS_PER_YEAR,
    by: str = "symbol",
) -> pl.Expr:
    """The implied-vol proxy (EWMA forecast, see the module docstring) as a polars expression.

    Returns an annualised decimal vol on every bar (the seed on a symbol's first bar), using
    bars ``<= t`` only.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"symbol": ["A", "A"], "close": [100.0, 100.0]})
    >>> [round(v, 6) for v in f.select(iv_proxy())["iv_proxy"]]
    [0.3, 0.290861]
    """
    _check_proxy(lam, seed_vol, floor, bars_per_year)
    r2 = pl.col(column).log().diff() ** 2
    seeded = r2.fill_null(seed_vol * seed_vol / bars_per_year)
    var = seeded.ewm_mean(alpha=1.0 - lam, adjust=False)
    vol = (var * bars_per_year).sqrt().clip(lower_bound=floor)
    return vol.over(by).alias("iv_proxy")


def iv_proxy_panel(
    close: FloatArray,
    *,
    lam: float = IV_PROXY_LAMBDA,
    seed_vol: float = IV_PROXY_SEED_VOL,
    floor: float = IV_PROXY_FLOOR,
    bars_per_year: float = BARS_PER_YEAR,
) -> FloatArray:
    """The implied-vol proxy over a ``(n_bars, n_symbols)`` close panel (NaN = missing bar).

    Returns float64 ``(n_bars, n_symbols)``, NaN on missing bars; equals :func:`iv_proxy`.
    """
    _check_proxy(lam, seed_vol, floor, bars_per_year)
    return iv_proxy_nb(_as_panel(close), lam, seed_vol, floor, bars_per_year)


def realized_vol_panel(
    close: FloatArray, window: int = 21, *, bars_per_year: float = BARS_PER_YEAR
) -> FloatArray:
    """Rolling realised vol over a ``(n_bars, n_symbols)`` close panel; equals :func:`realized_vol`.

    Returns float64 ``(n_bars, n_symbols)``, NaN until ``window`` returns and on missing bars.
    """
    _check_window(window)
    _check_positive("bars_per_year", bars_per_year)
    return realized_vol_nb(_as_panel(close), int(window), float(bars_per_year))


def _as_panel(close: FloatArray) -> FloatArray:
    arr = np.ascontiguousarray(close, dtype=np.float64)
    if arr.ndim != 2:
        raise ConfigError(f"close panel has shape {arr.shape}; expected (n_bars, n_symbols).")
    return arr


def _check_window(window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ConfigError(f"window={window!r} must be an integer >= 2 (number of returns).")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ConfigError(f"{name}={value!r} must be a finite number > 0.")


def _check_proxy(lam: float, seed_vol: float, floor: float, bars_per_year: float) -> None:
    if not (0.0 < lam < 1.0):
        raise ConfigError(f"lam={lam!r} must be in (0, 1) (0.94 = RiskMetrics daily).")
    _check_positive("seed_vol", seed_vol)
    _check_positive("bars_per_year", bars_per_year)
    if not (math.isfinite(floor) and floor >= 0.0):
        raise ConfigError(f"floor={floor!r} must be a finite number >= 0.")
