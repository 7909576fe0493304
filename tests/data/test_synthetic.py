"""Synthetic universe: determinism (in and across processes), prefix stability, realism."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from dollarbill_research.data import synthetic_params, synthetic_universe, validate_bars
from dollarbill_research.data.synthetic import SECTOR_NAMES
from dollarbill_research.exceptions import ConfigError

HASH_SNIPPET = (
    "import hashlib;"
    "from dollarbill_research.data import synthetic_universe as s;"
    "f=s(7, 50, seed=123);"
    "print(hashlib.sha256(f.write_csv().encode()).hexdigest())"
)


def digest(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


@pytest.fixture(scope="module")
def universe() -> pl.DataFrame:
    return synthetic_universe(40, 1260, seed=7)


def test_same_seed_same_frame_and_other_seed_differs():
    a = synthetic_universe(5, 100, seed=3)
    assert a.equals(synthetic_universe(5, 100, seed=3))
    assert not a.equals(synthetic_universe(5, 100, seed=4))


def test_identical_across_processes():
    out = subprocess.run(
        [sys.executable, "-c", HASH_SNIPPET], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == digest(synthetic_universe(7, 50, seed=123))


def test_prefix_stability_in_symbols_and_bars():
    big = synthetic_universe(6, 80, seed=9)
    small = synthetic_universe(4, 50, seed=9)
    expected = big.filter(
        pl.col("symbol").is_in(small["symbol"].unique().to_list())
        & (pl.int_range(pl.len()).over("symbol") < 50)
    )
    assert small.equals(expected)


def test_validates_cleanly_and_is_canonical(universe):
    assert validate_bars(universe).equals(universe)
    assert universe.schema["timestamp"] == pl.Date
    assert universe.columns == [
        "symbol",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "iv",
        "sector",
    ]
    assert universe.height == 40 * 1260


def test_business_days():
    f = synthetic_universe(1, 10, start="2024-01-06")  # a Saturday: rolled to Monday
    days = f["timestamp"].to_list()
    assert days[0].isoformat() == "2024-01-08"
    assert all(d.weekday() < 5 for d in days)
    assert len(set(days)) == 10


def test_ohlc_consistent_exactly(universe):
    bad = universe.filter(
        (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("volume") < 0)
        | (pl.col("iv") <= 0)
    )
    assert bad.height == 0
    assert (universe["high"] > universe["low"]).all()


def test_realised_vol_near_configured_level(universe):
    params = synthetic_params(40, seed=7)
    rv = (
        universe.group_by("symbol", maintain_order=True)
        .agg(rv=pl.col("close").log().diff().std() * np.sqrt(252))["rv"]
        .to_numpy()
    )
    ratio = rv / params.base_vol
    assert ratio.min() > 0.7
    assert ratio.max() < 1.4
    assert 0.9 < np.median(ratio) < 1.15
    assert params.base_vol.min() >= 0.15
    assert params.base_vol.max() <= 0.90
    assert params.base_vol.max() / params.base_vol.min() > 3  # a real spread of vol levels


def test_iv_is_a_forecast_of_future_vol_plus_premium(universe):
    f = (
        universe.with_columns(
            r=pl.col("close").log().diff().over("symbol"),
        )
        .with_columns(
            # realised vol over the NEXT 21 bars (forward-looking on purpose: the iv target)
            fwd=(pl.col("r").shift(-21).rolling_std(21).over("symbol") * np.sqrt(252)),
            past=(pl.col("r").rolling_std(21).over("symbol") * np.sqrt(252)),
        )
        .drop_nulls()
    )
    ratio = (f["iv"] / f["fwd"]).median()
    assert 1.0 < ratio < 1.35  # premium over what is then realised
    corr_fwd = np.corrcoef(np.log(f["iv"]), np.log(f["fwd"]))[0, 1]
    assert corr_fwd > 0.6  # across symbols and time the iv tracks future vol
    # within symbols, iv forecasts future vol better than trailing vol does (vol regimes)
    within = f.with_columns(
        [
            (pl.col(c).log() - pl.col(c).log().mean().over("symbol")).alias(c)
            for c in ("iv", "fwd", "past")
        ]
    )
    c_iv = np.corrcoef(within["iv"], within["fwd"])[0, 1]
    c_past = np.corrcoef(within["past"], within["fwd"])[0, 1]
    assert c_iv > c_past


def test_regimes_make_vol_vary_over_time(universe):
    monthly = (
        universe.with_columns(r=pl.col("close").log().diff().over("symbol"))
        .with_columns(m=pl.int_range(pl.len()).over("symbol") // 63)
        .group_by("symbol", "m")
        .agg(v=pl.col("r").std())
        .group_by("symbol")
        .agg(spread=pl.col("v").max() / pl.col("v").min())
    )
    assert monthly["spread"].median() > 1.8  # quarters differ clearly: not constant vol


def test_jumps_fatten_tails(universe):
    z = (
        universe.with_columns(r=pl.col("close").log().diff().over("symbol"))
        .with_columns(
            z=(pl.col("r") - pl.col("r").mean().over("symbol")) / pl.col("r").std().over("symbol")
        )["z"]
        .drop_nulls()
        .to_numpy()
    )
    kurt = np.mean(z**4)
    assert kurt > 4.0  # a normal has 3


def test_sectors(universe):
    sectors = universe["sector"].unique().to_list()
    assert 8 <= len(sectors) <= len(SECTOR_NAMES)
    assert set(sectors) <= set(SECTOR_NAMES)
    assert universe.group_by("symbol").agg(pl.col("sector").n_unique())["sector"].max() == 1


def test_bad_arguments():
    with pytest.raises(ConfigError, match="n_symbols"):
        synthetic_universe(0)
    with pytest.raises(ConfigError, match="n_bars"):
        synthetic_universe(3, 1)
    with pytest.raises(ConfigError, match="start"):
        synthetic_universe(3, 5, start="yesterday")
