"""The personality trading bot: one decision path, a broker as the source of truth, safety.

Each iteration (:meth:`TradingBot.iterate`):

1. pulls the last ``lookback_bars`` bars from the broker (stale bars and closed markets refused:
   the XNYS calendar of ``exchange_calendars`` cross-checked with the broker's clock);
2. resolves orders whose outcome is open in the ledger (``order_by_client_id``) and
   **reconciles** the :class:`LivePortfolio` with the broker's account, positions and open
   orders (:mod:`dollarbill_research.live.reconcile`), so that it decides on the broker's book;
3. applies the trading state (ACTIVE / REDUCING / HALTED: kill-switch file, daily drawdown
   circuit breaker) and computes the strategies' signals on the rolling window
   (:class:`~dollarbill_research.strategies.rolling.RollingSignals`);
4. decides through :meth:`LivePortfolio.on_bar` - the backtest's step kernel: exits, sizing,
   pre-trade approval - and turns its fills into orders with deterministic client order ids
   (bot id, bar time, symbol, strategy, open/close);
5. commits the orders as intents to the ledger, then submits them (an id the broker already
   knows is looked up, never sent twice), records the broker's answers and fills, reconciles
   again (dropping what was blocked, rejected or not sent), and commits the saved state with the
   bar's done mark in one transaction.

A process killed anywhere restarts from the last finished bar and re-decides the open bar with
the same inputs and so the same client order ids: no order is duplicated and the ledger ends
equal to an uninterrupted run's (``tests/live/test_crash.py``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dollarbill_research._typing import PathLike
from dollarbill_research.config.bot import BotConfig
from dollarbill_research.exceptions import BrokerError, StateError
from dollarbill_research.kernels import codes, records
from dollarbill_research.live.broker import Broker, Order, OrderRequest
from dollarbill_research.live.ledger import Ledger
from dollarbill_research.live.portfolio import Decisions, LivePortfolio
from dollarbill_research.live.reconcile import (
    Expected,
    drop_slot,
    fill_instrument,
    model_book,
    model_equity,
    occ_symbol,
    reconcile,
)
from dollarbill_research.live.session import (
    ACTIVE,
    HALTED,
    REDUCING,
    BotSummary,
    Iteration,
    _Crash,
    xnys_open,
)
from dollarbill_research.strategies.rolling import RollingSignals

__all__ = ["ACTIVE", "HALTED", "REDUCING", "BotSummary", "Iteration", "TradingBot"]


def _side(price: float, opening: bool) -> str:
    pays = price >= 0.0
    return "buy" if pays == opening else "sell"


def _stamp(ts: np.datetime64) -> str:
    return str(np.datetime64(ts, "ns"))


class TradingBot:
    """The bot over a :class:`Broker` and a state directory (see the module docstring).

    Parameters
    ----------
    config : BotConfig
    broker : Broker
    state_dir : path
        Holds ``ledger.sqlite`` (orders, fills, audit, bars, saved state) and the kill switch.
    dry_run : bool
        Decide and print, submit nothing (orders are recorded with status ``dry_run``).
    strategy : Strategy, optional
        Overrides ``config.strategy()``.
    symbols : tuple of str, optional
        Overrides ``config.symbols`` (default: the broker's ``symbols``).
    on_iteration : callable, optional
        Called with each :class:`Iteration` (the CLI prints it).
    keep_records : bool
        Keep every bar's :class:`Decisions` (the parity test).
    """

    def __init__(
        self,
        config: BotConfig,
        broker: Broker,
        state_dir: PathLike,
        *,
        dry_run: bool = False,
        strategy: Any = None,
        symbols: tuple[str, ...] | None = None,
        on_iteration: Callable[[Iteration], None] | None = None,
        keep_records: bool = False,
    ) -> None:
        self.config = config
        self.broker = broker
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.dry_run = dry_run
        self.on_iteration = on_iteration
        self.keep_records = keep_records
        self.records: list[Decisions] = []
        syms = symbols or config.symbols or getattr(broker, "symbols", None)
        if not syms:
            raise BrokerError(
                f"{config.source}: trading.symbols is required with the {broker.name} broker; "
                'hint: add "symbols": ["AAPL", ...] to the trading section'
            )
        self.symbols = tuple(syms)
        self.strategy = strategy if strategy is not None else config.strategy()
        self.rolling = RollingSignals(self.strategy, self.symbols)
        self.rows = self.rolling.lookback_bars
        self.ledger = Ledger(self.state_dir)
        self._crash = _Crash()
        kill = Path(config.safety.kill_switch_file)
        self.kill_switch = kill if kill.is_absolute() else self.state_dir / kill
        self.live: LivePortfolio | None = None
        self.trading_state = ACTIVE
        self.halt_reason = ""
        self.day = ""
        self.day_start_equity = float("nan")
        self.last_equity = float("nan")
        self._lot_rows: tuple[Decisions, dict[tuple[str, str], dict[str, Any]]] | None = None
        self._load()

    # ------------------------------------------------------------------------------------------
    def _load(self) -> None:
        blob = self.ledger.get_state("portfolio")
        if blob is None:
            return
        live = LivePortfolio.from_bytes(blob, f"{self.ledger.path}:portfolio")
        if live.symbols != self.symbols or live.strategies != self.rolling.names:
            raise StateError(
                f"the saved state in {self.ledger.path} trades {live.symbols} with "
                f"{live.strategies}, the config {self.symbols} with {self.rolling.names}; "
                "hint: use a fresh --state-dir for a different universe or strategy list"
            )
        self.live = live
        regime = self.ledger.get_state("regime")
        if regime is not None:
            self.rolling.set_state(np.load(io.BytesIO(regime), allow_pickle=False))
        meta = json.loads((self.ledger.get_state("bot") or b"{}").decode())
        self.trading_state = meta.get("trading_state", ACTIVE)
        self.halt_reason = meta.get("halt_reason", "")
        self.day = meta.get("day", "")
        self.day_start_equity = float(meta.get("day_start_equity", float("nan")))
        self.last_equity = float(meta.get("last_equity", float("nan")))

    def _new_portfolio(self, window: Any) -> LivePortfolio:
        tpl = self.rolling.prime(window)
        return LivePortfolio(
            self.config.backtest_config(), self.config.portfolio_config(),
            symbols=self.symbols, strategies=self.rolling.names, templates=tpl,
            sector_codes=window.sector_codes,
        )  # fmt: skip

    def _save(self, bar: str, n_orders: int, n_rej: int) -> None:
        assert self.live is not None
        buf = io.BytesIO()
        np.save(buf, self.rolling.state, allow_pickle=False)
        meta = {
            "trading_state": self.trading_state, "halt_reason": self.halt_reason,
            "day": self.day, "day_start_equity": self.day_start_equity,
            "last_equity": self.last_equity,
        }  # fmt: skip
        self._crash("before_save")
        with self.ledger.transaction():
            self.ledger.put_state("portfolio", self.live.to_bytes())
            self.ledger.put_state("regime", buf.getvalue())
            self.ledger.put_state("bot", json.dumps(meta).encode())
            self.ledger.bar_done(bar, self.last_equity, self.live.cash, n_orders, n_rej)

    # ------------------------------------------------------------------------------------------
    def _set_state(self, it: Iteration, state: str, reason: str, **detail: Any) -> None:
        if state == self.trading_state and reason == self.halt_reason:
            return
        event = {"event": "trading_state", "from": self.trading_state, "to": state,
                 "reason": reason, **detail}  # fmt: skip
        self.trading_state, self.halt_reason = state, reason
        it.safety.append(event)
        self.ledger.audit(_stamp(it.timestamp), "safety", **event)

    def _refuse(self, it: Iteration, why: str, **detail: Any) -> Iteration:
        it.skipped = why
        event = {"event": why, **detail}
        it.safety.append(event)
        self.ledger.audit(_stamp(it.timestamp), "safety", **event)
        if self.on_iteration is not None:
            self.on_iteration(it)
        return it

    def _expected(self, exclude_bar: str | None) -> tuple[Expected, dict[str, float]]:
        """The broker's book as the model should see it.

        Broker positions plus the unfilled rest of open orders (the model booked them at the
        decision close, at the ledger's reference price), minus every effect of the orders of
        ``exclude_bar`` (a bar being re-decided after a restart: its orders come again).
        """
        broker_pos = self.broker.positions()
        positions = {k: p.qty for k, p in broker_pos.items()}
        avg = {k: p.avg_price for k, p in broker_pos.items()}
        cash = self.broker.account().cash
        redo = (
            {r["client_order_id"]: r for r in self.ledger.orders(
                "WHERE bar_timestamp>=?", (exclude_bar,))}
            if exclude_bar is not None
            else {}
        )  # fmt: skip
        for o in self.broker.open_orders():
            if o.client_order_id in redo:
                continue
            rest = o.qty - o.filled_qty
            sign = 1.0 if o.side == "buy" else -1.0
            positions[o.instrument] = positions.get(o.instrument, 0.0) + sign * rest
            avg.pop(o.instrument, None)
            rows = self.ledger.orders("WHERE client_order_id=?", (o.client_order_id,))
            if rows:
                flow = rows[0]["ref_price"] * rest
                fee = rows[0]["ref_fee"] * (rest / o.qty if o.qty > 0 else 0.0)
                cash = cash - (flow + fee) if o.side == "buy" else cash + (flow - fee)
        for cid in redo:
            o = self.broker.order_by_client_id(cid)
            if o is None:
                continue
            sign = 1.0 if o.side == "buy" else -1.0
            positions[o.instrument] = positions.get(o.instrument, 0.0) - sign * o.filled_qty
            for qty, price, fee, _ in o.fills:
                cash = cash + (price * qty + fee) if o.side == "buy" else cash - (price * qty - fee)
            avg.pop(o.instrument, None)
        if self.live is not None:
            avg = self._lot_prices(avg)
        return Expected({k: v for k, v in positions.items() if abs(v) > 1e-12}, cash), avg

    def _lot_prices(self, avg: dict[str, float]) -> dict[str, float]:
        """Entry prices for the reconciliation: each model lot's own entry fill.

        The broker reports one average price per instrument, which is not the remaining lot's
        price once another strategy's lot of it closed: a strategy's single lot takes its own
        entry order's fill (from the ledger); hedge lots and others the broker's average.
        """
        out = dict(avg)
        n_sym = len(self.symbols)
        for inst, slots in model_book(self.live).items():
            if inst not in out or len(slots) != 1:
                continue
            slot = slots[0][0]
            if slot >= len(self.rolling.names) * n_sym:
                continue  # a breach-policy hedge lot
            strategy, symbol = self.rolling.names[slot // n_sym], self.symbols[slot % n_sym]
            rows = self.ledger.orders(
                "WHERE symbol=? AND strategy=? AND client_order_id LIKE '%-o' AND filled_qty>0",
                (symbol, strategy),
            )
            if rows and rows[-1]["instrument"] == inst:  # the latest entry of that lot
                out[inst] = float(rows[-1]["avg_price"])
        return out

    def _resolve_open_orders(self, bar: str) -> None:
        """Ask the broker about every order whose outcome the ledger does not know yet."""
        for row in self.ledger.open_orders():
            cid = row["client_order_id"]
            try:
                order = self.broker.order_by_client_id(cid)
            except BrokerError as err:
                self.ledger.audit(bar, "order_lookup_failed", client_order_id=cid, error=str(err))
                continue
            with self.ledger.transaction():
                if order is None:
                    if row["status"] == "unknown":  # never reached the broker
                        self.ledger.set_status(cid, "rejected", "lost: unknown to the broker")
                        self.ledger.audit(bar, "order_lost", client_order_id=cid)
                    continue
                self.ledger.update_from_broker(order)
                self.ledger.audit(bar, "order_resolved", client_order_id=cid,
                                  status=order.status, filled_qty=order.filled_qty)  # fmt: skip

    # ------------------------------------------------------------------------------------------
    def iterate(self) -> Iteration | None:
        """Decide on the broker's latest bar; None when that bar is already done."""
        cfg = self.config
        clock = self.broker.clock()
        window = self.broker.latest_bars(self.symbols, self.rows)
        ts = np.datetime64(window.timestamps[-1], "ns")
        bar = _stamp(ts)
        last = self.ledger.last_bar()
        if last is not None and bar <= last:
            return None
        it = Iteration(timestamp=ts, min_confidence=cfg.min_confidence, state=self.trading_state)
        age_h = float((clock.timestamp - ts) / np.timedelta64(1, "h"))
        if age_h > cfg.safety.max_bar_age_hours:
            return self._refuse(it, "stale_bars", bar_age_hours=age_h,
                                max_bar_age_hours=cfg.safety.max_bar_age_hours)  # fmt: skip
        if cfg.safety.check_market_hours:
            cal = xnys_open(clock.timestamp, clock.session_only)
            if cal != clock.is_open:
                return self._refuse(it, "clock_mismatch", broker_open=clock.is_open,
                                    calendar_open=cal, clock=_stamp(clock.timestamp))  # fmt: skip
            if not cal:
                return self._refuse(it, "market_closed", clock=_stamp(clock.timestamp))
        if self.live is None:
            self.live = self._new_portfolio(window)
        live = self.live
        self._resolve_open_orders(bar)
        expected, avg = self._expected(bar)
        # the broker has credited this bar's cash interest already; the step kernel will
        expected.cash -= live.pending_interest(ts)
        changes = reconcile(live, expected, avg)
        if changes:
            with self.ledger.transaction():
                for c in changes:
                    self.ledger.audit(bar, "reconcile", **c)
        it.reconciliation = changes
        equity_now = (
            model_equity(live) if changes or not np.isfinite(self.last_equity) else self.last_equity
        )
        day = bar[:10]
        if day != self.day:
            self.day, self.day_start_equity = day, equity_now
            if self.trading_state == HALTED and self.halt_reason == "circuit_breaker":
                self._set_state(it, ACTIVE, "new_session")
        if self.kill_switch.exists():
            state = REDUCING if cfg.safety.kill_switch_flatten else HALTED
            self._set_state(it, state, "kill_switch", file=str(self.kill_switch))
        elif self.halt_reason == "kill_switch":
            self._set_state(it, ACTIVE, "kill_switch_removed")
        it.state = self.trading_state
        it.cash = live.cash
        it.portfolio_value = equity_now

        sig, conf = self.rolling.step(window)
        if self.trading_state != ACTIVE:
            entry = (sig == codes.SIG_LONG) | (sig == codes.SIG_SHORT)
            sig[entry] = codes.SIG_NONE
            conf[entry] = 0.0
            if self.trading_state == REDUCING:
                held = live.positions["active"] == 1
                n_sym = len(self.symbols)
                for slot in np.nonzero(held)[0]:
                    sig[slot // n_sym, slot % n_sym] = codes.SIG_EXIT
                    conf[slot // n_sym, slot % n_sym] = 1.0
        entries = (sig == codes.SIG_LONG) | (sig == codes.SIG_SHORT)
        for s, j in zip(*np.nonzero(entries), strict=True):
            it.signals.append(
                {
                    "symbol": self.symbols[j],
                    "strategy": self.rolling.names[s],
                    "confidence": float(conf[s, j]),
                    "side": "long" if sig[s, j] == codes.SIG_LONG else "short",
                }
            )
        d = live.on_bar(ts, close=window.close[-1], iv=window.iv[-1], valid=window.valid[-1],
                        signal=sig, confidence=conf)  # fmt: skip
        it.decisions = d
        if self.keep_records:
            self.records.append(d)
        self._slots: dict[str, int] = {}
        requests = self._requests(d, ts)
        # --- safety on the orders: daily trade cap, max positions incl. unmanaged -------------
        trades_today = self.ledger.trades_on(day)
        unmanaged = sum(1 for c in changes if c["event"] == "unmanaged_position")
        cap = cfg.safety.max_daily_trades
        statuses: list[tuple[OrderRequest, str, str]] = []
        for req, strat in requests:
            status, why = "intent", ""
            if req.reason == "entry":
                if cap and trades_today >= cap:
                    status, why = "blocked", f"max_daily_trades ({cap}) reached"
                elif (
                    cfg.max_positions
                    and unmanaged
                    and (int(live.counters[records.C_OPEN]) + unmanaged > cfg.max_positions)
                ):
                    status, why = (
                        "blocked",
                        (
                            f"max_positions ({cfg.max_positions}) with {unmanaged} unmanaged "
                            "broker positions"
                        ),
                    )
                else:
                    trades_today += 1
            if self.dry_run and status == "intent":
                status = "dry_run"
            statuses.append((req, strat, status + ("|" + why if why else "")))
        with self.ledger.transaction():
            for req, strat, st in statuses:
                status, _, why = st.partition("|")
                inserted = self.ledger.add_intent({
                    "client_order_id": req.client_order_id, "bar_timestamp": bar,
                    "symbol": req.symbol, "instrument": req.instrument, "strategy": strat,
                    "side": req.side, "qty": req.qty, "status": status,
                    "reason": req.reason + (f": {why}" if why else ""),
                    "ref_price": req.ref_price, "ref_fee": req.ref_fee,
                })  # fmt: skip
                if inserted:
                    self.ledger.audit(bar, "order_intent", client_order_id=req.client_order_id,
                                      symbol=req.symbol, strategy=strat, side=req.side,
                                      qty=req.qty, status=status, why=why)  # fmt: skip
                    if status == "blocked":
                        self.ledger.audit(
                            bar,
                            "safety",
                            event="order_blocked",
                            client_order_id=req.client_order_id,
                            reason=why,
                        )
            for r in self._rejections(d):
                self.ledger.audit(bar, "rejection", symbol=r["symbol"], strategy=r["strategy"],
                                  reasons=r["reasons"], text=r["text"])  # fmt: skip
            self.ledger.audit(
                bar,
                "decision",
                n_signals=len(it.signals),
                n_orders=len(requests),
                n_rejections=len(d.rejection_records),
                state=self.trading_state,
            )
        self._crash("after_intent")
        for req, strat, _ in statuses:
            row = self.ledger.orders("WHERE client_order_id=?", (req.client_order_id,))[0]
            status = row["status"]
            order: Order | None = None
            if status in ("intent", "unknown"):
                order = self.broker.order_by_client_id(req.client_order_id)
                if order is None:
                    order = self.broker.submit(req)
                self._crash("after_submit")
                with self.ledger.transaction():
                    self.ledger.update_from_broker(order)
                    self.ledger.audit(bar, "order_submitted", client_order_id=req.client_order_id,
                                      status=order.status, filled_qty=order.filled_qty,
                                      reason=order.reason)  # fmt: skip
                self._crash("after_fill")
                status = order.status
            it.orders.append(self._order_line(req, strat, status, d, order))
        # --- after submit: the model agrees with what the broker took -------------------------
        unsent = [
            o
            for o in it.orders
            if o["opening"] and o["status"] in ("blocked", "rejected", "dry_run")
        ]
        for o in unsent:  # entries the broker never took: out of the model, slot by slot
            slot = self._slots[o["client_order_id"]]
            if live.positions["active"][slot] == 1:
                live.account[records.A_CASH] += live.positions["entry_value"][slot] * float(
                    live.positions["qty"][slot]
                ) + float(live.positions["entry_costs"][slot])
                drop_slot(live, slot)
        expected, avg = self._expected(None)
        changes2 = reconcile(live, expected, avg)
        if changes2:
            with self.ledger.transaction():
                for c in changes2:
                    self.ledger.audit(bar, "reconcile", **c)
            it.reconciliation += changes2
            self.last_equity = model_equity(live)
        else:
            self.last_equity = float(d.equity["equity"])
        for r in self._rejections(d):
            it.rejections.append({"symbol": r["symbol"], "strategy": r["strategy"],
                                  "reasons": [t for t in r["text"].split("; ") if t]})  # fmt: skip
        # --- circuit breaker ---------------------------------------------------------------------
        dd = cfg.safety.max_daily_drawdown_pct
        start = self.day_start_equity
        if dd > 0 and np.isfinite(start) and start > 0 and self.trading_state == ACTIVE:
            drop = (start - self.last_equity) / start * 100.0
            if drop > dd:
                self._set_state(it, HALTED, "circuit_breaker", drawdown_pct=drop,
                                limit_pct=dd, day_start_equity=start,
                                equity=self.last_equity)  # fmt: skip
        it.state = self.trading_state
        self._save(bar, len(requests), len(d.rejection_records))
        if self.on_iteration is not None:
            self.on_iteration(it)
        return it

    def _requests(self, d: Decisions, ts: np.datetime64) -> list[tuple[OrderRequest, str]]:
        live = self.live
        assert live is not None
        n_sym = len(self.symbols)
        stamp = np.datetime_as_string(ts, unit="m").replace("-", "").replace(":", "")
        out = []
        seen: dict[str, int] = {}
        for f in d.fills:
            j, s = int(f["symbol"]), int(f["strategy"])
            symbol = self.symbols[j]
            opening = f["side"] > 0
            price = float(f["price"])
            side = _side(price, bool(opening))
            p = live.positions[s * n_sym + j]
            spot = float(f["spot"])
            qty = float(f["qty"])
            if int(f["kind"]) == codes.KIND_SHARES:
                unit_delta = 1.0
            else:
                dd = float(p["delta_d"]) / (spot * max(float(p["qty"]), 1e-12)) if spot > 0 else 0.0
                unit_delta = dd if price >= 0 else -dd
            cid = f"{self.config.bot_id}-{stamp}-{symbol}-s{s}-{'o' if opening else 'c'}"
            # a second fill of the same lot on one bar (a signal exit after a breach trim):
            # its own id, numbered in the kernel's fill order, so a restart repeats it exactly
            n_same = seen.get(cid, 0) + 1
            seen[cid] = n_same
            if n_same > 1:
                cid = f"{cid}{n_same}"
            option = None
            if int(f["kind"]) in (codes.KIND_CALL, codes.KIND_PUT) and int(f["n_legs"]) == 1:
                option = occ_symbol(symbol, float(f["expiry_day"]), int(f["leg0_type"]),
                                    float(f["leg0_strike"]))  # fmt: skip
            req = OrderRequest(
                client_order_id=cid, instrument=fill_instrument(f, symbol), symbol=symbol,
                side=side, qty=qty, bar_timestamp=ts, ref_price=abs(price),
                ref_fee=float(f["costs"]), unit_delta=unit_delta, kind=int(f["kind"]),
                n_legs=int(f["n_legs"]), option_symbol=option,
                reason=codes.EXIT_NAMES[int(f["reason"])],
            )  # fmt: skip
            self._slots[cid] = s * n_sym + j
            out.append((req, self.rolling.names[s]))
        return out

    @staticmethod
    def _rejections(d: Decisions) -> list[dict[str, Any]]:
        return list(d.rejections.iter_rows(named=True)) if len(d.rejection_records) else []

    def _order_line(
        self, req: OrderRequest, strat: str, status: str, d: Decisions, order: Order | None
    ) -> dict[str, Any]:
        if self._lot_rows is None or self._lot_rows[0] is not d:  # indexed once per bar
            rows = reversed(list(d.orders.iter_rows(named=True)))  # a lot's first row wins
            self._lot_rows = (d, {(r["symbol"], r["strategy"]): r for r in rows})
        row = self._lot_rows[1].get((req.symbol, strat), {})
        return {
            "client_order_id": req.client_order_id, "symbol": req.symbol, "strategy": strat,
            "side": req.side, "qty": req.qty, "reason": req.reason, "status": status,
            "instrument": row.get("instrument", ""), "spot": row.get("spot"),
            "opening": req.reason == "entry", "warnings": list(row.get("warning_text") or []),
            "broker_reason": order.reason if order is not None else "",
            "kind": req.kind,
        }  # fmt: skip

    def run(self, *, max_iterations: int | None = None) -> BotSummary:
        """Replay: advance the broker bar by bar (``advance()``) and iterate on each new bar.

        A broker without ``advance`` (Alpaca) runs one iteration. A bar refused by a safety
        check (market closed, stale) is passed over.
        """
        advance = getattr(self.broker, "advance", None)
        n = 0
        seen: str | None = None
        while max_iterations is None or n < max_iterations:
            last = self.ledger.last_bar()
            ready = getattr(self.broker, "cursor", 0) >= getattr(self.broker, "first", 0)
            if ready:
                ts = _stamp(self.broker.clock().timestamp)
                if (last is None or ts > last) and ts != seen:
                    seen = ts
                    self.iterate()
                    n += 1
                    if advance is None:
                        break
                    continue
            if advance is None or not advance():
                break
        return self.summary()

    def summary(self) -> BotSummary:
        """Totals from the ledger."""
        orders = self.ledger.orders("WHERE status NOT IN ('blocked', 'dry_run')")
        n_rej = self.ledger.con.execute(
            "SELECT coalesce(sum(n_rejections), 0) FROM bars"
        ).fetchone()
        n_bars = self.ledger.con.execute("SELECT count(*) FROM bars").fetchone()
        eq = (
            self.last_equity
            if np.isfinite(self.last_equity)
            else float(self.config.initial_capital)
        )
        return BotSummary(
            final_equity=eq, n_orders=len(orders), n_fills=len(self.ledger.fills()),
            n_rejections=int(n_rej[0]), n_bars=int(n_bars[0]), state=self.trading_state,
        )  # fmt: skip

    def close(self) -> None:
        """Close the ledger (and the broker's, when it has one)."""
        self.ledger.close()
        closer = getattr(self.broker, "close", None)
        if closer is not None:
            closer()
