"""Connecting to a Ray cluster: a deadline, and a ConfigError naming the address (issue 12)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep

from ._ray_head import free_port, ray_head

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (extra 'ray')"
)
ROOT = Path(__file__).resolve().parents[2]
GRID = {"sizing_method": ["VolatilityBased", "FixedFractional"]}
BT = BacktestConfig(use_portfolio_management=True)


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=3, n_bars=120, seed=5)


def test_unreachable_address_fails_fast_naming_it(data: pl.DataFrame) -> None:
    import ray

    assert not ray.is_initialized()
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ConfigError, match=f"ray_address='{address}'") as info:
        sweep(data, Momentum(), GRID, backtest_config=BT, backend="ray", ray_address=address,
              progress=False)  # fmt: skip
    assert time.monotonic() - start < 5.0  # refused: no waiting for the 30 s default
    assert "RAY_AUTH_MODE=token" in str(info.value)
    assert not ray.is_initialized()


def test_bad_ray_options_are_config_errors(data: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="ray_timeout"):
        sweep(data, Momentum(), GRID, backend="ray", ray_timeout=0, progress=False)
    with pytest.raises(ConfigError, match="is not host:port"):
        sweep(data, Momentum(), GRID, backtest_config=BT, backend="ray",
              ray_address="no-port-here", progress=False)  # fmt: skip


SILENT_CLIENT = """
import sys, time
from dollarbill_research import ConfigError
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep
from dollarbill_research.config.backtest import BacktestConfig
frame = synthetic_universe(n_symbols=2, n_bars=60, seed=1)
start = time.monotonic()
try:
    sweep(frame, Momentum(), {"max_risk_per_trade": [1.0, 2.0]},
          backtest_config=BacktestConfig(use_portfolio_management=True), backend="ray",
          ray_address=sys.argv[1], ray_timeout=3, progress=False)
except ConfigError as exc:
    print(f"{time.monotonic() - start:.1f}", exc)
"""


def test_a_port_that_never_answers_times_out(tmp_path: Path) -> None:
    """A TCP listener that is not Ray: the watchdog gives up after ray_timeout seconds."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the handshake completes from the backlog; nothing ever answers
        address = f"127.0.0.1:{server.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-c", SILENT_CLIENT, address], capture_output=True, text=True,
            timeout=120, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
        )  # fmt: skip
    elapsed, _, message = done.stdout.strip().partition(" ")
    assert "did not answer within 3 s" in message, done.stdout + done.stderr
    assert address in message
    assert 2.5 < float(elapsed) < 10.0


@pytest.mark.slow
def test_local_head_as_the_readme_starts_it(tmp_path: Path) -> None:
    """`ray start --head` (Ray >= 2.59: token auth on) + the CLI: without RAY_AUTH_MODE=token the
    client gets one line naming the address and the setting; with it, the sweep runs."""
    grid = tmp_path / "grid.json"
    grid.write_text('{"sizing_method": ["VolatilityBased", "FixedFractional"]}')
    backtest = tmp_path / "backtest.json"
    backtest.write_text('{"use_portfolio_management": true}')
    frame = synthetic_universe(n_symbols=3, n_bars=120, seed=5)
    frame.write_parquet(tmp_path / "bars.parquet")
    base_env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    base_env.pop("RAY_AUTH_MODE", None)
    with ray_head(tmp_path, num_cpus=1) as address:
        cmd = [
            sys.executable, "-m", "dollarbill_research", "sweep", "--data",
            str(tmp_path / "bars.parquet"), "--strategy", "Momentum", "--grid", str(grid),
            "--backtest-config", str(backtest), "--backend", "ray", "--ray-address", address,
            "--no-progress",
        ]  # fmt: skip
        refused = subprocess.run(
            [*cmd, "--ray-timeout", "8"], capture_output=True, text=True, timeout=180,
            env=base_env, cwd=tmp_path,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        line = refused.stderr.strip().splitlines()[-1]
        assert line.startswith("dollarbill sweep: error:")
        assert address in line
        assert "RAY_AUTH_MODE=token" in line
        ok = subprocess.run(
            [*cmd, "--out", str(tmp_path / "rows.parquet")], capture_output=True, text=True,
            timeout=300, env={**base_env, "RAY_AUTH_MODE": "token"}, cwd=tmp_path,
        )  # fmt: skip
        assert ok.returncode == 0, ok.stderr
    rows = pl.read_parquet(tmp_path / "rows.parquet")
    assert rows.height == 2
    assert rows["error"].null_count() == 2
    local = sweep(frame, Momentum(), dict(GRID), backtest_config=BT, n_jobs=1, progress=False)
    assert rows["sharpe_ratio"].to_list() == local.frame["sharpe_ratio"].to_list()
