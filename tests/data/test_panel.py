"""to_panel / panel_to_frame: alignment against a plain-Python reference, missing bars, iv fill."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.data import (
    iv_proxy,
    load_csv,
    panel_to_frame,
    proxy_iv_mask,
    synthetic_universe,
    to_panel,
    validate_bars,
)

FIELDS = ("open", "high", "low", "close", "volume")


def reference_grid(frame: pl.DataFrame, field: str):
    """Obvious dict-based alignment: sorted union of timestamps x sorted symbols, NaN if absent."""
    rows = {(r["symbol"], r["timestamp"]): r for r in frame.iter_rows(named=True)}
    times = sorted({t for _, t in rows})
    syms = sorted({s for s, _ in rows})
    grid = np.full((len(times), len(syms)), np.nan)
    for i, t in enumerate(times):
        for j, s in enumerate(syms):
            if (s, t) in rows and rows[(s, t)][field] is not None:
                grid[i, j] = rows[(s, t)][field]
    return times, syms, grid


def small_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": ["B", "A", "A", "B", "C"],
            "timestamp": ["2024-01-03", "2024-01-03", "2024-01-02", "2024-01-02", "2024-01-04"],
            "open": [10.0, 20.0, 21.0, 11.0, 5.0],
            "high": [12.0, 22.0, 23.0, 13.0, 6.0],
            "low": [9.0, 19.0, 20.0, 10.0, 4.0],
            "close": [11.0, 21.0, 22.0, 12.0, 5.5],
            "volume": [1.0, 2.0, 3.0, 4.0, 5.0],
            "iv": [0.2, None, 0.3, 0.25, 0.4],
            "sector": ["Tech", "Energy", "Energy", "Tech", None],
        }
    )


def test_alignment_matches_reference():
    frame = small_frame()
    panel = to_panel(frame)
    times, syms, _ = reference_grid(frame, "close")
    assert panel.symbols == tuple(syms) == ("A", "B", "C")
    expected_ts = np.array([np.datetime64(t, "ns") for t in times])
    np.testing.assert_array_equal(panel.timestamps, expected_ts)
    assert panel.timestamps.dtype == np.dtype("datetime64[ns]")
    for field in FIELDS:
        arr = getattr(panel, field)
        assert arr.dtype == np.float64
        assert arr.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(arr, reference_grid(frame, field)[2])
    np.testing.assert_array_equal(
        panel.valid, [[True, True, False], [True, True, False], [False, False, True]]
    )
    assert panel.n_bars == 3
    assert panel.n_symbols == 3


def test_iv_column_used_and_nulls_filled_by_proxy():
    frame = small_frame()
    panel = to_panel(frame)
    proxy = frame.sort("symbol", "timestamp").with_columns(iv_proxy())
    a_jan3 = proxy.filter((pl.col("symbol") == "A") & (pl.col("timestamp") == "2024-01-03"))
    assert panel.iv[1, 0] == a_jan3["iv_proxy"][0]
    assert panel.iv[0, 0] == 0.3
    assert panel.iv[1, 1] == 0.2
    assert np.isnan(panel.iv[2, 0])  # missing bar stays NaN
    np.testing.assert_array_equal(
        proxy_iv_mask(frame), [[False, False, False], [True, False, False], [False, False, False]]
    )
    no_iv = to_panel(frame.drop("iv"))
    assert proxy_iv_mask(frame.drop("iv"))[no_iv.valid].all()
    np.testing.assert_array_equal(no_iv.iv[0], [0.3, 0.3, np.nan])  # the seed vol on bar one


def test_sectors_and_unknown():
    panel = to_panel(small_frame())
    assert panel.sectors == ("Energy", "Tech", "Unknown")
    assert panel.sector_codes.tolist() == [0, 1, 2]
    assert panel.sector_codes.dtype == np.int64
    bare = to_panel(small_frame().drop("sector"))
    assert bare.sectors == ("Unknown",)
    assert bare.sector_codes.tolist() == [0, 0, 0]


def test_days_of_utc_timestamps():
    frame = small_frame().with_columns(
        pl.col("timestamp").str.to_datetime().dt.replace_time_zone("America/New_York")
    )
    panel = to_panel(frame)
    # midnight New York (EST) is 05:00 UTC
    assert panel.days[0] == (dt.datetime(2024, 1, 2, 5) - dt.datetime(1970, 1, 1)).days + 5 / 24
    back = panel_to_frame(panel, timestamp_dtype=pl.Datetime("us", "UTC"))
    utc = validate_bars(frame).with_columns(pl.col("timestamp").dt.convert_time_zone("UTC"))
    assert back.drop("iv", "sector").equals(utc.drop("iv", "sector"))
    # by default the panel remembers the input's zone
    assert panel.timestamp_dtype == pl.Datetime("us", "America/New_York")
    same = panel_to_frame(panel)
    assert same.drop("iv", "sector").equals(validate_bars(frame).drop("iv", "sector"))


def test_full_block_and_gappy_paths_agree():
    frame = synthetic_universe(6, 40, seed=2)
    full = to_panel(frame)
    assert full.valid.all()
    gappy = to_panel(
        frame.filter(
            ~(
                (pl.col("symbol") == "SYN003")
                & (pl.col("close") > 0)
                & (pl.int_range(pl.len()).over("symbol") == 7)
            )
        )
    )
    keep = np.ones_like(full.valid)
    keep[7, 3] = False
    np.testing.assert_array_equal(gappy.valid, keep)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(gappy, field)[keep], getattr(full, field)[keep])
        assert np.isnan(getattr(gappy, field)[7, 3])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(0.0, 0.6))
def test_round_trip(seed, frac):
    frame = synthetic_universe(4, 30, seed=seed % 5)
    keep = np.random.default_rng(seed).random(frame.height) >= frac
    if not keep.any():
        keep[0] = True
    sub = frame.filter(pl.Series(keep))
    panel = to_panel(sub)
    assert int(panel.valid.sum()) == sub.height
    assert panel_to_frame(panel).equals(sub)


@pytest.mark.realdata
def test_real_folder_panel(real_data_dir):
    frame = load_csv(real_data_dir, pattern="*_five_year.csv")
    panel = to_panel(frame)
    assert panel.n_symbols == 16
    assert int(panel.valid.sum()) == frame.height
    counts = frame.group_by("symbol", maintain_order=True).len()["len"].to_numpy()
    np.testing.assert_array_equal(panel.valid.sum(axis=0), counts)
    assert np.all(np.diff(panel.timestamps.astype(np.int64)) > 0)
    iv = panel.iv[panel.valid]
    assert np.isfinite(iv).all()
    assert iv.min() >= 0.05
    assert iv.max() < 3.0
    assert (
        panel_to_frame(panel, timestamp_dtype=pl.Datetime("us", "UTC"))
        .drop("iv", "sector")
        .equals(frame)
    )
