"""BacktestEngine / BacktestConfig / BacktestResult: the seed's API in Python form."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from backtesting._helpers import make_panel, make_signals, template
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, compare
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits, SizingMethod
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels import codes

EQUITY_COLUMNS = [
    "timestamp", "cash", "positions_value", "equity", "drawdown", "delta_exposure",
    "gamma_exposure", "vega_exposure", "var_95", "n_positions",
]  # fmt: skip


@pytest.fixture(scope="module")
def universe():
    return synthetic_universe(n_symbols=4, n_bars=300, seed=3)


def test_seed_examples_run_as_written(universe, capsys):
    symbol = universe["symbol"][0]
    # let mut config = BacktestConfig::default(); config.use_portfolio_management = true;
    config = BacktestConfig()
    config.use_portfolio_management = True
    engine = BacktestEngine(config)
    result = engine.run_simple_strategy(symbol, universe, 0.45)
    print(f"Total return: {result.metrics.total_return * 100:.2f}%")
    print(f"Max drawdown: {result.metrics.max_drawdown:.4f}")
    print(f"Sharpe: {result.metrics.sharpe_ratio:.2f}")
    assert "Total return" in capsys.readouterr().out
    # BacktestEngine::new_with_portfolio(BacktestConfig::default(), portfolio_config)
    portfolio_config = PortfolioConfig(
        initial_capital=100_000.0, max_risk_per_trade=2.0, max_position_pct=10.0,
        sizing_method=SizingMethod.VolatilityBased,
        risk_limits=RiskLimits(max_portfolio_delta=0.30, max_concentration_pct=20.0),
    )  # fmt: skip
    managed = BacktestEngine.with_portfolio(BacktestConfig(), portfolio_config)
    assert managed.config.use_portfolio_management
    simple = BacktestEngine(BacktestConfig())
    r_with = managed.run_simple_strategy(symbol, universe, 0.45)
    r_without = simple.run_simple_strategy(symbol, universe, 0.45)
    for r in (r_with, r_without):
        eq = r.equity["equity"].to_numpy()
        assert r.metrics.total_return == pytest.approx(eq[-1] / eq[0] - 1.0)
        assert 0.0 <= r.metrics.max_drawdown <= 1.0
    assert r_without.metrics.n_trades > 0
    table = compare({"without": r_without, "with": r_with})
    assert table["run"].to_list() == ["without", "with"]
    assert table["total_return"][0] == r_without.metrics.total_return


def test_simple_strategy_buys_atm_calls_only_when_iv_below_threshold(universe):
    symbol = universe["symbol"][1]
    result = BacktestEngine(BacktestConfig()).run_simple_strategy(symbol, universe, 0.45)
    entries = result.trades.filter(pl.col("side") == "open")
    assert entries.height > 0
    assert set(entries["instrument"]) == {"call"}
    assert set(entries["symbol"]) == {symbol}
    assert (entries["iv"] < 0.45).all()
    raw = result.raw.fills[result.raw.fills["side"] > 0]
    k = raw["leg0_strike"]
    assert np.all(np.abs(k - raw["spot"]) <= 0.5 * np.where(raw["spot"] < 200, 1.0, 5.0) + 1e-9)
    # default DTE: 30 calendar days
    days = (entries["expiry"] - entries["timestamp"]).dt.total_days().to_numpy()
    assert np.all(days == 30)


def test_frames_have_the_documented_columns(universe, tmp_path):
    config = BacktestConfig(use_portfolio_management=True)
    pc = PortfolioConfig(max_positions=1)
    result = BacktestEngine(config, pc).run_simple_strategy(universe["symbol"][0], universe, 0.9)
    assert result.equity.columns[:10] == EQUITY_COLUMNS
    assert result.equity.height == 300
    assert {"timestamp", "symbol", "strategy", "instrument", "legs", "qty", "price", "costs",
            "reason"} <= set(result.trades.columns)  # fmt: skip
    assert result.rejections.columns[:5] == ["timestamp", "symbol", "strategy", "reasons", "text"]
    # the default cash interest rate (= risk_free_rate) is booked as its own line
    assert result.attribution["strategy"].to_list() == [
        "Simple Volatility",
        "Cash interest",
        "Total",
    ]
    out = result.plot(tmp_path / "bt.png")
    assert out.exists()
    assert out.stat().st_size > 10_000


def test_rejection_texts_render_from_reason_table():
    close = np.full((3, 2), 100.0)
    sig = np.zeros((1, 3, 2))
    sig[0, 0, :] = codes.SIG_LONG
    config = BacktestConfig(use_portfolio_management=True)
    pc = PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=15.0,
                         risk_limits=RiskLimits(max_concentration_pct=10.0,
                                                breach_policy="block"))  # fmt: skip
    result = BacktestEngine(config, pc).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    # 15% target -> capped by max_position_pct 10% (10 000 / 100 = 100 shares) -> concentration
    # 100 x 100 / equity = 10.0% = limit, accepted; no rejection
    assert result.trades.height == 2
    assert result.rejections.height == 0
    pc2 = PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=15.0,
                          risk_limits=RiskLimits(max_concentration_pct=5.0))  # fmt: skip
    result2 = BacktestEngine(config, pc2).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    assert result2.rejections.height == 2
    assert result2.rejections["reasons"][0].to_list() == ["concentration"]
    assert result2.rejections["text"][0] == "Concentration (10.0%) exceeds limit (5.0%)"


def test_record_buffers_grow_without_dropping_records():
    n_sym, n_bars = 60, 40
    close = np.full((n_bars, n_sym), 20.0)
    sig = np.full((1, n_bars, n_sym), codes.SIG_LONG)
    config = BacktestConfig(max_positions=1, spread_pct=0.0)
    result = BacktestEngine(config).run(
        make_panel(close), make_signals(sig, [template(codes.KIND_SHARES)])
    )
    # one slot is always open (or re-entered on the bar it exits): 59 rejections per bar
    assert result.rejections.height == (n_sym - 1) * n_bars > 1024 + 2 * n_sym
    assert set(result.rejections["text"]) == {"Max positions reached (1)"}


def test_run_accepts_a_path_and_a_strategy_object(tmp_path, universe):
    from dollarbill_research.strategies import Momentum

    path = tmp_path / "bars.parquet"
    universe.write_parquet(path)
    a = BacktestEngine().run(path, Momentum())
    b = BacktestEngine().run(universe, Momentum())
    assert a.trades.equals(b.trades)
    assert a.equity.equals(b.equity)


def test_config_validation_and_json_round_trip(tmp_path):
    with pytest.raises(ConfigError, match=r"BacktestConfig.position_size_pct=150.0"):
        BacktestConfig(position_size_pct=150.0)
    with pytest.raises(ConfigError, match="initial_capital"):
        BacktestConfig(initial_capital=-1.0)
    config = BacktestConfig(stop_loss_pct=None, spread_pct=0.5)
    config.position_size_pct = 0.0  # set after construction: caught when the engine takes it
    with pytest.raises(ConfigError, match="position_size_pct"):
        BacktestEngine(config).kernel_params(1)
    config.position_size_pct = 5.0
    path = tmp_path / "bt.json"
    config.to_json(path)
    assert BacktestConfig.from_json(path) == config
    assert math.isinf(config.to_kernel()[6])  # disabled stop -> +inf
    with pytest.raises(ConfigError, match="no field 'bogus'"):
        BacktestConfig.from_dict({"bogus": 1})


def test_bad_inputs_raise_clear_errors(universe):
    engine = BacktestEngine()
    with pytest.raises(DataError, match="symbol 'NOPE'"):
        engine.run_simple_strategy("NOPE", universe, 0.3)
    close = np.full((3, 1), 10.0)
    bad = make_signals(np.zeros((1, 4, 1)), [template(codes.KIND_SHARES)])
    with pytest.raises(DataError, match="shape"):
        engine.run(make_panel(close), bad)
