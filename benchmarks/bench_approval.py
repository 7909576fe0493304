"""Sizing + pre-trade approval throughput: 1,000 candidates against a 200-position book.

Usage: ``python benchmarks/bench_approval.py [--candidates 1000] [--positions 200]
[--symbols 500] [--repeats 7]``

Prints machine and versions, checks the batch kernel against the contract kernel
``decide_nb`` (from-scratch book, per candidate) and against a loop of ``size_units_nb``,
then reports the median of warm runs on one core (numba kernels are single-threaded here) of:
building the book context (once per bar), sizing + approval of every candidate against the same
book (a what-if screen), and the sequential bar (each approved trade joins the book before the
next decision). First-call compile time is measured in a fresh subprocess with an empty numba
cache, and again in a second fresh subprocess with the warm cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cold_and_warm, last_line, machine_info, warm_median

from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.kernels import records
from dollarbill_research.kernels.approval_batch_nb import decide_many_nb
from dollarbill_research.kernels.approval_nb import decide_nb
from dollarbill_research.kernels.codes import SIZE_RISK_PARITY
from dollarbill_research.kernels.context_nb import book_context_nb
from dollarbill_research.kernels.params import make_params
from dollarbill_research.kernels.sizing_nb import risk_parity_units_nb, size_units_nb

N_SECTORS, N_STRAT, N_BARS, T = 11, 4, 120, 119


def world(n_cand: int, k: int, n_sym: int, seed: int = 0) -> dict[str, np.ndarray | float]:
    """A random book of k positions over n_sym symbols and n_cand share/option candidates."""
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (N_BARS, n_sym)), axis=0))
    closes[rng.random(closes.shape) < 0.02] = np.nan
    equity = 1e7
    w: dict[str, np.ndarray | float] = {"closes": closes, "equity": equity, "cash": 4e6}
    w["pos_symbol"] = rng.integers(0, n_sym, k)
    w["pos_sector"] = w["pos_symbol"] % N_SECTORS
    w["pos_strategy"] = rng.integers(0, N_STRAT, k)
    # a book near its limits: net delta ~26 %, sectors ~27 % of equity each
    w["delta_d"] = rng.normal(1.3e4, 1e4, k)
    for key, scale in (("gamma_d", 5e2), ("vega10", 5e2), ("theta", 20)):
        w[key] = rng.normal(0, scale, k)
    w["mv"] = rng.normal(1.5e5, 5e4, k)
    w["conc"] = np.abs(w["mv"])
    cost = rng.uniform(20, 800, n_cand)
    w |= {
        "unit_cost": cost, "unit_max_loss": cost * rng.uniform(0.05, 1.0, n_cand),
        "unit_dollar_vol": cost * rng.uniform(0.15, 0.9, n_cand),
        "unit_delta_d": cost * rng.choice([-1.0, 1.0], n_cand) * rng.uniform(0.2, 1, n_cand),
        "unit_gamma_d": rng.normal(0, 2, n_cand), "unit_vega10": rng.normal(0, 5, n_cand),
        "unit_theta": rng.normal(0, 0.5, n_cand), "unit_mv": cost, "unit_conc": cost,
        "cand_symbol": rng.integers(0, n_sym, n_cand),
        "cand_strategy": rng.integers(0, N_STRAT, n_cand),
    }  # fmt: skip
    w["cand_sector"] = w["cand_symbol"] % N_SECTORS
    st_exp = np.zeros(N_STRAT)
    np.add.at(st_exp, w["pos_strategy"], np.abs(w["mv"]))
    w["strategy_exposure"] = st_exp
    w["strategy_capacity"] = st_exp + 2e6
    return w


def kernel_params(cfg: PortfolioConfig) -> np.record:
    """The kernels' parameter record of a portfolio config (backtest fields zero)."""
    return make_params(np.zeros(records.BP_LEN), cfg.to_kernel())


BOOK = ("pos_symbol", "pos_sector", "delta_d", "gamma_d", "vega10", "theta", "mv", "conc")
UNITS = ("unit_cost", "unit_max_loss", "unit_dollar_vol", "unit_delta_d", "unit_gamma_d",
         "unit_vega10", "unit_theta", "unit_mv", "unit_conc")  # fmt: skip


def context(w, pp):
    book = records.FlatBook(w["pos_symbol"], w["pos_sector"], w["pos_strategy"],
                            *(w[k] for k in BOOK[2:]))  # fmt: skip
    return book_context_nb(book, N_SECTORS, w["closes"], T, int(pp.var_window))


