"""Validation: every bad input raises DataError naming symbol, row/line, column, with a hint."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.data import DataError, load_csv, validate_bars

HEADER = "Date,Open,High,Low,Close,Volume"
GOOD_ROWS = [
    "2021-03-08 00:00:00-05:00,10.0,11.0,9.0,10.5,1000",
    "2021-03-09 00:00:00-05:00,10.5,11.5,10.0,11.0,1200",
    "2021-03-10 00:00:00-05:00,11.0,11.2,10.1,10.2,900",
]


def write(tmp_path: Path, rows: list[str], name: str = "xyz_five_year.csv", header: str = HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def with_row(index: int, row: str) -> list[str]:
    rows = list(GOOD_ROWS)
    rows[index] = row
    return rows


def assert_located(err: DataError, *, column: str, row: int, symbol: str = "XYZ") -> None:
    text = str(err)
    assert f"symbol {symbol}" in text
    assert f"row {row}" in text
    assert f"line {row + 2} of xyz_five_year.csv" in text
    assert f"column '{column}'" in text
    assert "Hint:" in text
    assert text.rstrip().endswith(".")


@pytest.mark.parametrize(
    ("row_index", "row", "column", "fragment"),
    [
        (
            1,
            "2021-03-09 00:00:00-05:00,10.5,11.5,10.0,abc,1200",
            "close",
            "non-numeric value 'abc'",
        ),
        (2, "2021-03-10 00:00:00-05:00,11.0,11.2,10.1,NaN,900", "close", "non-finite"),
        (1, "2021-03-09 00:00:00-05:00,10.5,inf,10.0,11.0,1200", "high", "non-finite"),
        (0, "2021-03-08 00:00:00-05:00,10.0,11.0,9.0,,1000", "close", "missing value"),
        (1, "2021-03-09 00:00:00-05:00,-1.0,11.5,10.0,11.0,1200", "open", "non-positive price"),
        (2, "2021-03-10 00:00:00-05:00,11.0,11.2,10.1,0,900", "close", "non-positive price"),
        (1, "2021-03-09 00:00:00-05:00,10.5,9.0,10.0,9.5,1200", "high", "high 9.0 < low 10.0"),
        (0, "2021-03-08 00:00:00-05:00,12.0,11.0,9.0,10.5,1000", "open", "outside [low"),
        (2, "2021-03-10 00:00:00-05:00,11.0,11.2,10.1,10.0,900", "close", "outside [low"),
        (1, "2021-03-09 00:00:00-05:00,10.5,11.5,10.0,11.0,-5", "volume", "negative volume"),
    ],
)
def test_bad_value_names_symbol_row_and_column(tmp_path, row_index, row, column, fragment):
    path = write(tmp_path, with_row(row_index, row))
    with pytest.raises(DataError, match="Hint:") as info:
        load_csv(path)
    assert fragment in str(info.value)
    assert_located(info.value, column=column, row=row_index)


def test_unparsable_timestamp(tmp_path):
    path = write(tmp_path, with_row(1, "2021-13-45 00:00:00-05:00,10.5,11.5,10.0,11.0,1200"))
    with pytest.raises(DataError) as info:
        load_csv(path)
    assert "unparsable timestamp '2021-13-45 00:00:00-05:00'" in str(info.value)
    assert_located(info.value, column="timestamp", row=1)


def test_duplicate_bar_names_both_rows(tmp_path):
    rows = [*GOOD_ROWS, GOOD_ROWS[0]]
    with pytest.raises(DataError) as info:
        load_csv(write(tmp_path, rows))
    text = str(info.value)
    assert "duplicate bar" in text
    assert "row 0" in text
    assert "row 3" in text
    assert "symbol XYZ, timestamp 2021-03-08 05:00:00" in text
    assert "column 'symbol/timestamp'" in text


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path, ["2021-03-08,10.0,11.0,9.0"], header="Date,Open,High,Low")
    with pytest.raises(DataError) as info:
        load_csv(path)
    assert "'close', 'volume'" in str(info.value)
    assert "xyz_five_year.csv" in str(info.value)
    assert "Hint:" in str(info.value)


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"empty input in xyz_five_year.csv.*Hint:"):
        load_csv(write(tmp_path, []))


def test_empty_frame():
    with pytest.raises(DataError, match="empty input"):
        validate_bars(pl.DataFrame())


def test_mixed_naive_and_aware_timestamps(tmp_path):
    path = write(tmp_path, with_row(2, "2021-03-10,11.0,11.2,10.1,10.2,900"))
    with pytest.raises(DataError, match="without a UTC offset") as info:
        load_csv(path)
    assert_located(info.value, column="timestamp", row=2)


def frame(**overrides: list) -> pl.DataFrame:
    base = {
        "symbol": ["B", "A", "A", "B"],
        "timestamp": ["2024-01-03", "2024-01-03", "2024-01-02", "2024-01-02"],
        "open": [10.0, 20.0, 20.0, 10.0],
        "high": [11.0, 21.0, 21.0, 11.0],
        "low": [9.0, 19.0, 19.0, 9.0],
        "close": [10.5, 20.5, 20.5, 10.5],
        "volume": [1.0, 2.0, 3.0, 4.0],
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_unsorted_is_sorted_not_rejected():
    out = validate_bars(frame())
    assert out["symbol"].to_list() == ["A", "A", "B", "B"]
    assert out["volume"].to_list() == [3.0, 2.0, 4.0, 1.0]
    assert out.schema["timestamp"] == pl.Date


def test_missing_bars_stay_missing():
    out = validate_bars(frame().filter(pl.col("volume") != 3.0))
    assert out.height == 3
    assert out.filter(pl.col("symbol") == "A")["timestamp"].to_list()[0].isoformat() == "2024-01-03"


def test_tz_aware_becomes_utc_naive_stays_naive():
    aware = validate_bars(
        frame(timestamp=["2024-01-03T00:00:00-05:00"] * 2 + ["2024-01-02T00:00:00-05:00"] * 2)
    )
    assert aware.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert aware["timestamp"][0].hour == 5
    naive = validate_bars(
        frame(timestamp=["2024-01-03 09:30:00"] * 2 + ["2024-01-02 09:30:00"] * 2)
    )
    assert naive.schema["timestamp"] == pl.Datetime("us")


def test_iv_null_allowed_but_not_nonpositive_or_nan():
    ok = validate_bars(frame(iv=[0.2, None, 0.3, 0.25]))
    assert ok["iv"].null_count() == 1
    with pytest.raises(DataError, match=r"non-positive implied vol.*column 'iv' at symbol A"):
        validate_bars(frame(iv=[0.2, -0.1, 0.3, 0.25]))
    with pytest.raises(DataError, match=r"non-finite value nan in column 'iv'.*use null"):
        validate_bars(frame(iv=[0.2, math.nan, 0.3, 0.25]))


def test_two_sectors_for_one_symbol():
    with pytest.raises(DataError, match=r"second sector .* column 'sector' at symbol B"):
        validate_bars(frame(sector=["Tech", "Energy", "Energy", "Utilities"]))
    ok = validate_bars(frame(sector=["Tech", "Energy", None, "Tech"]))
    assert ok["sector"].to_list() == [None, "Energy", "Tech", "Tech"]


def test_missing_symbol_and_bad_symbol_dtype():
    with pytest.raises(DataError, match=r"missing symbol in column 'symbol'.*row 2"):
        validate_bars(frame(symbol=["B", "A", None, "B"]))
    with pytest.raises(DataError, match="column 'symbol' has dtype"):
        validate_bars(frame(symbol=[1, 2, 2, 1]))


def test_boolean_column_is_non_numeric():
    with pytest.raises(DataError, match="non-numeric column 'volume'"):
        validate_bars(frame(volume=[True, False, True, True]))


def test_ohlc_round_off_tolerated_but_real_violation_rejected():
    hi = 11.0
    ok = validate_bars(frame(close=[hi * (1 + 1e-15), 20.5, 20.5, 10.5]))
    assert ok.height == 4
    with pytest.raises(DataError, match=r"close .* outside"):
        validate_bars(frame(close=[hi * (1 + 1e-6), 20.5, 20.5, 10.5]))


def test_lazy_frame_and_only_canonical_columns_kept():
    out = validate_bars(frame(extra=[1, 2, 3, 4]).lazy())
    assert out.columns == ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    assert all(out.schema[c] == pl.Float64 for c in ("open", "high", "low", "close", "volume"))
