"""Benchmark: the portfolio-managed options backtest and an equities-only run.

Usage: ``python benchmarks/bench_backtest.py [--large] [--repeat N]``

Sizes (symbols x bars): 100x1260, 1000x2520 and, with ``--large``, 2000x5040 on the synthetic
universe. For each size: an options run (VolatilityBased sizing, every limit on, an iron condor
and a long-call strategy repriced every bar) and an equities-only run (PM off, shares). Prints
machine, versions, the median warm time of several runs, symbol-bars per second and peak
memory (tracemalloc, Python/numpy allocations), and the first-call compile time measured in a
fresh subprocess with an empty ``NUMBA_CACHE_DIR`` (a true cold compile) and again in a second
subprocess sharing that now-warm cache.
Targets: >= 10M symbol-bars/s equities-only, >= 2M with options; compile <= 10 s fresh,
<= 2 s cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np
import polars as pl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import cold_and_warm, last_line, machine_info

from dollarbill_research.backtesting.engine import simulate
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data.panel import Panel
from dollarbill_research.kernels import codes
from dollarbill_research.strategies.base import Signals

COLD_SNIPPET = """
import time; t0 = time.perf_counter()
import sys; sys.path.insert(0, {root!r})
from benchmarks.bench_backtest import make_case, run_case
p, s, bp, pp, cap = make_case(20, 80, options=True)
run_case(p, s, bp, pp, cap)
print(time.perf_counter() - t0)
"""


def make_panel(n_sym: int, n_bars: int, seed: int = 0) -> Panel:
    """A synthetic panel built directly in numpy (GBM with per-symbol vol; iv = vol x noise)."""
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.15, 0.9, n_sym)
    close = rng.uniform(20, 400, n_sym) * np.exp(
        np.cumsum(rng.normal(0, vol / np.sqrt(252), (n_bars, n_sym)), axis=0)
    )
    iv = vol * rng.uniform(0.85, 1.2, (n_bars, n_sym))
    ts = np.datetime64("2010-01-04", "ns") + np.arange(n_bars) * np.timedelta64(1, "D")
    return Panel(
        ts,
        tuple(f"S{j:04d}" for j in range(n_sym)),
        close,
        close,
        close,
        close,
        np.ones_like(close),
        iv,
        np.ones_like(close, dtype=bool),
        np.arange(n_sym, dtype=np.int64) % 11,
        tuple(f"sec{i}" for i in range(11)),
    )


def make_signals(panel: Panel, options: bool, seed: int = 1) -> Signals:
    rng = np.random.default_rng(seed)
    n_strat = 2
    shape = (n_strat, panel.n_bars, panel.n_symbols)
    u = rng.random(shape)
    sig = np.where(u < 0.03, codes.SIG_LONG, np.where(u > 0.99, codes.SIG_EXIT, 0)).astype(np.int8)
    tpl = np.zeros((n_strat, 2, codes.TEMPLATE_LEN))
    tpl[:, :, codes.T_DIRECTION] = 1.0
    tpl[:, :, codes.T_MONEYNESS] = 1.0
    if options:
        tpl[0, :, codes.T_KIND] = codes.KIND_IRON_CONDOR
        tpl[0, :, codes.T_WIDTH] = 0.05
        tpl[0, :, codes.T_WING] = 0.05
        tpl[1, :, codes.T_KIND] = codes.KIND_CALL
    return Signals(("A", "B"), sig, rng.random(shape), tpl)


def make_case(n_sym: int, n_bars: int, options: bool):
    panel = make_panel(n_sym, n_bars)
    signals = make_signals(panel, options)
    if options:
        config = BacktestConfig(use_portfolio_management=True, max_positions=0)
        pc = PortfolioConfig(sizing_method="VolatilityBased", max_positions=50)
    else:
        config = BacktestConfig(max_positions=50)
        pc = PortfolioConfig()
    bp, pp = config.to_kernel(), pc.to_kernel()
    cap = np.full(2, 0.5) if options else np.full(2, np.inf)
    return panel, signals, bp, pp, cap


def run_case(panel, signals, bp, pp, cap):
    return simulate(panel, signals, bp, pp, cap)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compile-only", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(machine_info())
    # the first process starts with an empty numba cache: a true cold start
    cold, warm = (float(last_line(out)) for _, out in cold_and_warm(COLD_SNIPPET.format(root=root)))
    print(f"first call, fresh process, empty cache (compile): {cold:.2f} s")
    print(f"first call, new process, warm cache:              {warm:.2f} s")
    if args.compile_only:
        return
    sizes = [(100, 1260), (1000, 2520)] + ([(2000, 5040)] if args.large else [])
    rows = []
    for n_sym, n_bars in sizes:
        for options in (False, True):
            case = make_case(n_sym, n_bars, options)
            raw = run_case(*case)  # warm-up + correctness check
            eq = raw.equity
            assert np.allclose(eq["equity"], eq["cash"] + eq["positions_value"])
            assert len(raw.fills) > 0
            if options:
                assert len(raw.rejections) > 0
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run_case(*case)
                times.append(time.perf_counter() - t0)
            tracemalloc.start()
            run_case(*case)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            inputs = sum(a.nbytes for a in (case[0].close, case[0].iv, case[0].valid,
                                            case[1].signal, case[1].confidence))  # fmt: skip
            med = statistics.median(times)
            rows.append({
                "size": f"{n_sym}x{n_bars}", "run": "options PM on" if options else "equities",
                "median_s": round(med, 3), "M_per_s": round(n_sym * n_bars / med / 1e6, 2),
                "fills": len(raw.fills), "rejections": len(raw.rejections),
                "peak_MiB": round(peak / 2**20, 1), "peak_over_inputs": round(peak / inputs, 2),
            })  # fmt: skip
            print(rows[-1], flush=True)
    with pl.Config(tbl_cols=-1, tbl_width_chars=160):
        print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
