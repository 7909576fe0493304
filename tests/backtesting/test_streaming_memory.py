"""A streaming run completes under an address-space limit that the in-memory run cannot meet.

The child processes run under ``resource.setrlimit(RLIMIT_AS)`` (no cgroups needed, so CI can
run it). Python, numba, LLVM and polars reserve a lot of *virtual* memory (thread stacks,
allocator arenas), so the test first finds the smallest limit (100 MB steps) under which a tiny
streaming run starts at all on this machine — the baseline — and then allows
``HEADROOM_MB`` above it. The data set is sized so that its in-memory run needs several times
that headroom (about 250 bytes per symbol-bar; 3 M symbol-bars ~ 750 MB): the in-memory run
must fail under the limit, the streaming run must complete and trade.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from dollarbill_research.data.large import write_synthetic_parquet

HEADROOM_MB = 200
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
import polars as pl
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.strategies import Combined, IronCondor, Momentum
config = BacktestConfig()
config.use_portfolio_management = True
engine = BacktestEngine(config)
strategy = Combined((Momentum(), IronCondor()))
path, mode = sys.argv[1], sys.argv[2]
if mode == "memory":
    res = engine.run(pl.read_parquet(path + "/**/*.parquet", hive_partitioning=False), strategy)
else:
    res = engine.run_streaming(path, strategy, memory_budget=30_000_000)
print("trades", res.metrics.n_trades)
"""


def _run(path: Path, mode: str, limit_mb: int) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))

    env = dict(os.environ, PYTHONPATH=str(ROOT), POLARS_MAX_THREADS="1", MALLOC_ARENA_MAX="1",
               NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode],
        preexec_fn=limit, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics are Linux's")
def test_streaming_completes_where_in_memory_cannot(tmp_path: Path) -> None:
    tiny = write_synthetic_parquet(tmp_path / "tiny", 4, 300, seed=1)
    baseline = None
    for limit in range(900, 3001, 100):
        if _run(tiny, "stream", limit).returncode == 0:
            baseline = limit
            break
    if baseline is None:
        pytest.skip("no address-space limit up to 3 GB lets Python + numba start here")
    limit = baseline + HEADROOM_MB
    big = write_synthetic_parquet(tmp_path / "big", 3000, 1000, seed=3, bars_per_row_group=100)
    in_memory = _run(big, "memory", limit)
    assert in_memory.returncode != 0
    assert "MemoryError" in in_memory.stderr or "memory" in in_memory.stderr.lower()
    streamed = _run(big, "stream", limit)
    assert streamed.returncode == 0, streamed.stderr[-2000:]
    assert int(streamed.stdout.split()[-1]) > 0
