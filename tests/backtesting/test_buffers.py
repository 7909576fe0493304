"""Record buffers: the result never depends on their starting size, and they cost little memory."""

from __future__ import annotations

import numpy as np
import pytest
from golden.record import RAW_FIELDS

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, buffers
from dollarbill_research.backtesting import engine as engine_module
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.kernels import records
from dollarbill_research.strategies import CashSecuredPuts, Combined, IronCondor, Momentum


def _run(pm: bool) -> object:
    data = synthetic_universe(n_symbols=12, n_bars=400, seed=11)
    config = BacktestConfig(use_portfolio_management=pm)
    pc = PortfolioConfig(risk_limits=RiskLimits(max_portfolio_delta=0.2, breach_policy="reduce"))
    return (
        BacktestEngine(config, pc if pm else None)
        .run(data, Combined((Momentum(), IronCondor(), CashSecuredPuts())))
        .raw
    )


@pytest.mark.parametrize("pm", [False, True], ids=["pm_off", "pm_on"])
def test_one_row_buffers_grow_to_the_same_records(
    pm: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = _run(pm)
    monkeypatch.setattr(engine_module, "_first_rows", lambda signal, managed: (1, 1))
    grown = _run(pm)
    assert len(default.fills) > 50  # type: ignore[attr-defined]
    assert len(default.rejections) > 10  # type: ignore[attr-defined]
    for name in RAW_FIELDS:
        a, b = getattr(default, name, None), getattr(grown, name, None)
        if a is None:
            assert b is None
            continue
        assert a.dtype == b.dtype, name
        assert a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name  # byte for byte


def test_returned_records_hold_at_most_a_third_more_rows_than_they_show() -> None:
    raw = _run(True)
    for name in ("fills", "rejections", "breaches"):
        rec = getattr(raw, name)
        buffer = rec if rec.base is None else rec.base  # a view of a mostly used buffer
        assert buffer.flags.owndata, name
        assert 3 * buffer.shape[0] <= 4 * max(rec.shape[0], 1) or buffer is rec, name
        assert rec.nbytes == rec.shape[0] * rec.dtype.itemsize


def test_grown_in_place_keeps_the_rows_and_zeroes_the_new_ones() -> None:
    buf = np.zeros(4, dtype=records.FILL_DTYPE)
    buf["bar"] = [1, 2, 3, 4]
    grown = buffers.grown(buf, 4, 3, in_place=True)
    assert grown is buf
    assert grown.shape == (8,)
    assert grown["bar"].tolist() == [1, 2, 3, 4, 0, 0, 0, 0]
    assert grown[4:].tobytes() == bytes(4 * records.FILL_DTYPE.itemsize)
    view = grown[:6]  # a view is never resized in place: copied instead
    copied = buffers.grown(view, 6, 10, in_place=True)
    assert copied is not view
    assert copied.shape == (24,)
    assert copied["bar"][:6].tolist() == [1, 2, 3, 4, 0, 0]


def test_head_views_a_mostly_used_buffer_and_shrinks_the_others_in_place() -> None:
    buf = np.zeros(8, dtype=records.FILL_DTYPE)
    buf["bar"] = np.arange(8)
    buf["pnl"] = np.linspace(-1.0, 1.0, 8)
    mostly = buffers.head(buf, 6)  # 6 of 8 rows: the view of the buffer's head
    assert mostly.base is buf
    assert mostly.tobytes() == buf[:6].tobytes()
    few = np.zeros(8, dtype=records.FILL_DTYPE)
    few["bar"] = np.arange(8)
    shrunk = buffers.head(few, 3)  # 3 of 8: shrunk in place, owns exactly its rows
    assert shrunk is few
    assert shrunk.shape == (3,)
    assert shrunk["bar"].tolist() == [0, 1, 2]
    strided = np.zeros(8, dtype=records.FILL_DTYPE)[::2]  # not ours, not contiguous: copied
    assert buffers.head(strided, 2).shape == (2,)
