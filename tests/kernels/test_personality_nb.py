"""Personality kernels: rolling OLS against scipy.stats.linregress, scores on hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dollarbill_research.kernels.personality_nb import (
    P_MEAN_REVERTING,
    P_NONE,
    P_STABLE_ACCUMULATOR,
    P_TREND_FOLLOWER,
    P_VOLATILE_BREAKER,
    personality_scores_nb,
    rolling_ols_nb,
)


@pytest.mark.parametrize("window", [3, 10, 40])
def test_rolling_ols_matches_linregress(window: int) -> None:
    rng = np.random.default_rng(4)
    n_sym, n_bars = 2, 150
    x = rng.normal(0, 1, (n_sym, n_bars)) + np.arange(n_bars) * 0.01
    y = 0.5 + 1.7 * x + rng.normal(0, 0.5, x.shape)
    valid = rng.uniform(size=x.shape) > 0.2
    slope, r2, se = rolling_ols_nb(x, y, valid, window)
    for j in range(n_sym):
        idx = np.nonzero(valid[j])[0]
        for k, t in enumerate(idx):
            if k < window - 1:
                assert np.isnan(slope[j, t])
                continue
            w = idx[k - window + 1 : k + 1]
            ref = stats.linregress(x[j, w], y[j, w])
            assert slope[j, t] == pytest.approx(ref.slope, rel=1e-9)
            assert r2[j, t] == pytest.approx(ref.rvalue**2, rel=1e-8)
            assert se[j, t] == pytest.approx(ref.stderr, rel=1e-7)
        assert np.isnan(slope[j, ~valid[j]]).all()


def _one(**kw: float):
    base = {"vol": 0.3, "r2": 0.0, "tau": 0.0, "accel": 0.0, "ar1_t": 0.0, "bf": 0.0, "stab": 1.0}
    base.update(kw)
    arrs = [np.array([[base[k]]]) for k in ("vol", "r2", "tau", "accel", "ar1_t", "bf", "stab")]
    code, conf, vpct = personality_scores_nb(*arrs)
    return int(code[0, 0]), float(conf[0, 0]), float(vpct[0, 0])


def test_scores_hand_cases() -> None:
    # vol percentile = normal CDF of ln(vol/0.3)/0.5
    assert _one(vol=0.3)[2] == pytest.approx(0.5)
    assert _one(vol=0.6)[2] == pytest.approx(stats.norm.cdf(math.log(2) / 0.5))
    # a straight strong trend without acceleration: trend follower, and only it scores
    code, conf, _ = _one(vol=0.3, r2=1.0, tau=3.0, accel=0.0)
    assert code == P_TREND_FOLLOWER
    # scores: ML = 1*1*0.5, TF = 1, MR = 0, VB = 0, SA = 0.5*1*0 -> share 1/1.5
    assert conf == pytest.approx((1 / 1.5 - 0.2) / 0.8)
    assert _one(vol=0.25, ar1_t=-6.0)[0] == P_MEAN_REVERTING
    assert _one(vol=1.2, bf=0.2)[0] == P_VOLATILE_BREAKER
    assert _one(vol=0.1)[0] == P_STABLE_ACCUMULATOR
    assert _one(vol=np.nan)[0] == P_NONE
    assert _one(vol=0.3, stab=0.0)[0] == P_NONE  # all scores zero
