"""Large histories: one backtest on 2,000 symbols x 5,040 bars (10.1 M symbol-bars) and a
200-configuration sweep on 500 x 2,520, reporting time, throughput and peak memory.

Strategy: Momentum (shares). The backtest runs with portfolio management on; the sweep varies
5 sizing methods x 4 risk levels x 10 lookbacks (as ``bench_sweep.py``). Before timing, a
sweep row is checked against ``BacktestEngine.run`` on a small slice. Peak memory is the
process's peak RSS (``ru_maxrss``), reported after data generation and after each stage.

Run: ``python benchmarks/bench_large.py [--symbols 2000 --bars 5040 --sweep-symbols 500
--sweep-bars 2520]``; add ``--pm-off`` to run both stages with portfolio management off.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, peak_rss_mb
from bench_sweep import GRID, check_against_engine

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--bars", type=int, default=5040)
    parser.add_argument("--sweep-symbols", type=int, default=500)
    parser.add_argument("--sweep-bars", type=int, default=2520)
    parser.add_argument("--pm-off", action="store_true")
    parser.add_argument("--chunk-size", type=int, default=16)
    parser.add_argument("--stage", choices=["all", "backtest", "sweep"], default="all")
    args = parser.parse_args()
    config = BacktestConfig(use_portfolio_management=not args.pm_off)
    print(machine_info())
    print(f"portfolio management {'off' if args.pm_off else 'on'}; Momentum on shares")

    check_against_engine(synthetic_universe(n_symbols=8, n_bars=300, seed=3))

    if args.stage in ("all", "backtest"):
        run_backtest(args, config)
    if args.stage in ("all", "sweep"):
        run_sweep(args, config)


def run_backtest(args: argparse.Namespace, config: BacktestConfig) -> None:
    """One backtest on the large panel."""
    t = time.perf_counter()
    data = synthetic_universe(n_symbols=args.symbols, n_bars=args.bars, seed=7)
    print(f"data {args.symbols}x{args.bars}: generated in "
          f"{time.perf_counter() - t:.1f} s; peak RSS {peak_rss_mb():.0f} MiB")  # fmt: skip
    engine = BacktestEngine(config)
    t = time.perf_counter()
    res = engine.run(data, Momentum())
    sec = time.perf_counter() - t
    n = args.symbols * args.bars
    print(f"backtest {args.symbols}x{args.bars} (validate, panel, signals, run, frames): "
          f"{sec:.1f} s, {n / sec / 1e6:.2f} M symbol-bars/s, "
          f"{res.trades.height} fills, {res.rejections.height} rejections; "
          f"peak RSS {peak_rss_mb():.0f} MiB")  # fmt: skip


def run_sweep(args: argparse.Namespace, config: BacktestConfig) -> None:
    """The 200-configuration sweep on the medium panel."""
    data = synthetic_universe(n_symbols=args.sweep_symbols, n_bars=args.sweep_bars, seed=7)
    t = time.perf_counter()
    out = sweep(data, Momentum(), GRID, backtest_config=config, chunk_size=args.chunk_size,
                progress=True)  # fmt: skip
    sec = time.perf_counter() - t
    n_cfg = out.frame.height
    sb = n_cfg * args.sweep_symbols * args.sweep_bars
    print(f"sweep {n_cfg} configs on {args.sweep_symbols}x{args.sweep_bars}: {sec:.1f} s, "
          f"{n_cfg / sec:.2f} configurations/s, {sb / sec / 1e6:.2f} M symbol-bars/s, "
          f"{out.frame['error'].null_count()} ok; peak RSS {peak_rss_mb():.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
