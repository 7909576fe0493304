"""Typed Python records of the book: open positions and candidate trades, and their arrays.

Units follow docs/architecture.md ("Per-unit candidate quantities"): dollar delta, dollar gamma
for a 1 % move, P&L for a +10 vol-point shock (``vega10``), theta in dollars per calendar day,
signed market value (shorts negative) and the concentration value (``|mv|``, or max loss for
defined-risk options).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray, IntArray
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels.codes import OPTION_MULTIPLIER


def _check_price(what: str, symbol: str, field: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0.0):
        raise DataError(
            f"{what} {symbol!r}: {field}={value!r} must be a finite number > 0; "
            "hint: skip symbols without a usable price on this bar"
        )
    return float(value)


def _check_finite(what: str, symbol: str, field: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise DataError(f"{what} {symbol!r}: {field}={value!r} must be a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class Position:
    """One open position (a multi-leg structure is one position); quantities are totals.

    Attributes
    ----------
    symbol, strategy, sector : str
        Underlying, owning strategy name, sector (``"Unknown"`` when not known).
    delta_d, gamma_d, vega10, theta, mv, conc : float
        Totals for the whole position (already multiplied by quantity), dollars.
    cost : float
        Capital committed (entry cost or margin), dollars; counts toward strategy capacity.
    """

    symbol: str
    strategy: str
    delta_d: float
    gamma_d: float = 0.0
    vega10: float = 0.0
    theta: float = 0.0
    mv: float = 0.0
    conc: float = 0.0
    cost: float = 0.0
    sector: str = "Unknown"

    @classmethod
    def shares(
        cls, symbol: str, strategy: str, quantity: float, price: float, sector: str = "Unknown"
    ) -> Position:
        """A stock position of ``quantity`` shares (negative = short) at ``price`` dollars."""
        price = _check_price("Position", symbol, "price", price)
        mv = quantity * price
        return cls(symbol, strategy, mv, 0.0, 0.0, 0.0, mv, abs(mv), abs(mv), sector)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate trade described per unit (one share, or one contract / spread).

    Attributes
    ----------
    symbol, strategy, sector : str
        Names as in :class:`Position`.
    unit_cost, unit_max_loss, unit_dollar_vol : float
        Dollars per unit: cash needed, loss at the stop / at expiry, annualised dollar volatility.
    unit_delta_d, unit_gamma_d, unit_vega10, unit_theta, unit_mv, unit_conc : float
        Per-unit exposures (see the module docstring).
    """

    symbol: str
    strategy: str
    unit_cost: float
    unit_max_loss: float
    unit_dollar_vol: float
    unit_delta_d: float
    unit_gamma_d: float = 0.0
    unit_vega10: float = 0.0
    unit_theta: float = 0.0
    unit_mv: float = 0.0
    unit_conc: float = 0.0
    sector: str = "Unknown"

    def __post_init__(self) -> None:
        _check_price("Candidate", self.symbol, "unit_cost", self.unit_cost)
        _check_price("Candidate", self.symbol, "unit_max_loss", self.unit_max_loss)
        for name in ("unit_dollar_vol", "unit_delta_d", "unit_gamma_d", "unit_vega10"):
            _check_finite("Candidate", self.symbol, name, getattr(self, name))
        for name in ("unit_theta", "unit_mv", "unit_conc"):
            _check_finite("Candidate", self.symbol, name, getattr(self, name))

    @classmethod
    def shares(
        cls,
        symbol: str,
        strategy: str,
        price: float,
        volatility: float,
        *,
        direction: int = 1,
        stop_distance: float = 0.05,
        sector: str = "Unknown",
    ) -> Candidate:
        """One share, long (``direction=1``) or short (-1), at ``price`` with annualised vol."""
        price = _check_price("Candidate", symbol, "price", price)
        vol = _check_price("Candidate", symbol, "volatility", volatility)
        d = 1.0 if direction >= 0 else -1.0
        return cls(
            symbol, strategy, price, price * stop_distance, price * vol, d * price,
            0.0, 0.0, 0.0, d * price, price, sector,
        )  # fmt: skip

    @classmethod
    def long_option(
        cls,
        symbol: str,
        strategy: str,
        *,
        spot: float,
        premium: float,
        delta: float,
        gamma: float,
        vega: float,
        theta: float,
        volatility: float,
        sector: str = "Unknown",
    ) -> Candidate:
        """One long call or put contract from per-share Greeks (vega per vol point, theta/day)."""
        spot = _check_price("Candidate", symbol, "spot", spot)
        premium = _check_price("Candidate", symbol, "premium", premium)
        vol = _check_price("Candidate", symbol, "volatility", volatility)
        m = OPTION_MULTIPLIER
        return cls(
            symbol, strategy, premium * m, premium * m, abs(delta) * spot * vol * m,
            delta * m * spot, gamma * m * spot * spot * 0.01, vega * m * 10.0, theta * m,
            premium * m, premium * m, sector,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BookArrays:
    """A book flattened for the kernels; index maps name symbols, sectors and strategies.

    ``pos_*`` are int64 ``(k,)``; ``delta_d`` .. ``cost`` float64 ``(k,)``.
    """

    symbols: tuple[str, ...]
    sectors: tuple[str, ...]
    strategies: tuple[str, ...]
    pos_symbol: IntArray
    pos_sector: IntArray
    pos_strategy: IntArray
    delta_d: FloatArray
    gamma_d: FloatArray
    vega10: FloatArray
    theta: FloatArray
    mv: FloatArray
    conc: FloatArray
    cost: FloatArray


def _index(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


def book_arrays(
    positions: Sequence[Position],
    symbols: Sequence[str] = (),
    sectors: Sequence[str] = (),
    strategies: Sequence[str] = (),
) -> BookArrays:
    """Flatten ``positions``; names not in the given orders are appended in order of first use."""
    sym, sec, strat = list(symbols), list(sectors), list(strategies)
    k = len(positions)
    ints = np.zeros((3, k), dtype=np.int64)
    flts = np.zeros((7, k))
    for i, p in enumerate(positions):
        ints[:, i] = (_index(sym, p.symbol), _index(sec, p.sector), _index(strat, p.strategy))
        flts[:, i] = (p.delta_d, p.gamma_d, p.vega10, p.theta, p.mv, p.conc, p.cost)
        if not np.isfinite(flts[:, i]).all():
            raise DataError(f"Position {i} ({p.symbol!r}, {p.strategy!r}) has a non-finite value")
    return BookArrays(
        tuple(sym), tuple(sec), tuple(strat), ints[0].copy(), ints[1].copy(), ints[2].copy(),
        *(flts[j].copy() for j in range(7)),
    )  # fmt: skip
