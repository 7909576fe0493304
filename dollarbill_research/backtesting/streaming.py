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

import dataclasses
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.backtesting.metrics import Metrics
from dollarbill_research.backtesting.result import (
    BacktestResult,
    RawRecords,
    attribution_frame,
    breaches_frame,
    equity_frame,
    fills_frame,
    max_positions_limit,
    records_metrics,
    rejections_frame,
)
from dollarbill_research.data import panel as panel_module
from dollarbill_research.data import schema as S
from dollarbill_research.data.features import (
    BARS_PER_YEAR as PROXY_BARS_PER_YEAR,
)
from dollarbill_research.data.features import (
    IV_PROXY_FLOOR,
    IV_PROXY_LAMBDA,
    IV_PROXY_SEED_VOL,
)
from dollarbill_research.data.load import _canonical_names, symbol_from_filename
from dollarbill_research.data.panel import Panel, _to_ns, panel_to_frame, to_panel
from dollarbill_research.data.validate import validate_bars
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.breach_nb import BREACH_ROWS_PER_PASS
from dollarbill_research.kernels.driver_nb import run_bars_nb
from dollarbill_research.kernels.stream_nb import iv_proxy_carry_nb
from dollarbill_research.kernels.workspace_nb import new_workspace
from dollarbill_research.strategies.base import Combined, Signals, Strategy, declared_lookback

if TYPE_CHECKING:
    from dollarbill_research.backtesting.engine import BacktestEngine

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "StreamSource",
    "StreamedResult",
    "estimated_memory",
    "is_stream_source",
    "open_source",
    "run_streaming",
]

DEFAULT_MEMORY_BUDGET = 2 << 30  # bytes an in-memory run may take before run() streams
IN_MEMORY_BYTES_PER_ROW = 300  # frame + panel + signals of one symbol-bar (measured: ~290)
HISTORY_ROWS_EXTRA = 2  # rows kept before a chunk beyond the VaR window


# ---------------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamSource:
    """A bar source read lazily: canonical column names, no data loaded.

    Attributes
    ----------
    scan : polars.LazyFrame
        The canonical columns (``symbol, timestamp, open, ...``) of every row.
    label : str
        Name used in error messages (the path, or ``"LazyFrame"``).
    path : str or None
        The Parquet file or folder (sweep workers re-open it from there), None for a LazyFrame.
    """

    scan: pl.LazyFrame
    label: str
    path: str | None = None


def is_stream_source(data: object) -> bool:
    """True for a ``polars.LazyFrame``, a ``.parquet`` file or a folder holding Parquet files."""
    if isinstance(data, StreamSource | pl.LazyFrame):
        return True
    if isinstance(data, str | Path) or hasattr(data, "__fspath__"):
        path = Path(data)  # type: ignore[arg-type]
        if path.is_file():
            return path.suffix.lower() == ".parquet"
        if path.is_dir():
            return not any(path.glob("*.csv")) and any(path.rglob("*.parquet"))
    return False


def open_source(source: StreamSource | pl.LazyFrame | PathLike) -> StreamSource:
    """A :class:`StreamSource` over a Parquet file, a (hive-partitioned) folder or a LazyFrame.

    Columns are matched like :func:`~dollarbill_research.data.load_parquet`'s (aliases such as
    ``Date``/``Close``); other columns, hive partition keys included, are not read.
    """
    if isinstance(source, StreamSource):
        return source
    path: str | None = None
    if isinstance(source, pl.LazyFrame):
        scan, label = source, "LazyFrame"
    else:
        p = Path(source)  # type: ignore[arg-type]
        if p.is_file():
            scan = pl.scan_parquet(p)
        elif p.is_dir():
            if not any(p.rglob("*.parquet")):
                raise DataError(f"no *.parquet file in folder {p}. Hint: check the path.")
            scan = pl.scan_parquet(p / "**" / "*.parquet", hive_partitioning=True)
        else:
            raise DataError(f"no such file or folder: {p}. Hint: check the path.")
        label = path = str(p)
    try:
        names = _canonical_names(scan.collect_schema().names(), None, label)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"cannot read {label}: {exc}. Hint: check the Parquet files.") from exc
    scan = scan.select([pl.col(src).alias(dst) for src, dst in names.items()])
    if S.SYMBOL not in names.values():
        if path is None or not Path(path).is_file():
            raise DataError(
                f"{label} has no symbol column. Hint: streaming a folder or a LazyFrame needs a "
                "'symbol' column (a single file takes its symbol from its name)."
            )
        scan = scan.with_columns(pl.lit(symbol_from_filename(path)).alias(S.SYMBOL))
    return StreamSource(scan, label, path)


