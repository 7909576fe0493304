"""What the bot records and checks without a broker.

Trading states, iterations and summaries, the XNYS calendar and the crash-test hook.
"""

from __future__ import annotations

import os
import signal as _signal
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dollarbill_research.live.portfolio import Decisions

__all__ = [
    "ACTIVE",
    "CRASH_ENV",
    "HALTED",
    "REDUCING",
    "BotSummary",
    "Iteration",
    "xnys_open",
]

ACTIVE, REDUCING, HALTED = "ACTIVE", "REDUCING", "HALTED"

CRASH_ENV = "DOLLARBILL_BOT_CRASH"
"""Test hook: ``point:n`` kills the process (SIGKILL) the ``n``-th time it reaches ``point``
(``after_intent``, ``after_submit``, ``after_fill``, ``before_save``)."""


class _Crash:
    def __init__(self) -> None:
        spec = os.environ.get(CRASH_ENV, "")
        self.point, _, n = spec.partition(":")
        self.left = int(n) if n.isdigit() else 0
        self.hits = 0

    def __call__(self, point: str) -> None:
        if self.point and point == self.point:
            self.hits += 1
            if self.hits >= self.left:
                os.kill(os.getpid(), _signal.SIGKILL)


@dataclass(slots=True)
class Iteration:
    """What one iteration saw and did (rendered by :mod:`dollarbill_research.live.output`)."""

    timestamp: np.datetime64
    cash: float = 0.0
    portfolio_value: float = 0.0
    min_confidence: float = 0.0
    signals: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    safety: list[dict[str, Any]] = field(default_factory=list)
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    state: str = ACTIVE
    skipped: str = ""
    decisions: Decisions | None = None


@dataclass(slots=True)
class BotSummary:
    """Totals of a run (``--summary-json``)."""

    final_equity: float
    n_orders: int
    n_fills: int
    n_rejections: int
    n_bars: int
    state: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "final_equity": self.final_equity, "n_orders": self.n_orders,
            "n_fills": self.n_fills, "n_rejections": self.n_rejections,
            "n_bars": self.n_bars, "state": self.state,
        }  # fmt: skip


_XNYS: Any = None
_XNYS_DAYS: dict[str, bool] = {}


def xnys_open(ts: np.datetime64, session_only: bool = False) -> bool:
    """XNYS is open at ``ts`` (UTC); ``session_only``: the UTC date of ``ts`` is a session."""
    global _XNYS
    import pandas as pd

    stamp = pd.Timestamp(np.datetime64(ts, "ns"))
    day = stamp.strftime("%Y-%m-%d")
    if session_only and day in _XNYS_DAYS:
        return _XNYS_DAYS[day]
    with warnings.catch_warnings():  # the calendar library's own pandas deprecations
        warnings.simplefilter("ignore")
        if _XNYS is None:
            import exchange_calendars as xc

            _XNYS = xc.get_calendar("XNYS")
        try:
            if session_only:
                _XNYS_DAYS[day] = bool(_XNYS.is_session(day))
                return _XNYS_DAYS[day]
            return bool(_XNYS.is_open_on_minute(stamp.tz_localize("UTC")))
        except Exception:  # outside the calendar's range: weekdays
            return stamp.dayofweek < 5
