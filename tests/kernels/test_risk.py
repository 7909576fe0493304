from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.portfolio_reference import ref_exposures
from scipy.stats import norm

from dollarbill_research.kernels import codes
from dollarbill_research.kernels.pricing_nb import bs_greeks_nb
from dollarbill_research.kernels.records import FlatBook
from dollarbill_research.kernels.risk_nb import book_exposures_nb, var_nb

KEYS = {
    "delta": codes.EXP_DELTA, "gamma": codes.EXP_GAMMA, "vega": codes.EXP_VEGA,
    "theta": codes.EXP_THETA, "concentration": codes.EXP_CONCENTRATION,
    "sector": codes.EXP_SECTOR, "var95": codes.EXP_VAR95, "var99": codes.EXP_VAR99,
    "gross": codes.EXP_GROSS, "net": codes.EXP_NET, "diversification": codes.EXP_DIVERSIFICATION,
}  # fmt: skip
NO_CLOSES = np.full((1, 4), np.nan)


def exposures(book, equity, closes=NO_CLOSES, t=0, window=60, n_sectors=4):
    arr = lambda k, dt=np.float64: np.array([p[k] for p in book], dtype=dt)  # noqa: E731
    flat = FlatBook(
        arr("symbol", np.int64), arr("sector", np.int64), np.zeros(len(book), np.int64),
        arr("delta_d"), arr("gamma_d"), arr("vega10"), arr("theta"), arr("mv"), arr("conc"),
    )  # fmt: skip
    return book_exposures_nb(flat, equity, n_sectors, closes, t, window)


def leg(symbol, sector, qty, is_call, s, k, t=30 / 365, sigma=0.3, max_loss=None):
    """A position of qty contracts (negative = short), Greeks from BSM at r=q=0."""
    price, delta, gamma, vega, theta, _ = bs_greeks_nb(is_call, s, k, t, 0.0, 0.0, sigma)
    m = 100.0 * qty
    mv = price * m
    return {
        "symbol": symbol, "sector": sector, "delta_d": delta * m * s,
        "gamma_d": gamma * m * s * s * 0.01, "vega10": vega * m * 10, "theta": theta * m,
        "mv": mv, "conc": abs(mv) if max_loss is None else max_loss,
    }  # fmt: skip


def stock(symbol, sector, qty, price):
    mv = qty * price
    return {"symbol": symbol, "sector": sector, "delta_d": mv, "gamma_d": 0.0, "vega10": 0.0,
            "theta": 0.0, "mv": mv, "conc": abs(mv)}  # fmt: skip


def test_stock_only_book_by_hand():
    book = [stock(0, 0, 100, 150.0), stock(1, 0, -50, 200.0), stock(2, 1, 200, 25.0)]
    ex = exposures(book, 100_000.0)
    # delta = (15000 - 10000 + 5000) / 100000; gross = 30000; sector 0 = 25000
    assert ex[codes.EXP_DELTA] == pytest.approx(0.10)
    assert ex[codes.EXP_NET] == pytest.approx(0.10)
    assert ex[codes.EXP_GROSS] == pytest.approx(0.30)
    assert ex[codes.EXP_CONCENTRATION] == pytest.approx(0.15)
    assert ex[codes.EXP_SECTOR] == pytest.approx(0.25)
    assert ex[codes.EXP_GAMMA] == ex[codes.EXP_VEGA] == ex[codes.EXP_THETA] == 0.0
    # (sum |mv|)^2 / sum mv^2 = 30000^2 / (15000^2 + 10000^2 + 5000^2)
    assert ex[codes.EXP_DIVERSIFICATION] == pytest.approx(9e8 / 3.5e8)
    assert ex[codes.EXP_VAR95] == 0.0  # no price history


def test_long_calls_by_hand_with_scipy_greeks():
    s, k, t, sig = 100.0, 100.0, 30 / 365, 0.3
    d1 = (np.log(s / k) + 0.5 * sig**2 * t) / (sig * np.sqrt(t))
    delta, gamma = norm.cdf(d1), norm.pdf(d1) / (s * sig * np.sqrt(t))
    vega = s * norm.pdf(d1) * np.sqrt(t) / 100
    ex = exposures([leg(0, 0, 10, True, s, k, t, sig)], 50_000.0)
    assert ex[codes.EXP_DELTA] == pytest.approx(delta * 1000 * s / 50_000, rel=1e-9)
    assert ex[codes.EXP_GAMMA] == pytest.approx(gamma * 1000 * s * s * 0.01 / 50_000, rel=1e-9)
    assert ex[codes.EXP_VEGA] == pytest.approx(vega * 1000 * 10 / 50_000, rel=1e-9)
    assert ex[codes.EXP_THETA] < 0


