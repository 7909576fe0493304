"""Checks shared by the overfitting statistics: a (bars x configurations) returns array."""

from __future__ import annotations

import numpy as np

from dollarbill_research.exceptions import ConfigError, DataError

__all__ = ["as_returns", "check_finite", "per_config", "rf_per_bar"]


def as_returns(returns: object, name: str = "returns") -> np.ndarray:
    arr = np.asarray(returns)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(
            f"{name} must be a (bars x configurations) array, got shape {arr.shape}; "
            "hint: one column per configuration"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.asfortranarray(arr)


def check_finite(arr: np.ndarray, name: str = "returns") -> None:
    bad = np.flatnonzero(~np.isfinite(np.asarray(arr)).all(axis=0))
    if bad.size:
        j = int(bad[0])
        t = int(np.flatnonzero(~np.isfinite(arr[:, j]))[0])
        raise DataError(
            f"{name} column {j} has a non-finite value {arr[t, j]!r} at row {t}; "
            "hint: drop configurations that failed (NaN columns) before calling"
        )


def per_config(value: object, n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name}={value!r} must be finite (a number or one per configuration)")
    return arr


def rf_per_bar(risk_free_rate: object, bars_per_year: object, n: int) -> np.ndarray:
    bpy = per_config(bars_per_year, n, "bars_per_year")
    if (bpy <= 0).any():
        raise ConfigError(f"bars_per_year={bars_per_year!r} must be > 0; hint: 252")
    return per_config(risk_free_rate, n, "risk_free_rate") / bpy
