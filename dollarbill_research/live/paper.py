"""PaperBroker: a local broker with a durable SQLite ledger that replays a bar history.

The broker keeps its own account (cash), positions, orders and fills in
``<state_dir>/paper_broker.sqlite`` (WAL, ``synchronous=FULL``): it plays the remote side, so the
bot reconciles with it exactly as with a real broker. Its clock is a cursor over the bars of a
history (:meth:`PaperBroker.advance` moves to the next bar); bars before ``start`` are history
only (the strategies' warm-up).

Fills (our cost model, :class:`~dollarbill_research.config.backtest.BacktestConfig`):

* ``fill="open"`` (default): an order waits for the next bar and fills at its open. The unit
  price moves from the decision bar's close by the unit delta (exact for shares; first order for
  options). Shares pay half of ``share_spread_pct`` on that price plus the commission per share;
  option structures pay the model's costs of the decision bar (``ref_fee``: half-spreads on
  each leg with the tick floor, commission per contract and leg).
* ``fill="close"``: the order fills at once at the decision bar's close, at the model's price and
  costs (``OrderRequest.ref_price`` / ``ref_fee``): the parity mode, in which a replay through
  the bot equals :meth:`BacktestEngine.run`.

Orders are idempotent: a second submit with a known client order id returns the existing order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dollarbill_research._typing import PathLike
from dollarbill_research.backtesting.engine import DataInput, prepare_data
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.data.panel import Panel
from dollarbill_research.exceptions import BrokerError, ConfigError, DataError
from dollarbill_research.kernels.codes import KIND_SHARES
from dollarbill_research.live.broker import (
    Account,
    Clock,
    Order,
    OrderRequest,
    Position,
)
from dollarbill_research.live.sqlite import connect
from dollarbill_research.strategies.rolling import window_panel

__all__ = ["PaperBroker", "select_symbols"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    instrument TEXT PRIMARY KEY, symbol TEXT NOT NULL, qty REAL NOT NULL,
    avg_price REAL NOT NULL, kind INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, instrument TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, qty REAL NOT NULL, status TEXT NOT NULL, filled_qty REAL NOT NULL,
    avg_price REAL NOT NULL, fee REAL NOT NULL, bar_index INTEGER NOT NULL,
    ref_price REAL NOT NULL, ref_fee REAL NOT NULL, unit_delta REAL NOT NULL,
    kind INTEGER NOT NULL, n_legs INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, qty REAL NOT NULL,
    price REAL NOT NULL, fee REAL NOT NULL, timestamp TEXT NOT NULL);
"""


def select_symbols(panel: Panel, symbols: tuple[str, ...] | None) -> Panel:
    """The panel restricted to ``symbols`` (in that order); all of it when None."""
    if symbols is None or tuple(symbols) == panel.symbols:
        return panel
    missing = [s for s in symbols if s not in panel.symbols]
    if missing:
        raise ConfigError(
            f"trading.symbols {missing} are not in the data (it has "
            f"{', '.join(panel.symbols[:12])}); hint: fix the names or the data folder"
        )
    cols = np.array([panel.symbols.index(s) for s in symbols])
    import dataclasses

    return dataclasses.replace(
        panel,
        symbols=tuple(symbols),
        **{
            f: np.ascontiguousarray(getattr(panel, f)[:, cols])
            for f in ("open", "high", "low", "close", "volume", "iv", "valid")
        },
        sector_codes=np.ascontiguousarray(panel.sector_codes[cols]),
    )


def _day(ts: np.datetime64) -> np.datetime64:
    return np.datetime64(ts, "D")


