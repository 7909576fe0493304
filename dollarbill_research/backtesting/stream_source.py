"""Streaming sources: Parquet files / folders and LazyFrames read lazily, chunk by chunk.

The universe pass (timestamps, symbols, sectors) and the reader of validated time windows and
symbol ranges of :mod:`~dollarbill_research.backtesting.streaming`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.data import schema as S
from dollarbill_research.data.load import _canonical_names, symbol_from_filename
from dollarbill_research.data.panel import _to_ns
from dollarbill_research.data.validate import validate_bars
from dollarbill_research.exceptions import DataError

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "StreamSource",
    "estimated_memory",
    "is_stream_source",
    "open_source",
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
