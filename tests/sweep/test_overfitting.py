"""Deflated Sharpe, PSR, effective trials and PBO against papers, slow references, Monte Carlo."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.sweep import deflated_sharpe, pbo
from dollarbill_research.sweep.overfitting import (
    effective_trials,
    expected_max_sharpe,
    probabilistic_sharpe,
    sharpe_standard_error,
)
from dollarbill_research.sweep.pbo import block_bounds


# -- the papers' worked numbers ---------------------------------------------------------------
def test_dsr_paper_numerical_example() -> None:
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio Management 40(5),
    # section "A numerical example": N = 100 trials, V[SR_n] = 1/2 (annualised), 5 years of
    # daily returns (T = 1250, 250 per year), best annualised SR = 2.5, skewness -3, kurtosis 10.
    # The paper finds SR_0 = 0.1132 (non-annualised) and DSR = 0.9004.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = float(probabilistic_sharpe(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0))
    assert dsr == pytest.approx(0.9004, abs=2e-4)


def test_psr_reduces_to_lo_under_normal_returns() -> None:
    # Lo (2002): for i.i.d. normal returns Var(SR) = (1 + SR^2 / 2) / T; the PSR paper's
    # (Bailey & López de Prado 2012) bracket 1 - g3 SR + (g4 - 1)/4 SR^2 is exactly that at
    # g3 = 0, g4 = 3 (with T - 1 in place of T).
    sr, t = 0.08, 500
    se = float(sharpe_standard_error(sr, t))
    assert se == pytest.approx(math.sqrt((1 + sr**2 / 2) / (t - 1)), rel=1e-12)
    assert float(probabilistic_sharpe(sr, 0.0, t)) == pytest.approx(
        stats.norm.cdf(sr / se), rel=1e-12
    )


def test_standard_error_matches_monte_carlo_for_skewed_returns() -> None:
    # Mertens (2002): the sampling deviation of the Sharpe ratio of skewed, fat-tailed i.i.d.
    # returns. Shifted lognormal returns: skewness and kurtosis from their closed forms.
    rng = np.random.default_rng(3)
    s2, t, n_paths = 0.5**2, 500, 6000
    w = math.exp(s2)
    skew = (w + 2) * math.sqrt(w - 1)
    kurt = w**4 + 2 * w**3 + 3 * w**2 - 3
    mean, sd = math.exp(s2 / 2), math.sqrt((w - 1) * w)
    shift = mean - 0.05 * sd  # true Sharpe 0.05 per bar
    x = rng.lognormal(0.0, 0.5, (n_paths, t)) - shift
    sharpes = x.mean(1) / x.std(1, ddof=1)
    formula = float(sharpe_standard_error(0.05, t, skew, kurt))
    normal = float(sharpe_standard_error(0.05, t))
    assert np.std(sharpes) == pytest.approx(formula, rel=0.05)
    assert abs(np.std(sharpes) - normal) > abs(np.std(sharpes) - formula)


# -- the frame against a slow reference -------------------------------------------------------
def test_deflated_sharpe_frame_matches_a_slow_reference() -> None:
    rng = np.random.default_rng(7)
    r = rng.standard_t(5, (300, 12)) * 0.01 + 0.0004
    rf, bpy = 0.03, 252
    table = deflated_sharpe(r, risk_free_rate=rf, bars_per_year=bpy, sharpe_variance="sample")
    x = r - rf / bpy
    sr = x.mean(0) / x.std(0, ddof=1)
    g3 = stats.skew(x, axis=0)
    g4 = stats.kurtosis(x, axis=0, fisher=False)
    se = np.sqrt((1 - g3 * sr + (g4 - 1) / 4 * sr**2) / (300 - 1))
    v = np.var(sr, ddof=1)
    e = 0.5772156649015329

    def emax(n: float) -> float:
        z = (1 - e) * stats.norm.ppf(1 - 1 / n) + e * stats.norm.ppf(1 - 1 / (n * math.e))
        return math.sqrt(v) * z

    sr0 = emax(12)
    corr = np.corrcoef(x, rowvar=False)
    rho = (corr.sum() - 12) / (12 * 11)
    n_eff = max(rho, 0.0) + (1 - max(rho, 0.0)) * 12
    sr0_eff = emax(n_eff)
    np.testing.assert_allclose(table["sharpe_per_bar"], sr, rtol=1e-10)
    np.testing.assert_allclose(table["sharpe_ratio"], sr * math.sqrt(bpy), rtol=1e-10)
    np.testing.assert_allclose(table["skewness"], g3, rtol=1e-9)
    np.testing.assert_allclose(table["kurtosis"], g4, rtol=1e-9)
    np.testing.assert_allclose(table["sharpe_se"], se, rtol=1e-9)
    np.testing.assert_allclose(table["psr"], stats.norm.cdf(sr / se), rtol=1e-9)
    np.testing.assert_allclose(table["dsr"], stats.norm.cdf((sr - sr0) / se), rtol=1e-9)
    np.testing.assert_allclose(table["n_trials_effective"], n_eff, rtol=1e-9)
    np.testing.assert_allclose(
        table["dsr_effective"], stats.norm.cdf((sr - sr0_eff) / se), rtol=1e-9
    )
    assert table["expected_max_sharpe"][0] == pytest.approx(sr0 * math.sqrt(bpy), rel=1e-10)
    robust = deflated_sharpe(r, risk_free_rate=rf, bars_per_year=bpy)  # the default
    mad = np.median(np.abs(sr - np.median(sr)))
    sr0_robust = emax(12) * 1.4826 * mad / math.sqrt(v)
    assert robust["expected_max_sharpe"][0] == pytest.approx(sr0_robust * math.sqrt(bpy))
    more = deflated_sharpe(r, risk_free_rate=rf, n_trials=1000)
    assert (more["dsr"].to_numpy() < table["dsr"].to_numpy()).all()  # more trials deflate more


def test_effective_trials_estimators() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.01, (1000, 4))
    identical = np.repeat(base[:, :1], 10, axis=1)
    assert effective_trials(identical) == pytest.approx(1.0, abs=1e-6)
    independent = rng.normal(0, 0.01, (5000, 10))
    assert effective_trials(independent) == pytest.approx(10.0, abs=0.2)
    # four uncorrelated clusters of five near-identical configurations: Galwey counts 4
    centred = base - base.mean(0)
    orthogonal = np.linalg.qr(centred)[0] * 0.3  # exactly uncorrelated cluster centres
    clusters = np.repeat(orthogonal, 5, axis=1) + rng.normal(0, 1e-6, (1000, 20))
    assert effective_trials(clusters, "eigen") == pytest.approx(4.0, abs=0.01)
    assert effective_trials(identical, "eigen") == pytest.approx(1.0, abs=1e-6)
    assert effective_trials(independent, "eigen") == pytest.approx(10.0, abs=0.1)
    # equicorrelated at 0.5: N_eff = 0.5 + 0.5 N
    common = rng.normal(0, 1, (20000, 1))
    equi = (common + rng.normal(0, 1, (20000, 8))) * 0.01
    assert effective_trials(equi) == pytest.approx(0.5 + 0.5 * 8, abs=0.1)
    with pytest.raises(ConfigError, match="method"):
        effective_trials(independent, "pca")


def test_monte_carlo_best_of_zero_edge_configurations_is_not_significant() -> None:
    # N zero-edge configurations: their best looks significant by PSR, not by DSR.
    n_seeds, n_cfg, t = 60, 50, 500
    dsr_significant = psr_significant = 0
    for seed in range(n_seeds):
        r = np.random.default_rng(1000 + seed).normal(0.0, 0.01, (t, n_cfg))
        table = deflated_sharpe(r)
        best = int(np.argmax(table["sharpe_ratio"].to_numpy()))
        dsr_significant += table["dsr"][best] > 0.95
        psr_significant += table["psr"][best] > 0.95
    assert dsr_significant <= 0.10 * n_seeds
    assert psr_significant >= 0.5 * n_seeds  # the selection bias the DSR removes


def test_deflated_sharpe_input_errors() -> None:
    r = np.zeros((50, 3))
    r[4, 1] = np.nan
    with pytest.raises(DataError, match=r"column 1 .* row 4"):
        deflated_sharpe(r)
    with pytest.raises(DataError, match="at least 3"):
        deflated_sharpe(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="bars_per_year"):
        deflated_sharpe(np.ones((10, 2)), bars_per_year=0)
    flat = deflated_sharpe(np.zeros((10, 2)))  # zero dispersion: no Sharpe, not a crash
    assert flat["sharpe_ratio"].null_count() == 2


# -- PBO against a slow reference -------------------------------------------------------------
def _slow_pbo(r: np.ndarray, n_splits: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    bounds = block_bounds(r.shape[0], n_splits)
    blocks = [r[bounds[i] : bounds[i + 1]].astype(np.float64) for i in range(n_splits)]

    def perf(x: np.ndarray) -> np.ndarray:
        if metric == "sharpe_ratio":
            return x.mean(0) / x.std(0, ddof=1)
        if metric == "sortino_ratio":
            with np.errstate(divide="ignore"):  # no losing bar: +inf, as the kernel
                return x.mean(0) / np.sqrt(np.mean(np.minimum(x, 0) ** 2, axis=0))
        return np.prod(1 + x, axis=0) - 1

    logits, oos = [], []
    for combo in itertools.combinations(range(n_splits), n_splits // 2):
        train = np.concatenate([blocks[i] for i in combo])
        test = np.concatenate([blocks[i] for i in range(n_splits) if i not in combo])
        is_perf, oos_perf = perf(train), perf(test)
        best = int(np.argmax(is_perf))
        rank = stats.rankdata(oos_perf)[best]  # mid-ranks on ties
        w = rank / (r.shape[1] + 1)
        logits.append(math.log(w / (1 - w)))
        oos.append(oos_perf[best])
    return np.array(logits), np.array(oos)


@pytest.mark.parametrize("metric", ["sharpe_ratio", "sortino_ratio", "total_return"])
def test_pbo_equals_a_slow_reference(metric: str) -> None:
    r = np.random.default_rng(5).normal(0.0003, 0.01, (203, 9)).astype(np.float32)
    res = pbo(r, n_splits=8, metric=metric, config_ids=list(range(100, 109)))
    logits, oos = _slow_pbo(r, 8, metric)
    assert res.n_combinations == math.comb(8, 4)
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12)
    scale = 1.0 if metric == "total_return" else math.sqrt(252)
    np.testing.assert_allclose(res.oos_metric, oos * scale, rtol=1e-9)
    assert res.pbo == pytest.approx(np.mean(logits <= 0))
    assert res.prob_oos_loss == pytest.approx(np.mean(oos < 0))
    assert set(res.chosen.tolist()) <= set(range(100, 109))
    slope, intercept = np.polyfit(res.is_metric, res.oos_metric, 1)
    assert res.slope == pytest.approx(slope)
    assert res.intercept == pytest.approx(intercept)
    assert 0.0 <= res.r_squared <= 1.0


def test_pbo_of_noise_is_near_one_half() -> None:
    values = [
        pbo(np.random.default_rng(seed).normal(0, 0.01, (600, 40)), n_splits=10).pbo
        for seed in range(8)
    ]
    assert 0.35 <= float(np.mean(values)) <= 0.7
    assert min(values) > 0.15


def test_pbo_with_one_persistent_edge_is_near_zero() -> None:
    rng = np.random.default_rng(9)
    r = rng.normal(0, 0.01, (2000, 40))
    r[:, 17] += 0.0015  # Sharpe 0.15 per bar (about 2.4 a year), in every block
    res = pbo(r, n_splits=16)
    assert res.pbo < 0.05
    assert np.mean(res.chosen == 17) > 0.9
    assert res.prob_oos_loss < 0.05


def test_pbo_input_errors_and_views() -> None:
    r = np.random.default_rng(0).normal(0, 0.01, (100, 5))
    for bad in (3, 0, True, 2.0):
        with pytest.raises(ConfigError, match="n_splits"):
            pbo(r, n_splits=bad)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="fewer than 2 per block"):
        pbo(r[:20], n_splits=16)
    with pytest.raises(DataError, match="at least 2 configurations"):
        pbo(r[:, :1], n_splits=4)
    with pytest.raises(ConfigError, match="metric"):
        pbo(r, 4, metric="calmar_ratio")
    res = pbo(r, 4)
    assert repr(res).startswith("PBOResult(pbo=")
    assert len(repr(res)) < 250
    assert "<table>" in res._repr_html_()
    assert "chance of being at or below the median out of sample" in res.sentence()
    from matplotlib.figure import Figure

    assert isinstance(res.plot(), Figure)


def test_a_configuration_that_never_trades_does_not_distort_the_statistics() -> None:
    # flat returns minus a 5 % risk-free rate are constant: zero dispersion, not a Sharpe of -1e14
    r = np.random.default_rng(2).normal(0.0, 0.01, (500, 6)).astype(np.float32)
    r[:, 3] = 0.0
    table = deflated_sharpe(r, risk_free_rate=0.05)
    assert table["sharpe_ratio"][3] is None or table["sharpe_ratio"][3] == -math.inf
    assert abs(table["expected_max_sharpe"][0]) < 5
    # one degenerate, nearly-flat configuration (Sharpe about -40 against the risk-free rate)
    r[:, 4] = np.where(np.arange(500) % 50 == 0, 1e-4, 0.0)
    robust = deflated_sharpe(r, risk_free_rate=0.05)
    sample = deflated_sharpe(r, risk_free_rate=0.05, sharpe_variance="sample")
    assert robust["sharpe_ratio"][4] < -20
    assert robust["expected_max_sharpe"][0] < 0.3 * sample["expected_max_sharpe"][0]
    with pytest.raises(ConfigError, match="sharpe_variance"):
        deflated_sharpe(r, sharpe_variance="mad")
    res = pbo(r, 8, risk_free_rate=0.05)
    finite = np.isfinite(res.oos_metric)
    assert (np.abs(res.oos_metric[finite]) < 50).all()
    assert 3 not in res.chosen.tolist()
    # a configuration that trades only in the first half is flat in the second: when chosen
    # in-sample, its out-of-sample Sharpe is -inf (zero dispersion), not -1e8 from rounding
    r2 = np.random.default_rng(4).normal(-0.002, 0.01, (640, 5)).astype(np.float32)
    r2[:, 2] = 0.0
    r2[:320, 2] = np.random.default_rng(5).normal(0.004, 0.01, 320)
    split = pbo(r2, 2, risk_free_rate=0.05)
    assert split.chosen[0] == 2
    assert split.oos_metric[0] == -math.inf


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_splits=st.sampled_from([2, 4, 6]),
    n_cfg=st.integers(2, 7),
    extra=st.integers(0, 13),
    metric=st.sampled_from(["sharpe_ratio", "sortino_ratio", "total_return"]),
)
def test_pbo_property_reference_and_column_order(
    seed: int, n_splits: int, n_cfg: int, extra: int, metric: str
) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(rng.uniform(-0.002, 0.002, n_cfg), 0.01, (2 * n_splits + extra, n_cfg))
    res = pbo(r, n_splits, metric)
    logits, _ = _slow_pbo(r, n_splits, metric)
    np.testing.assert_allclose(res.logits, logits, rtol=1e-9)
    assert 0.0 <= res.pbo <= 1.0
    if not np.isfinite(res.is_metric).all():
        return  # an in-sample tie at +inf (a block without losses): the first column wins
    perm = rng.permutation(n_cfg)
    shuffled = pbo(r[:, perm], n_splits, metric, config_ids=perm.tolist())
    np.testing.assert_allclose(shuffled.logits, res.logits, rtol=1e-9)
    np.testing.assert_array_equal(shuffled.chosen, res.chosen)  # the same configuration wins
