"""Crash safety: a replay killed (SIGKILL) anywhere and restarted ends with the same ledger.

The bot runs in a subprocess (the CLI) over a synthetic history with fills at the next open, so
orders wait across bars. It is killed at injected points - after the intents are committed and
before the submit, after a submit before its answer is recorded, after the fills are recorded
but before the state is saved, just before the state save - and at random times; each time it
is restarted on the same state directory until it finishes. The finished ledger (orders with
their statuses and fills, the broker's fills and cash, the final equity) must equal an
uninterrupted run's, with no client order id sent twice.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dollarbill_research.data import synthetic_universe

from ._bot import fast_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """{
  "trading": {"max_positions": 6, "min_confidence": 0.1,
              "strategies": ["Momentum", "Breakout", "Mean Reversion", "Volatility Arbitrage"],
              "risk_management": {"max_daily_trades": 1}},
  "portfolio": {"enabled": true, "sizing_method": "VolatilityBased"},
  "safety": {"max_daily_drawdown_pct": 0}
}"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    data = base / "bars.parquet"
    synthetic_universe(n_symbols=4, n_bars=150, seed=11).write_parquet(data)
    cfg = base / "bot.json"
    cfg.write_text(CONFIG)
    return data, cfg


def command(data: Path, cfg: Path, state: Path, fill: str = "open") -> list[str]:
    return [
        sys.executable,
        "-m",
        "dollarbill_research",
        "bot",
        "--config",
        str(cfg),
        "--broker",
        "paper",
        "--replay",
        str(data),
        "--state-dir",
        str(state),
        "--quiet",
        "--fill",
        fill,
    ]


def env(crash: str = "") -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(ROOT)}
    out.pop("DOLLARBILL_BOT_CRASH", None)
    if crash:
        out["DOLLARBILL_BOT_CRASH"] = crash
    return out


def run(data, cfg, state, crash="", fill="open"):
    return subprocess.run(command(data, cfg, state, fill), env=env(crash), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)  # fmt: skip


def snapshot(state: Path) -> dict[str, object]:
    con = sqlite3.connect(state / "ledger.sqlite")
    orders = con.execute(
        "SELECT client_order_id, bar_timestamp, symbol, instrument, strategy, side, qty, status, "
        "reason, filled_qty, avg_price, fee FROM orders ORDER BY client_order_id"
    ).fetchall()
    fills = con.execute("SELECT * FROM fills ORDER BY client_order_id, timestamp").fetchall()
    bars = con.execute("SELECT * FROM bars ORDER BY bar_timestamp").fetchall()
    con.close()
    con = sqlite3.connect(state / "paper_broker.sqlite")
    broker_orders = con.execute(
        "SELECT client_order_id, qty, status, avg_price, fee FROM orders ORDER BY client_order_id"
    ).fetchall()
    broker_fills = con.execute(
        "SELECT client_order_id, qty, price, fee, timestamp FROM fills ORDER BY seq"
    ).fetchall()
    cash = con.execute("SELECT value FROM meta WHERE key='cash'").fetchone()[0]
    con.close()
    return {"orders": orders, "fills": fills, "bars": bars, "broker_orders": broker_orders,
            "broker_fills": broker_fills, "cash": cash}  # fmt: skip


def assert_same(got, want):
    ids = [o[0] for o in got["orders"]]
    assert len(ids) == len(set(ids))
    assert [o[0] for o in got["broker_orders"]] == sorted({o[0] for o in got["broker_orders"]})
    for key in want:
        assert got[key] == want[key], key


@pytest.fixture(scope="module")
def baseline(setup):
    data, cfg = setup
    state = fast_dir()
    t0 = time.monotonic()
    out = run(data, cfg, state)
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    snap = snapshot(state)
    shutil.rmtree(state, ignore_errors=True)
    assert len(snap["orders"]) > 10
    assert len(snap["broker_fills"]) > 10
    assert any(o[7] == "blocked" for o in snap["orders"])  # the daily cap took part
    return snap, elapsed


POINTS = [("after_intent", 3), ("after_submit", 5), ("after_fill", 8), ("before_save", 30)]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "n"), POINTS, ids=[p for p, _ in POINTS])
def test_kill_at_injected_point_then_restart(setup, baseline, point, n):
    data, cfg = setup
    want, _ = baseline
    state = fast_dir()
    try:
        crashed = run(data, cfg, state, f"{point}:{n}")
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr  # it really died there
        done = run(data, cfg, state)
        assert done.returncode == 0, done.stderr
        assert_same(snapshot(state), want)
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.slow
def test_kill_at_random_times_then_restart(setup, baseline):
    data, cfg = setup
    want, elapsed = baseline
    rng = random.Random(20261201)
    state = fast_dir()
    kills = 0
    try:
        for _ in range(3):
            proc = subprocess.Popen(
                command(data, cfg, state), env=env(), cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(rng.uniform(0.3, 1.0) * elapsed)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)  # the process this test started
                kills += 1
            proc.wait(timeout=60)
        done = run(data, cfg, state)
        assert done.returncode == 0, done.stderr
        assert kills >= 1
        assert_same(snapshot(state), want)
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize(("point", "n"), [("after_submit", 4), ("after_fill", 6)])
def test_fill_at_close_kill_after_the_broker_filled(setup, point, n):
    """With ``--fill close`` the broker has filled the bar's orders when the bot dies.

    The restart backs them out of its view of the broker, re-decides the bar and sends nothing
    twice.
    """
    data, cfg = setup
    ref, state = fast_dir(), fast_dir()
    try:
        assert run(data, cfg, ref, fill="close").returncode == 0
        want = snapshot(ref)
        crashed = run(data, cfg, state, f"{point}:{n}", fill="close")
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        done = run(data, cfg, state, fill="close")
        assert done.returncode == 0, done.stderr
        assert_same(snapshot(state), want)
    finally:
        shutil.rmtree(ref, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
