"""Modelled vs quoted option half-spreads on the shipped option-chain snapshots.

Usage::

    python benchmarks/bench_spreads.py [REAL_DATA_FOLDER] [--spread-pct 1.0]

Reads every ``*_options_live.json`` of the real folder (bid/ask by strike for 16 symbols) and
compares, by moneyness bucket (how far out of the money, as a fraction of spot; negative = in
the money), the quoted half-spread ``(ask - bid) / 2`` with the cost model's half-spread per
share of an option leg, ``max(mid x spread_pct / 200, tick)`` with each tick rule of
:data:`~dollarbill_research.config.backtest.TICK_RULES`. Prints medians and the median ratio
modelled / quoted per bucket. Quotes with a zero bid, or an ask below the bid, are skipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

import numpy as np

from dollarbill_research.config.backtest import TICK_RULES

BUCKETS = (-1.0, -0.20, -0.10, -0.05, -0.02, 0.02, 0.05, 0.10, 0.20, 10.0)


def load_quotes(folder: Path) -> dict[str, np.ndarray]:
    """Arrays ``otm`` (fraction of spot out of the money), ``mid`` and ``half`` (dollars)."""
    otm, mid, half = [], [], []
    for path in sorted(folder.glob("*_options_live.json")):
        chain = json.loads(path.read_text())
        spot = float(chain["spot_price"])
        for o in chain["options"]:
            bid, ask = float(o["bid"]), float(o["ask"])
            if bid <= 0.0 or ask < bid:
                continue
            m = float(o["strike"]) / spot
            otm.append(m - 1.0 if o["option_type"] == "Call" else 1.0 - m)
            mid.append(0.5 * (bid + ask))
            half.append(0.5 * (ask - bid))
    return {"otm": np.array(otm), "mid": np.array(mid), "half": np.array(half)}


def modelled(mid: np.ndarray, spread_pct: float, rule: str) -> np.ndarray:
    """The cost model's half-spread per share (the option legs of the step kernel's costs)."""
    low, high = TICK_RULES[rule]
    return np.maximum(mid * spread_pct / 200.0, np.where(mid < 3.0, low, high))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", default=os.environ.get("DOLLARBILL_REAL_DATA"))
    parser.add_argument("--spread-pct", type=float, default=1.0)
    args = parser.parse_args()
    if not args.real:
        print("real folder: skipped (pass a folder or set DOLLARBILL_REAL_DATA)")
        return
    q = load_quotes(Path(args.real))
    rules = tuple(TICK_RULES)
    print(f"{q['mid'].size} quotes; spread_pct={args.spread_pct}; half-spreads in dollars/share")
    head = f"{'OTM bucket':>14} {'n':>5} {'mid':>7} {'quoted':>7} " + " ".join(
        f"{r:>11} {'ratio':>6}" for r in rules
    )
    print(head)
    for lo, hi in itertools.pairwise(BUCKETS):
        sel = (q["otm"] >= lo) & (q["otm"] < hi)
        if not sel.any():
            continue
        mid, half = q["mid"][sel], q["half"][sel]
        cells = []
        for r in rules:
            model = modelled(mid, args.spread_pct, r)
            ok = half > 0
            ratio = np.median(model[ok] / half[ok]) if ok.any() else np.nan
            cells.append(f"{np.median(model):11.3f} {ratio:6.2f}")
        label = f"{lo:+.2f}..{hi:+.2f}" if hi < 10 else f">= {lo:+.2f}"
        print(
            f"{label:>14} {int(sel.sum()):5d} {np.median(mid):7.2f} {np.median(half):7.3f} "
            + " ".join(cells)
        )
    for r in rules:
        model = modelled(q["mid"], args.spread_pct, r)
        ok = q["half"] > 0
        err = np.median(np.abs(np.log(model[ok] / q["half"][ok])))
        print(f"{r:>11}: median |log(modelled / quoted)| = {err:.2f} over all quotes")


if __name__ == "__main__":
    main()
