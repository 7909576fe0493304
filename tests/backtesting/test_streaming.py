"""Streaming backtests equal in-memory ones bit for bit (fills, rejections, equity, metrics)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.backtesting.streaming import StreamedResult, open_source
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import load_bars, synthetic_universe, to_panel
from dollarbill_research.data.large import write_synthetic_parquet
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels import codes
from dollarbill_research.strategies import Combined, IronCondor, Momentum
from dollarbill_research.strategies.base import Signals
from dollarbill_research.strategies.router import PersonalityStrategy

N_BARS = 160


def _gappy_frame() -> pl.DataFrame:
    """6 symbols: one starts late, one stops early, one has holes, one misses a whole chunk."""
    f = synthetic_universe(n_symbols=6, n_bars=N_BARS, seed=11)
    bar = pl.int_range(pl.len()).over("symbol")
    drop = (
        ((pl.col("symbol") == "SYN001") & (bar < 45))
        | ((pl.col("symbol") == "SYN002") & (bar > 110))
        | ((pl.col("symbol") == "SYN003") & ((bar % 9) == 4))
        | ((pl.col("symbol") == "SYN004") & (bar >= 60) & (bar < 90))
    )
    f = f.filter(~drop)
    # one symbol without iv on some bars (the proxy fills them: its EWMA carries over chunks)
    return f.with_columns(
        pl.when((pl.col("symbol") == "SYN005") & (bar % 5 == 0))
        .then(None)
        .otherwise(pl.col("iv"))
        .alias("iv")
    )


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return _gappy_frame()


@pytest.fixture(scope="module")
def hive(tmp_path_factory: pytest.TempPathFactory, frame: pl.DataFrame) -> Path:
    """The frame as a hive-partitioned folder, partitioned by time (rows shuffled)."""
    root = tmp_path_factory.mktemp("hive")
    stamps = frame["timestamp"].unique().sort()
    cut = stamps[len(stamps) // 3]
    cut2 = stamps[2 * len(stamps) // 3]
    part = (
        pl.when(pl.col("timestamp") < cut)
        .then(0)
        .when(pl.col("timestamp") < cut2)
        .then(1)
        .otherwise(2)
    )
    shuffled = frame.with_columns(part.alias("part")).sample(fraction=1.0, shuffle=True, seed=3)
    shuffled.write_parquet(root, partition_by="part")
    return root


def _engine(pm: bool) -> BacktestEngine:
    # the small synthetic universe's condors are too cheap for the default cost filter, and
    # this test needs options in the book (the filter streams like every kernel rule)
    config = BacktestConfig(max_round_trip_cost_pct=0.0)
    config.use_portfolio_management = pm
    if pm:
        return BacktestEngine.with_portfolio(config, PortfolioConfig(var_window=20))
    return BacktestEngine(config)


def _same_metrics(a: object, b: object) -> bool:
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)  # type: ignore[call-overload]
    return da.keys() == db.keys() and all(
        (isinstance(x, float) and math.isnan(x) and math.isnan(db[k])) or x == db[k]
        for k, x in da.items()
    )


def _assert_equal(mem: BacktestResult, got: BacktestResult) -> None:
    assert mem.trades.height > 0
    assert got.trades.equals(mem.trades)
    assert got.rejections.equals(mem.rejections)
    assert got.equity.equals(mem.equity)
    assert got.attribution.equals(mem.attribution)
    assert got.breaches.equals(mem.breaches)
    assert _same_metrics(got.metrics, mem.metrics)
    for name in ("fills", "rejections", "equity", "breaches"):
        a, b = getattr(mem.raw, name), getattr(got.raw, name)
        assert a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name
    np.testing.assert_array_equal(got.raw.strat_pnl, mem.raw.strat_pnl)
    np.testing.assert_array_equal(got.raw.targets, mem.raw.targets)
    np.testing.assert_array_equal(got.raw.strategy_returns, mem.raw.strategy_returns)


SHARES_AND_OPTIONS = Combined(
    (Momentum(lookback=10, trend_window=20), IronCondor(ivr_window=30, trend_window=10))
)


@pytest.mark.parametrize("pm", [True, False])
@pytest.mark.parametrize("chunk_bars", [1, 7, 13, N_BARS])
def test_streaming_equals_in_memory(frame: pl.DataFrame, hive: Path, pm: bool,
                                    chunk_bars: int) -> None:  # fmt: skip
    engine = _engine(pm)
    mem = engine.run(frame, SHARES_AND_OPTIONS)
    kinds = set(mem.trades["instrument"].to_list())
    assert len(kinds) >= 2  # shares and an options structure
    got = engine.run_streaming(hive, SHARES_AND_OPTIONS, chunk_bars=chunk_bars)
    _assert_equal(mem, got)  # type: ignore[arg-type]


def test_personality_router_streams_exactly(frame: pl.DataFrame, hive: Path) -> None:
    strategy = PersonalityStrategy(window=30, min_confidence=0.1)
    engine = _engine(True)
    mem = engine.run(frame, strategy)
    got = engine.run_streaming(hive, strategy, chunk_bars=11)
    _assert_equal(mem, got)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class _Breakout:
    """A custom (not built-in) strategy: long when the close tops its last 5 rows' closes."""

    name: str = "Custom breakout"
    lookback_bars: int = 6

    def signals(self, frame: pl.DataFrame | None, panel: object) -> Signals:
        close = panel.close  # type: ignore[attr-defined]
        n, m = close.shape
        sig = np.zeros((1, n, m), dtype=np.int8)
        for t in range(5, n):
            prior = close[t - 5 : t]
            with np.errstate(invalid="ignore"):
                up = close[t] > np.nanmax(np.where(np.isnan(prior), -np.inf, prior), axis=0)
            sig[0, t, up] = codes.SIG_LONG
            down = close[t] < close[t - 1]
            sig[0, t, down & ~up] = codes.SIG_EXIT
        tpl = np.zeros((1, 2, codes.TEMPLATE_LEN))
        tpl[0, :, codes.T_DIRECTION] = 1.0
        return Signals((self.name,), sig, np.where(sig == 1, 0.5, 0.0), tpl)


