"""Personality classifier on hand-built series, its frame, and its rolling (past-only) nature."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import (
    PERSONALITIES,
    PREFERRED_STRATEGIES,
    Personality,
    classify,
    classify_panel,
    default_strategies,
)

from ._panels import build_panel, random_panel

N = 400


def zigzag(n: int, amp: float) -> np.ndarray:
    return amp * (-1.0) ** np.arange(n)


def ou_log_price(phi: float, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(N)
    for t in range(1, N):
        x[t] = phi * x[t - 1] + rng.normal(0, sigma)
    return x


def latest(close: np.ndarray) -> dict:
    panel = build_panel(100 * np.exp(close))
    return classify(panel).row(0, named=True)


def test_steady_trend_is_a_trend_follower() -> None:
    row = latest(np.cumsum(0.002 + zigzag(N, 0.002)))
    assert row["personality"] == "TrendFollower"
    assert row["trend_r2"] > 0.95
    assert 0 < row["confidence"] <= 1


def test_accelerating_trend_is_a_momentum_leader() -> None:
    t = np.arange(N, dtype=float)
    row = latest(6.25e-6 * t**2 + np.cumsum(zigzag(N, 0.001)))
    assert row["personality"] == "MomentumLeader"
    assert row["momentum_accel"] > 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ornstein_uhlenbeck_is_mean_reverting(seed: int) -> None:
    x = ou_log_price(0.7, 0.02, seed)
    row = latest(x)
    assert row["personality"] == "MeanReverting"
    # AR(1) over the last 252 (x_{t-1}, x_t) pairs, and its half-life ln2 / -ln b
    b = stats.linregress(x[N - 253 : N - 1], x[N - 252 :]).slope
    assert row["ar1"] == pytest.approx(b, rel=1e-8)
    assert row["half_life"] == pytest.approx(np.log(2) / -np.log(b), rel=1e-8)


def test_low_vol_walk_is_stable_and_high_vol_walk_is_volatile() -> None:
    rng = np.random.default_rng(4)
    calm = np.cumsum(rng.normal(0, 0.10 / np.sqrt(252), N))
    wild = np.cumsum(rng.normal(0, 0.95 / np.sqrt(252), N))
    assert latest(calm)["personality"] == "StableAccumulator"
    assert latest(wild)["personality"] == "VolatileBreaker"


def test_classify_frame_shape_and_latest_rows() -> None:
    frame = synthetic_universe(n_symbols=5, n_bars=500, seed=3)
    one = classify(frame, window=126)
    per_bar = classify(frame, window=126, per_bar=True)
    assert one.height == 5
    assert per_bar.height == frame.height
    assert one.columns[:4] == ["symbol", "timestamp", "personality", "confidence"]
    last = per_bar.group_by("symbol").agg(pl.all().sort_by("timestamp").last()).sort("symbol")
    assert one.sort("symbol").select(one.columns).equals(last.select(one.columns))
    assert set(one["personality"].drop_nulls()) <= {p.value for p in PERSONALITIES}
    conf = per_bar["confidence"].to_numpy()
    assert ((conf >= 0) & (conf <= 1)).all()
    # no classification before the window (+ 20-bar breakout channel) is full
    first_bars = per_bar.filter(pl.col("timestamp") == pl.col("timestamp").min())
    assert first_bars["personality"].null_count() == 5
    row = one.row(0, named=True)
    assert row["preferred_strategies"] == list(
        PREFERRED_STRATEGIES[Personality(row["personality"])]
    )


@pytest.mark.parametrize("cut", [200, 300])
def test_rolling_classification_uses_only_past_bars(cut: int) -> None:
    panel = random_panel(n_bars=400, n_sym=4, seed=8)
    base = classify_panel(panel, window=100)
    rng = np.random.default_rng(cut)
    arrays = {}
    for name in ("close", "high", "low", "volume", "iv"):
        a = getattr(panel, name).copy()
        a[cut + 1 :] *= rng.uniform(0.7, 1.3, a[cut + 1 :].shape)
        arrays[name] = a
    changed = build_panel(
        arrays["close"],
        high=arrays["high"],
        low=arrays["low"],
        volume=arrays["volume"],
        iv=arrays["iv"],
        valid=panel.valid,
    )
    other = classify_panel(changed, window=100)
    np.testing.assert_array_equal(base.code[: cut + 1], other.code[: cut + 1])
    np.testing.assert_array_equal(base.confidence[: cut + 1], other.confidence[: cut + 1])
    for k, v in base.features.items():
        np.testing.assert_array_equal(v[: cut + 1], other.features[k][: cut + 1], err_msg=k)


def test_mapping_covers_every_personality_and_known_strategies() -> None:
    names = {s.name for s in default_strategies()}
    assert set(PREFERRED_STRATEGIES) == set(PERSONALITIES)
    used = set()
    for prefs in PREFERRED_STRATEGIES.values():
        assert set(prefs) <= names
        used |= set(prefs)
    assert used == names  # every strategy is preferred by someone


def test_window_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"classify\.window=3"):
        classify(random_panel(n_bars=50, n_sym=1), window=3)
