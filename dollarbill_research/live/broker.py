"""The broker interface of the bot, and the records every broker returns.

A broker is the source of truth for cash, positions, orders and fills. The bot trades
*instruments* named by :func:`instrument_key`: the ticker for shares, and a text naming the
structure, expiry and legs for options (``"AAPL IRON_CONDOR 2024-02-16 P170-1,P175+1,..."``).
Quantities are the kernel's units (shares, or sets of option contracts), sides are cash sides:
``buy`` pays cash, ``sell`` receives it. Order statuses:

===================  ===============================================================
``intent``           written to the bot's ledger, not yet sent (bot side only)
``new``              accepted by the broker, not filled yet
``partially_filled``  some quantity filled
``filled``           done
``canceled``         canceled (the unfilled rest is void)
``rejected``         refused by the broker (the reason says why)
``unknown``          the submit's outcome is ambiguous (timeout, 5xx): resolved by the next
                     reconciliation from ``order_by_client_id``
``blocked``          stopped by a safety rule before submit (bot side only)
``dry_run``          decided in ``--dry-run``, never sent (bot side only)
===================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from dollarbill_research.data.panel import Panel

__all__ = [
    "TERMINAL",
    "Account",
    "Broker",
    "Clock",
    "Order",
    "OrderRequest",
    "Position",
]

TERMINAL = frozenset({"filled", "canceled", "rejected", "blocked", "dry_run"})


@dataclass(frozen=True, slots=True)
class Clock:
    """The broker's time and market state.

    Attributes
    ----------
    timestamp : numpy.datetime64
        Broker time (UTC, ns); for a replay, the current bar's timestamp.
    is_open : bool
        The broker says the market is open.
    session_only : bool
        A replay of daily bars: the clock stands on a bar, and "open" means the bar's date is
        a session (the calendar is asked about the day, not the minute).
    """

    timestamp: np.datetime64
    is_open: bool
    session_only: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """Cash and portfolio value (dollars) as the broker reports them."""

    cash: float
    portfolio_value: float


@dataclass(frozen=True, slots=True)
class Position:
    """A broker position: signed quantity (buy +, sell -) and average price per unit."""

    instrument: str
    symbol: str
    qty: float
    avg_price: float


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the bot asks a broker to do.

    ``ref_price`` (per unit, >= 0), ``ref_fee`` (dollars) and ``unit_delta`` (shares of the
    underlying per unit, signed) are the model's figures at the decision bar's close; the paper
    broker fills at them with ``fill="close"`` and moves them to the next open otherwise.
    """

    client_order_id: str
    instrument: str
    symbol: str
    side: str
    qty: float
    bar_timestamp: np.datetime64
    ref_price: float = 0.0
    ref_fee: float = 0.0
    unit_delta: float = 0.0
    kind: int = 0
    n_legs: int = 1
    option_symbol: str | None = None
    reason: str = ""


@dataclass(slots=True)
class Order:
    """An order as a broker knows it."""

    client_order_id: str
    instrument: str
    symbol: str
    side: str
    qty: float
    status: str
    filled_qty: float = 0.0
    filled_avg_price: float = 0.0
    fee: float = 0.0
    broker_id: str = ""
    reason: str = ""
    fills: list[tuple[float, float, float, str]] = field(default_factory=list)


@runtime_checkable
class Broker(Protocol):
    """What the bot needs from a broker (paper or Alpaca)."""

    name: str

    def clock(self) -> Clock:
        """Broker time and whether the market is open."""
        ...

    def latest_bars(self, symbols: tuple[str, ...], n_rows: int) -> Panel:
        """The last ``n_rows`` bars of ``symbols`` up to the broker's current time."""
        ...

    def account(self) -> Account:
        """Cash and portfolio value."""
        ...

    def positions(self) -> dict[str, Position]:
        """Open positions by instrument."""
        ...

    def open_orders(self) -> list[Order]:
        """Orders not in a terminal state."""
        ...

    def submit(self, request: OrderRequest) -> Order:
        """Submit an order under ``request.client_order_id``.

        Idempotent: a repeated id never makes a second order. Status ``unknown`` when the
        outcome is ambiguous.
        """
        ...

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order with this client order id, or None when the broker has none."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Cancel an open order (no-op when it is already terminal)."""
        ...
