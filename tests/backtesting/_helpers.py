"""Small builders shared by the backtesting tests (hand-made panels and signals)."""

from __future__ import annotations

import numpy as np

from dollarbill_research.data.panel import Panel
from dollarbill_research.kernels import codes
from dollarbill_research.strategies.base import Signals


def make_panel(close: np.ndarray, iv: float | np.ndarray = 0.3, start: str = "2024-01-01",
               step_days: int = 1, valid: np.ndarray | None = None) -> Panel:  # fmt: skip
    close = np.ascontiguousarray(close, dtype=np.float64)
    n_bars, n_sym = close.shape
    ts = np.datetime64(start, "ns") + np.arange(n_bars) * np.timedelta64(step_days, "D")
    ivs = np.broadcast_to(np.asarray(iv, dtype=np.float64), close.shape).copy()
    ok = np.isfinite(close) if valid is None else valid
    close = np.where(ok, close, np.nan)
    return Panel(
        timestamps=ts.astype("datetime64[ns]"), symbols=tuple(f"S{j}" for j in range(n_sym)),
        open=close.copy(), high=close.copy(), low=close.copy(), close=close,
        volume=np.ones_like(close), iv=np.where(ok, ivs, np.nan), valid=ok,
        sector_codes=np.zeros(n_sym, np.int64), sectors=("Unknown",),
    )  # fmt: skip


def template(kind: int, direction: float = 1.0, dte: float = 0.0, moneyness: float = 1.0,
             width: float = 0.0, wing: float = 0.0, step: float = 0.0) -> np.ndarray:  # fmt: skip
    t = np.zeros(codes.TEMPLATE_LEN)
    t[codes.T_KIND] = kind
    t[codes.T_DIRECTION] = direction
    t[codes.T_DTE_DAYS] = dte
    t[codes.T_MONEYNESS] = moneyness
    t[codes.T_WIDTH] = width
    t[codes.T_WING] = wing
    t[codes.T_STRIKE_STEP] = step
    return t


def make_signals(signal: np.ndarray, templates: list[np.ndarray],
                 confidence: np.ndarray | None = None) -> Signals:  # fmt: skip
    signal = np.asarray(signal, dtype=np.int8)
    n_strat = signal.shape[0]
    conf = np.where(signal != 0, 0.5, 0.0) if confidence is None else confidence
    tpl = np.stack([np.stack([t, t]) for t in templates])
    return Signals(tuple(f"strat{s}" for s in range(n_strat)), signal,
                   np.asarray(conf, dtype=np.float64), tpl)  # fmt: skip
