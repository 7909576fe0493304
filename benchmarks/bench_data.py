"""Benchmark the data layer: load_csv + to_panel on the real folder, synthetic_universe.

Usage::

    python benchmarks/bench_data.py [REAL_DATA_FOLDER] [--repeat N]

The real folder defaults to ``$DOLLARBILL_REAL_DATA`` (skipped when neither is given). Prints
machine and versions, sizes, the median of several warm runs, and first-call times (numba cache
load or compile) measured in fresh subprocesses: the first with an empty cache directory, the
second reusing it. Each result is checked before it is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cold_and_warm, last_line, machine_info, warm_median

from dollarbill_research.data import load_csv, synthetic_universe, to_panel, validate_bars

FIRST_CALL = (
    "import time; t0 = time.perf_counter();"
    "from dollarbill_research.data import synthetic_universe, to_panel;"
    "t1 = time.perf_counter(); f = synthetic_universe(1000, 2520); t2 = time.perf_counter();"
    "p = to_panel(f, validate=False); t3 = time.perf_counter();"
    "print(f'{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}')"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", default=os.environ.get("DOLLARBILL_REAL_DATA"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(machine_info())

    if args.real:
        folder = Path(args.real)
        frame = load_csv(folder)
        panel = to_panel(frame)
        assert panel.n_symbols == frame["symbol"].n_unique()
        assert int(panel.valid.sum()) == frame.height
        t_load = warm_median(lambda: load_csv(folder), args.repeat)
        t_panel = warm_median(lambda: to_panel(frame), args.repeat)
        print(
            f"real folder {folder}: {panel.n_symbols} symbols x {panel.n_bars} bars "
            f"({frame.height} rows)"
        )
        print(f"  load_csv (read + validate)   median {t_load * 1e3:8.1f} ms")
        print(f"  to_panel (validate + align)  median {t_panel * 1e3:8.1f} ms")
    else:
        print("real folder: skipped (pass a folder or set DOLLARBILL_REAL_DATA)")

    n_sym, n_bars = 1000, 2520
    frame = synthetic_universe(n_sym, n_bars)
    assert frame.height == n_sym * n_bars
    assert validate_bars(frame).equals(frame)
    t_syn = warm_median(lambda: synthetic_universe(n_sym, n_bars), args.repeat)
    t_val = warm_median(lambda: validate_bars(frame), args.repeat)
    t_pan = warm_median(lambda: to_panel(frame, validate=False), args.repeat)
    t_both = warm_median(lambda: to_panel(frame), args.repeat)
    print(f"synthetic {n_sym}x{n_bars} ({frame.height:,} rows), warm medians of {args.repeat}:")
    print(f"  synthetic_universe           {t_syn * 1e3:8.1f} ms")
    print(f"  validate_bars                {t_val * 1e3:8.1f} ms")
    print(f"  to_panel(validate=False)     {t_pan * 1e3:8.1f} ms")
    print(f"  to_panel (with validation)   {t_both * 1e3:8.1f} ms")

    cold, warm = (
        [float(x) for x in last_line(out).split()] for _, out in cold_and_warm(FIRST_CALL)
    )
    for label, (imp, syn, pan) in (("empty numba cache", cold), ("warm numba cache", warm)):
        print(
            f"fresh process, {label}: import {imp:.2f} s, first synthetic_universe "
            f"{syn:.2f} s, first to_panel {pan:.2f} s"
        )


if __name__ == "__main__":
    main()
