"""LivePortfolio: decisions per bar, ordering errors, atomic save / load."""

from __future__ import annotations

import numpy as np
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.exceptions import DataError, StateError
from dollarbill_research.kernels import codes
from dollarbill_research.live import LivePortfolio


def shares_templates(n: int) -> np.ndarray:
    tpl = np.zeros((n, 2, codes.TEMPLATE_LEN))
    tpl[:, :, codes.T_DIRECTION] = 1.0
    return tpl


def make_live(pm: bool = False, **limits) -> LivePortfolio:
    pc = PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=9.0,
                         risk_limits=RiskLimits(**limits))  # fmt: skip
    return LivePortfolio(
        # hand-computed cash below: no cash interest (the default rate is risk_free_rate)
        BacktestConfig(use_portfolio_management=pm, spread_pct=0.0, cash_interest_rate=0.0),
        pc if pm else None,
        symbols=("AAA", "BBB"), strategies=("Momentum",), templates=shares_templates(1),
    )  # fmt: skip


def bar(live, day, close, signal, conf=(0.9, 0.8)):
    return live.on_bar(
        np.datetime64("2024-01-01") + np.timedelta64(day, "D"), close=np.array(close),
        iv=np.array([0.3, 0.3]), signal=np.array([signal]), confidence=np.array([conf]),
    )  # fmt: skip


def test_orders_with_sizes_and_exits():
    live = make_live()
    d = bar(live, 0, [100.0, 50.0], [1, 1])
    assert d.orders["symbol"].to_list() == ["AAA", "BBB"]
    assert d.orders["qty"].to_list() == [100.0, 180.0]  # 10% of 100k, then 10% of 90k
    d = bar(live, 1, [110.0, 50.0], [codes.SIG_EXIT, 0])
    assert d.orders["side"].to_list() == ["close"]
    assert d.orders["pnl"].to_list() == [pytest.approx(1000.0)]
    assert live.cash == pytest.approx(100_000 - 9_000 + 1_000)
    assert len(live.open_positions) == 1


def test_rejections_and_warnings_carry_texts():
    live = make_live(pm=True, max_concentration_pct=10.0, max_portfolio_delta=0.15)
    d = bar(live, 0, [100.0, 50.0], [1, 1])
    # 9% each: the first passes with a concentration warning (9% > 0.8 x 10%), the second
    # takes delta to 18% > 15%
    assert d.orders["symbol"].to_list() == ["AAA"]
    assert d.warnings["warning_text"][0].to_list() == [
        "Concentration (9.0%) approaching limit (10.0%)"
    ]
    assert d.rejections["text"].to_list() == ["Portfolio delta (18.0%) exceeds limit (15.0%)"]


def test_bars_must_be_chronological():
    live = make_live()
    bar(live, 1, [100.0, 50.0], [0, 0])
    with pytest.raises(DataError, match="not after the previous bar"):
        bar(live, 1, [100.0, 50.0], [0, 0])


def test_save_is_atomic_and_load_restores_state(tmp_path):
    live = make_live()
    bar(live, 0, [100.0, 50.0], [1, 1])
    path = live.save(tmp_path / "state.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]  # no temp file left behind
    back = LivePortfolio.load(path)
    assert back.cash == live.cash
    np.testing.assert_array_equal(back.positions, live.positions)
    a = bar(live, 1, [90.0, 60.0], [2, 0])
    b = bar(back, 1, [90.0, 60.0], [2, 0])
    assert len(a.fills) == len(b.fills) == 1
    for name in a.fills.dtype.names:  # field-wise: NaN fields compare equal
        np.testing.assert_array_equal(a.fills[name], b.fills[name])
    (tmp_path / "bad.npz").write_bytes(b"not a state")
    with pytest.raises(StateError, match="cannot read"):
        LivePortfolio.load(tmp_path / "bad.npz")
