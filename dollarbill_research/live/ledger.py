"""The bot's ledger: ``<state_dir>/ledger.sqlite`` (WAL, ``synchronous=FULL``).

=========  ====================================================================================
``orders``  one row per client order id (UNIQUE): ``bar_timestamp, symbol, instrument, strategy,
            side, qty, status, reason`` and the broker's fill summary; an *intent* row is
            committed before the order is sent
``fills``   ``client_order_id, qty, price, fee, timestamp`` as the broker reported them
``audit``   append-only: every decision, order, rejection, reconciliation and safety event as
            JSON (``seq, time, bar_timestamp, event, detail``)
``bars``    one row per finished bar (equity, cash, counts): a bar is done only when its orders
            and fills are recorded and the state is saved, in the same transaction
``state``   the saved bot state (portfolio, regime, trading state) with a SHA-256 checksum
=========  ====================================================================================
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from dollarbill_research.exceptions import StateError
from dollarbill_research.live.broker import Order
from dollarbill_research.live.sqlite import connect

__all__ = ["Ledger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT NOT NULL UNIQUE, bar_timestamp TEXT NOT NULL, symbol TEXT NOT NULL,
    instrument TEXT NOT NULL, strategy TEXT NOT NULL, side TEXT NOT NULL, qty REAL NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, filled_qty REAL NOT NULL DEFAULT 0,
    avg_price REAL NOT NULL DEFAULT 0, fee REAL NOT NULL DEFAULT 0,
    broker_id TEXT NOT NULL DEFAULT '', ref_price REAL NOT NULL DEFAULT 0,
    ref_fee REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS orders_lot ON orders (symbol, strategy);
CREATE INDEX IF NOT EXISTS orders_bar ON orders (bar_timestamp);
CREATE TABLE IF NOT EXISTS fills (
    client_order_id TEXT NOT NULL, qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
    timestamp TEXT NOT NULL, UNIQUE (client_order_id, timestamp, qty, price));
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, bar_timestamp TEXT NOT NULL,
    event TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bars (
    bar_timestamp TEXT PRIMARY KEY, equity REAL NOT NULL, cash REAL NOT NULL,
    n_orders INTEGER NOT NULL, n_rejections INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, blob BLOB NOT NULL, sha256 TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_append_only BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


class Ledger:
    """The bot's durable record (see the module docstring)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / "ledger.sqlite"
        self.con = connect(self.path, _SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    # ------------------------------------------------------------------------------------------
    def transaction(self) -> sqlite3.Connection:
        """``with ledger.transaction():`` one committed (fsynced) transaction."""
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def audit(self, bar: str, kind: str, **detail: Any) -> None:
        """Append an audit row (inside or outside a transaction)."""
        self.con.execute(
            "INSERT INTO audit (time, bar_timestamp, event, detail) VALUES (?, ?, ?, ?)",
            (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), bar, kind,
             json.dumps(detail, default=str, sort_keys=True)),
        )  # fmt: skip

    def add_intent(self, row: dict[str, Any]) -> bool:
        """Insert an order row unless its client order id exists; True when inserted."""
        cur = self.con.execute(
            "INSERT OR IGNORE INTO orders (client_order_id, bar_timestamp, symbol, instrument, "
            "strategy, side, qty, status, reason, ref_price, ref_fee) VALUES (:client_order_id, "
            ":bar_timestamp, :symbol, :instrument, :strategy, :side, :qty, :status, :reason, "
            ":ref_price, :ref_fee)",
            row,
        )
        return cur.rowcount == 1

    def update_from_broker(self, order: Order) -> None:
        """Record the broker's view of an order: status, fill summary and each fill."""
        self.con.execute(
            "UPDATE orders SET status=?, filled_qty=?, avg_price=?, fee=?, broker_id=?, "
            "reason=CASE WHEN ?='' THEN reason ELSE ? END WHERE client_order_id=?",
            (order.status, order.filled_qty, order.filled_avg_price, order.fee,
             order.broker_id, order.reason, order.reason, order.client_order_id),
        )  # fmt: skip
        if order.fills:  # the broker's current list of fills replaces the recorded one
            self.con.execute("DELETE FROM fills WHERE client_order_id=?", (order.client_order_id,))
        for qty, price, fee, stamp in order.fills:
            self.con.execute(
                "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?)",
                (order.client_order_id, qty, price, fee, stamp),
            )

    def set_status(self, client_order_id: str, status: str, reason: str = "") -> None:
        """Set a bot-side status (``unknown``, ``blocked``, ...)."""
        self.con.execute(
            "UPDATE orders SET status=?, reason=CASE WHEN ?='' THEN reason ELSE ? END "
            "WHERE client_order_id=?",
            (status, reason, reason, client_order_id),
        )

    def orders(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Order rows as dicts, in insertion order."""
        cur = self.con.execute(f"SELECT * FROM orders {where} ORDER BY rowid", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def open_orders(self) -> list[dict[str, Any]]:
        """Orders whose outcome is not final (intent, new, partially filled, unknown)."""
        return self.orders(
            "WHERE status IN ('intent', 'new', 'partially_filled', 'unknown', 'accepted')"
        )

    def fills(self) -> list[tuple[Any, ...]]:
        """Every fill row in insertion order."""
        return self.con.execute("SELECT * FROM fills ORDER BY rowid").fetchall()

    def bar_done(self, bar: str, equity: float, cash: float, n_orders: int, n_rej: int) -> None:
        """Mark a bar finished (inside the caller's transaction)."""
        self.con.execute(
            "INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?)",
            (bar, equity, cash, n_orders, n_rej),
        )

    def last_bar(self) -> str | None:
        """Timestamp of the last finished bar."""
        row = self.con.execute("SELECT max(bar_timestamp) FROM bars").fetchone()
        return row[0]

    def trades_on(self, day: str) -> int:
        """Entries sent (not blocked, not dry-run) on a session day (``YYYY-MM-DD``)."""
        row = self.con.execute(
            "SELECT count(*) FROM orders WHERE substr(bar_timestamp, 1, 10)=? AND "
            "reason LIKE 'entry%' AND status NOT IN ('blocked', 'dry_run', 'rejected')",
            (day,),
        ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------------------------------
    def put_state(self, key: str, blob: bytes) -> None:
        """Store a state blob with its checksum (inside the caller's transaction)."""
        self.con.execute(
            "INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
            (key, blob, hashlib.sha256(blob).hexdigest()),
        )

    def get_state(self, key: str) -> bytes | None:
        """A stored state blob, checked against its checksum."""
        row = self.con.execute("SELECT blob, sha256 FROM state WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        blob, digest = bytes(row[0]), row[1]
        if hashlib.sha256(blob).hexdigest() != digest:
            raise StateError(
                f"bot state {key!r} in {self.path} fails its checksum; hint: the ledger is "
                "damaged; restore a backup or start a fresh state directory"
            )
        return blob
