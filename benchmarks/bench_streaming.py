"""Benchmark: streaming backtests from Parquet on disk vs the in-memory engine.

Usage::

    python benchmarks/bench_streaming.py [--symbols 5000] [--bars 20000]
        [--inmem-symbols 500] [--data DIR] [--chunk-bars N] [--budget BYTES] [--skip-large]

The data is the synthetic universe written straight to a partitioned Parquet dataset
(:func:`~dollarbill_research.data.large.write_synthetic_parquet`, deterministic by seed; kept in
``--data`` between invocations). The strategy trades shares and iron condors
(``Combined((Momentum(), IronCondor()))``) with portfolio management on (every limit, VaR).

Each run is a fresh subprocess (its peak RSS from ``wait4``), after a warm-up run on tiny data in
the same process so the figures exclude compilation:

1. the in-memory engine (``engine.run`` on the loaded frame) at ``--inmem-symbols`` x ``--bars``,
   the largest size that fits comfortably here;
2. the streaming engine (``engine.run_streaming`` on the Parquet folder) on the same data: its
   trades, rejections and equity must equal the in-memory ones (hashes compared), and its
   throughput is reported as a ratio of the in-memory throughput;
3. the streaming engine at ``--symbols`` x ``--bars`` (default 100 M symbol-bars).

Throughput counts symbol-bars per second of wall time, reading and signals included.
Targets: peak RSS <= 1.5 GB for the large streaming run; streaming >= 70 % of in-memory
throughput; results equal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import hashlib, json, sys, time
sys.path.insert(0, {root!r})
import polars as pl
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Combined, IronCondor, Momentum

def digest(res):
    h = hashlib.sha256()
    for name in ("trades", "rejections", "equity"):
        frame = getattr(res, name)
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        h.update(frame.hash_rows(seed=1).to_numpy().tobytes())
    return h.hexdigest()

config = BacktestConfig()
config.use_portfolio_management = True
engine = BacktestEngine.with_portfolio(config, PortfolioConfig())
strategy = Combined((Momentum(), IronCondor()))
warm = synthetic_universe(4, 300, seed=1)
engine.run(warm, strategy)
warm.write_parquet("{tmp}/warm.parquet")
engine.run_streaming("{tmp}/warm.parquet", strategy, chunk_bars=50)
t0 = time.perf_counter()
if {mode!r} == "memory":
    frame = pl.read_parquet({data!r} + "/**/*.parquet", hive_partitioning=False)
    res = engine.run(frame, strategy)
else:
    res = engine.run_streaming({data!r}, strategy, chunk_bars={chunk}, memory_budget={budget},
                               out_dir={out!r})
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "trades": res.metrics.n_trades,
                  "total_return": res.metrics.total_return, "digest": digest(res)}}))
"""


def run_child(mode: str, data: Path, tmp: Path, chunk: int | None, budget: int,
              out: str | None) -> dict:  # fmt: skip
    code = CHILD.format(root=str(ROOT), tmp=str(tmp), mode=mode, data=str(data), chunk=chunk,
                        budget=budget, out=out)  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    out_text = proc.stdout.read() if proc.stdout else ""
    err_text = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{err_text[-3000:]}")
    result = json.loads(out_text.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # KiB on Linux
    return result


def dataset(root: Path, n_symbols: int, n_bars: int, seed: int) -> Path:
    from dollarbill_research.data.large import write_synthetic_parquet

    path = root / f"syn_{n_symbols}x{n_bars}_s{seed}"
    done = root / f"{path.name}.complete"
    if done.exists():
        return path
    t0 = time.perf_counter()
    write_synthetic_parquet(path, n_symbols, n_bars, seed, overwrite=True)
    done.write_text("ok")
    size = sum(f.stat().st_size for f in path.rglob("*.parquet")) / 1e9
    print(f"generated {path.name}: {n_symbols * n_bars / 1e6:.1f} M rows, {size:.2f} GB, "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    return path


def report(label: str, cells: int, r: dict) -> float:
    rate = cells / r["seconds"]
    print(f"{label:<34} {r['seconds']:8.1f} s {rate / 1e6:8.2f} M symbol-bars/s "
          f"peak RSS {r['peak_rss_mb']:8.0f} MB  trades {r['trades']}")  # fmt: skip
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=5000)
    ap.add_argument("--bars", type=int, default=20000)
    ap.add_argument("--inmem-symbols", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", type=Path, default=Path("/tmp/dollarbill-bench-streaming"))
    ap.add_argument("--chunk-bars", type=int, default=None)
    ap.add_argument("--budget", type=int, default=1 << 30)
    ap.add_argument("--out-dir", action="store_true", help="write records to an out_dir")
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    tmp = args.data / "tmp"
    tmp.mkdir(exist_ok=True)
    out = str(tmp / "out") if args.out_dir else None
    import platform

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")
    small = dataset(args.data, args.inmem_symbols, args.bars, args.seed)
    cells = args.inmem_symbols * args.bars
    mem = run_child("memory", small, tmp, None, args.budget, None)
    r_mem = report(f"in-memory {args.inmem_symbols}x{args.bars}", cells, mem)
    st = run_child("stream", small, tmp, args.chunk_bars, args.budget, out)
    r_st = report(f"streaming {args.inmem_symbols}x{args.bars}", cells, st)
    same = st["digest"] == mem["digest"]
    print(f"streaming / in-memory throughput: {r_st / r_mem:.2f}  results equal: {same}")
    if not args.skip_large:
        large = dataset(args.data, args.symbols, args.bars, args.seed)
        big = run_child("stream", large, tmp, args.chunk_bars, args.budget, out)
        report(f"streaming {args.symbols}x{args.bars}", args.symbols * args.bars, big)
        print(f"large run peak RSS {big['peak_rss_mb'] / 1024:.2f} GB (target <= 1.5 GB)")


if __name__ == "__main__":
    main()