def estimated_memory(source: StreamSource | pl.LazyFrame | PathLike) -> int:
    """Bytes an in-memory run would take on ``source`` (rows x a measured per-row cost)."""
    src = open_source(source)
    rows = int(src.scan.select(pl.len()).collect().item())
    return rows * IN_MEMORY_BYTES_PER_ROW


# ---------------------------------------------------------------------------------------------
# pass 1: the universe
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Universe:
    stamps: pl.Series  # distinct timestamps, sorted (source dtype)
    ns: np.ndarray  # the same as datetime64[ns] (the panel's convention)
    symbols: tuple[str, ...]
    sectors: tuple[str, ...]
    sector_codes: np.ndarray

    @property
    def n_bars(self) -> int:
        return int(self.ns.shape[0])

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)


def _collect(lf: pl.LazyFrame) -> pl.DataFrame:
    return lf.collect(engine="streaming")


def _universe(src: StreamSource) -> _Universe:
    schema = src.scan.collect_schema()
    for col in (S.SYMBOL, S.TIMESTAMP):
        if col not in schema:
            raise DataError(f"{src.label} has no {col!r} column. Hint: see SPEC 2 (bar frames).")
    dtype = schema[S.TIMESTAMP]
    if not isinstance(dtype, pl.Date | pl.Datetime):
        raise DataError(
            f"{src.label}: column 'timestamp' is {dtype}, streaming needs a Date or Datetime "
            "column. Hint: write the Parquet files with typed timestamps (or load the data in "
            "memory with load_bars, which parses strings)."
        )
    stamps = _collect(src.scan.select(pl.col(S.TIMESTAMP).drop_nulls().unique()))[S.TIMESTAMP]
    if stamps.len() == 0:
        raise DataError(f"{src.label} has no bars. Hint: check the path or the filter.")
    stamps = stamps.sort()
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        stamps = stamps.dt.convert_time_zone("UTC")
    ns = _to_ns(stamps.to_physical().to_numpy().astype(np.int64), stamps.dtype)
    if S.SECTOR in schema:
        per = _collect(
            src.scan.group_by(S.SYMBOL).agg(pl.col(S.SECTOR).drop_nulls().first())
        ).filter(pl.col(S.SYMBOL).is_not_null())
        per = per.sort(S.SYMBOL).with_columns(pl.col(S.SECTOR).fill_null(S.UNKNOWN_SECTOR))
        symbols = tuple(per[S.SYMBOL].to_list())
        sector_of = per[S.SECTOR].to_list()
        sectors = tuple(sorted(set(sector_of)))
        lookup = {name: i for i, name in enumerate(sectors)}
        sector_codes = np.array([lookup[s] for s in sector_of], dtype=np.int64)
    else:
        syms = _collect(src.scan.select(pl.col(S.SYMBOL).drop_nulls().unique()))[S.SYMBOL]
        symbols = tuple(syms.sort().to_list())
        sectors = (S.UNKNOWN_SECTOR,)
        sector_codes = np.zeros(len(symbols), dtype=np.int64)
    return _Universe(stamps, ns, symbols, sectors, sector_codes)


# ---------------------------------------------------------------------------------------------
# reading chunks
# ---------------------------------------------------------------------------------------------


