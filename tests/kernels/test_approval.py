from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.portfolio_reference import ref_exposures

from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.approval_batch_nb import decide_many_nb
from dollarbill_research.kernels.approval_nb import decide_ctx_nb, decide_nb
from dollarbill_research.kernels.context_nb import book_context_nb
from dollarbill_research.kernels.params import make_params

N_SYM, N_SEC, N_STRAT, T, W = 6, 3, 2, 70, 40
LIMITS = {  # reason bit -> (reference key, config limit as a fraction)
    codes.R_DELTA: "delta",
    codes.R_GAMMA: "gamma",
    codes.R_VEGA: "vega",
    codes.R_VAR: "var95",
}
EXACT = 1e-9  # relative tolerance between the kernel's sums and the reference's


def config(scale: bool, max_positions: int = 0) -> PortfolioConfig:
    return PortfolioConfig(
        scale_to_fit=scale, max_positions=max_positions, var_window=W,
        risk_limits=RiskLimits(max_portfolio_delta=0.3, max_portfolio_gamma=0.1,
                               max_portfolio_vega=0.15, max_concentration_pct=20.0,
                               max_var_pct=2.0, max_sector_exposure_pct=40.0),
    )  # fmt: skip


def limit_of(cfg, bit):
    lim = cfg.risk_limits
    return {
        codes.R_DELTA: lim.max_portfolio_delta, codes.R_GAMMA: lim.max_portfolio_gamma,
        codes.R_VEGA: lim.max_portfolio_vega, codes.R_VAR: lim.max_var_pct / 100,
    }[bit]  # fmt: skip


def random_world(seed, k):
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (T + 1, N_SYM)), axis=0))
    closes[rng.random(closes.shape) < 0.05] = np.nan
    equity = 1e5
    scale = equity / max(k, 1) * rng.uniform(0.05, 0.6)
    book = [
        {"symbol": int(rng.integers(N_SYM)), "sector": int(rng.integers(N_SEC)),
         "strategy": int(rng.integers(N_STRAT)), "delta_d": rng.normal(0, scale),
         "gamma_d": rng.normal(0, scale / 10), "vega10": rng.normal(0, scale / 10),
         "theta": rng.normal(0, 10), "mv": rng.normal(0, scale), "conc": 0.0}
        for _ in range(k)
    ]  # fmt: skip
    for p in book:
        p["conc"] = abs(p["mv"])
    c = {
        "unit_cost": rng.uniform(20, 500), "unit_delta_d": rng.normal(0, 200),
        "unit_gamma_d": rng.normal(0, 20), "unit_vega10": rng.normal(0, 30),
        "unit_theta": rng.normal(0, 2), "unit_mv": rng.normal(0, 200),
        "symbol": int(rng.integers(N_SYM)), "sector": int(rng.integers(N_SEC)),
        "strategy": int(rng.integers(N_STRAT)), "units": float(rng.integers(0, 400)),
    }  # fmt: skip
    c["unit_conc"] = abs(c["unit_mv"])
    st_exp = np.zeros(N_STRAT)
    for p in book:
        st_exp[p["strategy"]] += abs(p["mv"])
    capacity = st_exp + rng.uniform(0, 3e4, N_STRAT)
    cash = float(rng.uniform(0, 5e4))
    return closes, equity, cash, book, c, st_exp, capacity


def arrays(book):
    def a(key, dt=np.float64):
        return np.array([p[key] for p in book], dtype=dt)

    return (
        a("symbol", np.int64), a("sector", np.int64), a("strategy", np.int64), a("delta_d"),
        a("gamma_d"), a("vega10"), a("theta"), a("mv"), a("conc"),
    )  # fmt: skip


def call_decide(world, cfg, units=None):
    closes, equity, cash, book, c, st_exp, capacity = world
    return decide_nb(
        c["units"] if units is None else units, candidate(c), records.FlatBook(*arrays(book)),
        records.Room(equity, cash, len(book), st_exp, capacity), closes, T, params_of(cfg),
    )  # fmt: skip


def candidate(c):
    return records.Candidate(
        c["unit_cost"], c["unit_delta_d"], c["unit_gamma_d"], c["unit_vega10"], c["unit_theta"],
        c["unit_mv"], c["unit_conc"], c["symbol"], c["sector"], c["strategy"],
    )  # fmt: skip


