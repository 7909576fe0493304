"""Streaming signals: per-symbol strategies by symbol groups, stored sparse on disk by bar.

See :mod:`~dollarbill_research.backtesting.streaming` (pass 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.data import schema as S
from dollarbill_research.data.panel import Panel, to_panel
from dollarbill_research.kernels import codes
from dollarbill_research.strategies.base import Combined, Signals, Strategy

if TYPE_CHECKING:
    pass
from dollarbill_research.backtesting.stream_source import _Reader

__all__: list[str] = []  # internals of backtesting.streaming

# ---------------------------------------------------------------------------------------------
# pass 2: signals
# ---------------------------------------------------------------------------------------------

_ENTRY_DTYPE = np.dtype(
    [("bar", np.int64), ("strategy", np.int64), ("symbol", np.int64), ("signal", np.int8),
     ("confidence", np.float64)]
)  # fmt: skip


def _per_symbol_units(strategy: object) -> tuple[tuple[object, ...], object | None] | None:
    """``(units, router)`` when every unit computes per symbol (built-ins), else None."""
    from dollarbill_research.strategies._common import RuleStrategy
    from dollarbill_research.strategies.router import PersonalityStrategy

    if isinstance(strategy, PersonalityStrategy):
        units, router = tuple(strategy.strategies), strategy
    elif isinstance(strategy, Combined):
        units, router = tuple(strategy.strategies), None
    else:
        units, router = (strategy,), None
    if all(isinstance(u, RuleStrategy) for u in units):
        return units, router
    return None


class _SignalStore:
    """The non-zero signals of a run, on disk in bar order, read back chunk by chunk."""

    def __init__(self, folder: Path, n_bars: int) -> None:
        self.folder = folder
        self.n_bars = n_bars
        self.parts: list[tuple[Path, np.ndarray]] = []  # (file, first entry of each bar)
        self.names: tuple[str, ...] = ()
        self.templates = np.zeros((0, 2, codes.TEMPLATE_LEN))

    def add(self, block: Signals, col0: int) -> None:
        sig = np.asarray(block.signal)
        conf = np.nan_to_num(np.asarray(block.confidence, dtype=np.float64), nan=0.0)
        mask = (sig != 0) | (conf != 0.0)
        t, s, j = np.nonzero(mask.transpose(1, 0, 2))
        entries = np.empty(t.shape[0], dtype=_ENTRY_DTYPE)
        entries["bar"] = t
        entries["strategy"] = s
        entries["symbol"] = j + col0
        entries["signal"] = sig[s, t, j]
        entries["confidence"] = conf[s, t, j]
        path = self.folder / f"signals_{len(self.parts):06d}.bin"
        entries.tofile(path)
        starts = np.zeros(self.n_bars + 1, dtype=np.int64)
        np.cumsum(np.bincount(t, minlength=self.n_bars), out=starts[1:])
        self.parts.append((path, starts))

    def fill(self, g0: int, g1: int, sig: np.ndarray, conf: np.ndarray, row0: int) -> None:
        """Write bars ``g0 .. g1-1`` into ``sig`` / ``conf`` rows ``row0 ..`` (zeros elsewhere)."""
        size = _ENTRY_DTYPE.itemsize
        for path, starts in self.parts:
            a, b = int(starts[g0]), int(starts[g1])
            if b == a:
                continue
            with open(path, "rb") as fh:
                fh.seek(a * size)
                e = np.fromfile(fh, dtype=_ENTRY_DTYPE, count=b - a)
            rows = e["bar"] - g0 + row0
            sig[e["strategy"], rows, e["symbol"]] = e["signal"]
            conf[e["strategy"], rows, e["symbol"]] = e["confidence"]


def _group_panel(frame: pl.DataFrame, reader: _Reader, col0: int, n_cols: int) -> Panel:
    """The in-memory panel of a symbol group's frame, on the universe's whole timestamp index."""
    uni = reader.uni
    small = to_panel(frame, validate=False)
    rows = np.searchsorted(uni.ns, small.timestamps)
    local = {s: i for i, s in enumerate(uni.symbols[col0 : col0 + n_cols])}
    cols = np.array([local[s] for s in small.symbols], dtype=np.int64)
    shape = (uni.n_bars, n_cols)

    def grow(a: np.ndarray, fill: object) -> np.ndarray:
        out = np.full(shape, fill, dtype=a.dtype)
        out[np.ix_(rows, cols)] = a
        return out

    return Panel(
        timestamps=uni.ns,
        symbols=uni.symbols[col0 : col0 + n_cols],
        open=grow(small.open, np.nan),
        high=grow(small.high, np.nan),
        low=grow(small.low, np.nan),
        close=grow(small.close, np.nan),
        volume=grow(small.volume, np.nan),
        iv=grow(small.iv, np.nan),
        valid=grow(small.valid, False),
        sector_codes=uni.sector_codes[col0 : col0 + n_cols],
        sectors=uni.sectors,
    )


def _market_returns(reader: _Reader, chunk_bars: int) -> FloatArray:
    """:func:`~dollarbill_research.strategies.personality.market_returns` of the universe.

    Computed by time chunks.

    Each chunk's closes get one row before them holding each symbol's last usable close, so
    every return (from the symbol's previous usable bar) and every per-bar sum (same symbol
    chunks, same order) is the whole-panel one.
    """
    from dollarbill_research.strategies.personality import market_returns

    uni = reader.uni
    out = np.full(uni.n_bars, np.nan)
    last = np.full(uni.n_symbols, np.nan)
    cols_needed = [S.SYMBOL, S.TIMESTAMP, "close"]
    for g0 in range(0, uni.n_bars, chunk_bars):
        g1 = min(g0 + chunk_bars, uni.n_bars)
        frame = reader.time_frame(g0, g1, cols_needed)
        n = g1 - g0
        close = np.full((n + 1, uni.n_symbols), np.nan)
        valid = np.zeros((n + 1, uni.n_symbols), dtype=np.bool_)
        close[0] = last
        valid[0] = np.isfinite(last)
        if frame.height:
            rows, cols = reader.place(frame, g0, g1)
            close[rows + 1, cols] = frame["close"].cast(pl.Float64).to_numpy()
            valid[rows + 1, cols] = True
        mini = Panel(uni.ns[:1].repeat(n + 1), uni.symbols, close, close, close, close, close,
                     close, valid, uni.sector_codes, uni.sectors)  # fmt: skip
        out[g0:g1] = market_returns(mini)[1:]
        usable = valid & np.isfinite(close) & (close > 0.0)
        has = usable.any(axis=0)
        idx = n - np.argmax(usable[::-1], axis=0)
        last = np.where(has, close[np.clip(idx, 0, n), np.arange(uni.n_symbols)], last)
    return out


def _group_size(n_bars: int, n_strat: int, budget: int) -> int:
    per_symbol = n_bars * (8 * 60 + 9 * n_strat)  # frame, panels, feature caches, signals
    size = budget // max(per_symbol, 1)
    return int(max(1, min(512, size // 64 * 64 if size >= 64 else size)))


def _signal_pass(
    strategy: Strategy, reader: _Reader, store: _SignalStore, chunk_bars: int, budget: int
) -> bool:
    """Signals of per-symbol strategies by symbol groups; False when ``strategy`` is not one."""
    from dollarbill_research.strategies.base import run_all
    from dollarbill_research.strategies.personality import classify_panel

    found = _per_symbol_units(strategy)
    if found is None:
        return False
    units, router = found
    uni = reader.uni
    market = _market_returns(reader, chunk_bars) if router is not None else None
    size = _group_size(uni.n_bars, len(units), budget)
    for col0 in range(0, uni.n_symbols, size):
        n_cols = min(size, uni.n_symbols - col0)
        frame = reader.symbol_frame(uni.symbols[col0], uni.symbols[col0 + n_cols - 1])
        panel = _group_panel(frame, reader, col0, n_cols)
        del frame
        block = run_all(units, None, panel)  # type: ignore[arg-type]
        if router is not None:
            block = router.route(  # type: ignore[attr-defined]
                block,
                classify_panel(panel, router.window, market=market),  # type: ignore[attr-defined]
            )
        store.names = block.strategies
        store.templates = block.templates
        store.add(block, col0)
    return True
