"""Parity across the whole stack: a bot replay with PaperBroker(fill="close") is the backtest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.bot import BotConfig
from dollarbill_research.live.bot import TradingBot
from dollarbill_research.live.paper import PaperBroker

from ._bot import SEED_CONFIG, fast_dir

ROOT = Path(__file__).resolve().parents[2]


def assert_records_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    for name in a.dtype.names:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def replay(cfg, data):  # type: ignore[no-untyped-def]
    """A paper replay at the close: summary, fills, rejections, equity and ledger orders."""
    state = fast_dir()
    try:
        broker = PaperBroker(state, data, fill="close", config=cfg.backtest_config())
        bot = TradingBot(cfg, broker, state, keep_records=True)
        summary = bot.run()
        fills = np.concatenate([d.fills for d in bot.records])
        rejections = np.concatenate([d.rejection_records for d in bot.records])
        equity = np.array([d.equity for d in bot.records])
        orders = bot.ledger.orders()
        bot.close()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return summary, fills, rejections, equity, orders


@pytest.mark.realdata
@pytest.mark.slow
def test_bot_replay_equals_backtest_on_real_data(real_data_dir):
    cfg = BotConfig.from_json(SEED_CONFIG)
    cfg.safety.max_daily_trades = 0  # the backtest has no daily cap
    cfg.safety.max_daily_drawdown_pct = 0.0  # nor a circuit breaker
    summary, fills, rejections, equity, ledger_orders = replay(cfg, real_data_dir)
    result = BacktestEngine(cfg.backtest_config(), cfg.portfolio_config()).run(
        real_data_dir, cfg.strategy()
    )
    raw = result.raw
    assert len(raw.fills) > 100
    assert len(raw.rejections) > 10
    assert_records_equal(raw.fills, fills)
    assert_records_equal(raw.rejections, rejections)
    assert_records_equal(raw.equity, equity)
    assert summary.final_equity == float(raw.equity[-1]["equity"])
    assert summary.n_fills == summary.n_orders == len(raw.fills)
    assert summary.n_rejections == len(raw.rejections)
    assert all(o["status"] == "filled" for o in ledger_orders)
    assert len({o["client_order_id"] for o in ledger_orders}) == len(ledger_orders)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dollarbill_research", "bot", *args],
        capture_output=True, text=True, timeout=600, env=full, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.realdata
@pytest.mark.slow
def test_done_when_command_prints_seed_format(real_data_dir, tmp_path):
    cfg = tmp_path / "personality_bot_config.json"
    cfg.write_text(SEED_CONFIG)
    state = fast_dir()
    try:
        out = run_cli("--config", str(cfg), "--broker", "paper", "--replay", str(real_data_dir),
                      "--state-dir", str(state), "--end", "2022-09-30",
                      "--summary-json", str(tmp_path / "summary.json"))  # fmt: skip
    finally:
        shutil.rmtree(state, ignore_errors=True)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "🎭 Personality-Based Trading Bot - 2021-" in text
    assert "💰 Account: $100,000.00 cash | $100,000.00 portfolio value" in text
    assert "📊 Analyzing with Personality-Driven Strategies..." in text
    assert "| 🔍 SIGNAL: " in text
    assert "(min: 30.0%)" in text
    assert "🟢 BUY → " in text
    assert "... ✅" in text
    assert "❌ REJECTED by portfolio manager:\n      ⚠️  " in text
    assert "🏁 Done:" in text
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) >= {"final_equity", "n_orders", "n_fills", "n_rejections"}
    assert summary["n_fills"] > 5


@pytest.mark.parametrize("policy", ["hedge", "reduce"])
def test_bot_replay_takes_the_backtests_breach_actions(policy):
    """Breach trims and share hedges go through the broker as orders and match the backtest."""
    from dollarbill_research.data import synthetic_universe, to_panel
    from dollarbill_research.kernels import codes

    panel = to_panel(synthetic_universe(n_symbols=8, n_bars=400, seed=4))
    cfg = BotConfig.from_dict({
        "trading": {"max_positions": 8, "min_confidence": 0.1,
                    "risk_management": {"max_daily_trades": 0}},
        "portfolio": {"max_portfolio_delta": 0.05, "breach_policy": policy,
                      "max_position_pct": 40.0, "max_risk_per_trade": 5.0},
        "safety": {"max_daily_drawdown_pct": 0, "check_market_hours": False},
    })  # fmt: skip
    summary, fills, _, equity, _ = replay(cfg, panel)
    result = BacktestEngine(cfg.backtest_config(), cfg.portfolio_config()).run(
        panel, cfg.strategy()
    )
    raw = result.raw
    action = codes.FILL_RISK_HEDGE if policy == "hedge" else codes.EXIT_RISK_REDUCE
    assert np.count_nonzero(raw.fills["reason"] == action) > 0
    assert_records_equal(raw.fills, fills)
    assert_records_equal(raw.equity, equity)
    assert summary.final_equity == float(raw.equity[-1]["equity"])
    assert summary.n_fills == len(raw.fills)
