"""Bot safety and reconciliation on a paper replay: dry run, caps, kill switch, breaker, stale."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from dollarbill_research.config.bot import BotConfig
from dollarbill_research.data import synthetic_universe, to_panel
from dollarbill_research.live.bot import HALTED, REDUCING, TradingBot
from dollarbill_research.live.broker import Clock
from dollarbill_research.live.output import render, to_json
from dollarbill_research.live.paper import PaperBroker

from ._bot import fast_dir

BASE = {
    "trading": {"max_positions": 8, "min_confidence": 0.1,
                "strategies": ["Momentum", "Breakout", "Mean Reversion", "Volatility Arbitrage"],
                "risk_management": {"max_daily_trades": 0}},
    "portfolio": {"enabled": True},
    "safety": {"max_daily_drawdown_pct": 0, "check_market_hours": False},
}  # fmt: skip


@pytest.fixture(scope="module")
def panel():
    return to_panel(synthetic_universe(n_symbols=5, n_bars=160, seed=11))


def config(**changes) -> BotConfig:
    data = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        sec, key = path.split("__")
        data.setdefault(sec, {})[key] = value
    return BotConfig.from_dict(data)


@pytest.fixture
def state():
    d = fast_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_bot(cfg, panel, state, fill="close", **kw):
    broker = PaperBroker(state, panel, fill=fill, config=cfg.backtest_config())
    return TradingBot(cfg, broker, state, **kw), broker


def test_dry_run_sends_nothing_and_keeps_model_on_the_broker(panel, state):
    cfg = config()
    bot, broker = make_bot(cfg, panel, state, dry_run=True)
    s = bot.run()
    rows = bot.ledger.orders()
    assert rows
    assert {r["status"] for r in rows} == {"dry_run"}
    assert broker.positions() == {}
    assert broker.open_orders() == []
    assert s.n_orders == 0
    assert s.n_fills == 0
    # nothing traded: the broker's cash is the starting capital plus its cash interest
    assert broker.account().cash >= cfg.initial_capital
    assert bot.live.cash == pytest.approx(broker.account().cash)
    assert not (bot.live.positions["active"] == 1).any()  # reconciled away each bar


def test_max_daily_trades_blocks_entries_never_exits(panel, state):
    cfg = config(trading__risk_management={"max_daily_trades": 1})
    bot, broker = make_bot(cfg, panel, state)
    bot.run()
    rows = bot.ledger.orders()
    per_day: dict[str, int] = {}
    for r in rows:
        if r["reason"] == "entry" and r["status"] == "filled":
            per_day[r["bar_timestamp"][:10]] = per_day.get(r["bar_timestamp"][:10], 0) + 1
    assert per_day
    assert max(per_day.values()) == 1
    blocked = [r for r in rows if r["status"] == "blocked"]
    assert blocked, rows
    assert all(r["reason"].startswith("entry: max_daily_trades") for r in blocked), blocked
    assert not any(r["status"] == "blocked" and r["reason"] != "entry" and
                   not r["reason"].startswith("entry") for r in rows)  # fmt: skip
    held = {k: p.qty for k, p in broker.positions().items()}
    model = {}
    from dollarbill_research.live.reconcile import model_book

    for inst, slots in model_book(bot.live).items():
        model[inst] = sum(q for _, q in slots)
    assert model == pytest.approx(held)  # the model holds what the broker holds


def test_kill_switch_halts_persists_and_flattens(panel, state):
    cfg = config()
    bot, broker = make_bot(cfg, panel, state)
    bot.run(max_iterations=100)
    assert broker.positions()  # something is held
    (state / "KILL").write_text("stop")
    it = bot.iterate() or (broker.advance() and bot.iterate())
    assert it.state == HALTED
    assert any(e.get("reason") == "kill_switch" for e in it.safety)
    assert "🛑 SAFETY: ACTIVE → HALTED (kill_switch)" in render(it)
    bot.close()
    # restart: still HALTED, no entries
    cfg2 = dataclasses.replace(cfg)
    bot2 = TradingBot(cfg2, PaperBroker(state, panel, fill="close",
                                        config=cfg.backtest_config()), state)  # fmt: skip
    assert bot2.trading_state == HALTED
    n_before = len(bot2.ledger.orders("WHERE reason='entry'"))
    bot2.run(max_iterations=15)
    assert len(bot2.ledger.orders("WHERE reason='entry'")) == n_before
    bot2.close()
    # flatten: REDUCING closes every position
    cfg3 = config(safety__kill_switch_flatten=True)
    bot3 = TradingBot(cfg3, PaperBroker(state, panel, fill="close",
                                        config=cfg.backtest_config()), state)  # fmt: skip
    bot3.run(max_iterations=2)
    assert bot3.trading_state == REDUCING
    assert bot3.broker.positions() == {}
    (state / "KILL").unlink()
    bot3.run(max_iterations=1)
    assert bot3.trading_state == "ACTIVE"
    events = [json.loads(d)["reason"] for (d,) in bot3.ledger.con.execute(
        "SELECT detail FROM audit WHERE event='safety'")]  # fmt: skip
    assert "kill_switch" in events
    assert "kill_switch_removed" in events
    bot3.close()


def test_circuit_breaker_halts_for_the_session_then_resets(panel, state):
    cfg = config(safety__max_daily_drawdown_pct=0.01)
    bot, _ = make_bot(cfg, panel, state)
    seen = []
    bot.on_iteration = seen.append
    bot.run()
    trips = [it for it in seen if any(e.get("reason") == "circuit_breaker" for e in it.safety)]
    assert trips  # a 0.01 % daily loss happens
    e = next(e for e in trips[0].safety if e.get("reason") == "circuit_breaker")
    assert e["drawdown_pct"] > 0.01
    assert e["to"] == HALTED
    assert "daily drawdown" in render(trips[0])
    resets = [it for it in seen if any(e.get("reason") == "new_session" for e in it.safety)]
    assert resets  # HALTED by the breaker lasts for the session only
    n = bot.ledger.con.execute(
        "SELECT count(*) FROM audit WHERE event='safety' AND detail LIKE '%circuit_breaker%'"
    ).fetchone()[0]
    assert n == len(trips)


def test_stale_bars_are_refused(panel, state):
    cfg = config(safety__max_bar_age_hours=24.0)

    class LateClock(PaperBroker):
        def clock(self):
            c = super().clock()
            return Clock(c.timestamp + np.timedelta64(3, "D"), True)

    broker = LateClock(state, panel, fill="close", config=cfg.backtest_config())
    bot = TradingBot(cfg, broker, state)
    broker.advance()
    it = bot.iterate()
    assert it.skipped == "stale_bars"
    assert broker.open_orders() == []
    assert "stale bars refused" in render(it)
    assert json.loads(to_json(it))["skipped"] == "stale_bars"


def test_fill_at_next_open_reconciles_cash_and_prices(panel, state):
    cfg = config()
    bot, broker = make_bot(cfg, panel, state, fill="open")
    seen = []
    bot.on_iteration = seen.append
    bot.run()
    events = {c["event"] for it in seen for c in it.reconciliation}
    assert {"cash_adjusted", "entry_price"} <= events
    # after the last reconciliation the model's cash is the broker's, less what the orders
    # still waiting for the next open will cost at the model's reference prices
    expected, _ = bot._expected(None)
    assert bot.live.cash == pytest.approx(expected.cash, abs=1e-6)
    waiting = broker.open_orders()
    flow = 0.0
    for o in waiting:
        (r,) = bot.ledger.orders("WHERE client_order_id=?", (o.client_order_id,))
        flow += (1 if o.side == "buy" else -1) * r["ref_price"] * o.qty + r["ref_fee"]
    assert expected.cash == pytest.approx(broker.account().cash - flow, abs=1e-6)


def test_unmanaged_broker_position_is_reported(panel, state):
    cfg = config()
    bot, broker = make_bot(cfg, panel, state)
    bot.run(max_iterations=3)
    with broker.con:
        broker.con.execute("BEGIN IMMEDIATE")
        broker.con.execute("INSERT INTO positions VALUES ('ZZZ', 'SYN000', 3, 10.0, 1)")
    broker.advance()
    it = bot.iterate()
    assert any(c["event"] == "unmanaged_position" and c["instrument"] == "ZZZ"
               for c in it.reconciliation)  # fmt: skip


def test_two_fills_of_one_lot_on_a_bar_get_distinct_deterministic_ids(panel, state):
    """Regression: a breach trim and a signal exit of the same lot on one bar (issue 11 + 10)."""
    from types import SimpleNamespace

    from dollarbill_research.kernels import codes, records

    bot, broker = make_bot(config(), panel, state)
    assert broker.advance()
    assert bot.iterate() is not None  # builds the live portfolio
    fills = np.zeros(2, dtype=records.FILL_DTYPE)
    fills["side"] = -1.0
    fills["qty"] = [3.0, 2.0]
    fills["price"] = 100.0
    fills["spot"] = 100.0
    fills["kind"] = codes.KIND_SHARES
    fills["n_legs"] = 1
    fills["reason"] = [codes.EXIT_RISK_REDUCE, codes.EXIT_SIGNAL]
    ts = np.datetime64(panel.timestamps[0], "ns")
    first = [r.client_order_id for r, _ in bot._requests(SimpleNamespace(fills=fills), ts)]
    again = [r.client_order_id for r, _ in bot._requests(SimpleNamespace(fills=fills), ts)]
    assert len(set(first)) == 2
    assert first == again  # the same bar after a restart gives the same ids
    assert first[1] == first[0] + "2"
    bot.close()


def test_paper_fills_at_open_pay_the_cost_model(panel, state):
    """Shares pay half of share_spread_pct on the open; option structures the model's costs."""
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.kernels import codes
    from dollarbill_research.live.broker import OrderRequest

    cfg = BacktestConfig(share_spread_pct=0.1, commission_per_share=0.01)
    broker = PaperBroker(state, panel, fill="open", config=cfg)
    broker.advance()
    ts = panel.timestamps[broker.cursor]
    sym = panel.symbols[0]
    shares = OrderRequest("s1", sym, sym, "buy", 10.0, ts, ref_price=float(panel.close[0, 0]),
                          unit_delta=1.0, kind=codes.KIND_SHARES)  # fmt: skip
    condor = OrderRequest("c1", f"{sym} IRON_CONDOR", sym, "sell", 2.0, ts, ref_price=150.0,
                          ref_fee=45.2, unit_delta=0.0, kind=codes.KIND_IRON_CONDOR,
                          n_legs=4)  # fmt: skip
    broker.submit(shares)
    broker.submit(condor)
    broker.advance()
    opening = float(panel.open[broker.cursor, 0])
    s = broker.order_by_client_id("s1")
    c = broker.order_by_client_id("c1")
    assert s.filled_avg_price == pytest.approx(opening, rel=1e-12)
    assert s.fee == pytest.approx(10 * (opening * 0.1 / 200 + 0.01), rel=1e-12)
    assert c.fee == pytest.approx(45.2, rel=1e-12)  # not 1 % of the net credit
