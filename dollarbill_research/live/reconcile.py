"""The model's book as broker instruments, and its reconciliation with the broker's.

:func:`instrument_key` names what a position holds (the ticker for shares; structure, expiry and
legs for options), :func:`model_book` lists the :class:`LivePortfolio`'s open positions by
instrument with signed quantities (buy +, sell -), and :func:`reconcile` makes the model agree
with the broker: the broker's cash replaces the model's when they differ by more than rounding,
a model position the broker does not hold (a rejected, canceled or lost order) is dropped, one the
broker holds partly is scaled, and broker positions the model does not know are reported as
unmanaged (they count against ``max_positions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dollarbill_research.kernels import codes, records

__all__ = ["Expected", "instrument_key", "model_book", "occ_symbol", "reconcile"]

_LEG_LETTER = {codes.LEG_CALL: "C", codes.LEG_PUT: "P"}


def _expiry(day: float) -> str:
    return str(np.datetime64(int(np.floor(day)), "D"))


def instrument_key(
    symbol: str, kind: int, expiry_day: float, legs: list[tuple[int, float, float]]
) -> str:
    """The instrument a position holds: ``symbol`` for shares, else structure, expiry and legs.

    ``legs`` are ``(type, strike, ratio)``. A single call or put is its OCC symbol
    (``"AAPL240216C00185000"``, the sign is in the quantity); a structure is named by its kind,
    expiry and legs (``"SPY IRON_CONDOR 2024-02-16 P400.00-1,..."``).
    """
    if kind == codes.KIND_SHARES:
        return symbol
    if kind in (codes.KIND_CALL, codes.KIND_PUT) and len(legs) == 1 and legs[0][0] in _LEG_LETTER:
        return occ_symbol(symbol, expiry_day, legs[0][0], legs[0][1])  # a listed contract
    parts = [
        f"{_LEG_LETTER.get(t, 'S')}{strike:.2f}{'+' if ratio > 0 else '-'}{abs(ratio):g}"
        for t, strike, ratio in legs
    ]
    return f"{symbol} {codes.KIND_NAMES[kind].upper()} {_expiry(expiry_day)} {','.join(parts)}"


def occ_symbol(symbol: str, expiry_day: float, leg_type: int, strike: float) -> str:
    """OCC option symbol (``AAPL240216C00185000``) of one leg."""
    d = np.datetime64(int(np.floor(expiry_day)), "D").astype(object)
    return f"{symbol}{d:%y%m%d}{_LEG_LETTER[leg_type]}{round(strike * 1000):08d}"


def fill_instrument(fill: np.void, symbol: str) -> str:
    """:func:`instrument_key` of a :data:`~dollarbill_research.kernels.records.FILL_DTYPE` row."""
    legs = [
        (int(fill[f"leg{i}_type"]), float(fill[f"leg{i}_strike"]), float(fill[f"leg{i}_ratio"]))
        for i in range(int(fill["n_legs"]))
    ]
    return instrument_key(symbol, int(fill["kind"]), float(fill["expiry_day"]), legs)


def position_instrument(live: object, slot: int) -> str:
    """:func:`instrument_key` of an open position slot of a :class:`LivePortfolio`."""
    p = live.positions[slot]  # type: ignore[attr-defined]
    legs = [
        (int(live.legs[slot, i]["type"]), float(live.legs[slot, i]["strike"]),  # type: ignore[attr-defined]
         float(live.legs[slot, i]["ratio"]))  # type: ignore[attr-defined]
        for i in range(int(p["n_legs"]))
    ]  # fmt: skip
    return instrument_key(
        live.symbols[int(p["symbol"])],
        int(p["kind"]),
        float(p["expiry_day"]),
        legs,  # type: ignore[attr-defined]
    )


def model_book(live: object) -> dict[str, list[tuple[int, float]]]:
    """Open positions by instrument: ``[(slot, signed qty), ...]`` (sign: the entry's cash side)."""
    book: dict[str, list[tuple[int, float]]] = {}
    pos = live.positions  # type: ignore[attr-defined]
    for slot in np.nonzero(pos["active"] == 1)[0]:
        p = pos[slot]
        sign = 1.0 if p["entry_value"] >= 0 else -1.0
        book.setdefault(position_instrument(live, int(slot)), []).append(
            (int(slot), sign * float(p["qty"]))
        )
    return book


@dataclass(slots=True)
class Expected:
    """What the broker's book should look like to the model.

    ``positions`` signed quantities by instrument (broker positions, plus open orders' unfilled
    quantities, minus the fills of orders the bot is about to re-decide), ``cash`` likewise.
    """

    positions: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0


_SCALED = ("qty", "entry_costs", "reserved", "committed", "mv", "delta_d", "gamma_d", "vega10",
           "theta", "conc")  # fmt: skip


def drop_slot(live: object, slot: int) -> None:
    """Remove an open position from the model without a cash flow."""
    p = live.positions[slot]  # type: ignore[attr-defined]
    live.account[records.A_RESERVED] -= p["reserved"]  # type: ignore[attr-defined]
    live.positions["active"][slot] = 0  # type: ignore[attr-defined]
    live.counters[records.C_OPEN] = int(np.count_nonzero(live.positions["active"] == 1))  # type: ignore[attr-defined]
    if live.counters[records.C_OPEN] == 0:  # type: ignore[attr-defined]
        live.account[records.A_RESERVED] = 0.0  # type: ignore[attr-defined]


def _scale(live: object, slot: int, factor: float) -> None:
    pos = live.positions  # type: ignore[attr-defined]
    live.account[records.A_RESERVED] += pos["reserved"][slot] * (factor - 1.0)  # type: ignore[attr-defined]
    for name in _SCALED:
        pos[name][slot] *= factor


def reconcile(
    live: object, expected: Expected, avg_prices: dict[str, float] | None = None
) -> list[dict[str, object]]:
    """Make ``live`` agree with the broker's ``expected`` book; return the adjustments made.

    Cash differences within rounding (1e-6 dollars + 1e-9 relative) are not adjustments: the
    model keeps its own figure, so a replay that agrees with the broker stays bit-identical.
    """
    changes: list[dict[str, object]] = []
    book = model_book(live)
    tol = 1e-9
    for inst, slots in book.items():
        model_qty = sum(q for _, q in slots)
        want = expected.positions.get(inst, 0.0)
        if abs(model_qty - want) <= tol * max(1.0, abs(want)):
            if avg_prices and inst in avg_prices and len(slots) == 1:
                slot = slots[0][0]
                p = live.positions[slot]  # type: ignore[attr-defined]
                sign = 1.0 if p["entry_value"] >= 0 else -1.0
                px = avg_prices[inst]
                if abs(abs(p["entry_value"]) - px) > 1e-9 * max(1.0, px):
                    live.positions["entry_value"][slot] = sign * px  # type: ignore[attr-defined]
                    changes.append(
                        {
                            "event": "entry_price",
                            "instrument": inst,
                            "model": float(abs(p["entry_value"])),
                            "broker": px,
                        }
                    )
            continue
        if abs(want) <= tol or (want > 0) != (model_qty > 0):
            for slot, _ in slots:
                drop_slot(live, slot)
            changes.append({"event": "position_dropped", "instrument": inst,
                            "model_qty": model_qty, "broker_qty": want})  # fmt: skip
            if abs(want) > tol:
                changes.append({"event": "unmanaged_position", "instrument": inst, "qty": want})
        else:
            factor = want / model_qty
            for slot, _ in slots:
                _scale(live, slot, factor)
            changes.append({"event": "position_scaled", "instrument": inst,
                            "model_qty": model_qty, "broker_qty": want})  # fmt: skip
    for inst, want in expected.positions.items():
        if inst not in book and abs(want) > tol:
            changes.append({"event": "unmanaged_position", "instrument": inst, "qty": want})
    cash = float(live.account[records.A_CASH])  # type: ignore[attr-defined]
    if abs(cash - expected.cash) > 1e-6 + 1e-9 * abs(expected.cash):
        live.account[records.A_CASH] = expected.cash  # type: ignore[attr-defined]
        changes.append({"event": "cash_adjusted", "model": cash, "broker": expected.cash})
    return changes


def model_equity(live: object) -> float:
    """Cash plus the marked value of the open positions."""
    pos = live.positions  # type: ignore[attr-defined]
    act = pos["active"] == 1
    return float(live.account[records.A_CASH] + pos["mv"][act].sum())  # type: ignore[attr-defined]
