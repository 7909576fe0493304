"""BSM kernels against an independent scipy closed form, finite differences and parity.

Tolerance for the closed-form comparison: ``|got - want| <= 1e-9 * max(1, |want|)`` (absolute
1e-9 dollars/units for values below 1, relative 1e-9 above). Finite differences are a second,
formula-free reference with looser tolerances set by the truncation error of the stencils.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from dollarbill_research.kernels.pricing_nb import (
    bs_greeks_nb,
    bs_greeks_vec_nb,
    bs_greeks_vec_par_nb,
    bs_price_nb,
    bs_price_vec_nb,
    bs_price_vec_par_nb,
    norm_cdf_nb,
    norm_pdf_nb,
)

TOL = 1e-9


def closed_form(is_call, s, k, t, r, q, sigma):
    """Textbook BSM with scipy's normal; vega/rho per point, theta per calendar day."""
    d1 = (math.log(s / k) + (r - q + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    fs, fk = s * math.exp(-q * t), k * math.exp(-r * t)
    gamma = fs * norm.pdf(d1) / (s * s * sigma * math.sqrt(t))
    vega = fs * norm.pdf(d1) * math.sqrt(t) / 100
    decay = -fs * norm.pdf(d1) * sigma / (2 * math.sqrt(t))
    if is_call:
        price = fs * norm.cdf(d1) - fk * norm.cdf(d2)
        delta = math.exp(-q * t) * norm.cdf(d1)
        theta = decay - r * fk * norm.cdf(d2) + q * fs * norm.cdf(d1)
        rho = t * fk * norm.cdf(d2) / 100
    else:
        price = fk * norm.cdf(-d2) - fs * norm.cdf(-d1)
        delta = -math.exp(-q * t) * norm.cdf(-d1)
        theta = decay + r * fk * norm.cdf(-d2) - q * fs * norm.cdf(-d1)
        rho = -t * fk * norm.cdf(-d2) / 100
    return price, delta, gamma, vega, theta / 365, rho


def close(got, want, tol=TOL):
    return abs(got - want) <= tol * max(1.0, abs(want))


option = st.tuples(
    st.booleans(),
    st.floats(1.0, 1000.0),  # s
    st.floats(0.3, 3.0),  # k / s
    st.floats(1 / 365, 5.0),  # t
    st.floats(-0.02, 0.15),  # r
    st.floats(0.0, 0.1),  # q
    st.floats(0.01, 3.0),  # sigma
).map(lambda o: (o[0], o[1], o[1] * o[2], *o[3:]))


def test_norm_helpers_match_scipy():
    # In the far tail any double-precision CDF has relative error ~ eps * x^2 (the rounding of
    # x itself is amplified by d ln N / d ln x ~ x^2), scipy's included; hence the scaled tol.
    for x in np.linspace(-38.0, 9.0, 2001):
        tol = 1e-15 * max(1.0, x * x)
        assert norm_cdf_nb(x) == pytest.approx(norm.cdf(x), rel=tol, abs=1e-300)
        assert norm_pdf_nb(x) == pytest.approx(norm.pdf(x), rel=tol, abs=1e-300)


def test_spec_reference_values():
    price, delta, gamma, vega, _, _ = bs_greeks_nb(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2)
    assert round(price, 6) == 10.450584
    assert round(delta, 6) == 0.636831
    assert round(gamma, 6) == 0.018762
    assert round(vega, 6) == 0.375240
    assert round(bs_greeks_nb(False, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2)[0], 6) == 5.573526


@settings(max_examples=300, deadline=None)
@given(option)
def test_greeks_match_scipy_closed_form(opt):
    got = bs_greeks_nb(*opt)
    want = closed_form(*opt)
    for name, g, w in zip(
        ("price", "delta", "gamma", "vega", "theta", "rho"), got, want, strict=True
    ):
        assert close(g, w), (name, g, w)
    assert close(bs_price_nb(*opt), want[0])


@settings(max_examples=150, deadline=None)
@given(option)
def test_greeks_match_finite_differences(opt):
    is_call, s, k, t, r, q, sigma = opt
    if t < 0.02 or sigma < 0.05:  # keep the stencils away from the kinks they cannot resolve
        return
    _, delta, gamma, vega, theta, rho = bs_greeks_nb(*opt)

    def p(s_=s, t_=t, r_=r, sg=sigma):
        return bs_price_nb(is_call, s_, k, t_, r_, q, sg)

    # Richardson extrapolation of the central differences cancels their h^2 truncation term,
    # which deep out of the money (large third/fourth derivatives) exceeds the tolerances.
    def d1(h: float) -> float:
        return (p(s + h) - p(s - h)) / (2 * h)

    def d2(h: float) -> float:
        return (p(s + h) - 2 * p(s) + p(s - h)) / h**2

    # Steps scale with the distribution's width s*sigma*sqrt(t), where the price curves.
    width = s * sigma * math.sqrt(t)
    h = 1e-3 * width
    assert delta == pytest.approx((4 * d1(h / 2) - d1(h)) / 3, rel=1e-6, abs=1e-7)
    hg = 1e-2 * width
    assert gamma == pytest.approx((4 * d2(hg / 2) - d2(hg)) / 3, rel=1e-4, abs=1e-7)
    hv = 1e-5
    assert vega == pytest.approx(
        (p(sg=sigma + hv) - p(sg=sigma - hv)) / (2 * hv) / 100, rel=1e-6, abs=1e-8
    )
    ht = 1e-6 * t
    fd_theta = -(p(t_=t + ht) - p(t_=t - ht)) / (2 * ht) / 365
    assert theta == pytest.approx(fd_theta, rel=1e-5, abs=1e-8)
    hr = 1e-6
    assert rho == pytest.approx((p(r_=r + hr) - p(r_=r - hr)) / (2 * hr) / 100, rel=1e-6, abs=1e-8)


@settings(max_examples=200, deadline=None)
@given(option)
def test_put_call_parity(opt):
    _, s, k, t, r, q, sigma = opt
    c = bs_greeks_nb(True, s, k, t, r, q, sigma)
    p = bs_greeks_nb(False, s, k, t, r, q, sigma)
    fs, fk = s * math.exp(-q * t), k * math.exp(-r * t)
    scale = max(1.0, fs, fk)
    assert abs((c[0] - p[0]) - (fs - fk)) <= 1e-12 * scale * 8
    assert c[1] - p[1] == pytest.approx(math.exp(-q * t), abs=1e-14)
    assert c[2] == pytest.approx(p[2], rel=1e-14)
    assert c[3] == pytest.approx(p[3], rel=1e-14)
    assert c[4] - p[4] == pytest.approx((q * fs - r * fk) / 365, abs=1e-12 * scale)
    assert c[5] - p[5] == pytest.approx(t * fk / 100, abs=1e-12 * scale)


@pytest.mark.parametrize("t", [0.0, -0.5])
@pytest.mark.parametrize(("s", "k"), [(110.0, 100.0), (90.0, 100.0), (100.0, 100.0)])
def test_expired_is_intrinsic_with_step_delta(t, s, k):
    call = bs_greeks_nb(True, s, k, t, 0.05, 0.02, 0.3)
    put = bs_greeks_nb(False, s, k, t, 0.05, 0.02, 0.3)
    assert call == (max(s - k, 0.0), 1.0 if s > k else 0.0, 0.0, 0.0, 0.0, 0.0)
    assert put == (max(k - s, 0.0), -1.0 if s < k else 0.0, 0.0, 0.0, 0.0, 0.0)
    assert bs_price_nb(True, s, k, t, 0.05, 0.02, 0.3) == call[0]


@pytest.mark.parametrize("sigma", [0.0, -0.2])
@pytest.mark.parametrize(
    ("is_call", "k"), [(True, 80.0), (True, 120.0), (False, 80.0), (False, 120.0)]
)
def test_zero_vol_is_discounted_forward_intrinsic(sigma, is_call, k):
    s, t, r, q = 100.0, 0.75, 0.05, 0.02
    sign = 1.0 if is_call else -1.0

    def fwd_intrinsic(s_=s, t_=t, r_=r):
        return max(sign * (s_ * math.exp(-q * t_) - k * math.exp(-r_ * t_)), 0.0)

    price, delta, gamma, vega, theta, rho = bs_greeks_nb(is_call, s, k, t, r, q, sigma)
    assert price == pytest.approx(fwd_intrinsic(), rel=1e-14)
    assert bs_price_nb(is_call, s, k, t, r, q, sigma) == pytest.approx(price, rel=1e-14)
    assert gamma == 0.0
    assert vega == 0.0
    h = 1e-5
    assert delta == pytest.approx((fwd_intrinsic(s + h) - fwd_intrinsic(s - h)) / (2 * h), abs=1e-8)
    fd_theta = -(fwd_intrinsic(t_=t + h) - fwd_intrinsic(t_=t - h)) / (2 * h) / 365
    assert theta == pytest.approx(fd_theta, abs=1e-8)
    assert rho == pytest.approx(
        (fwd_intrinsic(r_=r + h) - fwd_intrinsic(r_=r - h)) / (2 * h) / 100, abs=1e-8
    )
    # the limit is continuous: a tiny positive vol gives the same price
    assert bs_price_nb(is_call, s, k, t, r, q, 1e-9) == pytest.approx(price, abs=1e-9)


def test_extreme_inputs_never_nan():
    for is_call in (True, False):
        for k in (1e-4, 1.0, 100.0, 1e4, 1e7):
            for t in (1e-9, 1e-4, 1.0, 50.0):
                for sigma in (1e-12, 1e-4, 0.2, 5.0, 50.0):
                    out = bs_greeks_nb(is_call, 100.0, k, t, 0.05, 0.03, sigma)
                    assert all(math.isfinite(v) for v in out), (is_call, k, t, sigma, out)
                    assert out[0] >= 0.0


def test_nan_input_gives_nan_output():
    args = [100.0, 100.0, 1.0, 0.05, 0.01, 0.2]
    for i in range(len(args)):
        bad = list(args)
        bad[i] = math.nan
        assert all(math.isnan(v) for v in bs_greeks_nb(True, *bad)), i
        assert math.isnan(bs_price_nb(False, *bad)), i


def _random_batch(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.uniform(10, 500, n)
    return (
        rng.random(n) < 0.5,
        s,
        s * rng.uniform(0.5, 2.0, n),
        np.where(rng.random(n) < 0.05, 0.0, rng.uniform(1 / 365, 3, n)),
        rng.uniform(-0.01, 0.1, n),
        rng.uniform(0, 0.05, n),
        np.where(rng.random(n) < 0.05, 0.0, rng.uniform(0.05, 2, n)),
    )


def test_vector_and_parallel_kernels_equal_scalar_kernel():
    args = _random_batch(5000, 7)
    serial = np.empty((6, 5000))
    threaded = np.empty((6, 5000))
    bs_greeks_vec_nb(*args, serial)
    bs_greeks_vec_par_nb(*args, threaded)
    want = np.array([bs_greeks_nb(*(a[i] for a in args)) for i in range(5000)]).T
    for j in range(6):
        np.testing.assert_array_equal(serial[j], want[j])
        np.testing.assert_array_equal(threaded[j], want[j])
    prices = np.empty(5000)
    prices_par = np.empty(5000)
    bs_price_vec_nb(*args, prices)
    bs_price_vec_par_nb(*args, prices_par)
    np.testing.assert_allclose(prices, want[0], rtol=1e-15, atol=1e-13)
    np.testing.assert_array_equal(prices_par, prices)


def test_int8_option_flags_work_like_bools():
    args = _random_batch(100, 3)
    as_int = (args[0].astype(np.int8), *args[1:])
    a = np.empty((6, 100))
    b = np.empty((6, 100))
    bs_greeks_vec_nb(*args, a)
    bs_greeks_vec_nb(*as_int, b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
