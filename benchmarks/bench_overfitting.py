"""Overfitting statistics: PBO by CSCV, deflated Sharpe, walk-forward against one full sweep.

* PBO: 1,000 configurations x 2,520 bars of float32 returns, 16 splits (12,870 train/test
  combinations), warm median. Target <= 2 s on 2 cores.
* Deflated Sharpe (with the average-correlation effective trial count): 10,000 configurations x
  2,520 bars, warm median. Target <= 0.5 s.
* Walk-forward: a 200-configuration grid (5 sizing methods x 4 risk levels x 10 lookbacks,
  Momentum, portfolio management on) over 10 rolling windows (train 1,260 bars, test 126) on
  synthetic_universe(100 x 2,520), timed against one full 200-configuration sweep of the same
  data in the same run, plus the sweep's ``keep_returns`` overhead.
* Cold compile of the overfitting kernels (fresh process, empty numba cache) and warm-cache start.

Run: ``python benchmarks/bench_overfitting.py [--configs 1000 --bars 2520 --dsr-configs 10000
--symbols 100 --repeats 3 --skip-walk-forward]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import cold_and_warm_cache, machine_info, median_time, peak_rss_mb

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import SIZING_METHODS, deflated_sharpe, pbo, sweep, walk_forward

GRID = {
    "sizing_method": list(SIZING_METHODS),
    "max_risk_per_trade": [0.5, 1.0, 2.0, 4.0],
    "strategy.lookback": [5, 10, 15, 20, 25, 30, 40, 50, 60, 80],
}
BT = BacktestConfig(use_portfolio_management=True)

COMPILE_SNIPPET = """
import numpy as np
from dollarbill_research.sweep import deflated_sharpe, pbo
r = np.random.default_rng(0).normal(0, 0.01, (64, 4)).astype(np.float32)
pbo(r, 4); deflated_sharpe(r)
"""


def bench_pbo(n_bars: int, n_configs: int, repeats: int) -> None:
    r = np.asfortranarray(
        np.random.default_rng(1).normal(0.0, 0.01, (n_bars, n_configs)).astype(np.float32)
    )
    pbo(r[:64, :4], 4)  # compile
    res = None

    def run() -> None:
        nonlocal res
        res = pbo(r, 16)

    med, times, ratio = median_time(run, repeats)
    assert res is not None
    print(
        f"PBO  {n_configs:,} configs x {n_bars:,} bars, 16 splits ({res.n_combinations:,} "
        f"combinations): median {med:.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}; "
        f"CPU/wall {ratio:.2f}); {res.n_combinations * n_configs / med / 1e6:.1f} M "
        f"config-splits/s; noise PBO = {res.pbo:.3f} (expected ~0.5); target <= 2 s"
    )


def bench_dsr(n_bars: int, n_configs: int, repeats: int) -> None:
    r = np.asfortranarray(
        np.random.default_rng(2).normal(0.0, 0.01, (n_bars, n_configs)).astype(np.float32)
    )
    deflated_sharpe(r[:64, :4])  # compile
    table = None

    def run() -> None:
        nonlocal table
        table = deflated_sharpe(r)

    med, times, ratio = median_time(run, repeats)
    assert table is not None
    best = table.sort("sharpe_ratio", descending=True).row(0, named=True)
    print(
        f"DSR  {n_configs:,} configs x {n_bars:,} bars ({r.nbytes / 2**20:.0f} MiB float32): "
        f"median {med:.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}; CPU/wall "
        f"{ratio:.2f}); best of the noise: Sharpe {best['sharpe_ratio']:.2f}, PSR "
        f"{best['psr']:.3f}, DSR {best['dsr']:.3f}, N_eff {best['n_trials_effective']:.0f}; "
        f"target <= 0.5 s"
    )


def bench_walk_forward(n_symbols: int, n_bars: int) -> None:
    data = synthetic_universe(n_symbols=n_symbols, n_bars=n_bars, seed=7)
    n_cfg = math.prod(len(v) for v in GRID.values())
    sweep(synthetic_universe(n_symbols=3, n_bars=80, seed=1), Momentum(),
          {"sizing_method": ["VolatilityBased"]}, backtest_config=BT, progress=False)  # fmt: skip
    t = time.perf_counter()
    full = sweep(data, Momentum(), GRID, backtest_config=BT, progress=False)
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    kept = sweep(data, Momentum(), GRID, backtest_config=BT, progress=False, keep_returns=True)
    t_kept = time.perf_counter() - t
    train, test = n_bars // 2, n_bars // 20
    t = time.perf_counter()
    wf = walk_forward(data, Momentum(), GRID, train_bars=train, test_bars=test,
                      backtest_config=BT)  # fmt: skip
    t_wf = time.perf_counter() - t
    print(
        f"full sweep   {n_cfg} configs on {n_symbols} x {n_bars:,}: {t_full:.2f} s "
        f"({n_cfg / t_full:.1f} cfg/s); with keep_returns: {t_kept:.2f} s "
        f"({kept.returns.nbytes / 2**20:.1f} MiB of returns)"
    )
    print(
        f"walk-forward {wf.windows.height} windows (train {train}, test {test} bars), "
        f"{n_cfg} configs per training sweep: {t_wf:.2f} s = {t_wf / t_full:.2f}x the full "
        f"sweep; {wf.windows['config_id'].n_unique()} distinct choices; {wf}"
    )
    res = kept.pbo(16)
    table = kept.deflated_sharpe()
    best = int(full.best(1)["config_id"][0])
    row = table.filter(table["config_id"] == best).row(0, named=True)
    print(
        f"this sweep: PBO {res.pbo:.3f}; best config {best} Sharpe {row['sharpe_ratio']:.2f}, "
        f"DSR {row['dsr']:.3f} (N={row['n_trials']:.0f}), DSR_eff {row['dsr_effective']:.3f} "
        f"(N_eff={row['n_trials_effective']:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--bars", type=int, default=2520)
    parser.add_argument("--dsr-configs", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-walk-forward", action="store_true")
    args = parser.parse_args()
    print(machine_info())
    cold, warm = cold_and_warm_cache(COMPILE_SNIPPET)
    print(f"compile: fresh process with an empty numba cache {cold:.1f} s, warm cache {warm:.1f} s")
    bench_pbo(args.bars, args.configs, args.repeats)
    bench_dsr(args.bars, args.dsr_configs, args.repeats)
    if not args.skip_walk_forward:
        bench_walk_forward(args.symbols, args.bars)
    print(f"peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
