"""Regression (issue 12): tz-aware and naive daily files align on the session date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.data import load_csv, load_parquet, to_panel
from dollarbill_research.data.load import align_sessions
from dollarbill_research.exceptions import DataError

HEADER = "Date,Open,High,Low,Close,Volume\n"
ROWS = [("2021-03-05", "Fri"), ("2021-03-08", "Mon"), ("2021-03-15", "after DST")]


def _yfinance_line(day: str) -> str:
    offset = "-04:00" if day >= "2021-03-14" else "-05:00"  # New York after the DST switch
    return f"{day} 00:00:00{offset},10,11,9,10.5,100\n"


def test_yfinance_and_date_files_share_bars(tmp_path: Path) -> None:
    (tmp_path / "aapl_five_year.csv").write_text(
        HEADER + "".join(_yfinance_line(d) for d, _ in ROWS)
    )
    (tmp_path / "msft_daily.csv").write_text(
        HEADER + "".join(f"{d},20,21,19,20.5,100\n" for d, _ in ROWS)
    )
    frame = load_csv(tmp_path)
    assert frame.schema["timestamp"] == pl.Date
    panel = to_panel(frame)
    assert panel.n_bars == 3  # not 6: the symbols share every session
    assert panel.valid.all()
    assert frame.filter(pl.col("symbol") == "AAPL")["timestamp"].to_list() == [
        dt.date(2021, 3, 5), dt.date(2021, 3, 8), dt.date(2021, 3, 15),
    ]  # fmt: skip


def test_east_of_utc_local_midnight_is_its_own_date(tmp_path: Path) -> None:
    # Tokyo midnight is 15:00 UTC the day before: the session date is the local one
    (tmp_path / "tyo_a.csv").write_text(HEADER + "2021-03-08 00:00:00+09:00,10,11,9,10,1\n")
    (tmp_path / "naive_b.csv").write_text(HEADER + "2021-03-08,10,11,9,10,1\n")
    frame = load_csv(tmp_path)
    assert frame["timestamp"].unique().to_list() == [dt.date(2021, 3, 8)]


def test_one_convention_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "a_x.csv").write_text(HEADER + _yfinance_line("2021-03-08"))
    (tmp_path / "b_x.csv").write_text(HEADER + _yfinance_line("2021-03-08"))
    assert load_csv(tmp_path).schema["timestamp"] == pl.Datetime("us", "UTC")


def test_intraday_mixing_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "a_x.csv").write_text(HEADER + "2021-03-08 14:30:00-05:00,10,11,9,10,1\n")
    (tmp_path / "b_x.csv").write_text(HEADER + "2021-03-08,10,11,9,10,1\n")
    with pytest.raises(DataError, match=r"a_x.csv has intraday tz-aware timestamps.*b_x.csv"):
        load_csv(tmp_path)


def test_parquet_folder_with_zoned_and_date_files(tmp_path: Path) -> None:
    zoned = pl.DataFrame({
        "timestamp": [dt.datetime(2021, 3, 8), dt.datetime(2021, 3, 9)],
        "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0,
    }).with_columns(pl.col("timestamp").dt.replace_time_zone("America/New_York"))  # fmt: skip
    zoned.write_parquet(tmp_path / "aaa.parquet")
    zoned.with_columns(pl.col("timestamp").dt.date()).write_parquet(tmp_path / "bbb.parquet")
    panel = to_panel(load_parquet(tmp_path))
    assert panel.n_bars == 2
    assert panel.valid.all()


def test_align_sessions_keeps_frames_without_timestamps() -> None:
    files = [("x", pl.DataFrame({"open": [1.0]}))]
    assert align_sessions(files) == files