def params_of(cfg):
    return make_params(np.zeros(records.BP_LEN), cfg.to_kernel())


def with_candidate(book, c, u):
    new = {"symbol": c["symbol"], "sector": c["sector"], "strategy": c["strategy"],
           "delta_d": u * c["unit_delta_d"], "gamma_d": u * c["unit_gamma_d"],
           "vega10": u * c["unit_vega10"], "theta": u * c["unit_theta"], "mv": u * c["unit_mv"],
           "conc": u * c["unit_conc"]}  # fmt: skip
    return [*book, new]


def breaches(world, cfg, u):
    """Reason bits the reference finds for u units (limits fire only on magnitude increases)."""
    closes, equity, cash, book, c, st_exp, capacity = world
    cur = ref_exposures(book, equity, closes, T, W)
    new = ref_exposures(with_candidate(book, c, u), equity, closes, T, W)
    out = set()
    if u <= 0:
        return out
    for bit, key in LIMITS.items():
        lim = limit_of(cfg, bit)
        if abs(new[key]) > lim * (1 + EXACT) and abs(new[key]) > abs(cur[key]) * (1 + EXACT):
            out.add(bit)
    lim = cfg.risk_limits
    if u * c["unit_conc"] / equity > lim.max_concentration_pct / 100 * (1 + EXACT):
        out.add(codes.R_CONCENTRATION)
    sector = sum(abs(p["mv"]) for p in book if p["sector"] == c["sector"]) + u * abs(c["unit_mv"])
    if sector / equity > lim.max_sector_exposure_pct / 100 * (1 + EXACT):
        out.add(codes.R_SECTOR)
    if st_exp[c["strategy"]] + u * c["unit_cost"] > capacity[c["strategy"]] * (1 + EXACT):
        out.add(codes.R_STRATEGY_CAPACITY)
    if u * c["unit_cost"] > cash * (1 + EXACT):
        out.add(codes.R_CASH)
    return out


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 10))
def test_approved_trade_never_breaks_a_limit(seed, k):
    world = random_world(seed, k)
    cfg = config(scale=False)
    units, reason, _, proj = call_decide(world, cfg)
    found = breaches(world, cfg, units)
    bits = set(codes.mask_bits(int(reason))) - {codes.R_ZERO_SIZE}
    if reason == 0 and units > 0:
        assert not found
    # every bit the kernel sets is a real breach and vice versa (up to rounding at the edge)
    edge = breaches(world, config(False), units * (1 + 1e-7)) ^ breaches(
        world, config(False), units * (1 - 1e-7)
    )
    assert bits ^ found <= edge
    closes, equity, _, book, c, _, _ = world
    want = ref_exposures(with_candidate(book, c, units), equity, closes, T, W)
    assert proj[codes.EXP_DELTA] == pytest.approx(want["delta"], rel=1e-9, abs=1e-12)
    assert proj[codes.EXP_VAR95] == pytest.approx(want["var95"], rel=1e-9, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 10))
def test_scale_to_fit_gives_the_largest_size_that_fits(seed, k):
    world = random_world(seed, k)
    requested = world[4]["units"]
    units, reason, warn, _ = call_decide(world, config(scale=True))
    if reason == 0 and units > 0:
        assert units <= requested
        assert not breaches(world, config(False), units)
        if units < requested:
            assert warn >> codes.W_SCALED_DOWN & 1
            assert breaches(world, config(False), units + 1)
    elif not reason & ((1 << codes.R_ZERO_SIZE) | (1 << codes.R_NO_PRICE)):
        assert breaches(world, config(False), 1.0)  # not even one unit fits


def test_hedge_is_allowed_past_the_delta_limit():
    world = random_world(1, 0)
    closes, equity, _cash, _, c, st_exp, _cap = world
    book = [{"symbol": 0, "sector": 0, "strategy": 0, "delta_d": 5e4, "gamma_d": 0.0,
             "vega10": 0.0, "theta": 0.0, "mv": 5e3, "conc": 5e3}]  # fmt: skip
    c.update(unit_delta_d=-100.0, unit_mv=10.0, unit_conc=10.0, unit_gamma_d=0.0,
             unit_vega10=0.0, unit_cost=10.0, units=100.0, sector=1)  # fmt: skip
    world = (closes, equity, 1e6, book, c, st_exp, np.full(N_STRAT, np.inf))
    _units, reason, _, proj = call_decide(world, config(False))
    assert proj[codes.EXP_DELTA] == pytest.approx(0.4)  # still above 30 %, but reduced
    assert not reason >> codes.R_DELTA & 1
    c["unit_delta_d"] = 100.0  # the same size adding delta is rejected
    assert call_decide(world, config(False))[1] >> codes.R_DELTA & 1