class PaperBroker:
    """A local broker over a bar history with a durable ledger (see the module docstring).

    Parameters
    ----------
    state_dir : path
        Folder of ``paper_broker.sqlite`` (created); an existing ledger is resumed.
    data : polars.DataFrame, path or Panel
        The history to replay (SPEC 2 bars, a CSV/Parquet file or folder).
    fill : {"open", "close"}
        Next bar's open (default) or the decision bar's close (parity).
    config : BacktestConfig, optional
        Costs (commission, spread) and the starting cash (``initial_capital``).
    start, end : str or numpy.datetime64, optional
        First and last bar to trade (earlier bars are history only).
    symbols : tuple of str, optional
        Columns to keep (default: every symbol of the data).
    """

    name = "paper"

    def __init__(
        self,
        state_dir: PathLike,
        data: DataInput,
        *,
        fill: str = "open",
        config: BacktestConfig | None = None,
        start: str | np.datetime64 | None = None,
        end: str | np.datetime64 | None = None,
        symbols: tuple[str, ...] | None = None,
    ) -> None:
        if fill not in ("open", "close"):
            raise ConfigError(f"PaperBroker.fill={fill!r} must be 'open' or 'close'")
        self.fill = fill
        self.config = config if config is not None else BacktestConfig()
        _, panel = prepare_data(data)
        self.panel = select_symbols(panel, symbols)
        if self.panel.n_bars == 0:
            raise DataError("PaperBroker: the replay data has no bars; hint: check the folder")
        ts = self.panel.timestamps
        self.first = 0 if start is None else int(np.searchsorted(ts, _as_ns(start, "start")))
        self.last = (
            self.panel.n_bars - 1
            if end is None
            else int(np.searchsorted(ts, _as_ns(end, "end"), side="right")) - 1
        )
        if self.first > self.last:
            raise ConfigError(
                f"PaperBroker: no bar between start={start} and end={end} (data covers "
                f"{ts[0]} to {ts[-1]}); hint: widen --start/--end"
            )
        self.path = Path(state_dir) / "paper_broker.sqlite"
        self.con = connect(self.path, _SCHEMA)
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('cash', ?)",
                (repr(float(self.config.initial_capital)),),
            )
            self.con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('cursor', ?)", (str(self.first - 1),)
            )

    # ------------------------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols of the replay."""
        return self.panel.symbols

    @property
    def cursor(self) -> int:
        """Index of the current bar (``first - 1`` before the first :meth:`advance`)."""
        return int(self._meta("cursor"))

    def _meta(self, key: str) -> str:
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0]

    def _cash(self) -> float:
        return float(self._meta("cash"))

    def advance(self) -> bool:
        """Move to the next bar (filling waiting orders at its open); False at the end."""
        cur = self.cursor
        if cur >= self.last:
            return False
        nxt = cur + 1
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self._credit_interest(cur, nxt)
            self.con.execute("UPDATE meta SET value=? WHERE key='cursor'", (str(nxt),))
            if self.fill == "open":
                rows = self.con.execute(
                    "SELECT client_order_id FROM orders WHERE status='new' ORDER BY rowid"
                ).fetchall()
                for (cid,) in rows:
                    self._fill_at_open(cid, nxt)
        return True

    def _credit_interest(self, cur: int, nxt: int) -> None:
        """Credit cash interest from bar ``cur`` to bar ``nxt`` as the step kernel accrues it.

        ``cash x cash_interest_rate x (day - last day) / 365`` on the cash before ``nxt``'s
        fills, none before the first traded bar (the kernel accrues none on its first bar).
        """
        rate = self.config.effective_cash_interest_rate
        if rate == 0.0 or cur < self.first:
            return
        ns = self.panel.timestamps[[cur, nxt]].astype(np.int64)
        last, day = float(ns[0]) / 86_400e9, float(ns[1]) / 86_400e9
        cash = self._cash()
        cash += cash * rate * (day - last) / 365.0
        self.con.execute("UPDATE meta SET value=? WHERE key='cash'", (repr(float(cash)),))

    def clock(self) -> Clock:
        """The current bar's timestamp; the market counts as open on every bar of the replay."""
        cur = max(self.cursor, 0)
        ts = self.panel.timestamps
        daily = (
            ts.shape[0] < 2 or float(np.median(np.diff(ts[:64]).astype(np.float64))) >= 20 * 3600e9
        )
        return Clock(np.datetime64(ts[cur], "ns"), self.cursor >= self.first, session_only=daily)

    def latest_bars(self, symbols: tuple[str, ...], n_rows: int) -> Panel:
        """The last ``n_rows`` bars up to the current one."""
        if self.cursor < 0:
            raise BrokerError("PaperBroker.latest_bars before the first advance()")
        return select_symbols(window_panel(self.panel, self.cursor, n_rows), symbols)

    def account(self) -> Account:
        """Cash, and cash plus positions marked at the current close (options at cost)."""
        cash = self._cash()
        value = cash
        t = max(self.cursor, 0)
        for p in self.positions().values():
            j = self.panel.symbols.index(p.symbol)
            mark = self.panel.close[t, j] if p.instrument == p.symbol else p.avg_price
            if np.isfinite(mark):
                value += p.qty * mark
        return Account(cash=cash, portfolio_value=value)

    def positions(self) -> dict[str, Position]:
        """Open positions by instrument."""
        rows = self.con.execute(
            "SELECT instrument, symbol, qty, avg_price FROM positions ORDER BY instrument"
        ).fetchall()
        return {r[0]: Position(r[0], r[1], r[2], r[3]) for r in rows}

    def open_orders(self) -> list[Order]:
        """Orders waiting for the next open."""
        rows = self.con.execute(
            "SELECT client_order_id FROM orders WHERE status IN ('new', 'partially_filled') "
            "ORDER BY rowid"
        ).fetchall()
        return [o for (cid,) in rows if (o := self.order_by_client_id(cid)) is not None]

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order with this id (with its fills), or None."""
        r = self.con.execute(
            "SELECT client_order_id, instrument, symbol, side, qty, status, filled_qty, "
            "avg_price, fee, reason FROM orders WHERE client_order_id=?",
            (client_order_id,),
        ).fetchone()
        if r is None:
            return None
        fills = self.con.execute(
            "SELECT qty, price, fee, timestamp FROM fills WHERE client_order_id=? ORDER BY seq",
            (client_order_id,),
        ).fetchall()
        return Order(
            client_order_id=r[0], instrument=r[1], symbol=r[2], side=r[3], qty=r[4],
            status=r[5], filled_qty=r[6], filled_avg_price=r[7], fee=r[8], broker_id=r[0],
            reason=r[9], fills=[tuple(f) for f in fills],
        )  # fmt: skip

    def submit(self, request: OrderRequest) -> Order:
        """Accept an order (idempotent by client order id); ``fill="close"`` fills it at once."""
        existing = self.order_by_client_id(request.client_order_id)
        if existing is not None:
            return existing
        if request.side not in ("buy", "sell") or not request.qty > 0:
            raise BrokerError(
                f"PaperBroker.submit {request.client_order_id}: side {request.side!r} and qty "
                f"{request.qty!r} must be buy/sell and > 0"
            )
        if request.symbol not in self.panel.symbols:
            raise BrokerError(f"PaperBroker.submit: unknown symbol {request.symbol!r}")
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, 'new', 0, 0, 0, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.client_order_id, request.instrument, request.symbol, request.side,
                    float(request.qty), self.cursor, float(request.ref_price),
                    float(request.ref_fee), float(request.unit_delta), int(request.kind),
                    int(request.n_legs), request.reason,
                ),
            )  # fmt: skip
            if self.fill == "close":
                self._apply_fill(
                    request.client_order_id, float(request.ref_price), float(request.ref_fee)
                )
        order = self.order_by_client_id(request.client_order_id)
        assert order is not None
        return order

    def cancel(self, client_order_id: str) -> None:
        """Cancel a waiting order."""
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(
                "UPDATE orders SET status='canceled' WHERE client_order_id=? AND status='new'",
                (client_order_id,),
            )

    # ------------------------------------------------------------------------------------------
    def _fill_at_open(self, cid: str, t: int) -> None:
        row = self.con.execute(
            "SELECT symbol, bar_index, ref_price, ref_fee, unit_delta, kind, qty "
            "FROM orders WHERE client_order_id=?",
            (cid,),
        ).fetchone()
        symbol, bar, ref_price, ref_fee, unit_delta, kind, qty = row
        j = self.panel.symbols.index(symbol)
        opening = self.panel.open[t, j]
        close = self.panel.close[bar, j] if bar >= 0 else np.nan
        if not (np.isfinite(opening) and np.isfinite(close) and self.panel.valid[t, j]):
            return  # no bar for the symbol: the order waits
        price = max(ref_price + unit_delta * (opening - close), 0.0)
        cfg = self.config
        if kind == KIND_SHARES:
            spread = cfg.effective_share_spread_pct
            fee = qty * (price * spread / 200.0 + cfg.commission_per_share)
        else:
            # the model's costs at the decision bar: half-spreads on each leg's value with the
            # tick floor, and the commission per contract and leg (a structure's net price is
            # no base for a spread; the overnight move barely changes per-leg costs)
            fee = float(ref_fee)
        self._apply_fill(cid, price, fee, t)

    def _apply_fill(self, cid: str, price: float, fee: float, t: int | None = None) -> None:
        """Fill the whole order (inside the caller's transaction)."""
        instrument, symbol, side, qty, kind = self.con.execute(
            "SELECT instrument, symbol, side, qty, kind FROM orders WHERE client_order_id=?",
            (cid,),
        ).fetchone()
        t = self.cursor if t is None else t
        cash = self._cash()
        cash = cash - (price * qty + fee) if side == "buy" else cash + (price * qty - fee)
        self.con.execute("UPDATE meta SET value=? WHERE key='cash'", (repr(float(cash)),))
        signed = qty if side == "buy" else -qty
        pos = self.con.execute(
            "SELECT qty, avg_price FROM positions WHERE instrument=?", (instrument,)
        ).fetchone()
        if pos is None:
            self.con.execute(
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?)",
                (instrument, symbol, float(signed), float(price), int(kind)),
            )
        else:
            new = pos[0] + signed
            if abs(new) < 1e-9:
                self.con.execute("DELETE FROM positions WHERE instrument=?", (instrument,))
            else:
                same_side = (pos[0] > 0) == (signed > 0)
                avg = (pos[1] * abs(pos[0]) + price * qty) / abs(new) if same_side else pos[1]
                self.con.execute(
                    "UPDATE positions SET qty=?, avg_price=? WHERE instrument=?",
                    (new, avg, instrument),
                )
        stamp = str(np.datetime64(self.panel.timestamps[max(t, 0)], "ns"))
        self.con.execute(
            "INSERT INTO fills (client_order_id, qty, price, fee, timestamp) "
            "VALUES (?, ?, ?, ?, ?)",
            (cid, qty, price, fee, stamp),
        )
        self.con.execute(
            "UPDATE orders SET status='filled', filled_qty=?, avg_price=?, fee=? "
            "WHERE client_order_id=?",
            (qty, price, fee, cid),
        )

    def close(self) -> None:
        """Close the ledger connection."""
        self.con.close()


def _as_ns(value: object, name: str) -> np.datetime64:
    try:
        return np.datetime64(str(value), "ns")
    except ValueError as err:
        raise ConfigError(
            f"PaperBroker.{name}={value!r} is not a date; hint: use YYYY-MM-DD"
        ) from err