def test_custom_strategy_streams_with_its_lookback(frame: pl.DataFrame, hive: Path) -> None:
    engine = _engine(True)
    mem = engine.run(frame, _Breakout())
    got = engine.run_streaming(hive, _Breakout(), chunk_bars=7)
    _assert_equal(mem, got)  # type: ignore[arg-type]


def test_signals_block_and_single_file(frame: pl.DataFrame, tmp_path: Path) -> None:
    engine = _engine(True)
    panel = to_panel(frame)
    block = SHARES_AND_OPTIONS.signals(frame, panel)
    mem = engine.run(panel, block)
    path = tmp_path / "bars.parquet"
    frame.write_parquet(path)
    got = engine.run_streaming(path, block, chunk_bars=17)
    _assert_equal(mem, got)  # type: ignore[arg-type]
    lazy = engine.run_streaming(pl.scan_parquet(path), block, chunk_bars=50)
    _assert_equal(mem, lazy)  # type: ignore[arg-type]


def test_out_dir_records_open_lazily(frame: pl.DataFrame, hive: Path, tmp_path: Path) -> None:
    engine = _engine(True)
    mem = engine.run(frame, SHARES_AND_OPTIONS)
    got = engine.run_streaming(hive, SHARES_AND_OPTIONS, chunk_bars=13, out_dir=tmp_path / "o")
    assert isinstance(got, StreamedResult)
    opened = BacktestResult.open(tmp_path / "o")
    assert isinstance(opened.trades, pl.LazyFrame)
    assert len(list((tmp_path / "o" / "trades").glob("*.parquet"))) == math.ceil(N_BARS / 13)
    assert opened.trades.collect().equals(mem.trades)
    assert opened.rejections.collect().equals(mem.rejections)
    assert opened.equity.collect().equals(mem.equity)
    assert opened.breaches.collect().equals(mem.breaches)
    assert opened.attribution.equals(mem.attribution)
    assert _same_metrics(opened.metrics, mem.metrics)
    assert "StreamedResult" in repr(opened)
    with pytest.raises(DataError, match="no streaming result"):
        BacktestResult.open(tmp_path)


def test_run_streams_above_the_memory_budget(frame: pl.DataFrame, hive: Path) -> None:
    engine = _engine(True)
    mem = engine.run(frame, SHARES_AND_OPTIONS)
    small = engine.run(hive, SHARES_AND_OPTIONS)  # fits: loaded in memory
    streamed = engine.run(pl.scan_parquet(hive / "**/*.parquet"), SHARES_AND_OPTIONS,
                          memory_budget=10_000)  # fmt: skip
    _assert_equal(mem, small)
    _assert_equal(mem, streamed)


def test_generator_matches_synthetic_universe(tmp_path: Path) -> None:
    path = write_synthetic_parquet(tmp_path / "u", 5, 90, seed=4, symbols_per_file=2,
                                   bars_per_row_group=25)  # fmt: skip
    files = sorted(path.rglob("*.parquet"))
    assert len(files) == 3
    assert pq_row_groups(files[0]) == 4
    got = pl.read_parquet(path, hive_partitioning=False).sort("symbol", "timestamp")
    assert got.equals(synthetic_universe(5, 90, seed=4))
    with pytest.raises(ConfigError, match="not empty"):
        write_synthetic_parquet(path, 5, 90, seed=4)
    engine = _engine(True)
    mem = engine.run(got, SHARES_AND_OPTIONS)
    _assert_equal(mem, engine.run_streaming(path, SHARES_AND_OPTIONS, chunk_bars=25))  # type: ignore[arg-type]


