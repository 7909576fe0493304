"""Public pricing wrappers: input kinds, broadcasting, validation, polars expressions, peers."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import polars as pl
import pytest

from dollarbill_research import pricing
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels.pricing_nb import bs_greeks_nb
from dollarbill_research.pricing import (
    GREEK_NAMES,
    Greeks,
    bs_greeks,
    bs_price,
    bs_price_expr,
    greeks_expr,
    implied_vol,
    implied_vol_expr,
)


def test_module_doctests_pass():
    result = doctest.testmod(pricing, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8
    assert result.failed == 0


def test_scalars_give_floats_and_spec_values():
    call = bs_greeks(100.0, 100.0, 1.0, 0.05, 0.2)
    assert isinstance(call, Greeks)
    assert all(isinstance(v, float) for v in call.to_dict().values())
    assert call.price == pytest.approx(10.450584, abs=5e-7)
    assert bs_price(100, 100, 1, 0.05, 0.2, is_call="put") == pytest.approx(5.573526, abs=5e-7)
    with pytest.raises(AttributeError):
        call.price = 1.0  # type: ignore[misc]


def test_arrays_broadcast_and_match_scalar_kernel():
    s = np.array([[90.0], [100.0], [110.0]])
    k = np.array([80.0, 95.0, 100.0, 130.0])
    g = bs_greeks(s, k, 0.5, 0.03, 0.25, q=0.01, is_call=np.array([True, False, True, False]))
    assert g.price.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            want = bs_greeks_nb(j % 2 == 0, s[i, 0], k[j], 0.5, 0.03, 0.01, 0.25)
            got = tuple(getattr(g, n)[i, j] for n in GREEK_NAMES)
            assert got == want
    p = bs_price(s, k, 0.5, 0.03, 0.25, q=0.01, is_call=["call", "PUT", "c", "p"])
    np.testing.assert_array_equal(p, g.price)


def test_series_in_series_out():
    s = pl.Series("close", [95.0, 100.0, 105.0])
    g = bs_greeks(s, 100.0, 0.25, 0.04, 0.3)
    assert isinstance(g.delta, pl.Series)
    assert g.delta.name == "delta"
    np.testing.assert_array_equal(
        g.price.to_numpy(), bs_price(s.to_numpy(), 100.0, 0.25, 0.04, 0.3)
    )
    iv = implied_vol(g.price, s, 100.0, 0.25, 0.04)
    assert isinstance(iv, pl.Series)
    np.testing.assert_allclose(iv.to_numpy(), 0.3, atol=1e-12)


def test_parallel_and_serial_paths_agree():
    rng = np.random.default_rng(1)
    s = rng.uniform(50, 150, 2000)
    a = bs_greeks(s, 100.0, 0.3, 0.02, 0.4, is_call=s > 100, parallel=False)
    b = bs_greeks(s, 100.0, 0.3, 0.02, 0.4, is_call=s > 100, parallel=True)
    for n in GREEK_NAMES:
        np.testing.assert_array_equal(getattr(a, n), getattr(b, n))
    iv_a = implied_vol(a.price, s, 100.0, 0.3, 0.02, is_call=s > 100, parallel=False)
    iv_b = implied_vol(a.price, s, 100.0, 0.3, 0.02, is_call=s > 100, parallel=True)
    np.testing.assert_array_equal(iv_a, iv_b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"s": -1.0}, r"s=-1\.0 at position 0 must be finite and > 0"),
        ({"k": np.array([100.0, 0.0])}, r"k=0\.0 at position 1"),
        ({"s": np.inf}, r"s=inf"),
        ({"is_call": "straddle"}, r"is_call='straddle'"),
        ({"is_call": np.array([0.5])}, r"is_call has dtype float64"),
        ({"s": np.ones(3), "k": np.ones(4)}, r"do not broadcast"),
        ({"s": "abc"}, r"must be numeric"),
    ],
)
def test_bad_inputs_raise_data_error_naming_the_argument(kwargs, match):
    args = {"s": 100.0, "k": 100.0, "t": 1.0, "r": 0.05, "sigma": 0.2, "is_call": True} | kwargs
    with pytest.raises(DataError, match=match):
        bs_greeks(
            args["s"], args["k"], args["t"], args["r"], args["sigma"], is_call=args["is_call"]
        )
    assert issubclass(DataError, ValueError)


def test_implied_vol_validates_spot_and_strike():
    with pytest.raises(DataError, match="k="):
        implied_vol(5.0, 100.0, -5.0, 1.0, 0.05)


def test_nan_inputs_propagate_as_nan():
    g = bs_greeks(np.array([100.0, np.nan]), 100.0, np.array([1.0, 1.0]), 0.05, 0.2)
    assert not np.isnan(g.price[0])
    assert all(np.isnan(getattr(g, n)[1]) for n in GREEK_NAMES)
    assert math.isnan(bs_price(100.0, 100.0, 1.0, 0.05, math.nan))
    assert math.isnan(implied_vol(math.nan, 100.0, 100.0, 1.0, 0.05))


def test_implied_vol_outside_bounds_is_nan():
    lower = 100.0 - 100.0 * math.exp(-0.05)  # discounted forward intrinsic of the ATM call
    iv = implied_vol(np.array([-1.0, 2.0, lower, 10.0, 100.0, 150.0]), 100.0, 100.0, 1.0, 0.05)
    assert math.isnan(iv[0])
    assert math.isnan(iv[1])  # below the lower bound
    assert iv[2] == 0.0  # at the lower bound: the zero-vol limit
    assert iv[3] == pytest.approx(0.2, abs=0.02)  # 10.45 is the 20 % price
    assert math.isnan(iv[4])  # a call worth the spot needs infinite vol
    assert math.isnan(iv[5])


def _frame():
    rng = np.random.default_rng(5)
    n = 200
    close = rng.uniform(80, 120, n)
    return pl.DataFrame(
        {
            "close": close,
            "strike": np.round(close * rng.uniform(0.8, 1.2, n)),
            "t": rng.uniform(0.02, 1.5, n),
            "iv": rng.uniform(0.1, 0.9, n),
            "is_call": rng.random(n) < 0.5,
        }
    )


def test_greeks_expr_adds_columns_equal_to_array_api():
    df = _frame()
    out = df.with_columns(
        greeks_expr("close", "strike", "t", 0.04, "iv", q=0.01, is_call="is_call")
    ).unnest("greeks")
    want = bs_greeks(
        df["close"].to_numpy(),
        df["strike"].to_numpy(),
        df["t"].to_numpy(),
        0.04,
        df["iv"].to_numpy(),
        q=0.01,
        is_call=df["is_call"].to_numpy(),
    )
    for n in GREEK_NAMES:
        np.testing.assert_array_equal(out[n].to_numpy(), getattr(want, n))


def test_price_and_iv_expressions_round_trip_in_a_frame():
    df = _frame().with_columns(
        bs_price_expr("close", "strike", "t", 0.04, "iv", is_call=pl.col("is_call"))
    )
    np.testing.assert_array_equal(
        df["price"].to_numpy(),
        bs_price(
            df["close"], df["strike"], df["t"], 0.04, df["iv"], is_call=df["is_call"]
        ).to_numpy(),
    )
    back = df.with_columns(
        implied_vol_expr("price", "close", "strike", "t", 0.04, is_call="is_call")
    )
    np.testing.assert_allclose(back["iv"].to_numpy(), df["iv"].to_numpy(), atol=1e-10)
    puts = df.select(bs_price_expr("close", "strike", "t", 0.04, "iv", is_call="put"))
    np.testing.assert_array_equal(
        puts["price"].to_numpy(),
        bs_price(df["close"], df["strike"], df["t"], 0.04, df["iv"], is_call=False).to_numpy(),
    )


def test_agrees_with_py_vollib_when_installed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bsm = pytest.importorskip("py_vollib.black_scholes_merton")
        an = pytest.importorskip("py_vollib.black_scholes_merton.greeks.analytical")
        ivm = pytest.importorskip("py_vollib.black_scholes_merton.implied_volatility")
    rng = np.random.default_rng(11)
    for _ in range(200):
        flag = "c" if rng.random() < 0.5 else "p"
        s, k = rng.uniform(50, 150), rng.uniform(50, 150)
        t, r, q, sg = (
            rng.uniform(0.02, 2),
            rng.uniform(0, 0.1),
            rng.uniform(0, 0.05),
            rng.uniform(0.1, 1),
        )
        g = bs_greeks(s, k, t, r, sg, q=q, is_call=flag)
        assert g.price == pytest.approx(bsm.black_scholes_merton(flag, s, k, t, r, sg, q), abs=1e-9)
        for name in ("delta", "gamma", "vega", "theta", "rho"):
            ref = getattr(an, name)(flag, s, k, t, r, sg, q)
            assert getattr(g, name) == pytest.approx(ref, rel=1e-9, abs=1e-9), name
        if g.vega > 1e-3:
            ref_iv = ivm.implied_volatility(g.price, s, k, t, r, q, flag)
            assert implied_vol(g.price, s, k, t, r, q=q, is_call=flag) == pytest.approx(
                ref_iv, abs=1e-8
            )
