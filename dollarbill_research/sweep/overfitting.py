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
  :math:`V = \operatorname{Var}_n[\widehat{SR}_n]` the variance of the trials' Sharpe ratios
  (by default its robust MAD estimate, see :func:`deflated_sharpe`) and
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
* ``"eigen"``: Galwey (2009, Genetic Epidemiology 33(7), 559-568),
  :math:`N_{eff} = (\sum_i \sqrt{\lambda_i})^2 / \sum_i \lambda_i` over the eigenvalues of the
  correlation matrix: ``k`` uncorrelated clusters of identical configurations give ``k``. It is
  smooth in the eigenvalues (Li & Ji's 2005 count jumps at integer eigenvalues). The eigenvalues
  come from the smaller of the two Gram matrices,
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

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.overfitting_nb import column_moments_nb
from dollarbill_research.sweep._returns_input import (
    as_returns,
    check_finite,
    per_config,
    rf_per_bar,
)
from dollarbill_research.sweep.pbo import PBO_METRICS, PBOResult, pbo

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
    arr = as_returns(returns)
    check_finite(arr)
    rf = rf_per_bar(risk_free_rate, bars_per_year, arr.shape[1])
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
        return float(np.sum(np.sqrt(lam)) ** 2 / np.sum(lam)) + (n - m)
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
    sharpe_variance: str | float = "robust",
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
    sharpe_variance : {"robust", "sample"} or float
        :math:`V`, the variance of the trials' per-bar Sharpe ratios in :math:`SR_0`.
        ``"sample"``: their sample variance (``ddof=1``), as in the paper. ``"robust"``
        (default): ``(1.4826 x MAD)^2``, the normal-consistent median-absolute-
        deviation estimate of the same variance (the sample variance where the MAD is 0). A sweep
        often holds a few degenerate configurations (one that barely trades has a tiny
        volatility, so its Sharpe against the risk-free rate is -40): they would inflate the
        sample variance, and with it the "expected best of N zero-edge trials", tenfold. A
        number is used as :math:`V` directly.
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
    arr = as_returns(returns)
    check_finite(arr)
    n_cfg = arr.shape[1]
    if arr.shape[0] < 3:
        raise DataError(
            f"returns has {arr.shape[0]} rows; the deflated Sharpe needs at least 3 bars of "
            "returns; hint: run the sweep on a longer history"
        )
    bpy = per_config(bars_per_year, n_cfg, "bars_per_year")
    rf = rf_per_bar(risk_free_rate, bpy, n_cfg)
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
    variance = _trial_variance(sr, sharpe_variance)
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


def _trial_variance(sr: np.ndarray, how: str | float) -> float:
    finite = sr[np.isfinite(sr)]
    if not isinstance(how, str):
        value = float(how)
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"deflated_sharpe sharpe_variance={how!r} must be a number >= 0")
        return value
    if how not in ("robust", "sample"):
        raise ConfigError(
            f"deflated_sharpe sharpe_variance={how!r} must be 'robust', 'sample' or a number"
        )
    if finite.size < 2:
        return 0.0
    if how == "robust":
        mad = float(np.median(np.abs(finite - np.median(finite))))
        if mad > 0:
            return (1.4826 * mad) ** 2
    return float(np.var(finite, ddof=1))


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


def with_dsr_columns(frame: pl.DataFrame, kept: object) -> pl.DataFrame:
    """``frame`` with ``psr``, ``dsr`` and ``dsr_effective`` columns from the kept returns.

    Failed configurations (and a sweep too short for the statistics) get nulls.
    """
    valid = np.flatnonzero(kept.valid)  # type: ignore[attr-defined]
    values = np.asarray(kept.values)  # type: ignore[attr-defined]
    names = ("psr", "dsr", "dsr_effective")
    if valid.size == 0 or values.shape[0] < 3:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(n) for n in names)
    table = deflated_sharpe(
        values if valid.size == values.shape[1] else values[:, valid],
        risk_free_rate=kept.risk_free_rate[valid],  # type: ignore[attr-defined]
        bars_per_year=kept.bars_per_year[valid],  # type: ignore[attr-defined]
        config_ids=valid,
    )
    return frame.join(table.select("config_id", *names), on="config_id", how="left")


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
        f"(config_id {config_id}, Sharpe {row['sharpe_ratio']:.2f}) has a {_pct(dsr_eff)} "
        f"probability of a true Sharpe above what luck alone would give ({_pct(dsr)} counting "
        f"all {n} trials as independent): {verdict} at the 5% level."
    )


def _pct(p: float) -> str:
    """A probability as a whole percent, without rounding a near-certainty to 0 % or 100 %."""
    if 0.0 < p < 0.005:
        return "<1%"
    if 0.995 <= p < 1.0:
        return ">99%"
    return f"{p:.0%}"


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
