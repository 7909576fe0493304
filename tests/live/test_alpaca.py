"""AlpacaBroker against a local fake server on 127.0.0.1: every ambiguous outcome handled."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("alpaca")

from dollarbill_research.config.bot import BotConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import BrokerError
from dollarbill_research.kernels import codes
from dollarbill_research.live.alpaca import AlpacaBroker
from dollarbill_research.live.bot import TradingBot
from dollarbill_research.live.broker import OrderRequest
from dollarbill_research.live.output import render
from dollarbill_research.strategies.base import Signals

from ._bot import fast_dir
from .fake_alpaca import FakeAlpaca

SECRET = "s3cr3t-never-printed"
SYMBOLS = ("AAA", "BBB")


def sessions(n: int, end: str) -> list[str]:
    import exchange_calendars as xc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xc.get_calendar("XNYS")
        days = cal.sessions_window(end, -n)
    return [f"{d:%Y-%m-%d}T04:00:00Z" for d in days]


def make_bars(n: int = 80, end: str = "2024-06-14") -> dict[str, list[dict]]:
    frame = synthetic_universe(n_symbols=2, n_bars=n, seed=5)
    stamps = sessions(n, end)
    out = {}
    for k, sym in enumerate(sorted(frame["symbol"].unique().to_list())):
        part = frame.filter(frame["symbol"] == sym).sort("timestamp")
        out[SYMBOLS[k]] = [
            {"t": stamps[i], "o": r["open"], "h": r["high"], "l": r["low"], "c": r["close"],
             "v": int(r["volume"]), "n": 100, "vw": r["close"]}
            for i, r in enumerate(part.iter_rows(named=True))
        ]  # fmt: skip
    return out


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("APCA_API_KEY_ID", "key-id")
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    server = FakeAlpaca(make_bars(), now="2024-06-14T14:30:00Z").start()
    yield server
    server.stop()


def broker(fake, timeout=2.0):
    return AlpacaBroker(url_override=fake.url, data_url_override=fake.url, timeout=timeout,
                        retry_attempts=2, retry_wait=0)  # fmt: skip


def req(cid="dbr-1-AAA-s0-o", qty=10.0):
    return OrderRequest(cid, "AAA", "AAA", "buy", qty, np.datetime64("2024-06-14"),
                        ref_price=100.0)  # fmt: skip


def test_keys_only_from_environment(monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    with pytest.raises(BrokerError, match="APCA_API_KEY_ID and APCA_API_SECRET_KEY"):
        AlpacaBroker()


def test_reads_account_clock_positions_bars(fake):
    b = broker(fake)
    assert SECRET not in repr(b)
    assert b.account().cash == 100_000.0
    clock = b.clock()
    assert clock.is_open
    assert clock.timestamp == np.datetime64("2024-06-14T14:30:00", "ns")
    fake.add_position("AAA", -5, 50.0)
    p = b.positions()["AAA"]
    assert (p.qty, p.avg_price) == (-5.0, 50.0)
    panel = b.latest_bars(SYMBOLS, 30)
    assert panel.symbols == SYMBOLS
    assert panel.n_bars == 30
    assert panel.close[-1, 0] == fake.bars["AAA"][-1]["c"]
    assert all(h.get("APCA-API-KEY-ID") == "key-id" for h in fake.headers_seen)


def test_accepted_order(fake):
    o = broker(fake).submit(req())
    assert (o.status, o.filled_qty, fake.posts) == ("new", 0.0, 1)


def test_504_after_accept_then_422_duplicate_is_looked_up(fake):
    fake.mode = "504_after_accept"
    o = broker(fake).submit(req())
    assert fake.posts == 2  # alpaca-py retried the POST ...
    assert len(fake.orders) == 1  # ... the order exists once ...
    assert o.status == "new"
    assert o.broker_id == fake.orders[req().client_order_id]["id"]


@pytest.mark.parametrize(("mode", "text"), [("403", "insufficient buying power"),
                                            ("404", "asset not found"),
                                            ("422", "qty must be > 0")])  # fmt: skip
def test_refusals_are_rejections_with_the_message(fake, mode, text):
    fake.mode = mode
    o = broker(fake).submit(req())
    assert o.status == "rejected"
    assert text in o.reason


def test_partial_fill(fake):
    fake.mode = "partial"
    o = broker(fake).submit(req(qty=10))
    assert (o.status, o.filled_qty, o.filled_avg_price) == ("partially_filled", 5.0, 100.0)


def test_hang_past_timeout_is_unknown_then_resolved(fake):
    fake.mode, fake.hang_s = "hang", 1.5
    b = broker(fake, timeout=0.3)
    o = b.submit(req())
    assert o.status == "unknown"
    assert "Timeout" in o.reason
    found = b.order_by_client_id(req().client_order_id)  # the next reconciliation
    assert found is not None
    assert found.status == "new"
    assert b.order_by_client_id("never-sent") is None


def test_multi_leg_is_rejected_without_a_request(fake):
    r = OrderRequest("x", "SPY IRON_CONDOR ...", "AAA", "sell", 1.0, np.datetime64("2024-06-14"),
                     kind=codes.KIND_IRON_CONDOR, n_legs=4)  # fmt: skip
    o = broker(fake).submit(r)
    assert o.status == "rejected"
    assert "multi-leg" in o.reason
    assert fake.posts == 0


class LastBarLong:
    """A custom stateless strategy: long the first symbol on every bar (forces an order)."""

    name = "Always Long"
    lookback_bars = 5

    def signals(self, frame, panel):
        sig = np.zeros((1, panel.n_bars, panel.n_symbols), dtype=np.int8)
        sig[0, :, 0] = codes.SIG_LONG
        tpl = np.zeros((1, 2, codes.TEMPLATE_LEN))
        tpl[0, :, codes.T_DIRECTION] = 1.0
        return Signals((self.name,), sig, sig * 0.9, tpl)


def bot_config():
    return BotConfig.from_json(
        '{"trading": {"symbols": ["AAA", "BBB"], "position_size_shares": 7},'
        ' "portfolio": {"enabled": false}}'
    )


def test_bot_submits_reconciles_fill_and_resolves_unknown(fake):
    state = fast_dir()
    texts = []
    try:
        bot = TradingBot(bot_config(), broker(fake, timeout=0.3), state, strategy=LastBarLong(),
                         on_iteration=lambda it: texts.append(render(it)))  # fmt: skip
        fake.mode, fake.hang_s = "hang", 1.0
        it = bot.iterate()
        assert it is not None
        assert it.orders[0]["status"] == "unknown"
        assert bot.ledger.orders()[0]["status"] == "unknown"
        assert bot.iterate() is None  # the same bar is done
        # next day: Alpaca filled it at the open, at another price than the model's close
        fill_px = fake.bars["AAA"][-1]["c"] * 1.01
        fake.fill_all({"AAA": fill_px})
        nxt = make_bars(81, "2024-06-17")
        fake.bars = nxt
        fake.now, fake.mode = "2024-06-17T14:30:00Z", "accept"
        it2 = bot.iterate()
        assert it2 is not None
        rows = {r["client_order_id"]: r for r in bot.ledger.orders()}
        first = rows[it.orders[0]["client_order_id"]]
        assert first["status"] == "filled"
        assert first["filled_qty"] == 7.0
        events = {c["event"] for c in it2.reconciliation}
        assert {"cash_adjusted", "entry_price"} <= events
        assert bot.live.cash == pytest.approx(fake.cash)  # the broker is the source of truth
        bot.close()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    assert "🟢 BUY → 7 shares" in texts[0]
    audit = "\n".join(texts)
    assert SECRET not in audit


def test_market_closed_and_clock_mismatch_refused(fake):
    state = fast_dir()
    try:
        bot = TradingBot(bot_config(), broker(fake), state, strategy=LastBarLong())
        fake.is_open = False  # the broker says closed, XNYS says open at 10:30 New York
        it = bot.iterate()
        assert it.skipped == "clock_mismatch"
        assert fake.posts == 0
        fake.now = "2024-06-15T14:30:00Z"  # a Saturday: both closed
        it = bot.iterate()
        assert it.skipped == "market_closed"
        assert fake.posts == 0
        audit = bot.ledger.con.execute("SELECT detail FROM audit WHERE event='safety'").fetchall()
        assert len(audit) == 2
        bot.close()
    finally:
        shutil.rmtree(state, ignore_errors=True)
