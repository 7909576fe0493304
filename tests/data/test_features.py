"""Volatility features: expressions vs plain-Python references, panel kernels vs expressions,
NaN (missing-bar) handling and no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.data import (
    garman_klass_vol,
    iv_proxy,
    iv_proxy_panel,
    parkinson_vol,
    realized_vol,
    realized_vol_panel,
    synthetic_universe,
    to_panel,
)
from dollarbill_research.exceptions import ConfigError


def ref_realized(closes: list[float], window: int, bpy: float = 252.0) -> list[float | None]:
    """Obvious loop: sample std of the last `window` log returns, annualised."""
    rets = [math.log(closes[i] / closes[i - 1]) for i in range(1, len(closes))]
    out: list[float | None] = [None]
    for i in range(1, len(closes)):
        if i < window:
            out.append(None)
            continue
        w = rets[i - window : i]
        m = sum(w) / window
        out.append(math.sqrt(sum((x - m) ** 2 for x in w) / (window - 1) * bpy))
    return out


def ref_ewma(closes: list[float], lam=0.94, seed=0.30, floor=0.05, bpy=252.0) -> list[float]:
    var = seed**2 / bpy
    out = [max(math.sqrt(var * bpy), floor)]
    for i in range(1, len(closes)):
        r = math.log(closes[i] / closes[i - 1])
        var = lam * var + (1 - lam) * r * r
        out.append(max(math.sqrt(var * bpy), floor))
    return out


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return synthetic_universe(4, 120, seed=11)


def test_realized_vol_matches_reference(bars):
    out = bars.with_columns(realized_vol(10))
    for _, grp in out.group_by("symbol"):
        ref = ref_realized(grp["close"].to_list(), 10)
        got = grp["realized_vol"].to_list()
        assert [g is None for g in got] == [r is None for r in ref]
        np.testing.assert_allclose(
            [g for g in got if g is not None], [r for r in ref if r is not None], rtol=1e-10
        )


def test_iv_proxy_matches_reference(bars):
    out = bars.with_columns(iv_proxy())
    for _, grp in out.group_by("symbol"):
        np.testing.assert_allclose(
            grp["iv_proxy"].to_numpy(), ref_ewma(grp["close"].to_list()), rtol=1e-12
        )


def test_iv_proxy_floor_and_parameters():
    f = pl.DataFrame({"symbol": ["A"] * 3, "close": [100.0, 100.0, 100.0]})
    got = f.select(iv_proxy(lam=0.5, seed_vol=0.2, floor=0.12))["iv_proxy"].to_list()
    # var halves each flat bar: 0.2, 0.2/sqrt(2)=0.1414, 0.1 -> floored at 0.12
    np.testing.assert_allclose(got, [0.2, 0.2 / math.sqrt(2), 0.12], rtol=1e-12)
    with pytest.raises(ConfigError, match="lam"):
        iv_proxy(lam=1.0)
    with pytest.raises(ConfigError, match="window"):
        realized_vol(1)


def test_range_estimators_match_closed_form(bars):
    w = 5
    out = bars.with_columns(parkinson_vol(w), garman_klass_vol(w)).filter(
        pl.col("symbol") == "SYN002"
    )
    h, lo, o, c = (out[k].to_numpy() for k in ("high", "low", "open", "close"))
    hl2 = np.log(h / lo) ** 2
    co2 = np.log(c / o) ** 2
    t = 20
    park = math.sqrt(hl2[t - w + 1 : t + 1].mean() / (4 * math.log(2)) * 252)
    gk = math.sqrt(
        max((0.5 * hl2 - (2 * math.log(2) - 1) * co2)[t - w + 1 : t + 1].mean(), 0) * 252
    )
    assert out["parkinson_vol"][t] == pytest.approx(park, rel=1e-12)
    assert out["garman_klass_vol"][t] == pytest.approx(gk, rel=1e-12)
    assert out["parkinson_vol"][w - 2] is None


def drop_random_bars(frame: pl.DataFrame, seed: int, frac: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    keep = rng.random(frame.height) >= frac
    return frame.filter(pl.Series(keep))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(0.0, 0.5), window=st.integers(2, 12))
def test_panel_kernels_agree_with_expressions_with_missing_bars(seed, frac, window):
    frame = drop_random_bars(synthetic_universe(5, 60, seed=seed % 7), seed, frac)
    panel = to_panel(frame.drop("iv"))
    long = frame.with_columns(realized_vol(window), iv_proxy())
    sym_idx = {s: j for j, s in enumerate(panel.symbols)}
    t_idx = np.searchsorted(panel.timestamps, long["timestamp"].cast(pl.Datetime("ns")).to_numpy())
    j_idx = np.array([sym_idx[s] for s in long["symbol"].to_list()])
    rv = realized_vol_panel(panel.close, window)[t_idx, j_idx]
    iv = iv_proxy_panel(panel.close)[t_idx, j_idx]
    expected_rv = long["realized_vol"].fill_null(np.nan).to_numpy()
    np.testing.assert_allclose(rv, expected_rv, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(iv, long["iv_proxy"].to_numpy(), rtol=1e-12)
    # the proxy is what to_panel fills in when there is no iv column
    np.testing.assert_allclose(panel.iv[t_idx, j_idx], long["iv_proxy"].to_numpy(), rtol=1e-12)
    # missing bars stay NaN in the kernels' output
    assert np.isnan(iv_proxy_panel(panel.close)[~panel.valid]).all()
    assert np.isnan(realized_vol_panel(panel.close, window)[~panel.valid]).all()


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(1, 58), seed=st.integers(0, 1000))
def test_no_look_ahead(cut, seed):
    frame = synthetic_universe(3, 60, seed=5)
    rng = np.random.default_rng(seed)
    bump = np.where(
        frame.select(pl.int_range(pl.len()).over("symbol") > cut).to_series().to_numpy(),
        np.exp(rng.normal(0, 0.2, frame.height)),
        1.0,
    )
    shocked = frame.with_columns(
        [pl.col(c) * pl.Series(bump) for c in ("open", "high", "low", "close")]
    )
    exprs = [realized_vol(5), iv_proxy(), parkinson_vol(5), garman_klass_vol(5)]
    before = frame.with_columns(exprs).filter(pl.int_range(pl.len()).over("symbol") <= cut)
    after = shocked.with_columns(exprs).filter(pl.int_range(pl.len()).over("symbol") <= cut)
    assert before.equals(after)
    p0, p1 = to_panel(frame.drop("iv")), to_panel(shocked.drop("iv"))
    for fn in (iv_proxy_panel, lambda c: realized_vol_panel(c, 5)):
        np.testing.assert_array_equal(fn(p0.close)[: cut + 1], fn(p1.close)[: cut + 1])
    assert not np.array_equal(iv_proxy_panel(p0.close), iv_proxy_panel(p1.close))
