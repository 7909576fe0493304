"""The hand-off from frames to kernels: aligned (bars x symbols) float64 arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import BoolArray, FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class Panel:
    """Market data aligned on a common timestamp index, one column per symbol.

    All arrays are C-contiguous float64 of shape ``(n_bars, n_symbols)``. A missing bar (a
    symbol with no row at that timestamp) is NaN in every field and False in ``valid``; that
    symbol does not trade on that bar. Nothing is forward-filled.

    Attributes
    ----------
    timestamps : numpy.ndarray
        ``datetime64[ns]`` of shape ``(n_bars,)``, strictly increasing (UTC when tz-aware).
    symbols : tuple of str
        Column order of every array.
    open, high, low, close, volume : numpy.ndarray
        Prices in dollars, volume in shares.
    iv : numpy.ndarray
        Annualised implied volatility (decimal) from the ``iv`` column, or the documented proxy
        (:func:`dollarbill_research.data.features.iv_proxy`) where the input had none.
    valid : numpy.ndarray
        bool ``(n_bars, n_symbols)``: the symbol has a bar at that timestamp.
    sector_codes : numpy.ndarray
        int64 ``(n_symbols,)``, index into ``sectors``.
    sectors : tuple of str
        Sector names (``"Unknown"`` when the input had no ``sector`` column).
    """

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    iv: FloatArray
    valid: BoolArray
    sector_codes: IntArray
    sectors: tuple[str, ...]

    @property
    def n_bars(self) -> int:
        """Number of timestamps."""
        return int(self.close.shape[0])

    @property
    def n_symbols(self) -> int:
        """Number of symbols."""
        return int(self.close.shape[1])

    @property
    def days(self) -> FloatArray:
        """Timestamps as float64 calendar days since 1970-01-01 (for time-to-expiry arithmetic)."""
        ns = self.timestamps.astype("datetime64[ns]").astype(np.int64)
        return ns.astype(np.float64) / 86_400e9
