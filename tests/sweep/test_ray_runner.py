"""The Ray backend on a real local Ray head (127.0.0.1, 2 CPUs) gives the local backend's rows."""

from __future__ import annotations

import dataclasses
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


def test_chunk_runner_on_read_only_inputs_compiles_nothing_new(data: pl.DataFrame) -> None:
    """Arrays from Ray's object store are read-only; the chunk runner must accept them as is."""
    import dataclasses

    import numpy as np

    from dollarbill_research.kernels.driver_nb import run_bars_nb
    from dollarbill_research.sweep.runner import run_plan_chunk

    plan = plan_sweep(data, Momentum(), GRID, backtest_config=BT, portfolio_config=None,
                      mode="product")  # fmt: skip
    indices = [c.index for c in plan.configurations if c.error is None]
    expected, _ = run_plan_chunk(plan, indices, 1, 0, "sharpe_ratio")
    frozen = {}
    for f in dataclasses.fields(plan.panel):
        value = getattr(plan.panel, f.name)
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.setflags(write=False)
            frozen[f.name] = value
    read_only = dataclasses.replace(plan, panel=dataclasses.replace(plan.panel, **frozen))
    assert not read_only.panel.close.flags.writeable
    signatures = len(run_bars_nb.signatures)
    got, _ = run_plan_chunk(read_only, indices, 1, 0, "sharpe_ratio")
    assert got == expected
    assert len(run_bars_nb.signatures) == signatures  # no read-only specialisation compiled
    assert not read_only.panel.close.flags.writeable  # the caller's arrays are untouched


@dataclasses.dataclass(frozen=True)
class Flaky:
    """Momentum that raises a non-ValueError (a bug, not a bad value) for one lookback."""

    lookback: int = 20
    name: str = "Flaky"

    def signals(self, frame, panel):  # type: ignore[no-untyped-def]
        if self.lookback == 13:
            raise RuntimeError("boom on lookback 13")
        return Momentum(lookback=self.lookback).signals(frame, panel)


def test_a_failing_chunk_becomes_error_rows(data: pl.DataFrame, ray_head) -> None:  # type: ignore[no-untyped-def]
    import sys

    ray_head.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    grid = {"strategy.lookback": [10, 13, 20], "sizing_method": ["VolatilityBased"]}
    result = sweep(data, Flaky(), grid, backtest_config=BT, backend="ray", chunk_size=1,
                   progress=False)  # fmt: skip
    rows = result.frame.sort("config_id")
    errors = rows["error"].to_list()
    assert errors[0] is None
    assert errors[2] is None
    assert errors[1].startswith("RayError:")
    assert "boom on lookback 13" in errors[1]
    assert rows["sharpe_ratio"].null_count() == 1
    local = sweep(data, Momentum(), {"strategy.lookback": [10, 20],
                                     "sizing_method": ["VolatilityBased"]},
                  backtest_config=BT, n_jobs=1, progress=False)  # fmt: skip
    assert rows.filter(pl.col("error").is_null())["sharpe_ratio"].to_list() == (
        local.frame["sharpe_ratio"].to_list()
    )


def test_workers_get_the_numba_cache_dir(ray_head, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dollarbill_research.sweep.ray_runner import worker_runtime_env

    env = worker_runtime_env(str(tmp_path / "numba"))

    def where() -> tuple[str | None, str]:
        import numba

        return os.environ.get("NUMBA_CACHE_DIR"), numba.config.CACHE_DIR

    task = ray_head.remote(num_cpus=1, runtime_env=env)(where)
    assert ray_head.get(task.remote(), timeout=120) == (str(tmp_path / "numba"),) * 2


def test_runtime_env_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    from dollarbill_research.exceptions import ConfigError
    from dollarbill_research.sweep.ray_runner import worker_runtime_env

    monkeypatch.setenv("NUMBA_CACHE_DIR", "/shared/numba")
    assert worker_runtime_env("auto") == {"env_vars": {"NUMBA_CACHE_DIR": "/shared/numba"}}
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert worker_runtime_env("auto") == {}  # a writable checkout: workers share its cache
    assert worker_runtime_env(None) == {}
    with pytest.raises(ConfigError, match="ray_numba_cache_dir"):
        worker_runtime_env("")