class _Reader:
    """Validated frames of time windows / symbol ranges, placed on the universe's grid."""

    def __init__(self, src: StreamSource, uni: _Universe) -> None:
        self.src = src
        self.uni = uni
        self.sym_index = pl.DataFrame(
            {S.SYMBOL: list(uni.symbols), "_col": np.arange(uni.n_symbols, dtype=np.int64)}
        )
        self.has_iv = S.IV in src.scan.collect_schema().names()

    def _stamp(self, i: int) -> Any:
        return self.uni.stamps[i]

    def time_frame(self, g0: int, g1: int, columns: list[str] | None = None) -> pl.DataFrame:
        """Rows with a timestamp among bars ``g0 .. g1-1``, validated (in-memory checks)."""
        lo, hi = self._stamp(g0), self._stamp(g1 - 1)
        ts = pl.col(S.TIMESTAMP)
        if isinstance(self.uni.stamps.dtype, pl.Datetime) and self.uni.stamps.dtype.time_zone:
            ts = ts.dt.convert_time_zone("UTC")
        scan = self.src.scan.filter(ts.is_between(lo, hi))
        if columns is not None:
            scan = scan.select(columns)
        frame = scan.collect()
        if frame.height == 0:
            return frame
        if columns is not None:
            return frame.sort(S.SYMBOL, S.TIMESTAMP)
        return self._validate(frame, f"bars {g0}..{g1 - 1}")

    def symbol_frame(self, first: str, last: str) -> pl.DataFrame:
        """Every row of the symbols ``first .. last`` (sorted-name range), validated."""
        sym = pl.col(S.SYMBOL)
        frame = self.src.scan.filter((sym >= first) & (sym <= last)).collect()
        return self._validate(frame, f"symbols {first}..{last}")

    def _validate(self, frame: pl.DataFrame, what: str) -> pl.DataFrame:
        try:
            out = validate_bars(frame, source=None)
        except DataError as exc:
            raise DataError(f"{self.src.label} ({what}): {exc}") from exc
        self.timestamp_dtype = out.schema[S.TIMESTAMP]
        return out

    timestamp_dtype: pl.DataType | None = None

    def place(self, frame: pl.DataFrame, g0: int, g1: int) -> tuple[np.ndarray, np.ndarray]:
        """Grid rows (``0 .. g1-g0-1``) and symbol columns of each row of a validated frame."""
        ts = frame[S.TIMESTAMP]
        ns = _to_ns(ts.to_physical().to_numpy().astype(np.int64), ts.dtype)
        grid = self.uni.ns[g0:g1]
        rows = np.searchsorted(grid, ns)
        bad = (rows >= grid.shape[0]) | (grid[np.minimum(rows, grid.shape[0] - 1)] != ns)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{self.src.label}: timestamp {ts[i]} of symbol {frame[S.SYMBOL][i]!r} is not in "
                "the source's timestamp index; hint: the data changed while it was being read"
            )
        cols = frame.select(S.SYMBOL).join(self.sym_index, on=S.SYMBOL, how="left")["_col"]
        if cols.null_count():
            i = int(np.argmax(cols.is_null().to_numpy()))
            raise DataError(
                f"{self.src.label}: symbol {frame[S.SYMBOL][i]!r} is not in the source's symbol "
                "list; hint: the data changed while it was being read"
            )
        return rows.astype(np.int64), cols.to_numpy().astype(np.int64)

    def check_sectors(self, frame: pl.DataFrame, cols: np.ndarray) -> None:
        """A chunk's sectors must be the symbol's sector in the rest of the source."""
        if S.SECTOR not in frame.columns:
            return
        if not hasattr(self, "_sector_of"):
            names = np.asarray(self.uni.sectors, dtype=object)[self.uni.sector_codes]
            self._sector_of = pl.DataFrame(
                {S.SYMBOL: list(self.uni.symbols), "_sector": list(names)},
                schema={S.SYMBOL: pl.String, "_sector": pl.String},
            )
        pairs = frame.select(S.SYMBOL, S.SECTOR).drop_nulls().unique(maintain_order=True)
        bad = pairs.join(self._sector_of, on=S.SYMBOL).filter(pl.col(S.SECTOR) != pl.col("_sector"))
        if bad.height:
            sym, have, want = bad.row(0)
            at = frame.filter((pl.col(S.SYMBOL) == sym) & (pl.col(S.SECTOR) == have))
            raise DataError(
                f"{self.src.label}: symbol {sym!r} has sector {have!r} at "
                f"{at[S.TIMESTAMP][0]} and {want!r} elsewhere (column 'sector'); hint: "
                "a symbol has one sector"
            )


def _grid(frame: pl.DataFrame, rows: np.ndarray, cols: np.ndarray, n: int, n_sym: int,
          fields: tuple[str, ...]) -> dict[str, np.ndarray]:  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for name in fields:
        a = np.full((n, n_sym), np.nan)
        if name in frame.columns:
            a[rows, cols] = frame[name].cast(pl.Float64).to_numpy()
        out[name] = a
    valid = np.zeros((n, n_sym), dtype=np.bool_)
    valid[rows, cols] = True
    out["valid"] = valid
    return out


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


# the fill fields the metrics and the attribution read (records_metrics, attribution_frame)
_COMPACT_FILL = np.dtype(
    [(name, records.FILL_DTYPE.fields[name][0]) for name in (
        "bar", "strategy", "symbol", "kind", "side", "reason", "pnl", "costs", "price", "qty",
    )]
)  # fmt: skip


