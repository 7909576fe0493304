"""Signals of all strategies over 1,000 symbols x 2,520 bars (synthetic universe).

Question: how long do the eight built-in strategies (and the personality router) take to produce
their signals on a large panel once compiled (target: < 1 s for all eight), and how long does
the first call take in a fresh process, with an empty and with a warm numba cache?

Run: ``python benchmarks/bench_signals.py [--symbols 1000] [--bars 2520] [--repeats 5]``.
Reports wall time and process CPU time (all threads): on a shared machine the CPU time is the
better measure of the work done.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import cold_and_warm, last_line, machine_info  # noqa: E402

from dollarbill_research.data import synthetic_universe, to_panel  # noqa: E402
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_SHORT  # noqa: E402
from dollarbill_research.strategies import (  # noqa: E402
    Combined,
    PersonalityStrategy,
    classify_panel,
    default_strategies,
)
from dollarbill_research.strategies.view import CHUNK_SYMBOLS  # noqa: E402

COMPILE_SNIPPET = """
import time
t = time.perf_counter()
from dollarbill_research.data import synthetic_universe, to_panel
from dollarbill_research.strategies import Combined, PersonalityStrategy, default_strategies
f = synthetic_universe(n_symbols=3, n_bars=300, seed=1)
p = to_panel(f)
Combined(default_strategies()).signals(f, p)
PersonalityStrategy(window=60).signals(f, p)
print(f"{time.perf_counter() - t:.3f}")
"""


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds and median process-CPU seconds of ``repeats`` warm calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def check(frame, panel, sig) -> None:
    """The result is right before it is timed: ranges, firing, per-symbol independence."""
    usable = panel.valid.sum()
    assert sig.signal.shape == (8, panel.n_bars, panel.n_symbols)
    assert ((sig.confidence >= 0) & (sig.confidence <= 1)).all()
    assert not sig.signal[:, ~panel.valid].any()
    for i, name in enumerate(sig.strategies):
        entries = np.isin(sig.signal[i], (SIG_LONG, SIG_SHORT)).sum()
        assert entries > 0, f"{name} never fires"
        assert (sig.signal[i] != 0).sum() < 0.5 * usable, f"{name} fires too often"
    # symbols straddling a chunk boundary get the signals they get alone
    cols = [0, CHUNK_SYMBOLS - 1, CHUNK_SYMBOLS, panel.n_symbols - 1]
    syms = [panel.symbols[j] for j in cols]
    import polars as pl

    sub_frame = frame.filter(pl.col("symbol").is_in(syms))
    sub = Combined(default_strategies()).signals(sub_frame, to_panel(sub_frame))
    order = [syms.index(s) for s in sorted(syms)]
    np.testing.assert_array_equal(sig.signal[:, :, cols][:, :, order], sub.signal)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=1000)
    ap.add_argument("--bars", type=int, default=2520)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(machine_info())
    size = f"{args.symbols}x{args.bars}"
    t = time.perf_counter()
    frame = synthetic_universe(n_symbols=args.symbols, n_bars=args.bars, seed=7)
    panel = to_panel(frame)
    print(
        f"size {size} ({panel.n_symbols * panel.n_bars:,} symbol-bars), "
        f"data built in {time.perf_counter() - t:.1f} s"
    )

    strategies = default_strategies()
    combined = Combined(strategies)
    sig = combined.signals(frame, panel)  # compiles (or loads the cache)
    check(frame, panel, sig)

    print("\nsignal counts (all 8 strategies):")
    for i, name in enumerate(sig.strategies):
        s = sig.signal[i]
        print(
            f"  {name:<26} long={int((s == SIG_LONG).sum()):7d} "
            f"short={int((s == SIG_SHORT).sum()):7d} exit={int((s == SIG_EXIT).sum()):7d}"
        )

    print(f"\nwarm timings, median of {args.repeats} runs [{size}]:")
    wall, cpu = timed(lambda: combined.signals(frame, panel), args.repeats)
    verdict = "meets" if wall < 1.0 else "misses"
    print(
        f"  all 8 strategies (Combined)      wall {wall:6.3f} s  cpu {cpu:6.3f} s  "
        f"({verdict} the 1 s target on wall time)"
    )
    for s in strategies:
        w, c = timed(lambda s=s: s.signals(frame, panel), max(1, args.repeats // 2))
        print(f"    {s.name:<30} wall {w:6.3f} s  cpu {c:6.3f} s")
    router = PersonalityStrategy()
    router.signals(frame, panel)
    w, c = timed(lambda: classify_panel(panel, 252), max(1, args.repeats // 2))
    print(f"  personality classify (per bar)   wall {w:6.3f} s  cpu {c:6.3f} s")
    w, c = timed(lambda: router.signals(frame, panel), max(1, args.repeats // 2))
    print(f"  PersonalityStrategy (router)     wall {w:6.3f} s  cpu {c:6.3f} s")

    cold, warm = (float(last_line(out)) for _, out in cold_and_warm(COMPILE_SNIPPET))
    print("\nfirst call in a fresh process (imports + all strategies + router on 3x300):")
    print(f"  empty numba cache {cold:6.2f} s   warm numba cache {warm:6.2f} s")


if __name__ == "__main__":
    main()
