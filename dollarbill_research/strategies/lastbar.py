"""The features of a window's last bar only: the live bot's fast path.

:class:`LastBarView` has the interface of :class:`~dollarbill_research.strategies.view.SeriesView`
(the methods the built-in strategies' ``_rules`` call), but every feature is the value on the
window's last bar alone, shape ``(n_symbols, 1)``, computed by the last-bar kernels of
:mod:`dollarbill_research.kernels.lastbar_nb` in ``O(window)`` per symbol instead of the rolling
kernels' ``O(n_bars)`` over the whole window. The built-in strategies' ``_rules`` run unchanged
on it, so their formulas have one source. :func:`classify_last` is the personality classifier's
last bar.

Features equal the rolling kernels' last row to rounding (see the kernels' module docstring);
extremes, lags and IV ranks are exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dollarbill_research._typing import BoolArray, FloatArray
from dollarbill_research.data.panel import Panel
from dollarbill_research.kernels.lastbar_nb import (
    OLS_X_SERIES,
    OLS_X_SHARED,
    OLS_X_TIME,
    last_breakout_freq_nb,
    last_extreme_nb,
    last_lagged_nb,
    last_mean_std_nb,
    last_ols_nb,
    last_rsi_nb,
    last_spread_mean_std_nb,
)
from dollarbill_research.kernels.personality_nb import P_NONE, personality_scores_nb
from dollarbill_research.kernels.signals_nb import price_ratio_nb, usable_nb
from dollarbill_research.strategies.view import BARS_PER_YEAR, CHUNK_SYMBOLS, symbol_chunks

__all__ = ["LastBarView", "classify_last", "market_from_returns"]


def _col(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, 1)


def market_from_returns(returns: FloatArray) -> FloatArray:
    """The equal-weight market return from series-major returns ``(n_symbols, n_bars)``.

    :func:`~dollarbill_research.strategies.personality.market_returns`'s sums, in the same
    symbol chunks: the same numbers.
    """
    n_sym, n_bars = returns.shape
    total = np.zeros(n_bars)
    count = np.zeros(n_bars)
    for cols in symbol_chunks(n_sym, CHUNK_SYMBOLS):
        r = returns[cols]
        finite = np.isfinite(r)
        total += np.where(finite, r, 0.0).sum(axis=0)
        count += finite.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


class LastBarView:
    """Last-bar features of a window, with the interface of ``SeriesView`` (see the module).

    Attributes
    ----------
    close : numpy.ndarray
        float64 ``(n_symbols, 1)``: the last bar's close.
    usable : numpy.ndarray
        bool ``(n_symbols, 1)``: the last bar is valid with a finite close > 0.
    shape : tuple of int
        ``(n_symbols, 1)``.
    """

    __slots__ = ("_cache", "_panel", "_series", "close", "shape", "usable", "usable_all")

    def __init__(self, panel: Panel) -> None:
        self._panel = panel
        self._series: dict[str, FloatArray] = {}
        close = self.series("close")
        self.usable_all: BoolArray = usable_nb(close, np.ascontiguousarray(panel.valid.T))
        self.close = _col(np.ascontiguousarray(close[:, -1]))
        self.usable = _col(np.ascontiguousarray(self.usable_all[:, -1]))
        self.shape: tuple[int, int] = self.close.shape
        self._cache: dict[tuple[str, int], Any] = {}

    def series(self, name: str) -> FloatArray:
        """A panel field transposed to series-major ``(n_symbols, n_bars)`` (cached)."""
        if name not in self._series:
            a = getattr(self._panel, name)
            self._series[name] = np.ascontiguousarray(np.asarray(a, dtype=np.float64).T)
        return self._series[name]

    def _last(self, name: str) -> FloatArray:
        return _col(np.asarray(getattr(self._panel, name)[-1], dtype=np.float64))

    @property
    def high(self) -> FloatArray:
        """Last high ``(n_symbols, 1)``."""
        return self._last("high")

    @property
    def low(self) -> FloatArray:
        """Last low ``(n_symbols, 1)``."""
        return self._last("low")

    @property
    def volume(self) -> FloatArray:
        """Last volume ``(n_symbols, 1)``."""
        return self._last("volume")

    @property
    def iv(self) -> FloatArray:
        """Last implied vol ``(n_symbols, 1)``."""
        return self._last("iv")

    def returns_all(self) -> FloatArray:
        """Daily log returns of the whole window ``(n_symbols, n_bars)`` (as ``SeriesView``)."""
        key = ("returns", 0)
        if key not in self._cache:
            self._cache[key] = np.log(price_ratio_nb(self.series("close"), self.usable_all))
        return self._cache[key]

    def log_close_all(self) -> FloatArray:
        """``log(close)`` of the whole window ``(n_symbols, n_bars)``."""
        key = ("logc", 0)
        if key not in self._cache:
            self._cache[key] = np.log(self.series("close"))
        return self._cache[key]

    def _get(self, key: tuple[str, int], make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def sigma(self, window: int) -> FloatArray:
        """Daily log-return std over ``window`` bars."""
        return self._get(
            ("sigma", window),
            lambda: _col(last_mean_std_nb(self.returns_all(), self.usable_all, window, 0)[1]),
        )

    def realised_vol(self, window: int) -> FloatArray:
        """Annualised realised vol over ``window`` bars."""
        return self.sigma(window) * math.sqrt(BARS_PER_YEAR)

    def mean_std(self, field: str, window: int) -> tuple[FloatArray, FloatArray]:
        """Mean and sample std of ``field`` over ``window`` bars."""

        def make() -> tuple[FloatArray, FloatArray]:
            m, s = last_mean_std_nb(self.series(field), self.usable_all, window, 0)
            return _col(m), _col(s)

        return self._get((f"mean_std-{field}", window), make)

    def sma(self, window: int) -> FloatArray:
        """Mean close over ``window`` bars."""
        return self.mean_std("close", window)[0]

    def prior_mean(self, field: str, window: int) -> FloatArray:
        """Mean of ``field`` over the ``window`` bars before the last one."""
        return self._get(
            (f"prior_mean-{field}", window),
            lambda: _col(last_mean_std_nb(self.series(field), self.usable_all, window, 1)[0]),
        )

    def lagged_close(self, lag: int) -> FloatArray:
        """Close ``lag`` valid bars before the last."""
        return self._get(
            ("lag", lag), lambda: _col(last_lagged_nb(self.series("close"), self.usable_all, lag))
        )

    def extreme(self, field: str, window: int, lag: int, is_max: bool) -> FloatArray:
        """Max or min of ``field`` over ``window`` bars ending ``lag`` bars before the last."""
        return self._get(
            (f"extreme-{field}-{lag}-{int(is_max)}", window),
            lambda: _col(last_extreme_nb(self.series(field), self.usable_all, window, lag, is_max)),
        )

    def rsi(self, window: int) -> FloatArray:
        """Cutler's RSI over ``window`` changes."""
        close = self.series("close")
        return self._get(("rsi", window), lambda: _col(last_rsi_nb(close, self.usable_all, window)))

    def spread_mean_std(self, rv_window: int, z_window: int) -> tuple[FloatArray, FloatArray]:
        """Mean and std over ``z_window`` bars of ``iv - realised_vol(rv_window)``."""

        def make() -> tuple[FloatArray, FloatArray]:
            m, s = last_spread_mean_std_nb(
                self.series("iv"), self.returns_all(), self.usable_all, rv_window, z_window,
                math.sqrt(BARS_PER_YEAR),
            )  # fmt: skip
            return _col(m), _col(s)

        return self._get((f"spread-{rv_window}", z_window), make)

    def trend(self, window: int) -> FloatArray:
        """Trend score ``tau`` over ``window`` bars (``SeriesView.trend``'s formula)."""

        def make() -> FloatArray:
            with np.errstate(divide="ignore", invalid="ignore"):
                tau = np.log(self.close / self.lagged_close(window)) / (
                    self.sigma(window) * math.sqrt(window)
                )
            return np.where(np.isfinite(tau), tau, np.nan)

        return self._get(("trend", window), make)

    def iv_rank(self, window: int) -> FloatArray:
        """IV rank in [0, 1] over ``window`` bars (``SeriesView.iv_rank``'s formula)."""

        def make() -> FloatArray:
            hi = self.extreme("iv", window, 0, True)
            lo = self.extreme("iv", window, 0, False)
            with np.errstate(divide="ignore", invalid="ignore"):
                rank = (self.iv - lo) / (hi - lo)
            return np.where(np.isfinite(rank), rank, np.nan)

        return self._get(("iv_rank", window), make)


