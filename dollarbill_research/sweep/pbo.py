"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado & Zhu (2017), "The Probability of Backtest Overfitting",
J. of Computational Finance 20(4); the method is described in
:mod:`dollarbill_research.sweep.overfitting`. The kernel is
:func:`dollarbill_research.kernels.overfitting_nb.cscv_nb`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.overfitting_nb import (
    PBO_SHARPE,
    PBO_SORTINO,
    PBO_TOTAL_RETURN,
    block_stats_nb,
    cscv_nb,
)
from dollarbill_research.sweep._returns_input import (
    as_returns,
    check_finite,
    per_config,
    rf_per_bar,
)

__all__ = ["PBO_METRICS", "PBOResult", "block_bounds", "pbo"]

#: Metrics :func:`pbo` ranks on, and their kernel codes.
PBO_METRICS: dict[str, int] = {
    "sharpe_ratio": PBO_SHARPE,
    "sortino_ratio": PBO_SORTINO,
    "total_return": PBO_TOTAL_RETURN,
}

_MAX_COMBINATIONS = 1_000_000


def _pct(p: float) -> str:
    if 0.0 < p < 0.005:
        return "<1%"
    if 0.995 <= p < 1.0:
        return ">99%"
    return f"{p:.0%}"


@dataclass(frozen=True, slots=True)
class PBOResult:
    """Probability of backtest overfitting by CSCV (see the module docstring).

    Attributes
    ----------
    pbo : float
        Fraction of train/test splits where the in-sample best is at or below the
        out-of-sample median.
    logits : numpy.ndarray
        The logit of the in-sample best's out-of-sample relative rank, one per split.
    is_metric, oos_metric : numpy.ndarray
        The in-sample best's training and test metric per split (Sharpe/Sortino annualised).
    chosen : numpy.ndarray
        ``config_id`` of the in-sample best per split.
    slope, intercept, r_squared : float
        Least-squares fit ``oos_metric ~ intercept + slope x is_metric`` (the degradation).
    prob_oos_loss : float
        Fraction of splits where the in-sample best's test metric is below 0.
    n_splits, n_configs : int
        Blocks of bars and configurations compared.
    metric : str
        The ranking metric.
    """

    pbo: float
    logits: np.ndarray
    is_metric: np.ndarray
    oos_metric: np.ndarray
    chosen: np.ndarray
    slope: float
    intercept: float
    r_squared: float
    prob_oos_loss: float
    n_splits: int
    n_configs: int
    metric: str

    @property
    def n_combinations(self) -> int:
        """Train/test splits evaluated, ``C(n_splits, n_splits / 2)``."""
        return int(self.logits.shape[0])

    def sentence(self) -> str:
        """One plain sentence (the sweep report and CLI show it)."""
        return (
            f"The in-sample best of {self.n_configs} configurations has a {_pct(self.pbo)} chance "
            f"of being at or below the median out of sample (PBO, CSCV over "
            f"{self.n_combinations:,} train/test splits); its out-of-sample {self.metric} is "
            f"below 0 in {_pct(self.prob_oos_loss)} of them."
        )

    def __repr__(self) -> str:
        return (
            f"PBOResult(pbo={self.pbo:.3f}, {self.n_configs} configurations, "
            f"{self.n_combinations} splits of {self.n_splits} blocks, metric={self.metric!r}, "
            f"degradation slope={self.slope:.3f} (R²={self.r_squared:.3f}), "
            f"P(OOS loss)={self.prob_oos_loss:.3f})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("PBO", f"{self.pbo:.1%}"),
            ("configurations", f"{self.n_configs}"),
            ("splits", f"{self.n_combinations:,} (C({self.n_splits}, {self.n_splits // 2}))"),
            ("metric", self.metric),
            ("degradation slope", f"{self.slope:.3f}"),
            ("R²", f"{self.r_squared:.3f}"),
            ("P(OOS loss)", f"{self.prob_oos_loss:.1%}"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<div><b>Probability of backtest overfitting</b><table>{body}</table>"
            f"<p>{html.escape(self.sentence())}</p></div>"
        )

    def plot(self, path: object | None = None) -> object:
        """Logit histogram and out-of-sample vs in-sample scatter; a ``Figure`` (no pyplot).

        Parameters
        ----------
        path : path, optional
            Also save the figure there (format by suffix).
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        finite = np.isfinite(self.logits)
        ax1.hist(self.logits[finite], bins=40, color="#4C72B0", alpha=0.85)
        ax1.axvline(0.0, color="#C44E52", lw=1.5)
        ax1.set_title(f"Logit of OOS rank of the IS best (PBO {self.pbo:.1%})")
        ax1.set_xlabel("logit (<= 0: at or below the OOS median)")
        ax1.set_ylabel("splits")
        ok = np.isfinite(self.is_metric) & np.isfinite(self.oos_metric)
        ax2.scatter(self.is_metric[ok], self.oos_metric[ok], s=6, alpha=0.4, color="#55A868")
        if ok.sum() >= 2 and np.isfinite(self.slope):
            xs = np.linspace(self.is_metric[ok].min(), self.is_metric[ok].max(), 2)
            ax2.plot(xs, self.intercept + self.slope * xs, color="#C44E52",
                     label=f"slope {self.slope:.2f}, R² {self.r_squared:.2f}")  # fmt: skip
            ax2.legend(loc="best")
        ax2.axhline(0.0, color="grey", lw=0.8)
        ax2.set_title("Degradation: OOS vs IS of the IS best")
        ax2.set_xlabel(f"in-sample {self.metric}")
        ax2.set_ylabel(f"out-of-sample {self.metric}")
        if path is not None:
            fig.savefig(path)
        return fig


def block_bounds(n_bars: int, n_splits: int) -> np.ndarray:
    """Start of each of ``n_splits`` consecutive blocks of ``n_bars`` (sizes differ by <= 1)."""
    base, extra = divmod(n_bars, n_splits)
    sizes = np.full(n_splits, base, dtype=np.int64)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def pbo(
    returns: object,
    n_splits: int = 16,
    metric: str = "sharpe_ratio",
    *,
    risk_free_rate: object = 0.0,
    bars_per_year: object = 252,
    config_ids: Sequence[int] | None = None,
) -> PBOResult:
    """Probability of backtest overfitting of (bars x configurations) returns by CSCV.

    Parameters
    ----------
    returns : array-like
        Per-bar simple returns, one column per configuration (at least 2), finite.
    n_splits : int
        Even number of blocks ``S`` (each at least 2 bars); ``C(S, S/2)`` splits are evaluated
        (12,870 for 16).
    metric : {"sharpe_ratio", "sortino_ratio", "total_return"}
        What "best" means, in and out of sample.
    risk_free_rate, bars_per_year : float or array
        Excess returns for the Sharpe/Sortino, as in :func:`deflated_sharpe`.
    config_ids : sequence of int, optional
        Labels of the columns for ``PBOResult.chosen``.

    Returns
    -------
    PBOResult
    """
    if metric not in PBO_METRICS:
        raise ConfigError(f"pbo metric={metric!r} must be one of {', '.join(PBO_METRICS)}")
    arr = as_returns(returns)
    check_finite(arr)
    n_bars, n_cfg = arr.shape
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer):
        raise ConfigError(f"pbo n_splits={n_splits!r} must be an even int >= 2")
    if n_splits < 2 or n_splits % 2:
        raise ConfigError(f"pbo n_splits={n_splits!r} must be an even int >= 2; hint: 16")
    if math.comb(n_splits, n_splits // 2) > _MAX_COMBINATIONS:
        raise ConfigError(
            f"pbo n_splits={n_splits} gives {math.comb(n_splits, n_splits // 2):,} splits "
            f"(limit {_MAX_COMBINATIONS:,}); hint: 16 gives 12,870"
        )
    if n_bars < 2 * n_splits:
        raise DataError(
            f"returns has {n_bars} rows, fewer than 2 per block for n_splits={n_splits}; "
            f"hint: n_splits <= {max(2, (n_bars // 2) // 2 * 2)}"
        )
    if n_cfg < 2:
        raise DataError(f"pbo needs at least 2 configurations (columns), got {n_cfg}")
    bpy = per_config(bars_per_year, n_cfg, "bars_per_year")
    rf = rf_per_bar(risk_free_rate, bpy, n_cfg)
    bounds = block_bounds(n_bars, n_splits)
    stats = block_stats_nb(arr, rf, bounds)
    logits, is_m, oos_m, chosen = cscv_nb(stats, np.diff(bounds), PBO_METRICS[metric])
    if metric != "total_return":
        scale = float(np.sqrt(np.median(bpy)))
        is_m, oos_m = is_m * scale, oos_m * scale
    ids = np.arange(n_cfg) if config_ids is None else np.asarray(config_ids, dtype=np.int64)
    chosen_ids = np.where(chosen >= 0, ids[np.clip(chosen, 0, None)], -1)
    ok = np.isfinite(logits)
    slope, intercept, r2 = _fit(is_m, oos_m)
    return PBOResult(
        pbo=float(np.mean(logits[ok] <= 0.0)) if ok.any() else math.nan,
        logits=logits,
        is_metric=is_m,
        oos_metric=oos_m,
        chosen=chosen_ids,
        slope=slope,
        intercept=intercept,
        r_squared=r2,
        prob_oos_loss=float(np.mean(oos_m[ok] < 0.0)) if ok.any() else math.nan,
        n_splits=int(n_splits),
        n_configs=n_cfg,
        metric=metric,
    )


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return math.nan, math.nan, math.nan
    xs, ys = x[ok], y[ok]
    slope, intercept = np.polyfit(xs, ys, 1)
    resid = ys - (intercept + slope * xs)
    tss = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / tss if tss > 0 else math.nan
    return float(slope), float(intercept), r2
