"""AlpacaBroker: the bot's broker interface over ``alpaca-py`` (optional extra ``alpaca``).

* Keys come only from the environment (``APCA_API_KEY_ID``, ``APCA_API_SECRET_KEY``); they are
  never printed, logged or kept in a ``repr``. The paper endpoint is the default.
* Every HTTP request has a timeout (``timeout`` seconds, default 10).
* Ambiguous outcomes: alpaca-py retries a POST on 429/504, so a retried submit can meet
  ``422 client_order_id must be unique`` - the order exists, and it is looked up by its client
  order id. A timeout, a connection error or a 5xx leaves the order ``unknown``; the bot's next
  reconciliation resolves it with :meth:`AlpacaBroker.order_by_client_id` (not found = it never
  reached Alpaca). 403 (e.g. buying power) and other 4xx answers are rejections with Alpaca's
  message.
* Shares and single-leg options (OCC symbols) are traded; a multi-leg structure is rejected
  with a clear reason (the bot's reconciliation then drops it from the model).

``url_override`` / ``data_url_override`` point the clients elsewhere (the tests' local fake
server on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from dollarbill_research.data import load_bars, to_panel
from dollarbill_research.data.panel import Panel
from dollarbill_research.exceptions import BrokerError
from dollarbill_research.kernels.codes import KIND_CALL, KIND_PUT, KIND_SHARES
from dollarbill_research.live.broker import Account, Clock, Order, OrderRequest, Position
from dollarbill_research.live.paper import select_symbols
from dollarbill_research.strategies.rolling import window_panel

__all__ = ["AlpacaBroker"]

_STATUS = {
    "new": "new", "accepted": "new", "pending_new": "new", "accepted_for_bidding": "new",
    "calculated": "new", "held": "new", "pending_replace": "new", "replaced": "canceled",
    "partially_filled": "partially_filled", "filled": "filled", "done_for_day": "canceled",
    "canceled": "canceled", "expired": "canceled", "pending_cancel": "new",
    "stopped": "new", "suspended": "new", "rejected": "rejected",
}  # fmt: skip


def _f(value: object) -> float:
    return 0.0 if value in (None, "") else float(value)  # type: ignore[arg-type]


def _stamp(value: object) -> np.datetime64:
    text = str(value)
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(ts, "ns")


class AlpacaBroker:
    """The :class:`~dollarbill_research.live.broker.Broker` of an Alpaca account.

    Parameters
    ----------
    paper : bool
        The paper endpoint (default) or the live one.
    url_override, data_url_override : str, optional
        Base URLs of the trading and market-data APIs (tests: a local fake server).
    timeout : float
        Seconds of every HTTP request.
    retry_attempts, retry_wait : int, float
        alpaca-py's retries on 429/504.
    feed : str
        Market-data feed (``"iex"`` works on free accounts).
    """

    name = "alpaca"

    def __init__(
        self,
        *,
        paper: bool = True,
        url_override: str | None = None,
        data_url_override: str | None = None,
        timeout: float = 10.0,
        retry_attempts: int = 2,
        retry_wait: float = 1.0,
        feed: str = "iex",
    ) -> None:
        key = os.environ.get("APCA_API_KEY_ID", "")
        secret = os.environ.get("APCA_API_SECRET_KEY", "")
        if not key or not secret:
            raise BrokerError(
                "AlpacaBroker needs APCA_API_KEY_ID and APCA_API_SECRET_KEY in the environment; "
                "hint: export them (paper keys for the paper endpoint); keys are never read "
                "from files or the command line"
            )
        try:
            import requests

            with warnings.catch_warnings():  # alpaca-py's own websockets deprecation
                warnings.simplefilter("ignore", DeprecationWarning)
                from alpaca.data.historical.stock import StockHistoricalDataClient
                from alpaca.data.requests import StockBarsRequest  # noqa: F401
                from alpaca.trading.client import TradingClient
                from alpaca.trading.requests import MarketOrderRequest  # noqa: F401
        except ImportError as err:  # pragma: no cover - the extra is installed in CI
            raise BrokerError(
                "AlpacaBroker needs alpaca-py; hint: pip install 'dollarbill-research[alpaca]'"
            ) from err

        class _TimeoutSession(requests.Session):
            def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                kwargs.setdefault("timeout", timeout)
                return super().request(*args, **kwargs)

        self.paper = paper
        self.timeout = float(timeout)
        self.feed = feed
        self._requests = requests
        self._trading = TradingClient(
            key, secret, paper=paper, raw_data=True, url_override=url_override
        )
        self._data = StockHistoricalDataClient(
            key, secret, raw_data=True, url_override=data_url_override
        )
        for client in (self._trading, self._data):
            client._session = _TimeoutSession()
            client._retry = int(retry_attempts)
            client._retry_wait = float(retry_wait)

    def __repr__(self) -> str:
        return f"AlpacaBroker(paper={self.paper}, timeout={self.timeout})"

    # ------------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        from alpaca.common.exceptions import APIError

        try:
            return fn(*args)
        except APIError as err:
            raise BrokerError(f"Alpaca {what}: HTTP {err.status_code}: {_message(err)}") from err
        except self._requests.RequestException as err:
            raise BrokerError(
                f"Alpaca {what}: {type(err).__name__} (timeout {self.timeout:g} s); hint: check "
                "the network and Alpaca's status page"
            ) from err

    def clock(self) -> Clock:
        """``GET /v2/clock``."""
        c = self._call("clock", self._trading.get_clock)
        return Clock(_stamp(c["timestamp"]), bool(c["is_open"]))

    def account(self) -> Account:
        """``GET /v2/account``: cash and portfolio value."""
        a = self._call("account", self._trading.get_account)
        return Account(cash=_f(a.get("cash")), portfolio_value=_f(a.get("portfolio_value")))

    def positions(self) -> dict[str, Position]:
        """``GET /v2/positions``: shares by ticker, options by OCC symbol (short = negative)."""
        out = {}
        for p in self._call("positions", self._trading.get_all_positions):
            qty = _f(p.get("qty"))
            if p.get("side") == "short" and qty > 0:
                qty = -qty
            sym = p["symbol"]
            under = _underlying(sym) if p.get("asset_class") == "us_option" else sym
            out[sym] = Position(sym, under, qty, _f(p.get("avg_entry_price")))
        return out

    def open_orders(self) -> list[Order]:
        """``GET /v2/orders?status=open``."""
        from alpaca.trading.requests import GetOrdersRequest

        rows = self._call("open orders", self._trading.get_orders, GetOrdersRequest(status="open"))
        return [_order(r) for r in rows]

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        """``GET /v2/orders:by_client_order_id``; None on 404."""
        from alpaca.common.exceptions import APIError

        try:
            raw = self._trading.get_order_by_client_id(client_order_id)
        except APIError as err:
            if err.status_code == 404:
                return None
            raise BrokerError(
                f"Alpaca order lookup {client_order_id}: HTTP {err.status_code}: {_message(err)}"
            ) from err
        except self._requests.RequestException as err:
            raise BrokerError(
                f"Alpaca order lookup {client_order_id}: {type(err).__name__}"
            ) from err
        return _order(raw)

    def submit(self, request: OrderRequest) -> Order:
        """``POST /v2/orders`` (market, day) with the client order id; see the module docstring."""
        from alpaca.common.exceptions import APIError
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import MarketOrderRequest

        base = Order(request.client_order_id, request.instrument, request.symbol, request.side,
                     request.qty, "unknown")  # fmt: skip
        if request.kind != KIND_SHARES and not (
            request.kind in (KIND_CALL, KIND_PUT) and request.option_symbol
        ):
            base.status = "rejected"
            base.reason = (
                "multi-leg structures are not supported by AlpacaBroker (trade shares or single "
                "calls/puts, or use the paper broker)"
            )
            return base
        order = MarketOrderRequest(
            symbol=request.option_symbol or request.symbol,
            qty=request.qty,
            side=OrderSide.BUY if request.side == "buy" else OrderSide.SELL,
            time_in_force=TimeInForce.DAY,
            client_order_id=request.client_order_id,
        )
        try:
            raw = self._trading.submit_order(order)
        except APIError as err:
            code = err.status_code
            msg = _message(err)
            if code == 422 and "client_order_id" in msg and "unique" in msg:
                found = self.order_by_client_id(request.client_order_id)
                if found is not None:
                    return found
                base.reason = "duplicate client_order_id but the order is not found"
                return base
            if code is not None and code >= 500:
                base.reason = f"HTTP {code}: {msg}"
                return base  # unknown: resolved by the next reconciliation
            base.status = "rejected"
            base.reason = f"HTTP {code}: {msg}"
            return base
        except self._requests.RequestException as err:
            base.reason = f"{type(err).__name__} after {self.timeout:g} s"
            return base
        return _order(raw, request.instrument)

    def cancel(self, client_order_id: str) -> None:
        """Cancel an open order by its client order id."""
        order = self.order_by_client_id(client_order_id)
        if order is None or order.status in ("filled", "canceled", "rejected"):
            return
        self._call("cancel", self._trading.cancel_order_by_id, order.broker_id)

    def latest_bars(self, symbols: tuple[str, ...], n_rows: int) -> Panel:
        """Daily bars (``GET /v2/stocks/bars``) of ``symbols``, the last ``n_rows`` of them."""
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame

        start = datetime.now(UTC) - timedelta(days=int(n_rows * 1.6) + 10)
        req = StockBarsRequest(symbol_or_symbols=list(symbols), timeframe=TimeFrame.Day,
                               start=start, feed=self.feed)  # fmt: skip
        raw = self._call("bars", self._data.get_stock_bars, req)
        rows = [
            {"symbol": sym, "timestamp": _stamp(b["t"]), "open": _f(b["o"]), "high": _f(b["h"]),
             "low": _f(b["l"]), "close": _f(b["c"]), "volume": _f(b["v"])}
            for sym, bars in raw.items() if isinstance(bars, list) for b in bars
        ]  # fmt: skip
        missing = sorted(set(symbols) - {r["symbol"] for r in rows})
        if missing:
            raise BrokerError(
                f"Alpaca returned no bars for {missing}; hint: check the symbols and the feed"
            )
        frame = pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("ns")))
        panel = select_symbols(to_panel(load_bars(frame)), tuple(symbols))
        return window_panel(panel, panel.n_bars - 1, n_rows)


def _message(err: Any) -> str:
    try:
        return str(json.loads(str(err))["message"])
    except Exception:
        return str(err)[:200]


def _underlying(occ: str) -> str:
    i = 0
    while i < len(occ) and not occ[i].isdigit():
        i += 1
    return occ[:i]


def _order(r: dict[str, Any], instrument: str | None = None) -> Order:
    status = _STATUS.get(str(r.get("status")), "new")
    filled = _f(r.get("filled_qty"))
    avg = _f(r.get("filled_avg_price"))
    when = r.get("filled_at") or r.get("updated_at") or r.get("submitted_at") or ""
    sym = str(r.get("symbol", ""))
    under = _underlying(sym) if r.get("asset_class") == "us_option" else sym
    fills = [(filled, avg, 0.0, str(when))] if filled > 0 else []
    return Order(
        client_order_id=str(r.get("client_order_id", "")), instrument=instrument or sym,
        symbol=under, side=str(r.get("side", "")), qty=_f(r.get("qty")), status=status,
        filled_qty=filled, filled_avg_price=avg, fee=0.0, broker_id=str(r.get("id", "")),
        reason=str(r.get("status")) if status == "rejected" else "", fills=fills,
    )  # fmt: skip