def run_batch(w, pp, ctx, sequential: bool):
    ctx = tuple(a.copy() for a in ctx) if sequential else ctx
    stats = (np.full(N_STRAT, 0.55), np.full(N_STRAT, 1.4), np.full(N_STRAT, 30, np.int64))
    room = records.Room(w["equity"], w["cash"], len(w["pos_symbol"]), w["strategy_exposure"],
                        w["strategy_capacity"])  # fmt: skip
    cands = records.CandidateBlock(*(w[k] for k in UNITS), w["cand_symbol"], w["cand_sector"],
                                   w["cand_strategy"])  # fmt: skip
    return decide_many_nb(room, cands, stats, ctx, pp, sequential)


def check(w, pp, ctx) -> None:
    """Batch (what-if) == size_units_nb + decide_nb per candidate, on a sample."""
    units, reason, warn, proj = run_batch(w, pp, ctx, sequential=False)
    rp = risk_parity_units_nb(
        w["equity"], w["unit_cost"], w["unit_max_loss"], w["unit_dollar_vol"], pp
    )
    for i in range(0, len(units), max(len(units) // 40, 1)):
        u0, _ = size_units_nb(
            int(pp.sizing_method), w["equity"], w["cash"],
            (w["unit_cost"][i], w["unit_max_loss"][i], w["unit_dollar_vol"][i]), pp,
            (0.55, 1.4, 30),
        )  # fmt: skip
        if int(pp.sizing_method) == SIZE_RISK_PARITY:
            u0 = rp[i]
        cand = records.Candidate(
            *(float(w[k][i]) for k in UNITS[:1] + UNITS[3:]), int(w["cand_symbol"][i]),
            int(w["cand_sector"][i]), int(w["cand_strategy"][i]),
        )  # fmt: skip
        book = records.FlatBook(w["pos_symbol"], w["pos_sector"], w["pos_strategy"],
                                *(w[k] for k in BOOK[2:]))  # fmt: skip
        room = records.Room(w["equity"], w["cash"], len(w["pos_symbol"]),
                            w["strategy_exposure"], w["strategy_capacity"])  # fmt: skip
        u, r, wm, p = decide_nb(u0, cand, book, room, w["closes"], T, pp)
        assert (u, r, wm) == (units[i], reason[i], warn[i]), i
        np.testing.assert_allclose(p, proj[i], rtol=1e-9, atol=1e-12)
    approved = (reason == 0) & (units > 0)
    assert 0 < approved.sum() < len(units), "benchmark world should approve some, reject some"


COMPILE_SNIPPET = """
import json, time
t0 = time.perf_counter()
import numpy as np
from benchmarks.bench_approval import world, context, run_batch, PortfolioConfig, kernel_params
t1 = time.perf_counter()
w = world(10, 5, 20); pp = kernel_params(PortfolioConfig(sizing_method="KellyCriterion"))
ctx = context(w, pp)
t2 = time.perf_counter()
run_batch(w, pp, ctx, True)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "context": t2 - t1, "decide": t3 - t2}))
"""


def compile_times() -> None:
    cold, warm = cold_and_warm(COMPILE_SNIPPET)
    for label, (_, stdout) in (("cold cache", cold), ("warm cache", warm)):
        t = json.loads(last_line(stdout))
        print(f"  first call, fresh process, {label}: import {t['import']:.2f}s  "
              f"context {t['context']:.2f}s  size+decide {t['decide']:.2f}s")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--positions", type=int, default=200)
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(machine_info())
    n, k = args.candidates, args.positions
    w = world(n, k, args.symbols)
    print(f"size: {n} candidates x {k} positions x {args.symbols} symbols, "
          f"VaR window 60 of {N_BARS} bars, {N_SECTORS} sectors, {N_STRAT} strategies")  # fmt: skip
    for method in ("VolatilityBased", "KellyCriterion", "RiskParity"):
        for scale in (False, True):
            pp = kernel_params(PortfolioConfig(sizing_method=method, scale_to_fit=scale,
                                               max_positions=1000))  # fmt: skip
            ctx = context(w, pp)
            check(w, pp, ctx)
            t_ctx = warm_median(lambda pp=pp: context(w, pp), args.repeats)
            t_what = warm_median(lambda pp=pp, c=ctx: run_batch(w, pp, c, False), args.repeats)
            t_seq = warm_median(lambda pp=pp, c=ctx: run_batch(w, pp, c, True), args.repeats)
            r = run_batch(w, pp, ctx, True)[1]
            print(f"  {method:16s} scale_to_fit={scale!s:5s}  context {t_ctx * 1e3:7.2f} ms  "
                  f"what-if {n / t_what / 1e6:5.2f} M decisions/s  "
                  f"sequential {n / t_seq / 1e6:5.2f} M/s  "
                  f"(+context: {n / (t_seq + t_ctx) / 1e6:5.2f} M/s; "
                  f"approved {int((r == 0).sum())}/{n})")  # fmt: skip
    compile_times()


if __name__ == "__main__":
    main()
