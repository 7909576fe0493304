"""Modelled vs quoted option half-spreads on the shipped option-chain snapshots.

Usage::

    python benchmarks/bench_spreads.py [REAL_DATA_FOLDER] [--spread-pct 1.0]

Reads every ``*_options_live.json`` of the real folder (bid/ask by strike for 16 symbols) and
compares, by moneyness bucket (how far out of the money, as a fraction of spot; negative = in
the money), the quoted half-spread ``(ask - bid) / 2`` with the cost model's half-spread per
share of an option leg, ``max(mid x spread_pct / 200, tick)`` with each tick rule of
:data:`~dollarbill_research.config.backtest.TICK_RULES`. Prints medians and the median ratio
modelled / quoted per bucket. Quotes with a zero bid, or an ask below the bid, are skipped.

Then the grounding of ``BacktestConfig.max_round_trip_cost_pct``: per symbol, the round trip at
the quoted bid/ask (full spread of every leg plus $0.65 a contract each way) of the ATM
straddle as % of its premium, and of an iron condor (short strikes 5 %, wings 10 % out of the
money) as % of its max loss, with medians and 75th percentiles.
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


def round_trips(folder: Path, commission: float = 0.65) -> list[tuple[str, float, float]]:
    """Per symbol: (symbol, straddle round trip % of premium, condor round trip % of max loss)."""
    out = []
    for path in sorted(folder.glob("*_options_live.json")):
        chain = json.loads(path.read_text())
        spot = float(chain["spot_price"])
        book: dict[str, dict[float, tuple[float, float]]] = {"Call": {}, "Put": {}}
        for o in chain["options"]:
            bid, ask = float(o["bid"]), float(o["ask"])
            if bid > 0.0 and ask >= bid:
                book[o["option_type"]][float(o["strike"])] = (bid, ask)
        calls, puts = book["Call"], book["Put"]
        common = sorted(set(calls) & set(puts))
        if not common:
            continue

        def near(side: dict[float, tuple[float, float]], k: float) -> tuple[float, float, float]:
            strike = min(side, key=lambda x: abs(x - k))
            return strike, *side[strike]

        atm = min(common, key=lambda k: abs(k - spot))
        legs = (calls[atm], puts[atm])
        premium = sum(0.5 * (b + a) for b, a in legs)
        straddle = (sum(a - b for b, a in legs) + 2 * 2 * commission / 100) / premium
        sc, lc = near(calls, spot * 1.05), near(calls, spot * 1.10)
        sp, lp = near(puts, spot * 0.95), near(puts, spot * 0.90)
        credit = 0.5 * (sc[1] + sc[2] + sp[1] + sp[2] - lc[1] - lc[2] - lp[1] - lp[2])
        max_loss = max(lc[0] - sc[0], sp[0] - lp[0]) - credit
        spread = sum(leg[2] - leg[1] for leg in (sc, lc, sp, lp))
        condor = (spread + 4 * 2 * commission / 100) / max_loss if max_loss > 0 else np.nan
        out.append((str(chain["symbol"]), 100 * straddle, 100 * condor))
    return out


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
    rows = round_trips(Path(args.real))
    print("\nround trip at quoted prices (max_round_trip_cost_pct grounding)")
    print(f"{'symbol':>8} {'straddle % premium':>19} {'condor % max loss':>18}")
    for sym, st, co in rows:
        print(f"{sym:>8} {st:19.1f} {co:18.1f}")
    st = np.array([r[1] for r in rows])
    co = np.array([r[2] for r in rows])
    for name, q_ in (("median", 50), ("75th percentile", 75)):
        print(
            f"{name:>16}: straddle {np.nanpercentile(st, q_):5.1f} %, "
            f"condor {np.nanpercentile(co, q_):5.1f} %"
        )


if __name__ == "__main__":
    main()
