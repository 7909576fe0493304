"""A local fake of Alpaca's trading and market-data REST APIs (127.0.0.1 only, for tests).

Serves the documented JSON shapes of ``/v2/account``, ``/v2/clock``, ``/v2/positions``,
``/v2/orders`` (list, submit, by client order id, cancel) and ``/v2/stocks/bars``, and injects
one behaviour per submit: ``accept``, ``504_after_accept`` (the order is created, the answer is a
504, alpaca-py retries and meets ``422 client_order_id must be unique``), ``422``, ``403``,
``404``, ``partial``, ``hang`` (answers after the client's timeout).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeAlpaca:
    """Start with :meth:`start`, stop with :meth:`stop` (the server this test started)."""

    def __init__(self, bars: dict[str, list[dict[str, Any]]], now: str) -> None:
        self.bars = bars
        self.now = now
        self.is_open = True
        self.cash = 100_000.0
        self.positions: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.mode = "accept"
        self.hang_s = 2.0
        self.posts = 0
        self.headers_seen: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: object) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # the client may have timed out (the "hang" behaviour)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                fake.headers_seen.append(dict(self.headers))
                url = urlparse(self.path)
                q = parse_qs(url.query)
                if url.path == "/v2/account":
                    return self._send(200, fake.account())
                if url.path == "/v2/clock":
                    return self._send(
                        200,
                        {
                            "timestamp": fake.now,
                            "is_open": fake.is_open,
                            "next_open": fake.now,
                            "next_close": fake.now,
                        },
                    )
                if url.path == "/v2/positions":
                    return self._send(200, fake.positions)
                if url.path == "/v2/orders":
                    return self._send(
                        200,
                        [
                            o
                            for o in fake.orders.values()
                            if o["status"] in ("new", "accepted", "partially_filled")
                        ],
                    )
                if url.path == "/v2/orders:by_client_order_id":
                    cid = q.get("client_order_id", [""])[0]
                    if cid in fake.orders:
                        return self._send(200, fake.orders[cid])
                    return self._send(404, {"code": 40410000, "message": "order not found"})
                if url.path == "/v2/stocks/bars":
                    syms = q.get("symbols", [""])[0].split(",")
                    return self._send(
                        200,
                        {
                            "bars": {s: fake.bars[s] for s in syms if s in fake.bars},
                            "next_page_token": None,
                        },
                    )
                return self._send(404, {"code": 40410000, "message": "not found"})

            def do_POST(self) -> None:
                fake.headers_seen.append(dict(self.headers))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if urlparse(self.path).path != "/v2/orders":
                    return self._send(404, {"code": 40410000, "message": "not found"})
                fake.posts += 1
                cid = body["client_order_id"]
                if cid in fake.orders:
                    return self._send(
                        422, {"code": 40010001, "message": "client_order_id must be unique"}
                    )
                mode = fake.mode
                if mode == "403":
                    return self._send(
                        403, {"code": 40310000, "message": "insufficient buying power"}
                    )
                if mode == "404":
                    return self._send(404, {"code": 40410000, "message": "asset not found"})
                if mode == "422":
                    return self._send(422, {"code": 40010001, "message": "qty must be > 0"})
                order = fake.make_order(body, partial=mode == "partial")
                if mode == "hang":
                    time.sleep(fake.hang_s)
                    return self._send(200, order)
                if mode == "504_after_accept":
                    return self._send(504, {"code": 50400000, "message": "gateway timeout"})
                return self._send(200, order)

            def do_DELETE(self) -> None:
                oid = urlparse(self.path).path.rsplit("/", 1)[-1]
                for o in fake.orders.values():
                    if o["id"] == oid:
                        o["status"] = "canceled"
                return self._send(204, None)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAlpaca:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def account(self) -> dict[str, Any]:
        value = self.cash + sum(float(p["market_value"]) for p in self.positions)
        return {
            "id": "acct",
            "account_number": "PA0000",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": f"{self.cash:.2f}",
            "portfolio_value": f"{value:.2f}",
            "equity": f"{value:.2f}",
            "buying_power": f"{2 * self.cash:.2f}",
            "pattern_day_trader": False,
            "trading_blocked": False,
        }

    def make_order(self, body: dict[str, Any], partial: bool = False) -> dict[str, Any]:
        qty = float(body["qty"])
        filled = float(int(qty // 2)) if partial else 0.0
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": body["client_order_id"],
            "created_at": self.now,
            "updated_at": self.now,
            "submitted_at": self.now,
            "filled_at": self.now if partial else None,
            "asset_id": str(uuid.uuid4()),
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "qty": body["qty"],
            "filled_qty": f"{filled:g}",
            "filled_avg_price": "100.0" if partial else None,
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": body["side"],
            "time_in_force": body["time_in_force"],
            "status": "partially_filled" if partial else "accepted",
            "extended_hours": False,
        }
        self.orders[body["client_order_id"]] = order
        return order

    def fill_all(self, price_of: dict[str, float]) -> None:
        """Fill every open order at the given prices (as Alpaca would at the open)."""
        for o in self.orders.values():
            if o["status"] not in ("accepted", "new", "partially_filled"):
                continue
            qty = float(o["qty"])
            px = price_of[o["symbol"]]
            sign = 1.0 if o["side"] == "buy" else -1.0
            self.cash -= sign * qty * px
            self.add_position(o["symbol"], sign * qty, px)
            o.update(
                status="filled", filled_qty=f"{qty:g}", filled_avg_price=str(px), filled_at=self.now
            )

    def add_position(self, symbol: str, qty: float, px: float) -> None:
        for p in self.positions:
            if p["symbol"] == symbol:
                q = float(p["qty"]) + qty
                p.update(qty=f"{q:g}", market_value=f"{q * px:.2f}")
                return
        self.positions.append(
            {
                "asset_id": str(uuid.uuid4()),
                "symbol": symbol,
                "exchange": "NASDAQ",
                "asset_class": "us_equity",
                "qty": f"{qty:g}",
                "avg_entry_price": str(px),
                "side": "long" if qty > 0 else "short",
                "market_value": f"{qty * px:.2f}",
                "cost_basis": f"{qty * px:.2f}",
                "current_price": str(px),
            }
        )
