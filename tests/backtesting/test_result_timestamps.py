"""Regression (issue 12): result frames carry the input's timestamp dtype and zone."""

from __future__ import annotations

import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep

BT = BacktestConfig(use_portfolio_management=True)


def _inputs() -> dict[str, pl.DataFrame]:
    dates = synthetic_universe(n_symbols=4, n_bars=260, seed=8)
    ts = pl.col("timestamp").cast(pl.Datetime("us"))
    return {
        "date": dates,
        "naive": dates.with_columns(ts + pl.duration(hours=16)),
        "new_york": dates.with_columns(
            (ts + pl.duration(hours=16)).dt.replace_time_zone("America/New_York")
        ),
        "utc_ns": dates.with_columns(ts.dt.cast_time_unit("ns").dt.replace_time_zone("UTC")),
    }


@pytest.mark.parametrize("kind", ["date", "naive", "new_york", "utc_ns"])
def test_result_frames_join_back_to_the_input(kind: str) -> None:
    frame = _inputs()[kind]
    dtype = frame.schema["timestamp"]
    result = BacktestEngine(BT).run(frame, Momentum())
    expected = dtype  # Date stays a date; a Datetime keeps its unit and zone
    for name in ("equity", "trades", "rejections"):
        assert getattr(result, name).schema["timestamp"] == expected, name
    assert result.trades.height > 0
    joined = result.trades.join(frame.select("symbol", "timestamp", "close"),
                                on=["symbol", "timestamp"], how="left")  # fmt: skip
    assert joined["close"].null_count() == 0
    assert (
        result.equity["timestamp"].to_list()
        == frame["timestamp"].unique().sort().cast(expected).to_list()
    )
    curves = sweep(frame, Momentum(), {"max_risk_per_trade": [1.0, 2.0]}, backtest_config=BT,
                   keep_best=1, n_jobs=1, progress=False).curves  # fmt: skip
    assert next(iter(curves.values())).schema["timestamp"] == expected


def test_vol_threshold_in_percent_is_a_config_error() -> None:
    frame = synthetic_universe(n_symbols=2, n_bars=60, seed=1)
    engine = BacktestEngine(BacktestConfig())
    with pytest.raises(ConfigError, match=r"vol_threshold=45 looks like percent.*0\.45 = 45%"):
        engine.run_simple_strategy("SYN000", frame, 45)
    assert engine.run_simple_strategy("SYN000", frame, 4.5).equity.height == 60


@pytest.mark.parametrize("kind", ["new_york", "utc_ns"])
def test_reports_of_zoned_results(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: zoned result frames once broke the equity figure (tz-aware vs naive)."""
    result = BacktestEngine(BT).run(_inputs()[kind], Momentum())
    assert result.report(tmp_path / "r.html").stat().st_size > 10_000
