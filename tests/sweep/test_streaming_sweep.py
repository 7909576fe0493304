"""Sweeps that stream every configuration from Parquet give the in-memory sweep's rows."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep

GRID = {
    "sizing_method": ["VolatilityBased", "FixedFractional"],
    "strategy.lookback": [10, 25],
    "symbols": [["SYN000", "SYN002", "SYN003"], ["SYN001", "SYN004"]],
}
BT = BacktestConfig(use_portfolio_management=True)


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    f = synthetic_universe(n_symbols=5, n_bars=150, seed=5)
    return f.filter(~((pl.col("symbol") == "SYN003") & (pl.int_range(pl.len()) % 7 == 2)))


@pytest.fixture(scope="module")
def folder(data: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep_hive")
    data.with_columns((pl.col("timestamp").dt.month() % 3).alias("part")).write_parquet(
        root, partition_by="part"
    )
    return root


def _same_rows(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.equals(b)
    assert a["error"].null_count() == a.height


def test_local_streaming_sweep_equals_in_memory(data: pl.DataFrame, folder: Path) -> None:
    mem = sweep(data, Momentum(), GRID, backtest_config=BT, n_jobs=1, keep_best=2,
                progress=False)  # fmt: skip
    st = sweep(folder, Momentum(), GRID, backtest_config=BT, n_jobs=2, keep_best=2,
               progress=False, streaming=True, chunk_bars=9)  # fmt: skip
    _same_rows(mem.frame, st.frame)
    assert list(st.curves) == list(mem.curves)
    for cid, curve in mem.curves.items():
        assert st.curves[cid].equals(curve)
    auto = sweep(pl.scan_parquet(folder / "**/*.parquet"), Momentum(), {"strategy.lookback": [10]},
                 backtest_config=BT, progress=False, memory_budget=1000)  # fmt: skip
    one = sweep(data, Momentum(), {"strategy.lookback": [10]}, backtest_config=BT,
                progress=False)  # fmt: skip
    _same_rows(one.frame, auto.frame)


def test_ray_needs_a_path(folder: Path) -> None:
    with pytest.raises(ConfigError, match="Parquet path"):
        sweep(pl.scan_parquet(folder / "**/*.parquet"), Momentum(), {"strategy.lookback": [10]},
              backend="ray", streaming=True, progress=False)  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_streaming_sweep_equals_in_memory(data: pl.DataFrame, folder: Path) -> None:
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)  # fmt: skip
    try:
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        mem = sweep(data, Momentum(), GRID, backtest_config=BT, n_jobs=1, keep_best=1,
                    progress=False)  # fmt: skip
        st = sweep(folder, Momentum(), GRID, backtest_config=BT, backend="ray", keep_best=1,
                   progress=False, streaming=True, chunk_bars=20)  # fmt: skip
        assert st.backend == "ray"
        _same_rows(mem.frame, st.frame)
        assert list(st.curves) == list(mem.curves)
    finally:
        ray.shutdown()
