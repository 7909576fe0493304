"""Sweep throughput: 5 sizing methods x 4 risk levels x 10 lookbacks = 200 configurations.

Data: synthetic_universe(100 symbols x 1,260 bars). Strategy: Momentum (shares, long/short),
portfolio management on. Reports configurations/s on 1 and 2 threads and the scaling
efficiency ``(t1 / tN) / N``, cold compile (fresh process, empty numba cache) and warm-cache
start (fresh process, cache filled). Before timing it asserts that a sweep row equals
``BacktestEngine.run`` of that configuration alone.

Run: ``python benchmarks/bench_sweep.py [--symbols 100 --bars 1260 --repeats 3 --threads 1,2]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cold_and_warm_cache, machine_info, median_time, peak_rss_mb

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import SIZING_METHODS, sweep

RISK_LEVELS = [0.5, 1.0, 2.0, 4.0]
LOOKBACKS = [5, 10, 15, 20, 25, 30, 40, 50, 60, 80]
GRID = {
    "sizing_method": list(SIZING_METHODS),
    "max_risk_per_trade": RISK_LEVELS,
    "strategy.lookback": LOOKBACKS,
}
BT = BacktestConfig(use_portfolio_management=True)

COMPILE_SNIPPET = """
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep
d = synthetic_universe(n_symbols=3, n_bars=60, seed=1)
sweep(d, Momentum(), {"sizing_method": ["VolatilityBased"]},
      backtest_config=BacktestConfig(use_portfolio_management=True), progress=False)
"""


def check_against_engine(data: object) -> None:
    """Assert two sweep rows equal the engine run alone (exact float equality)."""
    grid = [
        {"sizing_method": "KellyCriterion", "max_risk_per_trade": 2.0, "strategy.lookback": 15},
        {"sizing_method": "RiskParity", "max_risk_per_trade": 0.5, "strategy.lookback": 40},
    ]
    res = sweep(data, Momentum(), grid, mode="list", backtest_config=BT, progress=False)
    for row, params in zip(res.frame.iter_rows(named=True), grid, strict=True):
        portfolio = PortfolioConfig(
            sizing_method=params["sizing_method"], max_risk_per_trade=params["max_risk_per_trade"]
        )
        alone = BacktestEngine(BT, portfolio).run(
            data, Momentum(lookback=params["strategy.lookback"])
        )
        for name, value in alone.metrics.to_dict().items():
            same = value == row[name] or (math.isnan(value) and math.isnan(row[name]))
            assert same, f"sweep row differs from the engine on {name}: {row[name]} vs {value}"
    print("check: sweep rows equal BacktestEngine.run of each configuration alone")


def _loop_rate(target: object) -> float:
    """Iterations/s of a Python loop on the main thread while ``target`` runs on another."""
    import threading

    worker = threading.Thread(target=target)  # type: ignore[arg-type]
    count = 0
    t = time.perf_counter()
    worker.start()
    while worker.is_alive():
        count += 1
    return count / (time.perf_counter() - t)


def gil_check(data: object) -> None:
    """Show that the driver releases the GIL: a Python loop keeps its pace while it computes.

    With the GIL held for the whole kernel the loop would stall (rate near 0); with it released
    the loop keeps the pace it has beside a sleeping thread (less when the cores are shared).
    """
    from dollarbill_research.backtesting.engine import BacktestEngine, check_signals, simulate
    from dollarbill_research.config.portfolio import PortfolioConfig
    from dollarbill_research.data import to_panel

    panel = to_panel(data)  # type: ignore[arg-type]
    block = check_signals(Momentum().signals(data, panel), panel)  # type: ignore[arg-type]
    bp, pp, cap = BacktestEngine(BT, PortfolioConfig()).kernel_params(1)
    t = time.perf_counter()
    simulate(panel, block, bp, pp, cap)
    run_s = time.perf_counter() - t
    idle = _loop_rate(lambda: time.sleep(run_s))
    busy = _loop_rate(lambda: simulate(panel, block, bp, pp, cap))
    verdict = "GIL released" if busy > 0.2 * idle else "GIL HELD"
    print(f"GIL check: a Python loop ran at {busy / idle * 100:.0f}% of its idle pace while the "
          f"driver ran on another thread ({verdict})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--bars", type=int, default=1260)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    threads = [int(x) for x in args.threads.split(",")]
    print(machine_info())
    n_cfg = len(SIZING_METHODS) * len(RISK_LEVELS) * len(LOOKBACKS)
    print(f"size: {args.symbols}x{args.bars} (symbols x bars), {n_cfg} configurations, "
          f"Momentum, portfolio management on")  # fmt: skip

    cold, warm = cold_and_warm_cache(COMPILE_SNIPPET)
    print(f"first sweep in a fresh process: cold numba cache {cold:.1f} s, warm cache {warm:.1f} s")

    data = synthetic_universe(n_symbols=args.symbols, n_bars=args.bars, seed=7)
    check_against_engine(data)
    gil_check(data)

    results = {}
    for n in threads:

        def run(n: int = n) -> object:
            return sweep(data, Momentum(), GRID, backtest_config=BT, n_jobs=n, progress=False)

        med, times, cpu_ratio = median_time(run, args.repeats)
        results[n] = med
        rate = n_cfg * args.symbols * args.bars / med / 1e6
        print(f"threads={n}: median {med:.2f} s ({', '.join(f'{t:.2f}' for t in times)}), "
              f"{n_cfg / med:.2f} configurations/s, {rate:.1f} M symbol-bars/s, "
              f"CPU/wall {cpu_ratio:.2f}")  # fmt: skip
    base = results[threads[0]] * threads[0]
    for n in threads[1:]:
        eff = base / results[n] / n
        speedup = base / results[n]
        print(f"scaling efficiency on {n} threads: {eff * 100:.0f}% (speed-up {speedup:.2f}x)")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
