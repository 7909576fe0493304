"""A series-major view of a panel with cached features, shared by the strategies of one call.

The rolling kernels scan one symbol at a time, so the view transposes the panel once to
``(n_symbols, n_bars)`` C-contiguous arrays. Large panels are processed in chunks of
:data:`CHUNK_SYMBOLS` symbols (one view per chunk, chunks on threads) so that the numpy passes
over the features run in cache; results do not depend on the chunking (every feature is per
symbol). Features (realised vol, moving averages, trend score, IV rank) are cached by window so
that a :class:`~dollarbill_research.strategies.base.Combined` or the personality router computes
each of them once per chunk.

Feature conventions (windows count the symbol's own valid bars; see
:mod:`dollarbill_research.kernels.signals_nb`):

* ``returns``: daily log return from the previous valid bar (NaN on the first).
* ``sigma(n)``: sample std of the last ``n`` daily log returns (daily units; x sqrt(252) to
  annualise). Defined from the symbol's ``n + 1``-th valid bar.
* ``trend(n)``: ``tau = ln(c_t / c_{t-n}) / (sigma(n) sqrt(n))``, the trailing return in units of
  its own noise; about N(0, 1) for a driftless random walk, ``|tau| > 2`` is a strong trend.
* ``iv_rank(n)``: ``(iv - min) / (max - min)`` of the IV over the last ``n`` bars, in [0, 1];
  NaN when the window is not full or flat.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from dollarbill_research._typing import BoolArray, FloatArray
from dollarbill_research.data.panel import Panel
from dollarbill_research.kernels.signals_nb import (
    lagged_nb,
    price_ratio_nb,
    rolling_extreme_nb,
    rolling_mean_std_nb,
    rsi_nb,
    usable_nb,
)

BARS_PER_YEAR = 252.0
CHUNK_SYMBOLS = 64


def symbol_chunks(n_symbols: int, size: int = CHUNK_SYMBOLS) -> list[slice]:
    """Column slices of at most ``size`` symbols covering ``range(n_symbols)``."""
    return [slice(j, min(j + size, n_symbols)) for j in range(0, n_symbols, size)]


def for_each_chunk(n_symbols: int, work: Callable[[slice], None]) -> None:
    """Run ``work(cols)`` for every symbol chunk, on threads when there are several chunks.

    The kernels release the GIL (``nogil``) and so do numpy's large-array operations, so chunks
    run in parallel on up to ``os.cpu_count()`` threads; each chunk writes only its own columns.
    Plain threads (not numba's ``parallel=True``) keep the kernels safe to call from the
    threads of a sweep.
    """
    chunks = symbol_chunks(n_symbols)
    workers = min(len(chunks), os.cpu_count() or 1)
    if workers <= 1:
        for cols in chunks:
            work(cols)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, cols) for cols in chunks]:
            future.result()


def _series(a: np.ndarray, cols: slice) -> FloatArray:
    return np.ascontiguousarray(np.asarray(a[:, cols], dtype=np.float64).T)


class SeriesView:
    """Transposed panel arrays ``(n_symbols, n_bars)`` of the symbols ``cols``, with a cache.

    Attributes
    ----------
    close, high, low, volume, iv : numpy.ndarray
        float64 ``(n_symbols, n_bars)``.
    usable : numpy.ndarray
        bool ``(n_symbols, n_bars)``: ``panel.valid`` and a finite close > 0. Only these bars
        enter windows and can carry a signal.
    """

    __slots__ = ("_cache", "_cols", "_panel", "close", "shape", "usable")

    def __init__(self, panel: Panel, cols: slice | None = None) -> None:
        self._panel = panel
        self._cols = slice(None) if cols is None else cols
        self.close = _series(panel.close, self._cols)
        self.usable: BoolArray = usable_nb(
            self.close, np.ascontiguousarray(panel.valid[:, self._cols].T)
        )
        self.shape: tuple[int, int] = self.close.shape
        self._cache: dict[tuple[str, int], Any] = {}

    def _field(self, name: str) -> FloatArray:
        key = (name, -1)
        if key not in self._cache:  # transposed on first use only
            self._cache[key] = _series(getattr(self._panel, name), self._cols)
        return self._cache[key]

    @property
    def high(self) -> FloatArray:
        """High prices ``(n_symbols, n_bars)``."""
        return self._field("high")

    @property
    def low(self) -> FloatArray:
        """Low prices ``(n_symbols, n_bars)``."""
        return self._field("low")

    @property
    def volume(self) -> FloatArray:
        """Volumes ``(n_symbols, n_bars)``."""
        return self._field("volume")

    @property
    def iv(self) -> FloatArray:
        """Implied vol (decimal) ``(n_symbols, n_bars)``."""
        return self._field("iv")

    def returns(self) -> FloatArray:
        """Daily log returns ``(n_symbols, n_bars)``."""
        key = ("returns", 0)
        if key not in self._cache:
            self._cache[key] = np.log(price_ratio_nb(self.close, self.usable))
        return self._cache[key]

    def sigma(self, window: int) -> FloatArray:
        """Daily log-return standard deviation over ``window`` bars."""
        key = ("sigma", window)
        if key not in self._cache:
            self._cache[key] = rolling_mean_std_nb(self.returns(), self.usable, window)[1]
        return self._cache[key]

    def realised_vol(self, window: int) -> FloatArray:
        """Annualised realised vol (decimal) over ``window`` bars."""
        return self.sigma(window) * math.sqrt(BARS_PER_YEAR)

    def sma(self, window: int) -> FloatArray:
        """Mean close over ``window`` bars."""
        key = ("sma", window)
        if key not in self._cache:
            self._cache[key] = rolling_mean_std_nb(self.close, self.usable, window)[0]
        return self._cache[key]

    def lagged_close(self, lag: int) -> FloatArray:
        """Close ``lag`` valid bars earlier."""
        key = ("lag", lag)
        if key not in self._cache:
            self._cache[key] = lagged_nb(self.close, self.usable, lag)
        return self._cache[key]

    def trend(self, window: int) -> FloatArray:
        """Trend score ``tau`` over ``window`` bars (see the module docstring)."""
        key = ("trend", window)
        if key not in self._cache:
            with np.errstate(divide="ignore", invalid="ignore"):
                tau = np.log(self.close / self.lagged_close(window)) / (
                    self.sigma(window) * math.sqrt(window)
                )
            self._cache[key] = np.where(np.isfinite(tau), tau, np.nan)
        return self._cache[key]

    def extreme(self, field: str, window: int, lag: int, is_max: bool) -> FloatArray:
        """Max (``is_max``) or min of ``field`` over ``window`` bars ending ``lag`` bars ago."""
        key = (f"extreme-{field}-{lag}-{int(is_max)}", window)
        if key not in self._cache:
            x = self.close if field == "close" else self._field(field)
            self._cache[key] = rolling_extreme_nb(x, self.usable, window, lag, is_max)
        return self._cache[key]

    def mean_std(self, field: str, window: int) -> tuple[FloatArray, FloatArray]:
        """Rolling mean and sample std of ``field`` over ``window`` bars."""
        key = (f"mean_std-{field}", window)
        if key not in self._cache:
            x = self.close if field == "close" else self._field(field)
            self._cache[key] = rolling_mean_std_nb(x, self.usable, window)
        return self._cache[key]

    def prior_mean(self, field: str, window: int) -> FloatArray:
        """Mean of ``field`` over the ``window`` bars before the current one."""
        key = (f"prior_mean-{field}", window)
        if key not in self._cache:
            self._cache[key] = lagged_nb(self.mean_std(field, window)[0], self.usable, 1)
        return self._cache[key]

    def rsi(self, window: int) -> FloatArray:
        """Cutler's RSI over ``window`` price changes (``rsi_nb``)."""
        key = ("rsi", window)
        if key not in self._cache:
            self._cache[key] = rsi_nb(self.close, self.usable, window)
        return self._cache[key]

    def spread_mean_std(self, rv_window: int, z_window: int) -> tuple[FloatArray, FloatArray]:
        """Rolling mean and std over ``z_window`` bars of ``iv - realised_vol(rv_window)``."""
        key = (f"spread-{rv_window}", z_window)
        if key not in self._cache:
            spread = self.iv - self.sigma(rv_window) * math.sqrt(BARS_PER_YEAR)
            self._cache[key] = rolling_mean_std_nb(spread, self.usable, z_window)
        return self._cache[key]

    def iv_rank(self, window: int) -> FloatArray:
        """IV rank in [0, 1] over ``window`` bars (see the module docstring)."""
        key = ("iv_rank", window)
        if key not in self._cache:
            hi = rolling_extreme_nb(self.iv, self.usable, window, 0, True)
            lo = rolling_extreme_nb(self.iv, self.usable, window, 0, False)
            with np.errstate(divide="ignore", invalid="ignore"):
                rank = (self.iv - lo) / (hi - lo)
            self._cache[key] = np.where(np.isfinite(rank), rank, np.nan)
        return self._cache[key]
