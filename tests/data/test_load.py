"""Loaders: yfinance CSVs, generic CSVs with a column map, folders, Parquet and frames."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from dollarbill_research.data import (
    DataError,
    load_bars,
    load_csv,
    load_parquet,
    symbol_from_filename,
    synthetic_universe,
)

YF = (
    "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
    "2021-03-09 00:00:00-05:00,115.9,118.8,115.7,117.9,129525800,0.0,0.0\n"
    "2021-03-08 00:00:00-05:00,117.7,117.8,113.1,113.3,154376600,0.0,0.0\n"
)


@pytest.fixture
def yf_folder(tmp_path: Path) -> Path:
    (tmp_path / "aapl_five_year.csv").write_text(YF)
    (tmp_path / "msft_five_year.csv").write_text(YF.replace("11", "21"))
    (tmp_path / "aapl_vol_surface.csv").write_text(
        "Symbol,Strike,TimeToExpiry,ImpliedVol,Moneyness,OptionType,Volume\n"
        "AAPL,205,0.013699,0.9196,0.7962,Call,13\n"
    )
    (tmp_path / "aapl_options_live.json").write_text("{}")
    return tmp_path


def test_symbol_from_filename():
    assert symbol_from_filename("x/aapl_five_year.csv") == "AAPL"
    assert symbol_from_filename("brk.b.csv") == "BRK.B"
    assert symbol_from_filename("spy.parquet") == "SPY"


def test_yfinance_file(yf_folder):
    out = load_csv(yf_folder / "aapl_five_year.csv")
    assert out.columns == ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    assert out["symbol"].to_list() == ["AAPL", "AAPL"]
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")
    # 00:00 at -05:00 is 05:00 UTC; rows came newest-first and are sorted
    assert out["timestamp"].to_list() == [
        dt.datetime(2021, 3, 8, 5, tzinfo=dt.UTC),
        dt.datetime(2021, 3, 9, 5, tzinfo=dt.UTC),
    ]
    assert out["close"].to_list() == [113.3, 117.9]
    assert out["volume"].to_list() == [154376600.0, 129525800.0]


def test_explicit_symbol_overrides_file_name(yf_folder):
    assert load_csv(yf_folder / "aapl_five_year.csv", symbol="X")["symbol"][0] == "X"


def test_folder_skips_non_bar_files(yf_folder):
    out = load_csv(yf_folder)
    assert out["symbol"].unique(maintain_order=True).to_list() == ["AAPL", "MSFT"]
    assert out.height == 4
    assert load_csv(yf_folder, pattern="msft_*.csv")["symbol"].unique().to_list() == ["MSFT"]


def test_folder_without_bars(tmp_path):
    (tmp_path / "a_vol_surface.csv").write_text("Symbol,Strike\nA,1\n")
    with pytest.raises(DataError, match="no bar CSV in folder"):
        load_csv(tmp_path)


def test_folder_duplicate_across_files(yf_folder):
    (yf_folder / "aapl_again.csv").write_text(YF)
    with pytest.raises(DataError, match=r"combining the files .*duplicate bar.*symbol AAPL"):
        load_csv(yf_folder)


def test_generic_csv_with_column_map(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(
        "Day,Ticker,O,H,L,Last,Qty,ImpVol,Industry\n"
        "2024-01-03,BBB,10,11,9,10.5,5,0.3,Energy\n"
        "2024-01-02,AAA,20,21,19,20.5,6,,Tech\n"
    )
    cmap = {
        "Day": "timestamp",
        "Ticker": "symbol",
        "O": "open",
        "H": "high",
        "L": "low",
        "Last": "close",
        "Qty": "volume",
        "ImpVol": "iv",
        "Industry": "sector",
    }
    out = load_csv(path, column_map=cmap)
    assert out["symbol"].to_list() == ["AAA", "BBB"]
    assert out.schema["timestamp"] == pl.Date
    assert out["iv"].to_list() == [None, 0.3]
    assert out["sector"].to_list() == ["Tech", "Energy"]


def test_column_map_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Day,O\n2024-01-02,1\n")
    with pytest.raises(DataError, match="not a canonical column"):
        load_csv(path, column_map={"Day": "date"})
    with pytest.raises(DataError, match="column_map names column 'Nope'"):
        load_csv(path, column_map={"Nope": "open"})


def test_missing_path():
    with pytest.raises(DataError, match="no such file or folder"):
        load_csv("/nonexistent/x.csv")


@pytest.mark.parametrize("lazy", [True, False])
def test_parquet_file_and_folder(tmp_path, lazy):
    bars = synthetic_universe(3, 20, seed=3)
    for sym in bars["symbol"].unique().to_list():
        bars.filter(pl.col("symbol") == sym).drop("symbol").write_parquet(
            tmp_path / f"{sym.lower()}_bars.parquet"
        )
    out = load_parquet(tmp_path, lazy=lazy)
    assert out.equals(bars)
    one = load_parquet(tmp_path / "syn001_bars.parquet", lazy=lazy)
    assert one.equals(bars.filter(pl.col("symbol") == "SYN001"))


def test_load_bars_accepts_paths_and_frames(yf_folder, tmp_path):
    from_folder = load_bars(yf_folder)
    assert from_folder.equals(
        load_bars(str(yf_folder / "aapl_five_year.csv")).vstack(
            load_bars(yf_folder / "msft_five_year.csv")
        )
    )
    bars = synthetic_universe(2, 5, seed=1)
    assert load_bars(bars.reverse()).equals(bars)
    assert load_bars(bars.lazy()).equals(bars)
    pq = tmp_path / "all.parquet"
    bars.write_parquet(pq)
    assert load_bars(pq).equals(bars)
    with pytest.raises(DataError, match="unsupported input"):
        load_bars(42)  # type: ignore[arg-type]


def test_load_bars_pandas_yfinance_shape(yf_folder):
    pdf = pd.read_csv(yf_folder / "aapl_five_year.csv", index_col="Date")
    pdf.index = pd.to_datetime(pdf.index, utc=True).tz_convert("America/New_York")
    pdf["Symbol"] = "AAPL"
    out = load_bars(pdf)
    # the frame's own zone is kept (the same instants as the CSV's UTC times)
    assert out.schema["timestamp"] == pl.Datetime("us", "America/New_York")
    utc = out.with_columns(pl.col("timestamp").dt.convert_time_zone("UTC"))
    assert utc.equals(load_csv(yf_folder / "aapl_five_year.csv"))


@pytest.mark.realdata
def test_real_folder_loads_all_16_symbols(real_data_dir):
    out = load_csv(real_data_dir)
    symbols = out["symbol"].unique().sort().to_list()
    assert len(symbols) == 16
    assert {"AAPL", "SPY", "TSLA", "TLT", "COIN"} <= set(symbols)
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")
    counts = out.group_by("symbol").len()
    assert counts["len"].min() > 1000
    assert load_csv(real_data_dir, pattern="*_five_year.csv").equals(out)
