"""The command line: every command, and one line + exit status 2 for every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.__main__ import main
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import load_csv, synthetic_universe
from dollarbill_research.strategies import IronCondor
from dollarbill_research.sweep.io import load_sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of yfinance-style CSVs (Date, Open, ...; the symbol in the file name)."""
    folder = tmp_path_factory.mktemp("bars")
    frame = synthetic_universe(n_symbols=4, n_bars=320, seed=3)
    for (symbol,), part in frame.group_by("symbol", maintain_order=True):
        part.select(
            pl.col("timestamp").cast(pl.String).alias("Date"),
            pl.col("open").alias("Open"), pl.col("high").alias("High"),
            pl.col("low").alias("Low"), pl.col("close").alias("Close"),
            pl.col("volume").alias("Volume"),
        ).write_csv(folder / f"{str(symbol).lower()}_five_year.csv")  # fmt: skip
    (folder / "notes.txt").write_text("not a bar file")
    return folder


def _json(tmp_path: Path, name: str, value: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value) if not isinstance(value, str) else value)
    return str(path)


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("dollarbill")
    assert "hint" in lines[0].lower()
    return lines[0]


# -- commands ---------------------------------------------------------------------------------


def test_backtest_prints_metrics_and_writes_report_and_result(
    csv_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {"sizing_method": "FixedFractional", "risk_limits": {"max_portfolio_delta": 0.5}}
    config = _json(tmp_path, "portfolio.json", settings)
    # the synthetic symbols' condors are cheap: without the cost filter so that they trade
    backtest = _json(tmp_path, "backtest.json", {"max_round_trip_cost_pct": 0.0})
    report, saved = tmp_path / "out" / "report.html", tmp_path / "out" / "run.zip"
    argv = ["backtest", "--data", str(csv_folder), "--strategy", "iron condor",
            "--config", config, "--backtest-config", backtest,
            "--report", str(report), "--save", str(saved)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = BacktestEngine(
        BacktestConfig(use_portfolio_management=True, max_round_trip_cost_pct=0.0),
        PortfolioConfig.from_json(Path(config).read_text()),
    ).run(load_csv(csv_folder), IronCondor())
    assert expected.trades.height > 0
    assert f"{expected.metrics.total_return:.2%}" in out
    assert f"{expected.metrics.sharpe_ratio:.2f}" in out
    assert "portfolio management on" in out
    assert "bars per year: 252 (inferred from the timestamps)" in out
    assert "diagnosis:" in out
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    loaded = BacktestResult.load(saved)
    assert loaded.metrics == expected.metrics
    again = tmp_path / "again.html"
    assert main(["report", str(saved), "--out", str(again)]) == 0
    assert again.stat().st_size > 10_000


def test_sweep_writes_rows_and_report(
    csv_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = _json(tmp_path, "grid.json", {"sizing_method": ["VolatilityBased", "FixedFractional"],
                                         "strategy.lookback": [10, 20]})  # fmt: skip
    config = _json(tmp_path, "portfolio.json", {})
    rows, report = tmp_path / "rows.parquet", tmp_path / "sweep.html"
    argv = ["sweep", "--data", str(csv_folder), "--strategy", "Momentum", "--grid", grid,
            "--config", config, "--out", str(rows), "--report", str(report), "--no-progress",
            "--n-jobs", "1", "--keep-best", "3"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "4 configurations, 0 failed" in out
    # selection bias (issue 15): one plain sentence each for DSR and PBO, also in the report
    assert "effectively independent" in out
    assert "chance of being at or below the median out of sample" in out
    assert "not computed for this sweep" not in report.read_text()
    saved = load_sweep(rows)
    assert saved.frame.height == 4
    assert saved.param_names == ("sizing_method", "strategy.lookback")
    assert len(saved.curves) == 3
    assert pl.read_parquet(rows).equals(saved.frame)  # an ordinary Parquet table too
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    again = tmp_path / "again.html"
    assert main(["report", str(rows), "--out", str(again)]) == 0
    assert again.stat().st_size > 10_000


def test_warmup_reports_progress_and_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["warmup"]) == 0
    out = capsys.readouterr().out
    assert "[1/9] pricing" in out
    assert "[9/9] threaded sweep" in out
    assert "numba cache: " in out
    assert "cached kernels" in out


def test_demo_runs_small_universe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--symbols", "6", "--bars", "400", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "With / without portfolio management" in out
    for method in (
        "VolatilityBased",
        "KellyCriterion",
        "RiskParity",
        "FixedFractional",
        "FixedDollar",
    ):
        assert method in out
    assert (tmp_path / "demo_backtest.png").stat().st_size > 10_000
    assert (tmp_path / "demo_sizing_methods.png").stat().st_size > 10_000


def test_demo_rejects_too_short_history(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--bars", "10"]) == 2
    assert "--bars 10 is too short" in _one_error_line(capsys)


def test_help_texts_are_plain(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], *([c, "--help"] for c in ("backtest", "sweep", "report",
                                                       "warmup", "demo"))):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert "usage: dollarbill" in text
        assert "`" not in text  # no RST markup


# -- bad input: one line on stderr, exit status 2, nothing run ----------------------------------

BAD_CASES = {
    "unknown command": (["bogus"], "invalid choice"),
    "missing option": (["backtest", "--strategy", "Momentum"], "--data"),
    "not an integer": (["demo", "--seed", "x"], "--seed"),
    "negative seed": (["demo", "--seed", "-1"], "-1 must be >= 0"),
    "missing data": (["backtest", "--data", "{tmp}/nope", "--strategy", "Momentum"], "nope"),
    "unknown strategy": (["backtest", "--data", "{csv}", "--strategy", "Foo"], "'Foo'"),
    "bad json": (
        ["backtest", "--data", "{csv}", "--strategy", "Momentum", "--config", "{tmp}/bad.json"],
        "not valid JSON (line 1",
    ),
    "unknown config field": (
        ["backtest", "--data", "{csv}", "--strategy", "Momentum", "--config", "{tmp}/unknown.json"],
        "sizing_metod",
    ),
    "out of range": (
        [
            "backtest",
            "--data",
            "{csv}",
            "--strategy",
            "Momentum",
            "--backtest-config",
            "{tmp}/range.json",
        ],
        "position_size_pct=150",
    ),
    "contradiction": (
        [
            "backtest",
            "--data",
            "{csv}",
            "--strategy",
            "Momentum",
            "--config",
            "{tmp}/empty.json",
            "--backtest-config",
            "{tmp}/nopm.json",
        ],
        "would change nothing",
    ),
    "report in a file": (
        [
            "backtest",
            "--data",
            "{tmp}/nope",
            "--strategy",
            "Momentum",
            "--report",
            "{tmp}/afile/x.html",
        ],
        "--report",
    ),
    "report is a folder": (
        ["backtest", "--data", "{csv}", "--strategy", "Momentum", "--report", "{tmp}"],
        "is a folder",
    ),
    "report suffix": (
        ["backtest", "--data", "{csv}", "--strategy", "Momentum", "--report", "{tmp}/r.png"],
        ".html",
    ),
    "unwritable": (
        ["backtest", "--data", "{csv}", "--strategy", "Momentum", "--report", "/proc/report.html"],
        "not writable",
    ),
    "bad data": (
        ["backtest", "--data", "{tmp}/broken.csv", "--strategy", "Momentum"],
        "high",
    ),
    "percent iv": (
        ["backtest", "--data", "{tmp}/percent_iv.csv", "--strategy", "Momentum"],
        "looks like percent",
    ),
    "grid shape": (
        ["sweep", "--data", "{csv}", "--strategy", "Momentum", "--grid", "{tmp}/number.json"],
        "JSON object",
    ),
    "grid name": (
        ["sweep", "--data", "{csv}", "--strategy", "Momentum", "--grid", "{tmp}/badname.json"],
        "'sizing'",
    ),
    "pm off": (
        ["sweep", "--data", "{csv}", "--strategy", "Momentum", "--grid", "{tmp}/sizing.json"],
        "use_portfolio_management",
    ),
    "ray address alone": (
        [
            "sweep",
            "--data",
            "{csv}",
            "--strategy",
            "Momentum",
            "--grid",
            "{tmp}/sizing.json",
            "--ray-address",
            "h:1",
        ],
        "--backend ray",
    ),
    "ray timeout": (
        [
            "sweep",
            "--data",
            "{csv}",
            "--strategy",
            "Momentum",
            "--grid",
            "{tmp}/sizing.json",
            "--ray-timeout",
            "0",
        ],
        "--ray-timeout",
    ),
    "report source": (["report", "{tmp}/bad.json", "--out", "{tmp}/r.html"], "neither"),
    "damaged result": (["report", "{tmp}/fake.zip", "--out", "{tmp}/r.html"], "fake.zip"),
    "missing result": (["report", "{tmp}/none.zip", "--out", "{tmp}/r.html"], "none.zip"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "bad.json").write_text('{"sizing_method": }')
    (tmp / "unknown.json").write_text('{"sizing_metod": "KellyCriterion"}')
    (tmp / "range.json").write_text('{"position_size_pct": 150}')
    (tmp / "empty.json").write_text("{}")
    (tmp / "nopm.json").write_text('{"use_portfolio_management": false}')
    (tmp / "afile").write_text("a file, not a folder")
    (tmp / "number.json").write_text("3")
    (tmp / "badname.json").write_text('{"sizing": ["KellyCriterion"]}')
    (tmp / "sizing.json").write_text('{"sizing_method": ["KellyCriterion", "FixedDollar"]}')
    (tmp / "fake.zip").write_text("not a zip")
    header = "Date,Open,High,Low,Close,Volume\n"
    (tmp / "broken.csv").write_text(header + "2024-01-02,10,9,11,10,100\n")
    (tmp / "percent_iv.csv").write_text(
        "Date,Open,High,Low,Close,Volume,IV\n2024-01-02,10,11,9,10,100,30\n"
    )
    return tmp


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_one_line_and_status_2(
    case: str, bad_files: Path, csv_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = BAD_CASES[case]
    argv = [a.format(tmp=bad_files, csv=csv_folder) for a in argv]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert expected in line, line


def test_output_paths_are_checked_before_the_data_is_read(
    bad_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # both are wrong; the output path is reported: nothing was loaded or run
    out = str(bad_files / "afile" / "r.parquet")
    argv = ["sweep", "--data", str(bad_files / "nope"), "--strategy", "Momentum",
            "--grid", str(bad_files / "sizing.json"), "--out", out]  # fmt: skip
    assert main(argv) == 2
    assert "--out" in _one_error_line(capsys)


@pytest.mark.slow
def test_module_entry_point_in_a_fresh_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dollarbill_research", "--help"],
        capture_output=True, text=True, check=False, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0
    assert "demo" in done.stdout
    assert "backtest" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "dollarbill_research", "backtest", "--data", str(tmp_path / "x"),
         "--strategy", "Momentum"],
        capture_output=True, text=True, check=False, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert "does not exist" in bad.stderr
