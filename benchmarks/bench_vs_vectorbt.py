"""Ours vs vectorbt's ``Portfolio.from_signals`` (numba and Rust engines), same process, same data.

Setup (100 symbols x 1,260 bars of synthetic_universe, $1M): an equities-only long strategy with
fixed random entry/exit signals (entries on even bars, exits on odd bars, so no bar mixes exits
and entries and the order of fills within a bar cannot matter), each entry sized at
``position_size_pct`` % of current cash, floored to whole shares, filled at the signal bar's
close, no costs, no stops, no holding limit, portfolio management off. vectorbt:
``size=pct/100, size_type="percent", size_granularity=1, cash_sharing=True`` (columns in symbol
order, as our candidates with equal confidence). Final equity must agree to 1e-6 relative.

Timed: one configuration (ours: the lean sweep path and the full ``BacktestEngine.run`` with
result frames; vectorbt: ``from_signals`` + ``final_value``), and a 200-configuration sweep over
``position_size_pct`` (ours: ``sweep``; vectorbt: one call with 200 column groups, the idiomatic
vectorbt way). Cold = first call in a fresh process with an empty numba cache. Peak memory:
each side in its own fresh process, peak RSS during the call (kernel peak mark reset after
setup) minus the RSS before it.

``engine.run`` is timed three ways: with the :class:`Panel` and the ready :class:`Signals` block
(the run itself, result frames not yet read), with the Panel and a custom strategy object
(``FixedSignals``: a strategy that is not built in is handed the bar frame of the Panel), and
"read every frame once": a fresh result's ``equity``, ``trades`` (with the leg and warning
texts), ``rejections`` (with the reason texts), ``attribution`` and ``breaches`` and its
metrics, timed after the run (and the run plus the reads). Ratios are against vectorbt's
``from_signals`` + ``final_value`` measured in the same run.

Run: ``python benchmarks/bench_vs_vectorbt.py [--symbols 100 --bars 1260 --configs 200]``;
``--sizes 100x1260,1000x2520`` measures several sizes in one run (one table per size).
Needs the optional ``bench`` extra plus ``vectorbt`` (and ``vectorbt-rust`` for the Rust engine).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    current_rss_mb,
    machine_info,
    median_time,
    reset_peak_rss,
    window_peak_rss_mb,
)

from dollarbill_research.backtesting.engine import BacktestEngine, check_signals
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data import Panel, synthetic_universe, to_panel
from dollarbill_research.kernels import codes
from dollarbill_research.strategies.base import Signals
from dollarbill_research.sweep import sweep
from dollarbill_research.sweep._simulate import simulate_configuration

CAPITAL = 1_000_000.0
PCT = 5.0


@dataclass(frozen=True, slots=True)
class FixedSignals:
    """A strategy that returns a prepared :class:`Signals` block (for like-for-like timing)."""

    block: Signals
    name: str = "Random long"

    def signals(self, frame: pl.DataFrame, panel: Panel) -> Signals:
        """Return the prepared block (it was built on this panel)."""
        return self.block


def read_every_frame(res: object) -> int:
    """Touch every frame of a result once (texts included); return the total row count."""
    rows = 0
    for name in ("equity", "trades", "rejections", "attribution", "breaches"):
        rows += getattr(res, name).height
    _ = res.metrics.total_return  # type: ignore[attr-defined]
    return rows


def make_inputs(n_sym: int, n_bars: int) -> tuple[pl.DataFrame, Panel, np.ndarray, np.ndarray]:
    data = synthetic_universe(n_symbols=n_sym, n_bars=n_bars, seed=7)
    panel = to_panel(data)
    rng = np.random.default_rng(42)
    even = (np.arange(n_bars) % 2 == 0)[:, None]
    entries = (rng.random((n_bars, n_sym)) < 0.06) & even
    exits = (rng.random((n_bars, n_sym)) < 0.06) & ~even
    return data, panel, entries, exits


def our_signals(entries: np.ndarray, exits: np.ndarray) -> Signals:
    sig = np.zeros((1, *entries.shape), dtype=np.int8)
    sig[0][entries] = codes.SIG_LONG
    sig[0][exits] = codes.SIG_EXIT
    conf = np.where(sig != 0, 1.0, 0.0)
    tpl = np.zeros((1, 2, codes.TEMPLATE_LEN))
    tpl[0, :, codes.T_KIND] = codes.KIND_SHARES
    tpl[0, :, codes.T_DIRECTION] = 1.0
    return Signals(("Random long",), sig, conf, tpl)


def our_config(pct: float = PCT) -> BacktestConfig:
    return BacktestConfig(
        initial_capital=CAPITAL, use_portfolio_management=False, position_size_pct=pct,
        max_positions=0, max_days_hold=0, stop_loss_pct=None, take_profit_pct=None,
        short_stop_loss_pct=None, short_take_profit_pct=None, risk_free_rate=0.0,
        commission_per_share=0.0, commission_per_contract=0.0, spread_pct=0.0,
        slippage_vol_mult=0.0, cash_interest_rate=0.0,  # vectorbt's cash earns nothing
    )  # fmt: skip


def vbt_run(close: np.ndarray, entries: np.ndarray, exits: np.ndarray, pct: object, engine: str,
            group_by: object = True) -> np.ndarray:  # fmt: skip
    import pandas as pd
    import vectorbt as vbt

    pf = vbt.Portfolio.from_signals(
        pd.DataFrame(close), pd.DataFrame(entries), pd.DataFrame(exits),
        size=pct, size_type="percent", size_granularity=1.0, init_cash=CAPITAL,
        cash_sharing=True, group_by=group_by, call_seq="default", fees=0.0, slippage=0.0,
        accumulate=False, engine=engine, freq="1D",
    )  # fmt: skip
    return np.atleast_1d(np.asarray(pf.final_value()))


def vbt_sweep(close: np.ndarray, entries: np.ndarray, exits: np.ndarray, pcts: np.ndarray,
              engine: str) -> np.ndarray:  # fmt: skip
    n_sym = close.shape[1]
    k = len(pcts)
    size = np.repeat(pcts / 100.0, n_sym)[None, :]
    return vbt_run(
        np.tile(close, k), np.tile(entries, k), np.tile(exits, k), size, engine,
        group_by=np.repeat(np.arange(k), n_sym),
    )  # fmt: skip


def ours_single(panel: Panel, block: Signals, pct: float = PCT) -> float:
    _, equity, _ = simulate_configuration(panel, block, our_config(pct), None)
    return float(equity[-1])


def ours_sweep(panel: Panel, block: Signals, pcts: np.ndarray, n_jobs: int | None) -> np.ndarray:
    res = sweep(panel, FixedSignals(block), {"position_size_pct": [float(p) for p in pcts]},
                backtest_config=our_config(), n_jobs=n_jobs, progress=False)  # fmt: skip
    tr = res.frame["total_return"].to_numpy()
    return CAPITAL * (1.0 + tr)


def child(mode: str, n_sym: int, n_bars: int, n_cfg: int) -> None:
    """Fresh-process measurement: first-call time and peak RSS above the post-setup RSS."""
    _, panel, entries, exits = make_inputs(n_sym, n_bars)
    block = check_signals(our_signals(entries, exits), panel)
    pcts = np.linspace(1.0, 20.0, n_cfg)
    if mode.startswith("vbt"):
        import pandas  # noqa: F401  (imports are setup, not the run's memory)
        import vectorbt  # noqa: F401
    gc.collect()
    base = current_rss_mb()
    reset_peak_rss()
    t = time.perf_counter()
    if mode == "ours-single":
        ours_single(panel, block)
    elif mode == "ours-sweep":
        ours_sweep(panel, block, pcts, None)
    elif mode.startswith("vbt-single-"):
        vbt_run(panel.close, entries, exits, PCT / 100.0, mode.rsplit("-", 1)[1])
    elif mode.startswith("vbt-sweep-"):
        vbt_sweep(panel.close, entries, exits, pcts, mode.rsplit("-", 1)[1])
    first = time.perf_counter() - t
    print(json.dumps({"first_call_s": first, "peak_extra_mb": window_peak_rss_mb() - base}))


def fresh(mode: str, args: argparse.Namespace, cache: str) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, __file__, "--child", mode, "--symbols", str(args.symbols),
           "--bars", str(args.bars), "--configs", str(args.configs)]  # fmt: skip
    out = subprocess.run(cmd, check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--bars", type=int, default=1260)
    parser.add_argument("--configs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", default=None)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true", help="time the single run only")
    parser.add_argument("--sizes", default=None,
                        help="several sizes in one run, e.g. 100x1260,1000x2520")  # fmt: skip
    args = parser.parse_args()
    if args.child:
        child(args.child, args.symbols, args.bars, args.configs)
        return
    if args.sizes:
        for size in args.sizes.split(","):
            n_sym, n_bars = (int(x) for x in size.lower().split("x"))
            run_size(argparse.Namespace(**{**vars(args), "symbols": n_sym, "bars": n_bars}))
        return
    run_size(args)


def run_size(args: argparse.Namespace) -> None:
    """The correctness checks and timings of one size (``args.symbols`` x ``args.bars``)."""
    import vectorbt

    engines = ["numba"]
    try:
        import vectorbt_rust  # noqa: F401

        engines.append("rust")
    except ImportError:
        print("vectorbt-rust not installed: Rust engine skipped")
    print(machine_info())
    print(f"vectorbt {vectorbt.__version__}, engines {engines}")
    sweep_note = "" if args.skip_sweep else f" and a {args.configs}-config sweep"
    print(f"size: {args.symbols}x{args.bars}, single config{sweep_note}")

    _, panel, entries, exits = make_inputs(args.symbols, args.bars)
    block = check_signals(our_signals(entries, exits), panel)
    pcts = np.linspace(1.0, 20.0, args.configs)

    # correctness first
    ours = ours_single(panel, block)
    full = BacktestEngine(our_config()).run(panel, block)
    assert full.equity["equity"][-1] == ours
    for eng in engines:
        theirs = float(vbt_run(panel.close, entries, exits, PCT / 100.0, eng)[0])
        rel = abs(ours / theirs - 1.0)
        print(f"final equity: ours {ours:.6f}, vectorbt[{eng}] {theirs:.6f}, rel diff {rel:.2e}")
        assert rel <= 1e-6, "final equity differs"
    our_many = None if args.skip_sweep else ours_sweep(panel, block, pcts, None)
    for eng in engines if our_many is not None else ():
        their_many = vbt_sweep(panel.close, entries, exits, pcts, eng)
        rel = float(np.max(np.abs(our_many / their_many - 1.0)))
        print(f"sweep final equity max rel diff vs vectorbt[{eng}]: {rel:.2e}")
        assert rel <= 1e-6, "sweep final equity differs"

    rows: list[tuple[str, float]] = []
    r = args.repeats
    rows.append(("ours single (sweep path)", median_time(lambda: ours_single(panel, block), r)[0]))
    engine = BacktestEngine(our_config())
    rows.append(("ours engine.run (Panel, Signals)",
                 median_time(lambda: engine.run(panel, block), r)[0]))  # fmt: skip
    rows.append(("ours engine.run (Panel, custom strategy)",
                 median_time(lambda: engine.run(panel, FixedSignals(block)), r)[0]))  # fmt: skip
    read_times, both_times = [], []
    for _ in range(r):  # a fresh result each time: the frames are built on first access
        t0 = time.perf_counter()
        res = engine.run(panel, block)
        t1 = time.perf_counter()
        read_every_frame(res)
        read_times.append(time.perf_counter() - t1)
        both_times.append(time.perf_counter() - t0)
    rows.append(("ours read every frame once", float(np.median(read_times))))
    rows.append(("ours engine.run + read every frame", float(np.median(both_times))))
    for eng in engines:
        rows.append((f"vectorbt[{eng}] single",
                     median_time(lambda e=eng: vbt_run(panel.close, entries, exits, PCT / 100, e),
                                 r)[0]))  # fmt: skip
    if not args.skip_sweep:
        rs = max(1, r // 2)
        for n in (1, None):
            label = f"ours sweep ({'1 thread' if n == 1 else 'all cores'})"
            rows.append((label, median_time(lambda n=n: ours_sweep(panel, block, pcts, n), rs)[0]))
        for eng in engines:
            rows.append((f"vectorbt[{eng}] sweep",
                         median_time(lambda e=eng: vbt_sweep(panel.close, entries, exits, pcts, e),
                                     rs)[0]))  # fmt: skip
    print(f"\nwarm medians ({args.symbols} x {args.bars}; {len(res.trades)} fills):")
    times = dict(rows)
    for name, sec in rows:
        print(f"  {name:40s} {sec * 1e3:10.1f} ms")
    for eng in engines:
        vbt = times[f"vectorbt[{eng}] single"]
        single = times["ours single (sweep path)"] / vbt
        line = f"ratio ours/vectorbt[{eng}]: single {single:.2f}x (target <= 0.5)"
        if not args.skip_sweep:
            many = times["ours sweep (all cores)"] / times[f"vectorbt[{eng}] sweep"]
            line += f", sweep {many:.2f}x (target <= 0.25)"
        print(line)
        parts = [
            ("engine.run (Panel, Signals)", "ours engine.run (Panel, Signals)", " (target <= 0.5)"),
            ("engine.run (Panel, custom strategy)", "ours engine.run (Panel, custom strategy)", ""),
            ("read every frame once", "ours read every frame once", " (target <= 1)"),
            ("run + read", "ours engine.run + read every frame", ""),
        ]
        print("  " + ", ".join(f"{label} {times[key] / vbt:.2f}x{goal}"
                               for label, key, goal in parts))  # fmt: skip

    if args.skip_cold:
        return
    print("\nfresh process (first call; peak RSS during the call above the RSS before it):")
    modes = ["ours-single", "ours-sweep"]
    modes += [f"vbt-single-{e}" for e in engines] + [f"vbt-sweep-{e}" for e in engines]
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="numba-") as cache:
            cold = fresh(mode, args, cache)
            warm = fresh(mode, args, cache)
        print(f"  {mode:18s} cold {cold['first_call_s']:7.2f} s, warm cache "
              f"{warm['first_call_s']:6.2f} s, peak +{warm['peak_extra_mb']:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
