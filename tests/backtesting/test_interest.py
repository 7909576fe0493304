"""Cash interest (per calendar day, its own attribution line) and the metrics' rate / CAGR."""

from __future__ import annotations

import empyrical
import numpy as np
import pytest

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.backtesting.metrics import compute_metrics
from dollarbill_research.backtesting.result import CASH_INTEREST_ROW
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes


def cash_only(n_bars: int = 30, step_days: int = 1, **kw):
    close = np.full((n_bars, 1), 100.0)
    sig = np.zeros((1, n_bars, 1))
    panel = make_panel(close, 0.3, step_days=step_days)
    return BacktestEngine(BacktestConfig(**kw)).run(
        panel, make_signals(sig, [template(codes.KIND_SHARES)])
    )


@pytest.mark.parametrize("step_days", [1, 3])
def test_cash_accrues_the_rate_per_calendar_day(step_days):
    res = cash_only(step_days=step_days, risk_free_rate=0.04, cash_interest_rate=0.06)
    cash = 100_000.0
    expected = []
    for t in range(30):
        if t > 0:
            cash += cash * 0.06 * step_days / 365.0  # simple, per calendar day between bars
        expected.append(cash)
    np.testing.assert_allclose(res.raw.equity["cash"], expected, rtol=1e-13)
    assert res.raw.equity["interest"][0] == 0.0  # nothing before the first bar
    np.testing.assert_allclose(np.diff(res.raw.equity["cash"]), res.raw.equity["interest"][1:])
    assert res.equity["interest"].sum() == pytest.approx(expected[-1] - 100_000.0)


def test_default_rate_is_the_risk_free_rate_and_zero_turns_it_off():
    a = cash_only(risk_free_rate=0.03)
    b = cash_only(risk_free_rate=0.03, cash_interest_rate=0.03)
    np.testing.assert_array_equal(a.raw.equity["cash"], b.raw.equity["cash"])
    off = cash_only(risk_free_rate=0.03, cash_interest_rate=0.0)
    assert (off.raw.equity["cash"] == 100_000.0).all()
    assert CASH_INTEREST_ROW not in off.attribution["strategy"].to_list()
    with pytest.raises(ConfigError, match="cash_interest_rate"):
        BacktestConfig(cash_interest_rate=2.0)


def test_collateral_earns_interest_and_attribution_books_it_on_its_own_line():
    n = 12
    close = np.full((n, 1), 100.0)
    sig = np.zeros((1, n, 1))
    sig[0, 0, 0] = codes.SIG_SHORT
    tpl = template(codes.KIND_CASH_SECURED_PUT, direction=-1.0, dte=60, moneyness=0.95)
    cfg = BacktestConfig(cash_interest_rate=0.05, max_days_hold=0, stop_loss_pct=None,
                         take_profit_pct=None, short_stop_loss_pct=None,
                         short_take_profit_pct=None)  # fmt: skip
    res = BacktestEngine(cfg).run(make_panel(close, 0.3), make_signals(sig, [tpl]))
    eq = res.raw.equity
    assert eq["reserved"][1] > 0
    # all cash, the put's collateral included, earns the rate
    np.testing.assert_allclose(eq["interest"][1:], eq["cash"][:-1] * 0.05 / 365.0, rtol=1e-13)
    att = res.attribution
    assert att["strategy"].to_list() == ["strat0", CASH_INTEREST_ROW, "Total"]
    row = att.filter(att["strategy"] == CASH_INTEREST_ROW)
    assert row["pnl"][0] == pytest.approx(eq["interest"].sum())
    assert row["n_trades"][0] == 0
    total = att.filter(att["strategy"] == "Total")["pnl"][0]
    assert total == pytest.approx(eq["equity"][-1] - 100_000.0)


def test_metrics_state_the_rate_and_the_count_based_cagr():
    res = cash_only(n_bars=60, risk_free_rate=0.02, cash_interest_rate=0.0)
    assert res.metrics.risk_free_rate == 0.02
    rng = np.random.default_rng(5)
    r = rng.normal(0.0005, 0.01, 250)
    equity = 1000 * np.concatenate([[1.0], np.cumprod(1 + r)])
    # uneven calendar spacing: cagr (elapsed years) differs from empyrical's count-based one
    ts = np.datetime64("2024-01-01") + np.cumsum(rng.integers(1, 4, equity.size)).astype(
        "timedelta64[D]"
    )
    m = compute_metrics(equity, ts, bars_per_year=252, risk_free_rate=0.01)
    assert m.cagr_count == pytest.approx(empyrical.cagr(r, annualization=252), rel=1e-12)
    assert m.cagr != pytest.approx(m.cagr_count, rel=1e-3)
    assert m.risk_free_rate == 0.01
