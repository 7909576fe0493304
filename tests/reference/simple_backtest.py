"""An independent, obvious reimplementation of an equities-only backtest (no kernels).

Portfolio management off, shares only, long signals open, SIG_EXIT / stops / max hold close.
Sizing: ``floor(free_cash x pct% / price)`` then limited so that price and costs fit in cash.
Costs per fill: ``qty x (commission_per_share + price x spread_pct / 200)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def floor_within(budget: float, unit: float) -> float:
    if not (unit > 0 and math.isfinite(unit)) or not (budget > 0):
        return 0.0
    n = math.floor(budget / unit)
    while n > 0 and n * unit > budget:
        n -= 1
    return float(max(n, 0))


@dataclass
class RefResult:
    fills: list[tuple[int, int, int, float, float, float]] = field(default_factory=list)
    """(bar, strategy, symbol, side, qty, price)"""
    equity: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)


def simple_backtest(
    close: np.ndarray,
    valid: np.ndarray,
    signal: np.ndarray,
    confidence: np.ndarray,
    *,
    capital: float,
    pct: float,
    commission: float,
    spread_pct: float,
    max_hold: int,
    stop_pct: float,
    take_pct: float,
) -> RefResult:
    n_strat, n_bars, n_sym = signal.shape
    cash = capital
    book: dict[tuple[int, int], dict[str, float]] = {}
    out = RefResult()
    for t in range(n_bars):
        # mark
        for (_s, j), p in book.items():
            if valid[t, j]:
                p["price"] = close[t, j]
        # exits in slot order
        for key in sorted(book):
            s, j = key
            p = book[key]
            if not valid[t, j]:
                continue
            ret = (p["price"] - p["entry"]) / p["entry"] * 100
            if (
                (max_hold > 0 and t - p["bar"] >= max_hold)
                or ret <= -stop_pct
                or ret >= take_pct
                or signal[s, t, j] == 2
            ):
                costs = p["qty"] * (commission + p["price"] * spread_pct / 200)
                cash += p["qty"] * p["price"] - costs
                out.fills.append((t, s, j, -1.0, p["qty"], p["price"]))
                del book[key]
        # entries by confidence, ties by strategy then symbol
        cands = [
            (-confidence[s, t, j], s, j)
            for s in range(n_strat)
            for j in range(n_sym)
            if signal[s, t, j] == 1 and (s, j) not in book
        ]
        for _c, s, j in sorted(cands):
            if not valid[t, j]:
                continue
            price = close[t, j]
            c1 = commission + price * spread_pct / 200
            qty = min(floor_within(cash * pct / 100, price), floor_within(cash, price + c1))
            if qty < 1:
                continue
            cash -= qty * price + qty * c1
            book[(s, j)] = {"qty": qty, "entry": price, "price": price, "bar": t}
            out.fills.append((t, s, j, 1.0, qty, price))
        out.cash.append(cash)
        out.equity.append(cash + sum(p["qty"] * p["price"] for p in book.values()))
    return out
