r"""How much of a sweep's winner is luck: deflated Sharpe ratio and probability of overfitting.

Both work on a (bars x configurations) array of per-bar simple returns -- what
``sweep(..., keep_returns=True)`` keeps (:mod:`dollarbill_research.sweep.returns`), or any
returns a user brings (:func:`deflated_sharpe`, :func:`pbo`).

Probabilistic and deflated Sharpe ratio
---------------------------------------
Per configuration, on excess returns :math:`x_t = r_t - r_f / \text{bars\_per\_year}` over
:math:`T` bars: :math:`\widehat{SR} = \bar x / s` (per bar, ``s`` with ``ddof=1``; annualised by
:math:`\sqrt{\text{bars\_per\_year}}` in the ``sharpe_ratio`` column, as the sweep frame),
skewness :math:`\gamma_3 = m_3 / m_2^{3/2}` and (non-excess) kurtosis
:math:`\gamma_4 = m_4 / m_2^2` from the population central moments :math:`m_k`.

* Standard error of :math:`\widehat{SR}` under non-normal i.i.d. returns (Mertens 2002; Lo 2002
  for the normal case; Bailey & López de Prado 2012, eq. 3):

  .. math:: \hat\sigma(\widehat{SR}) = \sqrt{\frac{1 - \gamma_3 \widehat{SR}
            + \frac{\gamma_4 - 1}{4}\widehat{SR}^2}{T - 1}}

* Probabilistic Sharpe ratio against a benchmark :math:`SR^*` (Bailey & López de Prado 2012,
  "The Sharpe Ratio Efficient Frontier", J. of Risk 15(2)):
  :math:`\widehat{PSR}(SR^*) = \Phi\big((\widehat{SR} - SR^*) / \hat\sigma(\widehat{SR})\big)`;
  the ``psr`` column uses :math:`SR^* = 0`.

* Expected maximum Sharpe of :math:`N` zero-edge trials (Bailey & López de Prado 2014,
  "The Deflated Sharpe Ratio", J. of Portfolio Management 40(5), eq. 2), with
  :math:`V = \operatorname{Var}_n[\widehat{SR}_n]` the variance of the trials' Sharpe ratios and
  :math:`\gamma \approx 0.5772` the Euler-Mascheroni constant:

  .. math:: SR_0 = \sqrt{V}\Big((1 - \gamma)\,\Phi^{-1}\big(1 - \tfrac1N\big)
            + \gamma\,\Phi^{-1}\big(1 - \tfrac{1}{N e}\big)\Big)

  (:math:`SR_0 = 0` for :math:`N \le 1`: nothing was selected).

* Deflated Sharpe ratio: :math:`DSR = \widehat{PSR}(SR_0)`, the probability that the true
  Sharpe exceeds what the best of :math:`N` zero-edge trials would show. ``dsr`` uses the raw
  number of trials, ``dsr_effective`` the effective number below. A DSR above 0.95 is
  significant at 5 %.

Effective number of trials
--------------------------
Configurations of one sweep are strongly correlated (the same signals sized differently), so
:math:`N` overstates the number of independent trials. Two estimators:

* ``"average_correlation"`` (default): :math:`N_{eff} = \bar\rho + (1 - \bar\rho) N` with
  :math:`\bar\rho` the mean pairwise correlation of the configurations' returns (clipped to
  [0, 1]): :math:`N` for uncorrelated trials, 1 for identical ones. This linear interpolation
  is a practitioners' heuristic, not a result of the DSR paper (which asks for the number of
  effectively independent trials and suggests clustering them); it needs one pass over the
  returns and is what ``dsr_effective`` uses by default.
* ``"eigen"``: Li & Ji (2005, Heredity 95, 221-227), :math:`N_{eff} = \sum_i
  [\mathbb 1(\lambda_i \ge 1) + (\lambda_i - \lfloor\lambda_i\rfloor)]` over the eigenvalues
  of the correlation matrix (from the smaller of the two Gram matrices,
  cost :math:`O(T N \min(T, N))`).

Probability of backtest overfitting (CSCV)
------------------------------------------
Bailey, Borwein, López de Prado & Zhu (2017), "The Probability of Backtest Overfitting",
J. of Computational Finance 20(4). The bars are cut into ``n_splits`` (even) consecutive blocks
(sizes differ by at most one bar). For each of the :math:`\binom{S}{S/2}` ways to pick half of
the blocks as the training set (the rest is the test set), the configuration :math:`n^*` with
the best training metric is ranked among the configurations' test metrics: relative rank
:math:`\bar\omega = \text{rank} / (N + 1)` (mid-ranks on ties) and logit
:math:`\lambda = \ln(\bar\omega / (1 - \bar\omega))`. ``PBO`` is the fraction of splits with
:math:`\lambda \le 0` (the in-sample winner at or below the out-of-sample median). The
degradation is the least-squares line of the winner's test metric on its training metric
(slope, R²); ``prob_oos_loss`` is the fraction of splits where the winner's test metric is
below 0. Metrics: ``sharpe_ratio`` and ``sortino_ratio`` (per bar for ranking, annualised
for display) and ``total_return`` (compounded over the set's bars).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.overfitting_nb import (
    PBO_SHARPE,
    PBO_SORTINO,
    PBO_TOTAL_RETURN,
    block_stats_nb,
    column_moments_nb,
    cscv_nb,
)

__all__ = [
    "EULER_GAMMA",
    "PBO_METRICS",
    "PBOResult",
    "deflated_sharpe",
    "effective_trials",
    "expected_max_sharpe",
    "overfitting_sentences",
    "pbo",
    "probabilistic_sharpe",
    "sharpe_standard_error",
]

#: Euler-Mascheroni constant of the expected-maximum formula.
EULER_GAMMA = 0.5772156649015329

#: Metrics :func:`pbo` ranks on, and their kernel codes.
PBO_METRICS: dict[str, int] = {
    "sharpe_ratio": PBO_SHARPE,
    "sortino_ratio": PBO_SORTINO,
    "total_return": PBO_TOTAL_RETURN,
}

_MAX_COMBINATIONS = 1_000_000


# -- closed forms -----------------------------------------------------------------------------
def sharpe_standard_error(
    sharpe: object, n_obs: object, skewness: object = 0.0, kurtosis: object = 3.0
) -> np.ndarray:
    r"""Standard error of a per-bar Sharpe ratio under non-normal returns (Mertens 2002).

    :math:`\sqrt{(1 - \gamma_3 SR + (\gamma_4 - 1) SR^2 / 4) / (T - 1)}`; ``kurtosis`` is the
    plain (non-excess) kurtosis, 3 for normal returns. NaN where the bracket is not positive.
    """
    sr = np.asarray(sharpe, dtype=np.float64)
    g3 = np.asarray(skewness, dtype=np.float64)
    g4 = np.asarray(kurtosis, dtype=np.float64)
    t = np.asarray(n_obs, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bracket = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr * sr
        return np.where((bracket > 0) & (t > 1), np.sqrt(bracket / (t - 1.0)), np.nan)


def probabilistic_sharpe(
    sharpe: object,
    benchmark: object,
    n_obs: object,
    skewness: object = 0.0,
    kurtosis: object = 3.0,
) -> np.ndarray:
    r"""PSR: :math:`\Phi((\widehat{SR} - SR^*) / \hat\sigma(\widehat{SR}))`, per-bar Sharpes.

    Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier", eq. 4.
    """
    se = sharpe_standard_error(sharpe, n_obs, skewness, kurtosis)
    with np.errstate(invalid="ignore"):
        return ndtr((np.asarray(sharpe, dtype=np.float64) - np.asarray(benchmark)) / se)


def expected_max_sharpe(n_trials: float, sharpe_variance: float) -> float:
    """Expected maximum per-bar Sharpe of ``n_trials`` zero-edge trials.

    Bailey & López de Prado (2014), eq. 2; 0 for ``n_trials <= 1``.
    """
    n = float(n_trials)
    if not n > 1.0 or not sharpe_variance > 0.0:
        return 0.0
    z = (1.0 - EULER_GAMMA) * ndtri(1.0 - 1.0 / n) + EULER_GAMMA * ndtri(1.0 - 1.0 / (n * math.e))
    return float(math.sqrt(sharpe_variance) * z)


# -- inputs -----------------------------------------------------------------------------------
def _as_returns(returns: object, name: str = "returns") -> np.ndarray:
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


def _check_finite(arr: np.ndarray, name: str = "returns") -> None:
    bad = np.flatnonzero(~np.isfinite(np.asarray(arr)).all(axis=0))
    if bad.size:
        j = int(bad[0])
        t = int(np.flatnonzero(~np.isfinite(arr[:, j]))[0])
        raise DataError(
            f"{name} column {j} has a non-finite value {arr[t, j]!r} at row {t}; "
            "hint: drop configurations that failed (NaN columns) before calling"
        )


def _per_config(value: object, n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name}={value!r} must be finite (a number or one per configuration)")
    return arr


def _rf_per_bar(risk_free_rate: object, bars_per_year: object, n: int) -> np.ndarray:
    bpy = _per_config(bars_per_year, n, "bars_per_year")
    if (bpy <= 0).any():
        raise ConfigError(f"bars_per_year={bars_per_year!r} must be > 0; hint: 252")
    return _per_config(risk_free_rate, n, "risk_free_rate") / bpy


# -- effective number of trials -------------------------------------------------------------
def effective_trials(
    returns: object, method: str = "average_correlation", *, risk_free_rate: object = 0.0,
    bars_per_year: object = 252,
) -> float:  # fmt: skip
    """Effective number of independent trials of (bars x configurations) returns.

    ``method``: ``"average_correlation"`` or ``"eigen"`` (see the module docstring).
    Configurations with zero dispersion count as one trial each when ``method`` is
    ``"average_correlation"`` (their correlation is undefined, taken as 0).
    """
    arr = _as_returns(returns)
    _check_finite(arr)
    rf = _rf_per_bar(risk_free_rate, bars_per_year, arr.shape[1])
    moments, z_row = column_moments_nb(arr, rf)
    return _effective(arr, rf, moments, z_row, method)


def _effective(
    arr: np.ndarray, rf: np.ndarray, moments: np.ndarray, z_row: np.ndarray, method: str
) -> float:
    n = arr.shape[1]
    t = arr.shape[0]
    live = moments[:, 2] > 0
    m = int(live.sum())
    if method == "average_correlation":
        if m < 2 or t < 2:
            return float(n)
        total = float(np.dot(z_row, z_row)) / (t - 1)  # sum of every correlation entry
        rho = min(max((total - m) / (m * (m - 1)), 0.0), 1.0)
        return float(rho + (1.0 - rho) * n)
    if method == "eigen":
        if m < 2 or t < 2:
            return float(n)
        x = np.asarray(arr[:, live], dtype=np.float64) - rf[live][None, :]
        z = (x - moments[live, 1][None, :]) / np.sqrt(moments[live, 2] * t / (t - 1))[None, :]
        gram = (z.T @ z if m <= t else z @ z.T) / (t - 1)
        lam = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
        return float(np.sum((lam >= 1.0) + (lam - np.floor(lam))) + (n - m))
    raise ConfigError(
        f"effective trials method={method!r} must be 'average_correlation' or 'eigen'"
    )


# -- deflated Sharpe --------------------------------------------------------------------------
def deflated_sharpe(
    returns: object,
    *,
    risk_free_rate: object = 0.0,
    bars_per_year: object = 252,
    n_trials: float | None = None,
    effective_method: str = "average_correlation",
    config_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Sharpe ratio, its standard error, PSR and DSR of every column of ``returns``.

    Parameters
    ----------
    returns : array-like
        (bars x configurations) per-bar simple returns (float32 or float64), finite.
    risk_free_rate : float or array
        Annual rate (decimal) subtracted as ``risk_free_rate / bars_per_year`` per bar; one
        value or one per configuration.
    bars_per_year : float or array
        Annualisation of the ``sharpe_ratio`` and ``expected_max_sharpe`` columns.
    n_trials : float, optional
        Number of trials for ``dsr`` (default: the number of columns). Pass the count of every
        configuration tried, including earlier sweeps, to deflate honestly.
    effective_method : {"average_correlation", "eigen"}
        Estimator of the effective number of trials (``dsr_effective``).
    config_ids : sequence of int, optional
        ``config_id`` column values (default ``0..n-1``).

    Returns
    -------
    polars.DataFrame
        One row per configuration: ``config_id``, ``sharpe_ratio`` (annualised),
        ``sharpe_per_bar``, ``sharpe_se`` (per bar), ``skewness``, ``kurtosis``, ``n_obs``,
        ``psr`` (against 0), ``dsr``, ``dsr_effective``, and the sweep-wide ``n_trials``,
        ``n_trials_effective``, ``expected_max_sharpe`` and ``expected_max_sharpe_effective``
        (annualised). The module docstring gives every formula.
    """
    arr = _as_returns(returns)
    _check_finite(arr)
    n_cfg = arr.shape[1]
    if arr.shape[0] < 3:
        raise DataError(
            f"returns has {arr.shape[0]} rows; the deflated Sharpe needs at least 3 bars of "
            "returns; hint: run the sweep on a longer history"
        )
    bpy = _per_config(bars_per_year, n_cfg, "bars_per_year")
    rf = _rf_per_bar(risk_free_rate, bpy, n_cfg)
    moments, z_row = column_moments_nb(arr, rf)
    t = moments[:, 0]
    mean, m2, m3, m4 = moments[:, 1], moments[:, 2], moments[:, 3], moments[:, 4]
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(m2 * t / (t - 1.0))
        sr = np.where(std > 0, mean / std, np.where(mean == 0, np.nan, np.sign(mean) * np.inf))
        skew = np.where(m2 > 0, m3 / m2**1.5, np.nan)
        kurt = np.where(m2 > 0, m4 / (m2 * m2), np.nan)
    n_raw = float(n_cfg if n_trials is None else n_trials)
    if not n_raw >= 1:
        raise ConfigError(f"deflated_sharpe n_trials={n_trials!r} must be >= 1")
    n_eff = min(_effective(arr, rf, moments, z_row, effective_method), n_raw)
    finite = np.isfinite(sr)
    variance = float(np.var(sr[finite], ddof=1)) if finite.sum() >= 2 else 0.0
    sr0 = expected_max_sharpe(n_raw, variance)
    sr0_eff = expected_max_sharpe(n_eff, variance)
    se = sharpe_standard_error(sr, t, skew, kurt)
    ann = np.sqrt(bpy)
    ids = np.arange(n_cfg) if config_ids is None else np.asarray(config_ids, dtype=np.int64)
    return pl.DataFrame(
        {
            "config_id": ids.astype(np.int64),
            "sharpe_ratio": sr * ann,
            "sharpe_per_bar": sr,
            "sharpe_se": se,
            "skewness": skew,
            "kurtosis": kurt,
            "n_obs": t.astype(np.int64),
            "psr": probabilistic_sharpe(sr, 0.0, t, skew, kurt),
            "dsr": probabilistic_sharpe(sr, sr0, t, skew, kurt),
            "dsr_effective": probabilistic_sharpe(sr, sr0_eff, t, skew, kurt),
            "n_trials": np.full(n_cfg, n_raw),
            "n_trials_effective": np.full(n_cfg, n_eff),
            "expected_max_sharpe": sr0 * ann,
            "expected_max_sharpe_effective": sr0_eff * ann,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


# -- PBO --------------------------------------------------------------------------------------
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
            f"The in-sample best of {self.n_configs} configurations has a {self.pbo:.0%} chance "
            f"of being at or below the median out of sample (PBO, CSCV over "
            f"{self.n_combinations:,} train/test splits); its out-of-sample {self.metric} is "
            f"below 0 in {self.prob_oos_loss:.0%} of them."
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
    arr = _as_returns(returns)
    _check_finite(arr)
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
    bpy = _per_config(bars_per_year, n_cfg, "bars_per_year")
    rf = _rf_per_bar(risk_free_rate, bpy, n_cfg)
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


# -- the sweep's view -------------------------------------------------------------------------
def _sweep_returns(result: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    kept = getattr(result, "returns", None)
    if kept is None:
        raise ConfigError(
            "this sweep kept no returns; hint: run sweep(..., keep_returns=True) to get the "
            "deflated Sharpe and PBO without a rerun"
        )
    valid = np.flatnonzero(kept.valid)
    values = np.asarray(kept.values)
    cols = values if valid.size == values.shape[1] else values[:, valid]
    return cols, valid, kept.risk_free_rate[valid], kept.bars_per_year[valid]


def sweep_deflated_sharpe(result: object, **kwargs: object) -> pl.DataFrame:
    """:func:`deflated_sharpe` of a sweep's kept returns, with its parameter columns.

    Failed configurations are left out (and not counted as trials unless ``n_trials`` says so).
    """
    values, ids, rf, bpy = _sweep_returns(result)
    kwargs.setdefault("risk_free_rate", rf)
    kwargs.setdefault("bars_per_year", bpy)
    table = deflated_sharpe(values, config_ids=ids, **kwargs)  # type: ignore[arg-type]
    params = result.frame.select("config_id", *result.param_names)  # type: ignore[attr-defined]
    return params.join(table, on="config_id", how="inner").sort("config_id")


def sweep_pbo(result: object, n_splits: int = 16, metric: str = "sharpe_ratio") -> PBOResult:
    """:func:`pbo` of a sweep's kept returns (failed configurations left out)."""
    values, ids, rf, bpy = _sweep_returns(result)
    return pbo(values, n_splits, metric, risk_free_rate=rf, bars_per_year=bpy, config_ids=ids)


def dsr_sentence(table: pl.DataFrame, config_id: int) -> str:
    """One plain sentence on ``config_id``'s DSR from a :func:`deflated_sharpe` frame."""
    row = table.filter(pl.col("config_id") == config_id).row(0, named=True)
    n = int(row["n_trials"])
    n_eff = row["n_trials_effective"]
    dsr, dsr_eff = row["dsr"], row["dsr_effective"]
    if dsr_eff is None or row["sharpe_ratio"] is None:
        return f"Configuration {config_id} has no Sharpe ratio to deflate (flat returns)."
    verdict = "significant" if dsr_eff > 0.95 else "not significant"
    return (
        f"After {n} trials ({n_eff:.1f} effectively independent), the best configuration "
        f"(config_id {config_id}, Sharpe {row['sharpe_ratio']:.2f}) has a {dsr_eff:.0%} "
        f"probability of a true Sharpe above what luck alone would give ({dsr:.0%} counting all "
        f"{n} trials as independent): {verdict} at the 5% level."
    )


def overfitting_sentences(result: object, n_splits: int = 16) -> tuple[str, str]:
    """``(dsr_sentence, pbo_sentence)`` for a sweep that kept its returns.

    The best configuration is the sweep's best by its ranking metric. ``n_splits`` is reduced
    to fit a short history (at least 2 bars per block).
    """
    table = sweep_deflated_sharpe(result)
    best = result.best(1)  # type: ignore[attr-defined]
    if best.height == 0 or table.height == 0:
        return ("No configuration ran, so there is no Sharpe ratio to deflate.",
                "No configuration ran, so there is no PBO.")  # fmt: skip
    first = dsr_sentence(table, int(best["config_id"][0]))
    values = _sweep_returns(result)[0]
    if values.shape[1] < 2:
        return first, "With a single configuration there is no selection, so no PBO."
    splits = min(n_splits, (values.shape[0] // 2) // 2 * 2)
    if splits < 2:
        return first, "The history is too short for a PBO."
    return first, sweep_pbo(result, n_splits=splits).sentence()
