"""Streaming backtests: histories larger than memory, through the same step kernel.

:func:`run_streaming` (``BacktestEngine.run_streaming``) reads a Parquet file, a (hive-partitioned)
Parquet folder or a ``polars.LazyFrame`` in time windows of ``chunk_bars`` timestamps and advances
the step kernel chunk by chunk. Nothing is held for the whole history but O(bars) and O(fills)
vectors; the results equal ``BacktestEngine.run`` on the same data bit for bit.

Passes over the source
----------------------
1. **Universe** (cheap): the distinct timestamps, and each symbol with its sector (only the
   ``timestamp`` / ``symbol`` / ``sector`` columns are read). Chunks are runs of whole timestamps,
   so a timestamp is never split.
2. **Signals.** The built-in strategies, :class:`~dollarbill_research.strategies.Combined` and
   the personality router compute every feature per symbol (their in-memory path already works
   on groups of 64 symbols), so they run on groups of symbols over their whole history (read
   with a symbol-range predicate) and give exactly the in-memory signals; the one cross-sectional
   input, the personality classifier's market return, comes from a time-chunked pass over the
   closes first. Only the non-zero signals are kept, on disk, sorted by bar. Any other strategy
   runs on each time chunk with ``strategy.lookback_bars`` bars of overlap, whose outputs are
   dropped (so it must depend on no more than its declared lookback).
3. **Simulation.** Per time chunk (predicate ``timestamp`` in the chunk's range, validated with
   the in-memory path's checks and messages): the chunk's panel rows plus the last
   ``var_window + 2`` rows of the previous chunk (the VaR window), the implied-vol proxy resumed
   from its carried EWMA state, the chunk's signals; then the compiled driver over the chunk's
   rows with the engine's state (``records.new_state``: account, counters, positions, legs,
   strategy statistics, and the step workspace) carried as is from the previous chunk.

Outputs
-------
Without ``out_dir`` the run returns a :class:`~dollarbill_research.backtesting.BacktestResult`
holding every fill and rejection record and one equity row per bar (O(bars + fills) memory,
independent of the number of symbols). With ``out_dir`` the trades, rejections, breaches and
equity frames are written per chunk as Parquet (``trades/``, ``rejections/``, ``breaches/``,
``equity/``) with the metrics and attribution, and only the per-bar records (equity row,
strategy P&L, allocation targets and returns) and ten numbers per fill stay in memory;
:meth:`BacktestResult.open(out_dir) <dollarbill_research.backtesting.BacktestResult.open>` reads
them lazily. Metrics use the in-memory definitions on the same numbers, so they are equal.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.backtesting.buffers import grown
from dollarbill_research.backtesting.result import (
    BacktestResult,
    RawRecords,
    attribution_frame,
    breaches_frame,
    fills_frame,
    max_positions_limit,
    records_metrics,
    rejections_frame,
)
from dollarbill_research.backtesting.stream_result import (
    _COMPACT_FILL,
    StreamedResult,
    _compact,
    _limits,
    _Names,
    _Writer,
)
from dollarbill_research.backtesting.stream_signals import _signal_pass, _SignalStore
from dollarbill_research.backtesting.stream_source import (
    DEFAULT_MEMORY_BUDGET,
    HISTORY_ROWS_EXTRA,
    StreamSource,
    _grid,
    _Reader,
    _Universe,
    _universe,
    estimated_memory,
    is_stream_source,
    open_source,
)
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data.features import (
    BARS_PER_YEAR as PROXY_BARS_PER_YEAR,
)
from dollarbill_research.data.features import (
    IV_PROXY_FLOOR,
    IV_PROXY_LAMBDA,
    IV_PROXY_SEED_VOL,
)
from dollarbill_research.data.panel import Panel, panel_to_frame
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.alloc_time_nb import rebalance_due_nb, rebalance_nb
from dollarbill_research.kernels.breach_nb import BREACH_ROWS_PER_PASS
from dollarbill_research.kernels.driver_nb import run_bars_nb
from dollarbill_research.kernels.features_nb import iv_proxy_carry_nb
from dollarbill_research.kernels.params import make_params, params_array
from dollarbill_research.kernels.workspace_nb import new_workspace
from dollarbill_research.strategies.base import Signals, Strategy, declared_lookback

if TYPE_CHECKING:
    from dollarbill_research.backtesting.engine import BacktestEngine

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "StreamSource",
    "StreamedResult",
    "default_chunk_bars",
    "estimated_memory",
    "is_stream_source",
    "open_source",
    "run_streaming",
]

# ---------------------------------------------------------------------------------------------
# pass 3: the simulation
# ---------------------------------------------------------------------------------------------

_FIELDS = ("open", "high", "low", "close", "volume", "iv")


@dataclass(slots=True)
class _Axes:
    """What the result renderers read from a panel: timestamps and symbols."""

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    timestamp_dtype: pl.DataType | None = None  # the validated input's (as Panel's)

    @property
    def n_bars(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)


def _check_chunk_bars(chunk_bars: object) -> int:
    if isinstance(chunk_bars, bool) or not isinstance(chunk_bars, int | np.integer):
        raise ConfigError(f"run_streaming: chunk_bars={chunk_bars!r} must be an int >= 1")
    if chunk_bars < 1:
        raise ConfigError(f"run_streaming: chunk_bars={chunk_bars!r} must be >= 1")
    return int(chunk_bars)


def default_chunk_bars(n_symbols: int, n_strategies: int, budget: int) -> int:
    """Bars per chunk so that a chunk's frame and arrays take about half of ``budget``.

    Per symbol-bar: the frame read, validated and sorted (3 x 9 columns x 8 bytes), the grid
    arrays and their history-extended copies (3 x 8 x 8 bytes) and the signal arrays.
    """
    per_bar = max(n_symbols, 1) * (3 * 9 * 8 + 3 * 8 * 8 + 9 * max(n_strategies, 1))
    return int(max(1, min(4096, budget // 2 // per_bar)))


def run_streaming(
    engine: BacktestEngine,
    source: StreamSource | pl.LazyFrame | PathLike,
    strategy: Strategy | Signals,
    *,
    chunk_bars: int | None = None,
    out_dir: PathLike | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> BacktestResult | StreamedResult:
    """Backtest ``strategy`` on a Parquet / LazyFrame source in time chunks (module docstring).

    Parameters
    ----------
    engine : BacktestEngine
        Its configs, exactly as for ``engine.run``.
    source : path, polars.LazyFrame or StreamSource
        A Parquet file, a folder of Parquet files (hive partitions allowed) or a LazyFrame.
    strategy : Strategy or Signals
        A strategy, or a ready :class:`Signals` block over the whole source (its arrays are
        then in memory already).
    chunk_bars : int, optional
        Timestamps per chunk (default: from ``memory_budget`` and the universe's width).
    out_dir : path, optional
        Folder for the per-chunk Parquet records; the return value is then a
        :class:`StreamedResult` (lazy frames).
    memory_budget : int
        Bytes the run aims to stay within (sizes the default chunks and symbol groups).

    Returns
    -------
    BacktestResult or StreamedResult
    """
    from dollarbill_research.backtesting.engine import check_signals

    if chunk_bars is not None:
        chunk_bars = _check_chunk_bars(chunk_bars)
    src = open_source(source)
    uni = _universe(src)
    reader = _Reader(src, uni)
    n_sym, n_bars = uni.n_symbols, uni.n_bars
    tmp = Path(tempfile.mkdtemp(prefix="dollarbill-stream-"))
    try:
        store = _SignalStore(tmp, n_bars)
        given: Signals | None = None
        custom: Strategy | None = None
        if isinstance(strategy, Signals):
            given = check_signals(strategy, _Axes(uni.ns, uni.symbols))  # type: ignore[arg-type]
            names, templates = given.strategies, given.templates
        elif isinstance(strategy, Strategy):
            guess = chunk_bars or default_chunk_bars(n_sym, 8, memory_budget)
            if _signal_pass(strategy, reader, store, guess, memory_budget // 4):
                names, templates = store.names, store.templates
            else:
                custom = strategy
                names, templates = (), np.zeros((0, 2, codes.TEMPLATE_LEN))
        else:
            raise ConfigError(
                f"BacktestEngine.run_streaming: strategy must be a Strategy or Signals, got "
                f"{type(strategy).__name__}"
            )
        if chunk_bars is None:
            chunk_bars = default_chunk_bars(n_sym, max(len(names), 1), memory_budget)
        chunk_bars = _check_chunk_bars(chunk_bars)
        run = _Simulation(engine, uni, reader, store, given, custom, names, templates,
                          Path(out_dir) if out_dir is not None else None)  # fmt: skip
        for i, g0 in enumerate(range(0, n_bars, chunk_bars)):
            run.chunk(i, g0, min(g0 + chunk_bars, n_bars))
        return run.finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Simulation:
    """The state of a streaming run between chunks."""

    def __init__(
        self, engine: BacktestEngine, uni: _Universe, reader: _Reader, store: _SignalStore,
        given: Signals | None, custom: Strategy | None, names: tuple[str, ...],
        templates: np.ndarray, out_dir: Path | None,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.uni = uni
        self.reader = reader
        self.store = store
        self.given = given
        self.custom = custom
        self.lookback = declared_lookback(custom) if custom is not None else 0
        self.out_dir = out_dir
        self.writer = _Writer(out_dir) if out_dir is not None else None
        self.names = names
        self.templates = np.ascontiguousarray(templates, dtype=np.float64)
        self.ready = False
        if names:
            self._start()
        n_sym = uni.n_symbols
        lam, bpy = IV_PROXY_LAMBDA, PROXY_BARS_PER_YEAR
        self.proxy = (lam, IV_PROXY_FLOOR, bpy, np.full(n_sym, np.nan),
                      np.full(n_sym, IV_PROXY_SEED_VOL * IV_PROXY_SEED_VOL / bpy))  # fmt: skip
        self.tail: dict[str, np.ndarray] = {}
        self.fills: list[np.ndarray] = []
        self.rejections: list[np.ndarray] = []
        self.equity: list[np.ndarray] = []
        self.strat_pnl: list[np.ndarray] = []

    def _start(self) -> None:
        """The state :func:`~.engine.simulate` builds, built once and carried over chunks."""
        n_strat, n_sym = len(self.names), self.uni.n_symbols
        self.bp, self.pp, capacity = self.engine.kernel_params(n_strat, self.names, self.uni.ns)
        self.params = params = make_params(self.bp, self.pp)
        self.rows = params_array(self.bp, self.pp)  # what the kernels take
        hedge = bool(
            params.use_portfolio_management > 0 and params.breach_policy == codes.BREACH_HEDGE
        )
        initial = float(params.initial_capital)
        self.state = records.new_state(n_strat, n_sym, initial, hedge_slots=hedge)
        window = int(params.var_window)
        self.ws = new_workspace(n_strat, n_sym, window, hedge_slots=hedge)
        self.hist = window + HISTORY_ROWS_EXTRA
        self.fill_buf = np.zeros(1024, dtype=records.FILL_DTYPE)
        self.rej_buf = np.zeros(1024, dtype=records.REJECTION_DTYPE)
        self.breach_buf = np.zeros(64, dtype=records.BREACH_DTYPE)
        # allocation through time: capacity updated in place, per-bar histories of the whole run
        self.alloc_time = records.AllocTime(
            np.ascontiguousarray(self.engine.allocation_arrays(self.names), dtype=np.float64),
            np.full((self.uni.n_bars, n_strat), np.nan),  # strategy returns, by bar
            np.zeros((self.uni.n_bars, n_strat)),  # targets, by bar
            np.zeros(n_strat),  # committed dollars at the last close
        )
        self.capacity = np.array(capacity, dtype=np.float64)
        self.rebalanced = -1  # global bar of the last capacity recompute (engine.simulate)
        self.breaches: list[np.ndarray] = []
        self.ready = True

    @property
    def counters(self) -> np.ndarray:
        return self.state[1]

    def _panel(self, arrays: dict[str, np.ndarray], ns: np.ndarray) -> Panel:
        return Panel(ns, self.uni.symbols, arrays["open"], arrays["high"], arrays["low"],
                     arrays["close"], arrays["volume"], arrays["iv"], arrays["valid"],
                     self.uni.sector_codes, self.uni.sectors)  # fmt: skip

    def _custom_signals(self, local: Panel, n_new: int) -> Signals:
        assert self.custom is not None
        block = self.custom.signals(panel_to_frame(local) if local.valid.any() else None, local)
        n_rows = local.n_bars
        if block.signal.shape[1:] != (n_rows, self.uni.n_symbols):
            raise ConfigError(
                f"strategy {self.custom.name!r} returned signals of shape "
                f"{block.signal.shape[1:]} on a chunk of ({n_rows}, {self.uni.n_symbols})"
            )
        return block

    def chunk(self, i: int, g0: int, g1: int) -> None:
        uni, n_sym, n = self.uni, self.uni.n_symbols, g1 - g0
        frame = self.reader.time_frame(g0, g1)
        rows, cols = (np.zeros(0, np.int64),) * 2
        if frame.height:
            rows, cols = self.reader.place(frame, g0, g1)
            self.reader.check_sectors(frame, cols)
        new = _grid(frame, rows, cols, n, n_sym, _FIELDS)
        lam, floor, bpy, last_log, var = self.proxy
        proxy = iv_proxy_carry_nb(new["close"], lam, floor, bpy, last_log, var)
        if self.reader.has_iv:
            fill = new["valid"] & np.isnan(new["iv"])
            new["iv"][fill] = proxy[fill]
        else:
            new["iv"] = proxy
        del frame
        keep = max(self.hist if self.ready else 0, self.lookback)
        h = min(g0, keep) if self.tail else 0
        local = {k: np.concatenate((self.tail[k][-h:] if h else self.tail[k][:0], v))
                 if self.tail else v for k, v in new.items()}  # fmt: skip
        ns = uni.ns[g0 - h : g1]
        block = None
        if self.custom is not None:
            block = self._custom_signals(self._panel(local, ns), n)
            if not self.ready:
                self.names, self.templates = (
                    block.strategies,
                    np.ascontiguousarray(block.templates, dtype=np.float64),
                )
                self._start()
        self._advance(i, g0, g1, h, local, ns, block)
        keep = max(self.hist, self.lookback)
        self.tail = {k: v[-keep:].copy() for k, v in local.items()}

    def _advance(self, i: int, g0: int, g1: int, h: int, local: dict[str, np.ndarray],
                 ns: np.ndarray, block: Signals | None) -> None:  # fmt: skip

        n_strat, n_sym, n = len(self.names), self.uni.n_symbols, g1 - g0
        hist = min(h, self.hist)
        cut = h - hist  # rows of the custom strategy's overlap the kernel does not need
        rows_local = hist + n
        sig = np.zeros((n_strat, rows_local, n_sym), dtype=np.int8)
        conf = np.zeros((n_strat, rows_local, n_sym))
        if self.given is not None:
            sig[:, hist:] = self.given.signal[:, g0:g1]
            conf[:, hist:] = self.given.confidence[:, g0:g1]
        elif block is not None:
            sig[:, hist:] = block.signal[:, h:]
            conf[:, hist:] = np.nan_to_num(np.asarray(block.confidence[:, h:]), nan=0.0)
            if not np.all(np.isin(sig, (codes.SIG_NONE, codes.SIG_LONG, codes.SIG_SHORT,
                                        codes.SIG_EXIT))):  # fmt: skip
                raise DataError(f"strategy signals of bars {g0}..{g1 - 1} have unknown codes")
        else:
            self.store.fill(g0, g1, sig, conf, hist)
        days = ns[cut:].astype(np.int64).astype(np.float64) / 86_400e9
        market = records.make_market(
            days, local["close"][cut:], local["iv"][cut:], local["valid"][cut:],
            self.uni.sector_codes, max(len(self.uni.sectors), 1),
        )  # fmt: skip
        sig_block = records.SignalBlock(sig, conf, self.templates, self.capacity)
        equity = np.zeros(rows_local, dtype=records.EQUITY_DTYPE)
        strat_pnl = np.zeros((rows_local, n_strat))
        if hist and self.equity_tail is not None:
            equity[:hist] = self.equity_tail[-hist:]
            strat_pnl[:hist] = self.pnl_tail[-hist:]
        counters = self.counters
        need = 1024 + int(counters[records.C_OPEN]) + int(np.count_nonzero(sig))
        self.fill_buf = grown(self.fill_buf, 0, need)
        self.rej_buf = grown(self.rej_buf, 0, need)
        t = hist
        while t < rows_local:
            rec = records.Records(self.fill_buf, self.rej_buf, self.breach_buf, equity, strat_pnl)
            span = records.Span(t, rows_local, g0 - hist, self.rebalanced)
            t = run_bars_nb(span, market, sig_block, self.rows, self.state, rec, self.ws,
                            self.alloc_time)  # fmt: skip
            bar = t + g0 - hist  # allocation through time: the engine.simulate protocol
            if (
                t < rows_local
                and bar != self.rebalanced
                and rebalance_due_nb(bar, n_strat, self.rows)
            ):
                at = self.alloc_time
                rebalance_nb(bar, at.strat_returns, at.alloc, self.rows, self.capacity)
                self.rebalanced = bar
            if t < rows_local:  # the growth rule of engine.simulate
                need = int(counters[records.C_OPEN]) + int(np.count_nonzero(sig[:, t]))
                self.fill_buf = grown(self.fill_buf, int(counters[records.C_FILLS]),
                                       4 * need + 12)  # fmt: skip
                self.rej_buf = grown(self.rej_buf, int(counters[records.C_REJECTIONS]), need)
                self.breach_buf = grown(self.breach_buf, int(counters[records.C_BREACHES]),
                                         2 * BREACH_ROWS_PER_PASS)  # fmt: skip
        fills = self._take("fill_buf", records.C_FILLS)
        rej = self._take("rej_buf", records.C_REJECTIONS)
        breaches = self._take("breach_buf", records.C_BREACHES)
        eq = equity[hist:]
        pnl = strat_pnl[hist:]
        keep = max(self.hist, 1)
        self.equity_tail = equity[-keep:].copy()
        self.pnl_tail = strat_pnl[-keep:].copy()
        if self.writer is None:
            self.fills.append(fills)
            self.rejections.append(rej)
            self.breaches.append(breaches)
            self.equity.append(eq.copy())
        else:
            stamps = self.uni.ns[g0:g1]
            maxpos = max_positions_limit(self.engine.config, self.pp)
            args = (stamps, self.uni.symbols, self.names, self.pp, maxpos, g0)
            self.writer.timestamp_dtype = self.reader.timestamp_dtype
            self.writer.write("trades", i, fills_frame(fills, *args))
            self.writer.write("rejections", i, rejections_frame(rej, *args))
            self.writer.write("breaches", i, breaches_frame(breaches, stamps, self.uni.symbols,
                                                            g0))  # fmt: skip
            self.writer.equity(i, eq, stamps)
            self.fills.append(_compact(fills, _COMPACT_FILL))
            self.equity.append(eq.copy())  # whole rows: the metrics and attribution read them
        self.strat_pnl.append(pnl.copy())

    equity_tail: np.ndarray | None = None
    pnl_tail: np.ndarray | None = None

    def _take(self, name: str, counter: int) -> np.ndarray:
        """A copy of the chunk's rows of a record buffer; the buffer is zeroed and reused."""
        buf = getattr(self, name)
        n = int(self.counters[counter])
        out = buf[:n].copy()
        buf[:n] = np.zeros(1, dtype=buf.dtype)
        self.counters[counter] = 0
        return out

    def finish(self) -> BacktestResult | StreamedResult:
        n_strat = len(self.names)
        if not self.ready:
            raise DataError("run_streaming: the source has no bars")
        fills = np.concatenate(self.fills) if self.fills else np.zeros(0, records.FILL_DTYPE)
        equity = np.concatenate(self.equity)
        strat_pnl = np.concatenate(self.strat_pnl) if self.strat_pnl else np.zeros((0, n_strat))
        positions, stats = self.state[2], self.state[4]  # records.new_state order
        signals = _Names(self.names)
        axes = _Axes(self.uni.ns, self.uni.symbols, self.reader.timestamp_dtype)
        config = self.engine.run_config(self.uni.ns)  # bars_per_year inferred as in memory
        if self.writer is None:
            rej = np.concatenate(self.rejections)
            raw = RawRecords(fills, rej, equity, strat_pnl, stats, positions,
                             np.concatenate(self.breaches), self.alloc_time.targets,
                             self.alloc_time.strat_returns)  # fmt: skip
            portfolio = self.engine.portfolio_config or PortfolioConfig(
                initial_capital=self.engine.config.initial_capital
            )
            return BacktestResult.from_records(raw, axes, signals, config, self.pp, portfolio)  # type: ignore[arg-type]
        at = self.alloc_time
        raw = RawRecords(fills, np.zeros(0, records.REJECTION_DTYPE), equity, strat_pnl, stats,
                         positions, None, at.targets, at.strat_returns)  # fmt: skip
        metrics = records_metrics(raw, self.uni.ns, config)
        attribution = attribution_frame(raw, self.names, config)
        assert self.out_dir is not None
        return StreamedResult.write(self.out_dir, metrics, attribution, self.names,
                                    self.uni.symbols, _limits(config, self.pp))  # fmt: skip
