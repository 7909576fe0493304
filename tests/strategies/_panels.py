"""Panels built from small numpy series for the strategy tests (imported by the test modules)."""

from __future__ import annotations

import numpy as np

from dollarbill_research.data.panel import Panel


def build_panel(
    close: np.ndarray,
    *,
    high: np.ndarray | None = None,
    low: np.ndarray | None = None,
    volume: np.ndarray | None = None,
    iv: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> Panel:
    """A Panel from (n_bars,) or (n_bars, n_symbols) arrays; missing fields get neutral values."""
    close = np.asarray(close, dtype=np.float64)
    if close.ndim == 1:
        close = close[:, None]

    def col(a: np.ndarray | None, default: np.ndarray) -> np.ndarray:
        if a is None:
            return default.copy()
        a = np.asarray(a, dtype=np.float64)
        return a[:, None] if a.ndim == 1 else a

    n_bars, n_sym = close.shape
    high = col(high, close * 1.001)
    low = col(low, close * 0.999)
    volume = col(volume, np.full(close.shape, 1e6))
    iv = col(iv, np.full(close.shape, 0.25))
    if valid is None:
        valid = np.isfinite(close)
    valid = np.asarray(valid, dtype=bool).reshape(close.shape)
    arrays = [
        np.ascontiguousarray(np.where(valid, a, np.nan)) for a in (close, high, low, volume, iv)
    ]
    c, h, lo, v, vol = arrays
    return Panel(
        timestamps=(np.datetime64("2020-01-01") + np.arange(n_bars)).astype("datetime64[ns]"),
        symbols=tuple(f"S{j}" for j in range(n_sym)),
        open=c.copy(),
        high=h,
        low=lo,
        close=c,
        volume=v,
        iv=vol,
        valid=np.ascontiguousarray(valid),
        sector_codes=np.zeros(n_sym, dtype=np.int64),
        sectors=("Unknown",),
    )


def random_panel(
    n_bars: int = 400, n_sym: int = 4, seed: int = 0, p_missing: float = 0.03
) -> Panel:
    """GBM closes with regime-switching vol, a noisy IV and some missing bars."""
    rng = np.random.default_rng(seed)
    sig = rng.uniform(0.15, 0.8, n_sym) / np.sqrt(252)
    regime = np.exp(np.cumsum(rng.normal(0, 0.08, (n_bars, n_sym)), axis=0) * 0.3)
    regime = np.clip(regime, 0.4, 2.5)
    r = rng.normal(0.0003, 1.0, (n_bars, n_sym)) * sig * regime
    close = 100 * np.exp(np.cumsum(r, axis=0))
    high = close * np.exp(np.abs(rng.normal(0, 0.006, close.shape)))
    low = close * np.exp(-np.abs(rng.normal(0, 0.006, close.shape)))
    volume = rng.lognormal(13, 0.4, close.shape)
    iv = sig * np.sqrt(252) * regime * rng.lognormal(0.1, 0.2, close.shape)
    valid = rng.uniform(size=close.shape) > p_missing
    return build_panel(close, high=high, low=low, volume=volume, iv=iv, valid=valid)