def _compact(rec: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.empty(rec.shape[0], dtype=dtype)
    for name in dtype.names or ():
        out[name] = rec[name]
    return out


class _Writer:
    """Per-chunk Parquet records under ``out_dir`` (atomic: each file via a temporary name)."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir
        for sub in ("trades", "rejections", "breaches", "equity"):
            folder = out_dir / sub
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
        self.peak = -math.inf
        self.timestamp_dtype: pl.DataType | None = None

    def write(self, sub: str, i: int, frame: pl.DataFrame) -> None:
        convert = getattr(panel_module, "with_input_timestamps", None)
        if convert is not None and self.timestamp_dtype is not None and sub != "breaches":
            # the input's timestamp dtype, on the frames BacktestResult.from_records converts
            frame = convert(frame, self.timestamp_dtype)
        path = self.root / sub / f"part-{i:06d}.parquet"
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        os.replace(tmp, path)

    def equity(self, i: int, eq: np.ndarray, stamps: np.ndarray) -> None:
        frame = equity_frame(eq, stamps)
        e = eq["equity"]
        peak = np.maximum.accumulate(np.concatenate(([self.peak], e)))[1:]
        if e.shape[0]:
            self.peak = float(peak[-1])
        dd = np.where(peak > 0, 1.0 - e / peak, 0.0)
        self.write("equity", i, frame.with_columns(pl.Series("drawdown", dd)))


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
        self.bp, self.pp, capacity = self.engine.kernel_params(n_strat, self.names)
        hedge = bool(
            self.bp[records.BP_USE_PM] > 0 and self.pp[codes.PP_BREACH_POLICY] == codes.BREACH_HEDGE
        )
        initial = float(self.bp[records.BP_INITIAL_CAPITAL])
        self.state = records.new_state(n_strat, n_sym, initial, hedge_slots=hedge)
        window = int(self.pp[codes.PP_VAR_WINDOW])
        self.ws = new_workspace(n_strat, n_sym, window, hedge_slots=hedge)
        self.hist = window + HISTORY_ROWS_EXTRA
        self.fill_buf = np.zeros(1024, dtype=records.FILL_DTYPE)
        self.rej_buf = np.zeros(1024, dtype=records.REJECTION_DTYPE)
        self.breach_buf = np.zeros(64, dtype=records.BREACH_DTYPE)
        # allocation through time: capacity updated in place, per-bar histories of the whole run
        self.alloc = np.ascontiguousarray(self.engine.allocation_arrays(self.names))
        self.capacity = np.array(capacity, dtype=np.float64)
        self.strat_returns = np.full((self.uni.n_bars, n_strat), np.nan)
        self.targets = np.zeros((self.uni.n_bars, n_strat))
        self.committed_prev = np.zeros(n_strat)
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
        from dollarbill_research.backtesting.engine import _grown

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
        close = np.ascontiguousarray(local["close"][cut:])
        iv = np.ascontiguousarray(local["iv"][cut:])
        valid = np.ascontiguousarray(local["valid"][cut:])
        days = ns[cut:].astype(np.int64).astype(np.float64) / 86_400e9
        equity = np.zeros(rows_local, dtype=records.EQUITY_DTYPE)
        strat_pnl = np.zeros((rows_local, n_strat))
        if hist and self.equity_tail is not None:
            equity[:hist] = self.equity_tail[-hist:]
            strat_pnl[:hist] = self.pnl_tail[-hist:]
        sectors = self.uni.sector_codes
        n_sectors = max(len(self.uni.sectors), 1)
        counters = self.counters
        need = 1024 + int(counters[records.C_OPEN]) + int(np.count_nonzero(sig))
        self.fill_buf = _grown(self.fill_buf, 0, need)
        self.rej_buf = _grown(self.rej_buf, 0, need)
        t = hist
        while t < rows_local:
            t = run_bars_nb(
                t, rows_local, days, close, iv, valid, sectors, n_sectors, sig, conf,
                self.templates, self.capacity, self.bp, self.pp, *self.state, self.fill_buf,
                self.rej_buf, self.breach_buf, equity, strat_pnl, self.ws, self.alloc,
                self.strat_returns, self.targets, self.committed_prev, g0 - hist,
            )  # fmt: skip
            if t < rows_local:  # the growth rule of engine.simulate
                need = int(counters[records.C_OPEN]) + int(np.count_nonzero(sig[:, t]))
                self.fill_buf = _grown(self.fill_buf, int(counters[records.C_FILLS]),
                                       4 * need + 12)  # fmt: skip
                self.rej_buf = _grown(self.rej_buf, int(counters[records.C_REJECTIONS]), need)
                self.breach_buf = _grown(self.breach_buf, int(counters[records.C_BREACHES]),
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
        config = self.engine.config
        if self.writer is None:
            rej = np.concatenate(self.rejections)
            raw = RawRecords(fills, rej, equity, strat_pnl, stats, positions,
                             np.concatenate(self.breaches), self.targets,
                             self.strat_returns)  # fmt: skip
            return BacktestResult.from_records(raw, axes, signals, config, self.pp)  # type: ignore[arg-type]
        raw = RawRecords(fills, np.zeros(0, records.REJECTION_DTYPE), equity, strat_pnl, stats,
                         positions, None, self.targets, self.strat_returns)  # fmt: skip
        metrics = records_metrics(raw, self.uni.ns, config)
        attribution = attribution_frame(raw, self.names, config)
        assert self.out_dir is not None
        return StreamedResult.write(self.out_dir, metrics, attribution, self.names,
                                    self.uni.symbols, _limits(config, self.pp))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Names:
    strategies: tuple[str, ...]


def _limits(config: Any, pp: FloatArray) -> dict[str, float]:
    if not config.use_portfolio_management:
        return {}
    return {
        "delta_exposure": float(pp[codes.PP_MAX_DELTA]),
        "gamma_exposure": float(pp[codes.PP_MAX_GAMMA]),
        "vega_exposure": float(pp[codes.PP_MAX_VEGA]),
        "var_95": float(pp[codes.PP_MAX_VAR_PCT]) / 100.0,
    }


# ---------------------------------------------------------------------------------------------
# lazy results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamedResult:
    """A streaming run's records on disk: lazy frames, metrics and attribution in memory.

    Attributes
    ----------
    out_dir : pathlib.Path
    equity, trades, rejections, breaches : polars.LazyFrame
        The frames of :class:`~dollarbill_research.backtesting.BacktestResult` (same columns,
        same rows), read lazily from ``out_dir``.
    attribution : polars.DataFrame
    metrics : Metrics
    strategies, symbols : tuple of str
    limits : dict of str to float
    """

    out_dir: Path
    equity: pl.LazyFrame
    trades: pl.LazyFrame
    rejections: pl.LazyFrame
    breaches: pl.LazyFrame
    attribution: pl.DataFrame
    metrics: Metrics
    strategies: tuple[str, ...]
    symbols: tuple[str, ...]
    limits: dict[str, float]

    @classmethod
    def write(cls, out_dir: Path, metrics: Metrics, attribution: pl.DataFrame,
              strategies: tuple[str, ...], symbols: tuple[str, ...],
              limits: dict[str, float]) -> StreamedResult:  # fmt: skip
        """Write the run's summary files next to the per-chunk records and open the result."""
        attribution.write_parquet(out_dir / "attribution.parquet")
        meta = {
            "version": 1,
            "metrics": dataclasses.asdict(metrics),
            "strategies": list(strategies),
            "symbols": list(symbols),
            "limits": limits,
        }
        tmp = out_dir / "result.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, out_dir / "result.json")
        return cls.open(out_dir)

    @classmethod
    def open(cls, out_dir: PathLike) -> StreamedResult:
        """Open the records a streaming run wrote to ``out_dir`` (frames stay on disk)."""
        root = Path(out_dir)
        meta_path = root / "result.json"
        if not meta_path.is_file():
            raise DataError(
                f"{root} holds no streaming result (no result.json); hint: pass the out_dir of "
                "a finished run_streaming"
            )
        meta = json.loads(meta_path.read_text())
        return cls(
            root,
            pl.scan_parquet(root / "equity" / "*.parquet"),
            pl.scan_parquet(root / "trades" / "*.parquet"),
            pl.scan_parquet(root / "rejections" / "*.parquet"),
            pl.scan_parquet(root / "breaches" / "*.parquet"),
            pl.read_parquet(root / "attribution.parquet"),
            Metrics(**meta["metrics"]),
            tuple(meta["strategies"]),
            tuple(meta["symbols"]),
            {k: float(v) for k, v in meta["limits"].items()},
        )

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"StreamedResult({self.out_dir}, {len(self.strategies)} strategies, "
            f"{len(self.symbols)} symbols, total_return={m.total_return:.4f}, "
            f"trades={m.n_trades})"
        )
