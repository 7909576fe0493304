"""The bot's output in the seed's format (the guide's "Example Output"), and as JSON.

>>> import numpy as np
>>> from dollarbill_research.live.bot import Iteration
>>> it = Iteration(np.datetime64("2026-02-21T14:30"), cash=95234.5, portfolio_value=104765.5,
...                min_confidence=0.3)
>>> print(render(it).splitlines()[2])
💰 Account: $95,234.50 cash | $104,765.50 portfolio value
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from dollarbill_research.kernels import codes

__all__ = ["render", "to_json"]

_STATUS = {
    "filled": "✅",
    "new": "✅ (accepted, waiting for the fill)",
    "accepted": "✅ (accepted, waiting for the fill)",
    "partially_filled": "✅ (partially filled)",
    "intent": "⏳",
    "unknown": "⚠️  outcome unknown, resolved at the next reconciliation",
    "rejected": "❌ rejected by the broker",
    "canceled": "❌ canceled",
    "blocked": "🛑 BLOCKED",
    "dry_run": "🧪 DRY RUN (not sent)",
}


def _stamp(ts: np.datetime64) -> str:
    return str(np.datetime64(ts, "s")).replace("T", " ")


def _units(kind: int, qty: float) -> str:
    n = f"{qty:,.0f}" if float(qty).is_integer() else f"{qty:,.4g}"
    plural = "" if qty == 1 else "s"
    if kind == codes.KIND_SHARES:
        return f"{n} share{plural}"
    return f"{n} {codes.KIND_NAMES[kind].replace('_', ' ')} contract{plural}"


def _safety_line(e: dict[str, Any]) -> str:
    ev = e.get("event")
    if ev == "trading_state":
        extra = ""
        if e.get("reason") == "circuit_breaker":
            extra = (
                f" — daily drawdown {e['drawdown_pct']:.1f}% from the session's start equity "
                f"${e['day_start_equity']:,.2f} exceeds {e['limit_pct']:.1f}%"
            )
        elif e.get("reason") == "kill_switch":
            extra = f" — kill switch file {e.get('file')} is present"
        return f"🛑 SAFETY: {e['from']} → {e['to']} ({e['reason']}){extra}"
    if ev == "stale_bars":
        return (
            f"🛑 SAFETY: stale bars refused — the latest bar is {e['bar_age_hours']:.1f} h old "
            f"(max {e['max_bar_age_hours']:g} h)"
        )
    if ev == "market_closed":
        return f"🛑 SAFETY: market closed at {e['clock']} (XNYS) — no orders"
    if ev == "clock_mismatch":
        return (
            f"🛑 SAFETY: broker clock says open={e['broker_open']}, the XNYS calendar says "
            f"open={e['calendar_open']} at {e['clock']} — no orders"
        )
    return f"🛑 SAFETY: {ev}"


def render(it: Any) -> str:
    """The seed-format text of one :class:`~dollarbill_research.live.bot.Iteration`."""
    lines = [f"🎭 Personality-Based Trading Bot - {_stamp(it.timestamp)}", ""]
    lines += [f"💰 Account: ${it.cash:,.2f} cash | ${it.portfolio_value:,.2f} portfolio value", ""]
    for e in it.safety:
        lines.append(_safety_line(e))
    if it.safety:
        lines.append("")
    if it.skipped:
        return "\n".join(lines).rstrip() + "\n"
    for c in it.reconciliation:
        if c["event"] in ("position_dropped", "position_scaled", "unmanaged_position"):
            lines.append(f"🔄 Reconciled with the broker: {c['event']} {c['instrument']}")
    lines += ["📊 Analyzing with Personality-Driven Strategies...", ""]
    mc = it.min_confidence * 100
    rejected = {(r["symbol"], r["strategy"]): r for r in it.rejections}
    entries = {(o["symbol"], o["strategy"]): o for o in it.orders if o["opening"]}
    for s in it.signals:
        key = (s["symbol"], s["strategy"])
        conf = s["confidence"] * 100
        lines.append(
            f"   {s['symbol']} | 🔍 SIGNAL: {s['strategy']} - Confidence: {conf:.1f}% "
            f"(min: {mc:.1f}%)"
        )
        if key in entries:
            o = entries[key]
            arrow = "🟢 BUY" if o["side"] == "buy" else "🔴 SELL"
            spot = f"${o['spot']:,.2f}" if o.get("spot") is not None else ""
            status = _STATUS.get(o["status"], o["status"])
            if o["status"] == "blocked":
                status += f" ({o['reason'].partition(': ')[2]})"
            elif o["status"] == "rejected" and o.get("broker_reason"):
                status += f" ({o['broker_reason']})"
            lines.append(
                f"   {s['symbol']} {spot} | Strategy: {s['strategy']} | Conf: {conf:.1f}% | "
                f"{arrow} → {_units(o['kind'], o['qty'])}... {status}"
            )
            for w in o["warnings"]:
                lines.append(f"      ⚠️  {w}")
        elif key in rejected:
            lines.append("   ❌ REJECTED by portfolio manager:")
            for reason in rejected[key]["reasons"]:
                lines.append(f"      ⚠️  {reason}")
        lines.append("   ")
    for o in it.orders:
        if o["opening"]:
            continue
        spot = f"${o['spot']:,.2f}" if o.get("spot") is not None else ""
        lines.append(
            f"   {o['symbol']} {spot} | Strategy: {o['strategy']} | 🔵 CLOSE ({o['reason']}) "
            f"→ {_units(o['kind'], o['qty'])}... {_STATUS.get(o['status'], o['status'])}"
        )
    return "\n".join(lines).rstrip() + "\n"


def to_json(it: Any) -> str:
    """One JSON object per iteration (``--json``)."""
    return json.dumps(
        {
            "timestamp": str(np.datetime64(it.timestamp, "s")),
            "cash": it.cash,
            "portfolio_value": it.portfolio_value,
            "state": it.state,
            "skipped": it.skipped or None,
            "signals": it.signals,
            "orders": it.orders,
            "rejections": it.rejections,
            "safety": it.safety,
            "reconciliation": it.reconciliation,
        },
        default=float,
    )