def pq_row_groups(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).num_row_groups)


def test_chunk_errors_name_symbol_timestamp_and_column(frame: pl.DataFrame,
                                                       tmp_path: Path) -> None:  # fmt: skip
    bad = frame.with_columns(
        pl.when((pl.col("symbol") == "SYN003") & (pl.col("timestamp") == pl.date(2020, 5, 4)))
        .then(-2.0)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    path = tmp_path / "bad.parquet"
    bad.write_parquet(path)
    with pytest.raises(DataError, match=r"'close' at symbol SYN003, timestamp 2020-05-04"):
        _engine(True).run_streaming(path, SHARES_AND_OPTIONS, chunk_bars=10)
    mixed = frame.with_columns(
        pl.when((pl.col("symbol") == "SYN000") & (pl.col("timestamp") > pl.date(2020, 6, 1)))
        .then(pl.lit("Energy"))
        .otherwise(pl.col("sector"))
        .alias("sector")
    )
    mixed.write_parquet(path)
    with pytest.raises(DataError, match=r"sector.*SYN000"):  # the symbol-group pass sees it
        _engine(True).run_streaming(path, SHARES_AND_OPTIONS, chunk_bars=10)
    with pytest.raises(DataError, match=r"SYN000.*sector"):  # the time chunks see it
        _engine(True).run_streaming(path, _Breakout(), chunk_bars=10)
    with pytest.raises(ConfigError, match="chunk_bars"):
        _engine(True).run_streaming(path, SHARES_AND_OPTIONS, chunk_bars=0)
    frame.with_columns(pl.col("timestamp").cast(pl.String)).write_parquet(path)
    with pytest.raises(DataError, match="Date or Datetime"):
        _engine(True).run_streaming(path, SHARES_AND_OPTIONS)
    with pytest.raises(DataError, match="no such file"):
        open_source(tmp_path / "missing")


def test_tz_aware_timestamps(frame: pl.DataFrame, tmp_path: Path) -> None:
    aware = frame.with_columns(
        (pl.col("timestamp").cast(pl.Datetime("us")) + pl.duration(hours=21))
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("America/New_York")
    )
    path = tmp_path / "aware.parquet"
    aware.write_parquet(path)
    engine = _engine(True)
    mem = engine.run(aware, SHARES_AND_OPTIONS)
    _assert_equal(mem, engine.run_streaming(path, SHARES_AND_OPTIONS, chunk_bars=19))  # type: ignore[arg-type]


def test_real_data_streams_exactly(real_data_dir: Path, tmp_path: Path) -> None:
    frame = load_bars(real_data_dir)
    frame.with_columns(pl.col("timestamp").dt.year().alias("year")).write_parquet(
        tmp_path / "real", partition_by="year"
    )
    for pm in (True, False):
        engine = _engine(pm)
        mem = engine.run(frame, SHARES_AND_OPTIONS)
        for chunk_bars in (7, 61, frame["timestamp"].n_unique()):
            got = engine.run_streaming(tmp_path / "real", SHARES_AND_OPTIONS,
                                       chunk_bars=chunk_bars)  # fmt: skip
            _assert_equal(mem, got)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "sizing", "allocation"),
    [("hedge", "KellyCriterion", "RiskParity"), ("block", "RiskParity", "Custom")],
)
def test_risk_state_streams_exactly(frame: pl.DataFrame, hive: Path, policy: str, sizing: str,
                                    allocation: str) -> None:  # fmt: skip
    """Breach policies, Kelly's rolling window and allocation through time carry over chunks."""
    from dollarbill_research.config.portfolio import RiskLimits

    portfolio = PortfolioConfig(
        var_window=20, sizing_method=sizing, allocation_method=allocation, rebalance_bars=10,
        kelly_window=8, min_strategy_allocation_pct=5.0, max_strategy_allocation_pct=95.0,
        risk_limits=RiskLimits(max_portfolio_delta=0.05, max_concentration_pct=8.0,
                               breach_policy=policy),
        custom_weights={"Momentum": 2.0, "Iron Condor": 1.0} if allocation == "Custom" else None,
    )  # fmt: skip
    engine = BacktestEngine.with_portfolio(BacktestConfig(max_round_trip_cost_pct=0.0), portfolio)
    mem = engine.run(frame, SHARES_AND_OPTIONS)
    assert mem.breaches is not None
    assert mem.breaches.height > 0
    if allocation != "Custom":
        assert np.unique(mem.raw.targets, axis=0).shape[0] > 2  # capacities moved over time
    for chunk_bars in (7, 29):
        got = engine.run_streaming(hive, SHARES_AND_OPTIONS, chunk_bars=chunk_bars)
        _assert_equal(mem, got)  # type: ignore[arg-type]
