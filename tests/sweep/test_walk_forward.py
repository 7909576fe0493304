"""walk_forward: choices equal per-window sweeps, stitching, no look-ahead, local = Ray."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import polars as pl
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep, walk_forward
from dollarbill_research.sweep.walk_forward import windows

BT = BacktestConfig(use_portfolio_management=True, initial_capital=50_000.0)
GRID = {"sizing_method": ["VolatilityBased", "FixedFractional", "RiskParity"],
        "strategy.lookback": [10, 20]}  # fmt: skip
KW = {"train_bars": 150, "test_bars": 80, "backtest_config": BT, "n_jobs": 2}


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=5, n_bars=470, seed=8)


@pytest.fixture(scope="module")
def wf(data: pl.DataFrame):  # type: ignore[no-untyped-def]
    return walk_forward(data, Momentum(), GRID, **KW)  # type: ignore[arg-type]


def test_windows_rolling_anchored_and_errors() -> None:
    assert windows(10, 4, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]
    assert windows(10, 4, 2, anchored=True) == [(0, 4, 4, 6), (0, 6, 6, 8), (0, 8, 8, 10)]
    assert windows(11, 4, 2, step_bars=3) == [(0, 4, 4, 6), (3, 7, 7, 9)]
    with pytest.raises(ConfigError, match="step_bars"):
        windows(10, 4, 2, step_bars=1)
    with pytest.raises(ConfigError, match="no window"):
        windows(5, 4, 2)
    with pytest.raises(ConfigError, match="train_bars"):
        windows(10, 1, 2)


def test_choices_are_the_best_of_each_training_sweep(data: pl.DataFrame, wf) -> None:  # type: ignore[no-untyped-def]
    ts = np.array(sorted(set(data["timestamp"].to_list())), dtype="datetime64[ns]")
    assert wf.windows.height == 4  # (470 - 150) // 80
    for row in wf.windows.iter_rows(named=True):
        k = row["window"]
        train = data.filter(pl.col("timestamp").is_between(ts[80 * k], ts[80 * k + 149]))
        alone = sweep(train, Momentum(), GRID, backtest_config=BT, progress=False).best(1)
        assert row["config_id"] == alone["config_id"][0]
        assert row["is_sharpe_ratio"] == alone["sharpe_ratio"][0]
        assert row["sizing_method"] == alone["sizing_method"][0]
        assert np.datetime64(row["test_start"], "ns") == ts[80 * k + 150]
        assert np.datetime64(row["test_end"], "ns") == ts[80 * k + 229]


def test_segments_start_flat_at_the_previous_ending_equity(wf) -> None:  # type: ignore[no-untyped-def]
    rows = wf.windows
    assert rows["start_equity"][0] == BT.initial_capital
    assert rows["start_equity"][1:].to_list() == rows["end_equity"][:-1].to_list()
    for seg, row in zip(wf.segments, rows.iter_rows(named=True), strict=True):
        assert seg.equity.height == 80
        assert seg.equity["equity"][-1] == row["end_equity"]
        # flat start: every exit closes a position entered in this same segment
        # (quantities, not fill counts: the breach policy's partial trims are exits too)
        open_qty: dict[tuple[int, int], float] = {}
        for strat, sym, side, qty in zip(seg.raw.fills["strategy"].tolist(),
                                         seg.raw.fills["symbol"].tolist(),
                                         seg.raw.fills["side"].tolist(),
                                         seg.raw.fills["qty"].tolist(), strict=True):  # fmt: skip
            key = (strat, sym)
            open_qty[key] = open_qty.get(key, 0.0) + (qty if side > 0 else -qty)
            assert open_qty[key] >= -1e-9, "an exit of a position the segment never opened"
        entered_at_0 = (seg.raw.fills["bar"] == 0) & (seg.raw.fills["side"] > 0)
        assert seg.raw.equity["n_positions"][0] == entered_at_0.sum()  # nothing carried in
        assert row["oos_sharpe_ratio"] == seg.metrics.sharpe_ratio
    stitched = wf.result
    assert stitched.equity.height == 320
    assert stitched.equity["equity"].to_list() == [
        v for seg in wf.segments for v in seg.equity["equity"].to_list()
    ]
    # as any backtest: total return from the first bar's equity (after its fills' costs)
    growth = rows["end_equity"][-1] / wf.segments[0].equity["equity"][0]
    assert stitched.metrics.total_return == pytest.approx(growth - 1, rel=1e-12)
    assert stitched.trades.height == sum(seg.trades.height for seg in wf.segments)
    assert stitched.metrics.n_trades == sum(seg.metrics.n_trades for seg in wf.segments)
    assert (np.diff(stitched.raw.equity["bar"]) == 1).all()
    assert repr(wf).startswith("WalkForwardResult(4 windows")
    assert "out-of-sample" in wf.sentence()
    from matplotlib.figure import Figure

    assert isinstance(wf.plot(), Figure)


def test_no_look_ahead(data: pl.DataFrame, wf) -> None:  # type: ignore[no-untyped-def]
    cut = wf.windows["test_end"][1]  # change every bar after window 1's test window
    rng = np.random.default_rng(0)
    later = pl.col("timestamp") > cut
    factor = pl.Series(rng.uniform(0.7, 1.3, data.height))
    changed = data.with_columns(
        [pl.when(later).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c)
         for c in ("open", "high", "low", "close")]
    ).with_columns(pl.max_horizontal("open", "high", "low", "close").alias("high"),
                   pl.min_horizontal("open", "high", "low", "close").alias("low"))  # fmt: skip
    other = walk_forward(changed, Momentum(), GRID, **KW)  # type: ignore[arg-type]
    assert other.windows.head(2).equals(wf.windows.head(2))
    for k in (0, 1):
        assert other.segments[k].equity.equals(wf.segments[k].equity)
        assert other.segments[k].trades.equals(wf.segments[k].trades)
    assert not other.windows.tail(2).equals(wf.windows.tail(2))  # the change does bite later


def test_walk_forward_errors(data: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="symbols"):
        walk_forward(data, Momentum(), {"symbols": [["SYN000"]]}, train_bars=100, test_bars=50)
    with pytest.raises(ConfigError, match="metric"):
        walk_forward(
            data, Momentum(), GRID, train_bars=100, test_bars=50, metric="alpha", backtest_config=BT
        )
    with pytest.raises(ConfigError, match="step_bars"):
        walk_forward(
            data, Momentum(), GRID, train_bars=100, test_bars=50, step_bars=10, backtest_config=BT
        )


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_backend_gives_the_local_result(data: pl.DataFrame, wf) -> None:  # type: ignore[no-untyped-def]
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)  # fmt: skip
    try:
        remote = walk_forward(data, Momentum(), GRID, backend="ray", **KW)  # type: ignore[arg-type]
        kept = sweep(data, Momentum(), GRID, backtest_config=BT, backend="ray", chunk_size=2,
                     keep_returns=True, progress=False)  # fmt: skip
    finally:
        ray.shutdown()
    assert remote.windows.equals(wf.windows)
    assert remote.result.equity.equals(wf.result.equity)
    local = sweep(data, Momentum(), GRID, backtest_config=BT, keep_returns=True, progress=False)
    np.testing.assert_array_equal(kept.returns.values, local.returns.values)
