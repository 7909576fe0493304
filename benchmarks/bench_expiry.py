"""Audit option expiry settlement on the real folder: late or missing settlements.

Usage::

    python benchmarks/bench_expiry.py [REAL_DATA_FOLDER]

Runs the demo's option book (VolatilityMeanReversion, Momentum, IronCondor, CashSecuredPuts)
with portfolio management off and on, and no max-hold exit, over the real daily histories, and
checks every option position against the calendar: its expiry date is the local session date of
its entry bar plus its days to expiry (the dates as written in the CSV files, whatever their UTC
offset). It must settle on its symbol's first bar on or after that date, or, when the symbol has
no such bar, on the first bar of the run on or after that date with reason ``expiry_no_data``;
it must never be open after it. Prints the number of expiries, late settlements and missing ones
(still open, or exited after the expiry date by another rule).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import polars as pl

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.data import load_bars, to_panel
from dollarbill_research.kernels import codes
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    VolatilityMeanReversion,
)


def local_dates(folder: Path, panel) -> np.ndarray:
    """Local session date (days since 1970, int) of every (bar, symbol) cell, -1 where no bar."""
    out = np.full(panel.close.shape, -1, dtype=np.int64)
    ts_index = {
        int(t): i for i, t in enumerate(panel.timestamps.astype("datetime64[ns]").astype(np.int64))
    }
    for j, sym in enumerate(panel.symbols):
        raw = pl.read_csv(folder / f"{sym.lower()}_five_year.csv", columns=["Date"])["Date"]
        utc = raw.str.to_datetime(time_zone="UTC", time_unit="ns").dt.epoch("ns").to_numpy()
        local = raw.str.slice(0, 10).str.to_date().dt.epoch("d").to_numpy()
        for u, d in zip(utc, local, strict=True):
            out[ts_index[int(u)], j] = d
    return out


def audit(result, panel, dates: np.ndarray) -> dict[str, int]:
    """Count expiries, late and missing settlements of one run's raw records."""
    fills = result.raw.fills
    n_bars = panel.n_bars
    open_entries: dict[tuple[int, int], int] = {}
    left: dict[tuple[int, int], float] = {}
    pairs = []
    for row in range(len(fills)):
        f = fills[row]
        if f["kind"] == codes.KIND_SHARES:
            continue
        key = (int(f["strategy"]), int(f["symbol"]))
        if f["side"] > 0:
            open_entries[key] = row
            left[key] = float(f["qty"])
        else:
            left[key] -= float(f["qty"])  # a breach-policy trim closes part of it
            if left[key] <= 0.0:
                pairs.append((open_entries.pop(key), row))
    pairs += [(row, -1) for row in open_entries.values()]
    counts = {"options": 0, "expiries": 0, "late": 0, "missing": 0, "expiry_no_data": 0}
    any_date = dates.max(axis=1)  # a run bar's session date (some symbol has a bar)
    for entry, exit_row in pairs:
        e = fills[entry]
        j = int(e["symbol"])
        counts["options"] += 1
        dte = round(float(e["expiry_day"]) - float(panel.days[int(e["bar"])]))
        expiry = dates[int(e["bar"]), j] + dte
        sym_bars = np.nonzero(dates[:, j] >= expiry)[0]
        run_bars = np.nonzero(any_date >= expiry)[0]
        if sym_bars.size:
            due = int(sym_bars[0])
        elif run_bars.size:
            due = int(run_bars[0])
        else:
            due = n_bars  # expires after the run's last bar
        exit_bar = n_bars if exit_row < 0 else int(fills[exit_row]["bar"])
        if exit_bar < due:
            continue  # closed before expiry by another rule
        if due >= n_bars:
            continue  # still open at the end, not expired yet
        counts["expiries"] += 1
        reason = -1 if exit_row < 0 else int(fills[exit_row]["reason"])
        if exit_row < 0 or reason not in _EXPIRY_REASONS:
            counts["missing"] += 1
        elif exit_bar > due:
            counts["late"] += 1
        if reason == _NO_DATA:
            counts["expiry_no_data"] += 1
    return counts


NO_STOPS = {
    "stop_loss_pct": None,
    "take_profit_pct": None,
    "short_stop_loss_pct": None,
    "short_take_profit_pct": None,
}
_NO_DATA = getattr(codes, "EXIT_EXPIRY_NO_DATA", -2)
_EXPIRY_REASONS = {codes.EXIT_EXPIRY, _NO_DATA}


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["DOLLARBILL_REAL_DATA"])
    frame = load_bars(folder)
    panel = to_panel(frame, validate=False)
    dates = local_dates(folder, panel)
    strategy = Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts()))
    # no max-hold exit (and in the last runs no stops), so that options live until expiry
    settings = (
        ("off", {"use_portfolio_management": False}),
        ("on", {"use_portfolio_management": True}),
        ("off, no stops", {"use_portfolio_management": False, **NO_STOPS}),
        ("on, no stops", {"use_portfolio_management": True, **NO_STOPS}),
    )
    for name, kw in settings:
        result = BacktestEngine(BacktestConfig(max_days_hold=0, **kw)).run(frame, strategy)
        c = audit(result, panel, dates)
        print(
            f"portfolio management {name}: {c['options']} option positions, "
            f"{c['expiries']} reached expiry, {c['late']} settled late, {c['missing']} missing "
            f"(never settled at expiry), {c['expiry_no_data']} expiry_no_data"
        )


if __name__ == "__main__":
    main()
