"""The Ray backend on a real local Ray head (127.0.0.1, 2 CPUs) gives the local backend's rows."""

from __future__ import annotations

import importlib.util
import os

import polars as pl
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep
from dollarbill_research.sweep.plan import plan_sweep
from dollarbill_research.sweep.ray_runner import chunk_indices

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (extra 'ray')"
)

GRID = {
    "sizing_method": ["VolatilityBased", "FixedFractional"],
    "max_risk_per_trade": [1.0, 2.5, -1.0],
    "strategy.lookback": [10, 25],
}
BT = BacktestConfig(use_portfolio_management=True)


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=5, n_bars=200, seed=5)


@pytest.fixture(scope="module")
def ray_head():  # type: ignore[no-untyped-def]
    # Keep Ray on the loopback interface (it otherwise advertises the host's routable IP).
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    ray.init(
        num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
        log_to_driver=False, configure_logging=False,
    )  # fmt: skip
    yield ray
    ray.shutdown()


def test_chunks_follow_signal_groups(data: pl.DataFrame) -> None:
    plan = plan_sweep(data, Momentum(), GRID, backtest_config=BT, portfolio_config=None,
                      mode="product")  # fmt: skip
    chunks = chunk_indices(plan, 3)
    flat = [i for c in chunks for i in c]
    runnable = [c.index for c in plan.configurations if c.error is None]
    assert sorted(flat) == runnable  # failed configurations are not sent
    assert all(len(c) <= 3 for c in chunks)
    for chunk in chunks:  # a chunk holds one group, unless small groups are packed
        assert len({plan.group_keys[i] for i in chunk}) <= 2


def test_ray_rows_equal_local_rows(data: pl.DataFrame, ray_head) -> None:  # type: ignore[no-untyped-def]
    assert ray_head.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    local = sweep(data, Momentum(), GRID, backtest_config=BT, n_jobs=1, keep_best=2,
                  progress=False)  # fmt: skip
    remote = sweep(data, Momentum(), GRID, backtest_config=BT, backend="ray", chunk_size=3,
                   keep_best=2, progress=False)  # fmt: skip
    assert remote.backend == "ray"
    assert remote.frame.equals(local.frame)
    assert list(remote.curves) == list(local.curves)
    for cid, curve in local.curves.items():
        assert remote.curves[cid].equals(curve)
    assert remote.frame["error"].null_count() == 8
