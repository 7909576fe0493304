"""Calendar-correct expiry: a session date, any UTC offset, and symbols whose data ends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.kernels import codes

NO_EXITS = {
    "stop_loss_pct": None,
    "take_profit_pct": None,
    "max_days_hold": 0,
    "cash_interest_rate": 0.0,  # the cash checks below are exact
}


def panel_at(close: np.ndarray, stamps: list[str], valid: np.ndarray | None = None):
    """A hand-made panel whose bars carry the given UTC timestamps."""
    panel = make_panel(close, 0.3, valid=valid)
    ts = np.array(stamps, dtype="datetime64[ns]")
    return dataclasses.replace(panel, timestamps=ts)


def daily(start: str, n: int, hour_utc: list[int]) -> list[str]:
    day0 = np.datetime64(start, "D")
    return [str(day0 + i) + f"T{hour_utc[i]:02d}:00" for i in range(n)]


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        ([5] * 3 + [4] * 5, "New York midnight across the March DST change (05:00 -> 04:00 UTC)"),
        ([4] * 3 + [5] * 5, "New York midnight across the November change (04:00 -> 05:00 UTC)"),
        ([15] * 8, "Tokyo midnight (+09:00): 15:00 UTC of the previous UTC date"),
        ([21] * 3 + [20] * 5, "New York close (16:00) across the March change"),
    ],
)
def test_option_settles_on_its_expiry_session_whatever_the_utc_offset(hours, label):
    n = 8
    close = np.linspace(100.0, 107.0, n).reshape(n, 1)
    sig = np.zeros((1, n, 1))
    sig[0, 0, 0] = codes.SIG_LONG
    panel = panel_at(close, daily("2024-03-08", n, hours))
    res = BacktestEngine(BacktestConfig(**NO_EXITS)).run(
        panel, make_signals(sig, [template(codes.KIND_CALL, dte=4)])
    )
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    assert len(exits) == 1, label
    x = exits[0]
    assert x["bar"] == 4, label  # session date of entry + 4 days
    assert x["reason"] == codes.EXIT_EXPIRY
    assert x["price"] == pytest.approx((close[4, 0] - 100.0) * 100.0, abs=1e-9)  # intrinsic
    assert x["costs"] == 0.0


def test_symbol_without_data_after_expiry_settles_at_its_last_close():
    # S1's data ends at bar 3; its call expires at bar 6's date; S0 keeps trading.
    n = 10
    close = np.column_stack([np.full(n, 50.0), np.linspace(100.0, 109.0, n)])
    valid = np.ones((n, 2), dtype=bool)
    valid[4:, 1] = False
    sig = np.zeros((1, n, 2))
    sig[0, 0, 1] = codes.SIG_LONG
    panel = make_panel(close, 0.3, valid=valid)
    res = BacktestEngine(BacktestConfig(**NO_EXITS)).run(
        panel, make_signals(sig, [template(codes.KIND_CALL, dte=6)])
    )
    fills = res.raw.fills
    exits = fills[fills["side"] < 0]
    assert len(exits) == 1
    x = exits[0]
    assert x["reason"] == codes.EXIT_EXPIRY_NO_DATA
    assert x["bar"] == 6  # the first bar of the run on the expiry date
    assert x["spot"] == close[3, 1]  # the last close before expiry
    assert x["price"] == pytest.approx((close[3, 1] - 100.0) * 100.0, abs=1e-9)
    assert x["costs"] == 0.0
    assert res.trades["reason"].to_list() == ["entry", "expiry_no_data"]
    eq = res.raw.equity
    # never marked with time value after expiry: from bar 6 on, the book is cash only
    assert (eq["n_positions"][6:] == 0).all()
    assert eq["equity"][6] == pytest.approx(eq["cash"][6])
    # equity before expiry kept the last mark (no bar), after it the intrinsic cash
    assert eq["cash"][6] - eq["cash"][5] == pytest.approx(x["price"] * x["qty"], rel=1e-12)


def test_expiry_after_a_gap_settles_without_data_and_not_on_a_later_bar():
    # a gap over the expiry date: settled at the expiry date, not when the data resumes
    n = 10
    close = np.column_stack([np.full(n, 50.0), np.linspace(100.0, 91.0, n)])
    valid = np.ones((n, 2), dtype=bool)
    valid[3:7, 1] = False
    sig = np.zeros((1, n, 2))
    sig[0, 0, 1] = codes.SIG_SHORT
    tpl = template(codes.KIND_PUT, direction=-1.0, dte=4, moneyness=0.98)
    signals = make_signals(sig, [tpl])
    res = BacktestEngine(BacktestConfig(**NO_EXITS)).run(
        make_panel(close, 0.3, valid=valid), signals
    )
    exits = res.raw.fills[res.raw.fills["side"] < 0]
    assert len(exits) == 1
    x = exits[0]
    assert (x["bar"], x["reason"]) == (4, codes.EXIT_EXPIRY_NO_DATA)
    strike = x["leg0_strike"]
    assert x["price"] == pytest.approx(-max(strike - close[2, 1], 0.0) * 100.0, abs=1e-9)
