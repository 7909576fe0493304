"""The step kernel's covariance cache equals the from-scratch risk kernels, bit for bit.

``quad_form_ws_nb`` (block of covariance rows, cached per bar) against ``quad_form_nb`` over
``window_returns_nb``; ``ctx_cd_nb`` (one row against the held symbols) against
``sum_j d_j C_js`` written here with ``pair_cov_nb``; and a small hand-computed covariance.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.kernels.context_nb import ctx_begin_nb, ctx_cd_nb
from dollarbill_research.kernels.records import BF_DELTA, BI_SYMBOL
from dollarbill_research.kernels.risk_nb import (
    pair_cov_nb,
    quad_form_nb,
    symbol_deltas_nb,
    window_returns_nb,
)
from dollarbill_research.kernels.workspace_nb import (
    M_M,
    WF_CD,
    WF_VAR,
    begin_bar_nb,
    cov_nb,
    new_workspace,
    quad_form_ws_nb,
)


def _closes(rng: np.random.Generator, n_bars: int, n_sym: int, p_missing: float) -> np.ndarray:
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (n_bars, n_sym)), axis=0))
    closes[rng.random((n_bars, n_sym)) < p_missing] = np.nan
    return closes


def _book(rng: np.random.Generator, n_sym: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    syms = rng.integers(0, n_sym, k).astype(np.int64)
    deltas = rng.normal(0.0, 5_000.0, k)
    return syms, deltas


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sym=st.integers(1, 12),
    k=st.integers(0, 20),
    window=st.integers(1, 30),
    p_missing=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_cached_quad_form_is_the_from_scratch_quad_form(seed, n_sym, k, window, p_missing):
    rng = np.random.default_rng(seed)
    n_bars = 40
    closes = _closes(rng, n_bars, n_sym, p_missing)
    syms, deltas = _book(rng, n_sym, k)
    ws = new_workspace(max(k, 1), n_sym, window)  # room for k positions in its flat book
    wi, meta = ws.wi, ws.meta
    ws.book_i[BI_SYMBOL, :k] = syms  # the flat book the kernels read
    ws.book_f[BF_DELTA, :k] = deltas
    for t in (0, 1, window // 2 + 1, n_bars - 1):
        begin_bar_nb(t, t, window, wi, meta)
        rets = window_returns_nb(closes, t, window)
        expected = quad_form_nb(rets, symbol_deltas_nb(n_sym, syms, deltas))
        got = quad_form_ws_nb(closes, k, ws)
        again = quad_form_ws_nb(closes, k, ws)  # from cache
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(again, expected, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sym=st.integers(1, 6),
    window=st.integers(2, 12),
    p_missing=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_windows_kept_from_bar_to_bar_are_the_from_scratch_windows(seed, n_sym, window, p_missing):
    # consecutive bars, a book that changes: a symbol held on the previous bar keeps its
    # window shifted by one; the quadratic form must not tell the difference
    rng = np.random.default_rng(seed)
    n_bars = 30
    closes = _closes(rng, n_bars, n_sym, p_missing)
    ws = new_workspace(n_sym, n_sym, window)
    wi, meta = ws.wi, ws.meta
    for t in range(n_bars):
        k = int(rng.integers(0, n_sym + 1))
        syms = np.sort(rng.choice(n_sym, size=k, replace=False)).astype(np.int64)
        deltas = rng.normal(0.0, 1e4, k)
        ws.book_i[BI_SYMBOL, :k] = syms
        ws.book_f[BF_DELTA, :k] = deltas
        begin_bar_nb(100 + t, t, window, wi, meta)
        rets = window_returns_nb(closes, t, window)
        expected = quad_form_nb(rets, symbol_deltas_nb(n_sym, syms, deltas))
        assert np.array_equal(quad_form_ws_nb(closes, k, ws), expected, equal_nan=True), t
        m = int(meta[M_M])
        for s in syms:  # the kept windows hold exactly the from-scratch returns
            assert np.array_equal(ws.win[0, s, :m], rets[:, s], equal_nan=True), (t, s)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sym=st.integers(1, 10),
    k=st.integers(0, 12),
    p_missing=st.sampled_from([0.0, 0.1]),
)
def test_context_row_is_sum_of_delta_times_pair_covariance(seed, n_sym, k, p_missing):
    rng = np.random.default_rng(seed)
    window, t = 20, 35
    closes = _closes(rng, 40, n_sym, p_missing)
    syms, deltas = _book(rng, n_sym, k)
    ws = new_workspace(max(k, 1), n_sym, window)  # room for k positions in its flat book
    wi, wf, meta = ws.wi, ws.wf, ws.meta
    ws.book_i[BI_SYMBOL, :k] = syms  # the flat book the kernels read
    ws.book_f[BF_DELTA, :k] = deltas
    begin_bar_nb(t, t, window, wi, meta)
    ctx_begin_nb(closes, k, ws)
    rets = window_returns_nb(closes, t, window)
    net = symbol_deltas_nb(n_sym, syms, deltas)
    for s in rng.permutation(n_sym):
        ctx_cd_nb(closes, s, wi, wf, ws.win, ws.cov, meta)
        expected = 0.0
        for j in range(n_sym):  # ascending held symbols, as the context sums them
            if net[j] != 0.0:
                expected += net[j] * pair_cov_nb(rets[:, j], rets[:, s])
        assert np.isclose(wf[WF_CD, s], expected, rtol=1e-12, atol=1e-9)
        assert np.array_equal(wf[WF_VAR, s], pair_cov_nb(rets[:, s], rets[:, s]), equal_nan=True)


def test_cov_by_hand():
    # two symbols, four returns each: x = [0.1, -0.1, 0.2, 0.0], y = 2x
    x = np.array([0.1, -0.1, 0.2, 0.0])
    c0 = 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + x]))
    c1 = 50.0 * np.cumprod(np.concatenate([[1.0], 1.0 + 2.0 * x]))
    closes = np.column_stack([c0, c1])
    ws = new_workspace(1, 2, 4)
    wi, win, cov, meta = ws.wi, ws.win, ws.cov, ws.meta
    begin_bar_nb(4, 4, 4, wi, meta)
    mean = x.mean()
    var_x = ((x - mean) ** 2).sum() / 3.0  # sample covariance, n - 1
    assert np.isclose(cov_nb(closes, 0, 0, wi, win, cov, meta), var_x, rtol=1e-12)
    assert np.isclose(cov_nb(closes, 0, 1, wi, win, cov, meta), 2.0 * var_x, rtol=1e-12)
    assert np.isclose(cov_nb(closes, 1, 1, wi, win, cov, meta), 4.0 * var_x, rtol=1e-12)
