"""The result of a sweep: one polars row per configuration, plus the kept equity curves."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from dollarbill_research.exceptions import ConfigError

__all__ = ["LOWER_IS_BETTER", "BestCurves", "SweepResult", "metric_score"]

#: Metrics where a smaller value ranks better (everything else: larger is better).
LOWER_IS_BETTER = frozenset({"max_drawdown", "annual_volatility", "total_costs", "turnover"})


def metric_score(metric: str, value: object) -> float:
    """Rank score of a metric value (higher = better); NaN/None rank last (-inf)."""
    if value is None:
        return -math.inf
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return -math.inf
    return -number if metric in LOWER_IS_BETTER else number


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What :func:`~dollarbill_research.sweep.sweep` returns.

    Attributes
    ----------
    frame : polars.DataFrame
        One row per configuration, in grid order: ``config_id``, the swept parameters (their
        effective values; enums by name, symbol subsets joined by ``","``), every
        :class:`~dollarbill_research.backtesting.metrics.Metrics` field (null when the
        configuration failed), ``n_rejections`` and ``rejected_<reason>`` counts (a rejection with
        several reasons counts once in each), ``n_breaches``, ``breaches_<exposure>`` and
        ``n_unreducible`` (rows of the run's breaches frame), and ``error`` (null, or the
        error text).
    curves : dict of int -> polars.DataFrame
        Equity curves (``timestamp``, ``equity``) of the best ``keep_best`` configurations by
        ``metric``, best first, keyed by ``config_id``.
    metric : str
        The ranking metric.
    param_names : tuple of str
        Parameter columns of ``frame``.
    elapsed_s : float
        Wall time of the sweep, seconds.
    n_jobs : int
        Worker threads (local) or CPUs used (Ray).
    backend : str
        ``"local"`` or ``"ray"``.
    """

    frame: pl.DataFrame
    curves: dict[int, pl.DataFrame]
    metric: str
    param_names: tuple[str, ...]
    elapsed_s: float
    n_jobs: int
    backend: str

    @property
    def configs_per_second(self) -> float:
        """Configurations per second of wall time."""
        return self.frame.height / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def best(self, n: int = 5, metric: str | None = None) -> pl.DataFrame:
        """The ``n`` best rows by ``metric`` (default: the sweep's), failed rows excluded."""
        name = metric or self.metric
        if name not in self.frame.columns:
            raise ConfigError(
                f"metric={name!r} not in the results; available: {self.frame.columns}"
            )
        col = pl.col(name).cast(pl.Float64)
        usable = self.frame.filter(col.is_not_null() & col.is_not_nan())
        return usable.sort(name, descending=name not in LOWER_IS_BETTER).head(n)

    def __repr__(self) -> str:
        failed = self.frame.filter(pl.col("error").is_not_null()).height
        return (
            f"SweepResult({self.frame.height} configurations, {failed} failed, "
            f"{self.elapsed_s:.2f} s, {self.configs_per_second:.1f} cfg/s, "
            f"backend={self.backend!r}, n_jobs={self.n_jobs}, curves kept={len(self.curves)})"
        )


@dataclass(slots=True)
class BestCurves:
    """Keep the equity curves of the best ``n`` configurations seen so far (a bounded heap)."""

    n: int
    metric: str
    _heap: list[tuple[float, int, np.ndarray, np.ndarray]] = field(default_factory=list)

    def offer(
        self, config_id: int, score: float, timestamps: np.ndarray, equity: np.ndarray
    ) -> None:
        """Consider one finished configuration (ties: the lower ``config_id`` wins)."""
        if self.n <= 0 or score == -math.inf:
            return
        item = (score, -config_id, timestamps, equity)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, item)  # type: ignore[misc]
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)  # type: ignore[misc]

    def wants(self, score: float) -> bool:
        """Whether a configuration with ``score`` would enter the kept set."""
        if self.n <= 0 or score == -math.inf:
            return False
        return len(self._heap) < self.n or score >= self._heap[0][0]

    def frames(self) -> dict[int, pl.DataFrame]:
        """``{config_id: frame(timestamp, equity)}``, best first."""
        ranked = sorted(self._heap, key=lambda it: (it[0], it[1]), reverse=True)
        return {
            -neg_id: pl.DataFrame({"timestamp": ts, "equity": eq}) for _, neg_id, ts, eq in ranked
        }