def classify_last(
    view: LastBarView, window: int, channel: int, market: FloatArray | None = None
) -> tuple[np.ndarray, FloatArray]:
    """Personality code and confidence of every symbol on the window's last bar.

    The last row of :func:`~dollarbill_research.strategies.personality.classify_view` (same
    features, same scoring kernel): ``market`` is the equal-weight market return of the whole
    window (default: :func:`market_from_returns` of the view's returns).

    Returns
    -------
    code, confidence : numpy.ndarray
        int64 and float64 ``(n_symbols,)``; -1 and 0 where not classified.
    """
    u = view.usable_all
    r = view.returns_all()
    logc = view.log_close_all()
    market = market_from_returns(r) if market is None else market
    sd = view.sigma(window)
    _, r2, _ = last_ols_nb(logc, logc, u, window, 0, 0, OLS_X_TIME)
    tau = view.trend(window)[:, 0]
    q = max(window // 4, 1)
    lc = logc[:, -1]
    lq = last_lagged_nb(logc, u, q)
    l2q = last_lagged_nb(logc, u, 2 * q)
    with np.errstate(divide="ignore", invalid="ignore"):
        accel = ((lc - lq) - (lq - l2q)) / (sd[:, 0] * math.sqrt(2 * q))
    b, _, b_se = last_ols_nb(logc, logc, u, window, 0, 1, OLS_X_SERIES)
    with np.errstate(divide="ignore", invalid="ignore"):
        ar1_t = (b - 1.0) / b_se
    bfreq = last_breakout_freq_nb(view.series("close"), view.series("high"), view.series("low"),
                                  u, window, channel)  # fmt: skip
    mkt = np.ascontiguousarray(market, dtype=np.float64).reshape(1, -1)
    h = max(window // 2, 3)
    beta, _, _ = last_ols_nb(mkt, r, u, h, 0, 0, OLS_X_SHARED)
    beta_prior, _, _ = last_ols_nb(mkt, r, u, h, h, 0, OLS_X_SHARED)
    stab = 1.0 / (1.0 + np.abs(beta - beta_prior))
    vol = sd[:, 0] * math.sqrt(BARS_PER_YEAR)
    code, conf, _ = personality_scores_nb(
        *(_col(np.ascontiguousarray(a)) for a in (vol, r2, tau, accel, ar1_t, bfreq, stab))
    )
    ok = view.usable[:, 0]
    return np.where(ok, code[:, 0], P_NONE), np.where(ok, conf[:, 0], 0.0)