def test_short_puts_signs():
    ex = exposures([leg(0, 0, -5, False, 100.0, 95.0)], 50_000.0)
    assert ex[codes.EXP_DELTA] > 0  # short put is long delta
    assert ex[codes.EXP_GAMMA] < 0
    assert ex[codes.EXP_VEGA] < 0
    assert ex[codes.EXP_THETA] > 0
    assert ex[codes.EXP_NET] < 0  # a short option is a liability


def test_iron_condor_defined_risk_concentration():
    s = 100.0
    legs = [leg(0, 0, -2, False, s, 95), leg(0, 0, 2, False, s, 90),
            leg(0, 0, -2, True, s, 105), leg(0, 0, 2, True, s, 115)]  # fmt: skip
    credit = -sum(p["mv"] for p in legs) / 200  # per share
    max_loss = (10.0 - credit) * 100 * 2  # widest wing (call side, 10 wide), 2 condors
    condor = {key: sum(p[key] for p in legs) for key in ("delta_d", "gamma_d", "vega10", "theta",
                                                          "mv")}  # fmt: skip
    condor |= {"symbol": 0, "sector": 0, "conc": max_loss}
    ex = exposures([condor], 100_000.0)
    assert ex[codes.EXP_CONCENTRATION] == pytest.approx(max_loss / 100_000)
    assert abs(ex[codes.EXP_DELTA]) < 0.02
    assert ex[codes.EXP_VEGA] < 0
    assert ex[codes.EXP_THETA] > 0


def make_closes(rng, n_bars, n_sym, missing=True):
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_bars, n_sym)), axis=0))
    if missing:
        closes[rng.random(closes.shape) < 0.1] = np.nan
    return closes


def test_var_matches_numpy_covariance_complete_data():
    rng = np.random.default_rng(5)
    closes = make_closes(rng, 120, 6, missing=False)
    syms = np.array([0, 2, 2, 5], dtype=np.int64)
    dd = np.array([1e4, -3e3, 8e3, 2e4])
    rets = closes[1:] / closes[:-1] - 1  # row i is the return of bar i+1
    t, w = 100, 60
    window = rets[t - w : t]  # bars t-59..t
    cov = np.cov(window, rowvar=False, ddof=1)
    d = np.bincount(syms, dd, minlength=6)
    var95, var99 = var_nb(closes, t, w, syms, dd)
    sd = np.sqrt(d @ cov @ d)
    assert var95 == pytest.approx(norm.ppf(0.95) * sd, rel=1e-10)
    assert var99 == pytest.approx(norm.ppf(0.99) * sd, rel=1e-10)


def test_var_short_history_and_empty_book():
    closes = make_closes(np.random.default_rng(1), 10, 3)
    assert var_nb(closes, 0, 60, np.array([0], np.int64), np.array([1e4])) == (0.0, 0.0)
    assert var_nb(closes, 9, 60, np.zeros(0, np.int64), np.zeros(0)) == (0.0, 0.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 12), t=st.integers(0, 79),
       window=st.integers(2, 60))  # fmt: skip
def test_random_books_match_reference(seed, k, t, window):
    rng = np.random.default_rng(seed)
    closes = make_closes(rng, 80, 5)
    book = [
        {
            "symbol": int(rng.integers(5)),
            "sector": int(rng.integers(3)),
            "delta_d": rng.normal(0, 1e4),
            "gamma_d": rng.normal(0, 1e3),
            "vega10": rng.normal(0, 1e3),
            "theta": rng.normal(0, 50),
            "mv": rng.normal(0, 1e4),
            "conc": abs(rng.normal(0, 1e4)),
        }
        for _ in range(k)
    ]
    equity = float(rng.uniform(1e4, 1e6))
    got = exposures(book, equity, closes, t, window, n_sectors=3)
    want = ref_exposures(book, equity, closes, t, window)
    for key, e in KEYS.items():
        assert got[e] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key


def test_nonpositive_equity_gives_zeros():
    assert not exposures([stock(0, 0, 10, 10.0)], 0.0).any()