def test_structural_reasons_and_warnings():
    world = random_world(2, 3)
    closes, equity, _cash, book, c, _st_exp, _cap = world
    c.update(unit_delta_d=270.0, unit_gamma_d=0.0, unit_vega10=0.0, unit_mv=100.0,
             unit_conc=100.0, unit_cost=100.0, units=100.0)  # fmt: skip
    for p in book:
        p.update(delta_d=0.0, gamma_d=0.0, vega10=0.0, mv=0.0, conc=0.0)
    world = (closes, equity, 1e6, book, c, np.zeros(N_STRAT), np.full(N_STRAT, np.inf))
    cfg = config(False)
    cfg.risk_limits.max_var_pct = 100.0
    _units, reason, warn, _proj = call_decide(world, cfg)
    assert reason == 0  # delta 27 % < 30 %
    assert warn >> codes.R_DELTA & 1  # but past 80 % of it
    assert call_decide(world, config(False, max_positions=3))[1] >> codes.R_MAX_POSITIONS & 1
    assert call_decide(world, cfg, units=0.0)[1] == 1 << codes.R_ZERO_SIZE
    c["unit_cost"] = np.nan
    assert call_decide(world, cfg)[1] == 1 << codes.R_NO_PRICE


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 10))
def test_context_and_batch_agree_with_decide_nb(seed, k):
    world = random_world(seed, k)
    closes, equity, cash, book, c, st_exp, capacity = world
    cfg = config(True)
    pp = params_of(cfg)
    pos = arrays(book)
    ctx = book_context_nb(records.FlatBook(*pos), N_SEC, closes, T, W)
    a = call_decide(world, cfg)
    b = decide_ctx_nb(
        c["units"], candidate(c), records.Context(ctx[0], ctx[1], ctx[3], ctx[4]),
        records.Room(equity, cash, len(book), st_exp, capacity), pp, np.zeros(codes.N_EXPOSURES),
    )  # fmt: skip
    assert a[:3] == b[:3]
    np.testing.assert_allclose(a[3], b[3], rtol=1e-9, atol=1e-12)
    # sequential batch of three copies of the candidate == decide_nb on the growing book
    n = 3
    one = lambda key: np.full(n, c[key])  # noqa: E731
    pp.sizing_method = codes.SIZE_FIXED_DOLLAR
    pp.fixed_dollar_amount = 3000.0
    cands = records.CandidateBlock(
        one("unit_cost"), one("unit_cost"), one("unit_cost"), one("unit_delta_d"),
        one("unit_gamma_d"), one("unit_vega10"), one("unit_theta"), one("unit_mv"),
        one("unit_conc"), np.full(n, c["symbol"]), np.full(n, c["sector"]),
        np.full(n, c["strategy"]),
    )  # fmt: skip
    kelly = (np.zeros(N_STRAT), np.zeros(N_STRAT), np.zeros(N_STRAT, np.int64))
    room = records.Room(equity, cash, len(book), st_exp, capacity)
    units, reason, _, _ = decide_many_nb(room, cands, kelly, ctx, pp, True)
    cur_book, cur_cash, cur_exp = list(book), cash, st_exp.copy()
    for i in range(n):
        size = float(np.floor(3000.0 / c["unit_cost"]))
        size = min(size, np.floor(equity * 0.1 / c["unit_cost"]))
        size = min(size, np.floor(equity * 0.02 / c["unit_cost"]))
        w = (closes, equity, cur_cash, cur_book, c, cur_exp, capacity)
        u, r, _, _ = call_decide(w, cfg, units=size)
        assert (units[i], reason[i]) == (u, r)
        if r == 0 and u > 0:
            cur_book = with_candidate(cur_book, c, u)
            cur_cash -= u * c["unit_cost"]
            cur_exp = cur_exp.copy()
            cur_exp[c["strategy"]] += u * c["unit_cost"]
