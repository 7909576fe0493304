"""Every configuration's per-bar returns, kept compactly: ``sweep(..., keep_returns=True)``.

The statistics of :mod:`dollarbill_research.sweep.overfitting` (deflated Sharpe, PBO) need each
configuration's return series; keeping them while the sweep runs means no rerun.

Layout and memory
-----------------
One float32 array of shape ``(n_bars - 1, n_configs)`` in column-major (Fortran) order, so one
configuration's series is contiguous: ``values[t, j]`` is configuration ``j``'s simple return
``e_t / e_{t-1} - 1`` from bar ``t`` to bar ``t + 1`` of the data (0 after an equity ``<= 0``,
like the metrics). Memory is ``4 x (n_bars - 1) x n_configs`` bytes: 1,000 configurations of
2,520 daily bars take 10 MB, 100,000 of them 1 GB. A configuration trading a symbol subset is
aligned on the data's timestamps (return 0 on bars where none of its symbols has a bar); a
configuration that failed is a column of NaN.

Above ``budget_mb`` (default 512 MB) the array is a ``numpy.memmap`` on a temporary file
(removed when the array is no longer referenced; on POSIX the file is unlinked at once and lives
as long as the mapping). ``keep_returns="path.f32"`` always maps to that file and keeps it; the
file is raw float32 in the same column-major order (``numpy.memmap(path, dtype="float32",
mode="r", shape=(n_bars - 1, n_configs), order="F")`` reopens it).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dollarbill_research.exceptions import ConfigError

__all__ = ["DEFAULT_BUDGET_MB", "ReturnsSink", "SweepReturns", "simple_returns32"]

#: Above this many megabytes the returns array is memory-mapped to a file.
DEFAULT_BUDGET_MB = 512.0


@dataclass(frozen=True, slots=True)
class SweepReturns:
    """Per-bar returns of every configuration of a sweep.

    Attributes
    ----------
    values : numpy.ndarray or numpy.memmap
        float32 ``(n_bars - 1, n_configs)``, Fortran order; column ``j`` is ``config_id == j``.
    timestamps : numpy.ndarray
        ``datetime64[ns]`` ``(n_bars - 1,)``: the bar each return ends on.
    risk_free_rate, bars_per_year : numpy.ndarray
        float64 ``(n_configs,)``: each configuration's ``BacktestConfig`` values (NaN when it
        failed), so statistics use the same excess returns as the ``sharpe_ratio`` column.
    path : pathlib.Path or None
        The file given as ``keep_returns`` (None in memory or on a temporary file).
    """

    values: np.ndarray
    timestamps: np.ndarray
    risk_free_rate: np.ndarray
    bars_per_year: np.ndarray
    path: Path | None = None

    @property
    def nbytes(self) -> int:
        """Size of ``values`` in bytes."""
        return int(self.values.size) * 4

    @property
    def valid(self) -> np.ndarray:
        """Whether each configuration ran, bool ``(n_configs,)`` (its column has no NaN)."""
        n = self.values.shape[1]
        if self.values.shape[0] == 0:
            return np.isfinite(self.risk_free_rate[:n])
        return ~np.isnan(np.asarray(self.values[0, :]))

    def __repr__(self) -> str:
        if self.path is not None:
            where = str(self.path)
        elif isinstance(self.values, np.memmap):
            where = "a temporary memory-mapped file"
        else:
            where = "memory"
        return (
            f"SweepReturns({self.values.shape[0]} bars x {self.values.shape[1]} configurations, "
            f"float32, {self.nbytes / 2**20:.1f} MB in {where})"
        )


def simple_returns32(equity: np.ndarray) -> np.ndarray:
    """float32 simple returns of an equity curve; 0 after an equity ``<= 0`` (as the metrics)."""
    prev = equity[:-1]
    out = np.zeros(prev.shape[0], dtype=np.float64)
    np.divide(equity[1:], prev, out=out, where=prev > 0)
    out = np.where(prev > 0, out - 1.0, 0.0)
    return out.astype(np.float32)


class ReturnsSink:
    """Collects configurations' returns into one (bars x configurations) float32 array."""

    def __init__(
        self,
        timestamps: np.ndarray,
        n_configs: int,
        keep: bool | str | os.PathLike[str],
        budget_mb: float = DEFAULT_BUDGET_MB,
    ) -> None:
        if isinstance(budget_mb, bool) or not isinstance(budget_mb, int | float) or budget_mb < 0:
            raise ConfigError(f"sweep returns_budget_mb={budget_mb!r} must be a number >= 0")
        self.timestamps = np.asarray(timestamps)
        n_ret = max(self.timestamps.shape[0] - 1, 0)
        shape = (n_ret, n_configs)
        nbytes = 4 * n_ret * n_configs
        self.path: Path | None = None
        self.temporary = False
        temporary = False
        if keep is not True:
            self.path = Path(os.fspath(keep))  # type: ignore[arg-type]
            if self.path.is_dir():
                raise ConfigError(
                    f"sweep keep_returns={str(keep)!r} is a folder; hint: give a file path"
                )
        elif nbytes > budget_mb * 2**20:
            fd, name = tempfile.mkstemp(prefix="dollarbill_returns_", suffix=".f32")
            os.close(fd)
            self.path = Path(name)
            temporary = self.temporary = True
        if self.path is None or nbytes == 0:
            self.values: np.ndarray = np.full(shape, np.nan, dtype=np.float32, order="F")
        else:
            self.values = np.memmap(self.path, dtype=np.float32, mode="w+", shape=shape, order="F")
            self.values[...] = np.nan
            if temporary:
                _remove_when_unused(self.values, self.path)
        self.risk_free_rate = np.full(n_configs, np.nan)
        self.bars_per_year = np.full(n_configs, np.nan)

    def put(
        self,
        config_id: int,
        returns: np.ndarray,
        timestamps: np.ndarray | None,
        risk_free_rate: float,
        bars_per_year: float,
    ) -> None:
        """Store one configuration's returns (``timestamps``: its bars when a subset, else None)."""
        col = np.zeros(self.values.shape[0], dtype=np.float32)
        if timestamps is None or timestamps.shape[0] == self.timestamps.shape[0]:
            col[:] = returns
        elif returns.shape[0]:
            # returns[k] ends on timestamps[k + 1]; its position among the data's return bars
            at = np.searchsorted(self.timestamps, timestamps[1:]) - 1
            col[at] = returns
        self.values[:, config_id] = col
        self.risk_free_rate[config_id] = risk_free_rate
        self.bars_per_year[config_id] = bars_per_year

    def result(self) -> SweepReturns:
        """The collected returns (flushed to the file when memory-mapped)."""
        if isinstance(self.values, np.memmap):
            self.values.flush()
        path = None if self.temporary else self.path
        return SweepReturns(
            self.values, self.timestamps[1:], self.risk_free_rate, self.bars_per_year, path
        )


def _remove_when_unused(values: np.ndarray, path: Path) -> None:
    if os.name == "posix":
        path.unlink(missing_ok=True)  # the mapping keeps the data until it is dropped
    else:  # pragma: no cover - Windows cannot remove a mapped file
        weakref.finalize(values, lambda p=path: p.unlink(missing_ok=True))
