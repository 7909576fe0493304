"""Loaders: CSV files and folders, Parquet files and folders, polars and pandas frames.

Every loader returns the validated canonical frame of :mod:`dollarbill_research.data.schema`.
Column names are matched case-insensitively through
:data:`~dollarbill_research.data.schema.COLUMN_ALIASES` (so yfinance's ``Date, Open, High, Low,
Close, Volume`` need no map); an explicit ``column_map`` wins over the aliases. Columns that are
not canonical (``Dividends``, ``Stock Splits``, ``Adj Close``, ...) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from dollarbill_research._typing import PathLike
from dollarbill_research.data import schema as S
from dollarbill_research.data.validate import validate_bars
from dollarbill_research.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "align_sessions",
    "load_bars",
    "load_csv",
    "load_parquet",
    "symbol_from_filename",
]

_BAR_MARKERS = frozenset(S.PRICE_COLUMNS)


def symbol_from_filename(path: PathLike) -> str:
    """Ticker implied by a file name: the upper-cased text before the first ``_``.

    >>> symbol_from_filename("data/aapl_five_year.csv")
    'AAPL'
    >>> symbol_from_filename("spy.parquet")
    'SPY'
    """
    return Path(path).stem.split("_", 1)[0].strip().upper()


def load_csv(
    path_or_folder: PathLike,
    *,
    column_map: Mapping[str, str] | None = None,
    symbol: str | None = None,
    pattern: str = "*.csv",
) -> pl.DataFrame:
    """Load bars from a CSV file or from every bar CSV in a folder.

    Parameters
    ----------
    path_or_folder : str or path
        A CSV file, or a folder whose files matching ``pattern`` are loaded. In a folder, files
        that have none of the columns ``open/high/low/close`` (after the column map and aliases)
        are not bar files and are skipped: the real-data folder's ``*_vol_surface.csv`` option
        snapshots, for instance. A file that has some bar columns but not all is an error.
    column_map : mapping of str to str, optional
        Source column name -> canonical name, e.g. ``{"Date": "timestamp", "Ticker":
        "symbol", "Last": "close"}``. Applied before the case-insensitive aliases.
    symbol : str, optional
        Symbol for files without a ``symbol`` column. Default: from the file name
        (:func:`symbol_from_filename`, ``aapl_five_year.csv`` -> ``AAPL``). Not allowed for a
        folder of several files.
    pattern : str
        Glob pattern for folders (default ``"*.csv"``; ``"*_five_year.csv"`` restricts to the
        yfinance histories).

    Returns
    -------
    polars.DataFrame
        The validated canonical frame, sorted by ``(symbol, timestamp)``.

    Raises
    ------
    DataError
        Missing file or folder, no bar file in a folder, the same (symbol, timestamp) in two
        files, or any validation problem (the message names the file and line).
    """
    path = Path(path_or_folder)
    if path.is_dir():
        files = sorted(p for p in path.glob(pattern) if p.is_file())
        raws = [(p.name, _raw_csv(p, column_map, symbol, bars_only=True)) for p in files]
        named = align_sessions([(name, raw) for name, raw in raws if raw is not None])
        frames = [validate_bars(raw, source=name) for name, raw in named]
        if not frames:
            raise DataError(
                f"no bar CSV in folder {path} (pattern {pattern!r}, {len(files)} file(s) "
                "matched). Hint: bar files need columns like Date, Open, High, Low, Close, Volume."
            )
        if symbol is not None and len(frames) > 1:
            raise DataError(
                f"symbol={symbol!r} given for folder {path} with {len(frames)} bar files. "
                "Hint: omit symbol; each file's symbol comes from its name or symbol column."
            )
        try:
            return validate_bars(pl.concat(frames, how="diagonal_relaxed"))
        except DataError as exc:
            raise DataError(f"combining the files of {path}: {exc}") from exc
    if not path.is_file():
        raise DataError(f"no such file or folder: {path}. Hint: check the path.")
    return _read_csv(path, column_map, symbol, bars_only=False)


def load_parquet(path_or_folder: PathLike, *, lazy: bool = True) -> pl.DataFrame:
    """Load bars from a Parquet file or from every ``*.parquet`` file in a folder.

    Parameters
    ----------
    path_or_folder : str or path
        A Parquet file or a folder of them. Columns are matched like :func:`load_csv`'s; a file
        without a ``symbol`` column takes it from its name.
    lazy : bool
        True (default): ``pl.scan_parquet`` per file, so only the canonical columns are read
        (projection push-down) — the right choice for large histories. False: ``pl.read_parquet``.

    Returns
    -------
    polars.DataFrame
        The validated canonical frame.
    """
    path = Path(path_or_folder)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.parquet") if p.is_file())
        if not files:
            raise DataError(f"no *.parquet file in folder {path}. Hint: check the path.")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"no such file or folder: {path}. Hint: check the path.")
    parts: list[pl.LazyFrame] = []
    for file in files:
        scan = pl.scan_parquet(file) if lazy else pl.read_parquet(file).lazy()
        names = _canonical_names(scan.collect_schema().names(), None, str(file))
        scan = scan.select([pl.col(src).alias(dst) for src, dst in names.items()])
        if S.SYMBOL not in names.values():
            scan = scan.with_columns(pl.lit(symbol_from_filename(file)).alias(S.SYMBOL))
        parts.append(scan)
    if len(parts) > 1:
        parts = [
            part
            for _, part in align_sessions([(f.name, p) for f, p in zip(files, parts, strict=True)])
        ]
    source = str(path)
    return validate_bars(pl.concat(parts, how="diagonal_relaxed").collect(), source=source)


def load_bars(
    source: PathLike | pl.DataFrame | pl.LazyFrame | pd.DataFrame,
    *,
    column_map: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Turn any supported input into the validated canonical bar frame.

    Parameters
    ----------
    source : path, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        A ``.csv`` / ``.parquet`` file, a folder (CSV files, or Parquet files when it holds no
        CSV), or a long frame. A pandas frame with a named or datetime index (yfinance's
        ``Date`` index) has the index turned into a column first.
    column_map : mapping of str to str, optional
        Source column name -> canonical name (see :func:`load_csv`).

    Returns
    -------
    polars.DataFrame
        The validated canonical frame.
    """
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame):
        return _from_polars(source, column_map)
    if isinstance(source, str | Path) or hasattr(source, "__fspath__"):
        path = Path(source)  # type: ignore[arg-type]
        if path.is_dir():
            if any(path.glob("*.csv")):
                return load_csv(path, column_map=column_map)
            return load_parquet(path)
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return load_parquet(path)
        if suffix in (".csv", ".txt"):
            return load_csv(path, column_map=column_map)
        if not path.exists():
            raise DataError(f"no such file or folder: {path}. Hint: check the path.")
        raise DataError(
            f"unsupported file type {suffix!r} for {path}. Hint: use .csv or .parquet, or load "
            "it yourself and pass a polars frame."
        )
    if _is_pandas(source):
        return _from_polars(_pandas_to_polars(source), column_map)
    raise DataError(
        f"unsupported input of type {type(source).__name__}. Hint: pass a path, a polars "
        "DataFrame/LazyFrame or a pandas DataFrame."
    )


# -- internals -----------------------------------------------------------------------------


def _canonical_names(
    columns: list[str], column_map: Mapping[str, str] | None, source: str | None
) -> dict[str, str]:
    """Source name -> canonical name for the columns to keep (others are dropped)."""
    where = f" in {source}" if source else ""
    mapping: dict[str, str] = {}
    if column_map:
        for src, dst in column_map.items():
            if dst not in S.CANONICAL_COLUMNS:
                raise DataError(
                    f"column_map maps {src!r} to {dst!r}, not a canonical column. Hint: targets "
                    f"are {list(S.CANONICAL_COLUMNS)}."
                )
            if src not in columns:
                raise DataError(
                    f"column_map names column {src!r}, which is not{where}; found {columns}. "
                    "Hint: column_map keys are the file's own column names."
                )
            mapping[src] = dst
    taken = set(mapping.values())
    for col in columns:
        if col in mapping:
            continue
        dst = S.COLUMN_ALIASES.get(col.strip().lower().replace(" ", "_"))
        if dst is None or dst in taken:
            continue
        mapping[col] = dst
        taken.add(dst)
    return mapping


def _read_csv(
    path: Path, column_map: Mapping[str, str] | None, symbol: str | None, *, bars_only: bool
) -> pl.DataFrame:
    """Read one CSV as strings, rename to canonical names and validate it.

    With ``bars_only``, a file without any OHLC column gives an empty frame (skipped).
    """
    frame = _raw_csv(path, column_map, symbol, bars_only=bars_only)
    if frame is None:
        return pl.DataFrame()
    return validate_bars(frame, source=path.name)


def _raw_csv(
    path: Path, column_map: Mapping[str, str] | None, symbol: str | None, *, bars_only: bool
) -> pl.DataFrame | None:
    """One CSV as strings with canonical names and a symbol column (not validated yet).

    None for a file without any OHLC column when ``bars_only``.
    """
    try:
        raw = pl.read_csv(path, infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"cannot read CSV {path}: {exc}. Hint: check that it is a comma-separated file "
            "with one header line."
        ) from exc
    names = _canonical_names(raw.columns, column_map, str(path))
    if bars_only and not _BAR_MARKERS.intersection(names.values()):
        return None
    frame = raw.select([pl.col(src).alias(dst) for src, dst in names.items()])
    if S.SYMBOL not in frame.columns and frame.height > 0:
        frame = frame.with_columns(pl.lit(symbol or symbol_from_filename(path)).alias(S.SYMBOL))
    return frame


# -- mixing tz-aware and naive files ------------------------------------------------------------

_LOCAL_MIDNIGHT = r"^\d{4}-\d{2}-\d{2}([ T]00:00(:00(\.0+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$"

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _timestamp_kind(ts: pl.Series) -> tuple[bool, bool]:
    """``(tz_aware, daily)`` of one file's raw ``timestamp`` column.

    Daily means every bar is at midnight *local* time (the time written in the file, or in the
    column's zone): such a bar stands for its session date whatever its zone.
    """
    if ts.dtype == pl.String:
        raw = ts.drop_nulls().str.strip_chars()
        aware = bool(raw.str.contains(_OFFSET).any())
        daily = bool(raw.str.contains(_LOCAL_MIDNIGHT).all())
        return aware, daily
    if isinstance(ts.dtype, pl.Datetime):
        local = ts.drop_nulls()
        midnight = (local.dt.hour() == 0) & (local.dt.minute() == 0) & (local.dt.second() == 0)
        midnight = midnight & (local.dt.nanosecond() == 0)
        return ts.dtype.time_zone is not None, bool(midnight.all())
    return False, ts.dtype == pl.Date


def _session_dates(frame: Frame, ts_dtype: pl.DataType) -> Frame:
    """The frame with each (daily) bar's timestamp replaced by its local session date."""
    col = pl.col(S.TIMESTAMP)
    if ts_dtype == pl.String:
        return frame.with_columns(col.str.strip_chars().str.slice(0, 10))
    if isinstance(ts_dtype, pl.Datetime):
        return frame.with_columns(col.dt.date())
    return frame


def align_sessions(files: list[tuple[str, Frame]]) -> list[tuple[str, Frame]]:
    """Make files that mix tz-aware and naive timestamps share bars (daily files only).

    yfinance writes ``2021-03-08 00:00:00-05:00`` (local midnight with an offset) where other
    sources write ``2021-03-08``; taken as instants they never coincide, and the panel would get
    two bars per session. When the files of one load mix the two conventions and every file is
    daily (each bar at local midnight), every file's timestamps become their session dates.
    Files that all use one convention are left as they are.

    Raises
    ------
    DataError
        The files mix conventions and one of them has intraday (not local-midnight) bars:
        those cannot be matched to dates without a calendar.
    """
    kinds = []
    for name, frame in files:
        ts = frame.select(S.TIMESTAMP).collect() if isinstance(frame, pl.LazyFrame) else frame
        if S.TIMESTAMP not in ts.columns:
            return files  # validation reports the missing column
        kinds.append((name, ts[S.TIMESTAMP].dtype, *_timestamp_kind(ts[S.TIMESTAMP])))
    aware = [k for k in kinds if k[2]]
    naive = [k for k in kinds if not k[2]]
    if not aware or not naive:
        return files
    intraday = [k for k in kinds if not k[3]]
    if intraday:
        bad = intraday[0]
        other = naive[0] if bad[2] else aware[0]
        raise DataError(
            f"file {bad[0]} has intraday {'tz-aware' if bad[2] else 'naive'} timestamps while "
            f"{other[0]} has {'tz-aware' if other[2] else 'naive'} ones: they cannot be aligned "
            "bar by bar. Hint: give every file the same convention (all with UTC offsets, or "
            "all naive in one zone)."
        )
    return [
        (name, _session_dates(frame, kind[1]))
        for (name, frame), kind in zip(files, kinds, strict=True)
    ]


def _from_polars(frame: pl.DataFrame, column_map: Mapping[str, str] | None) -> pl.DataFrame:
    names = _canonical_names(frame.columns, column_map, None)
    return validate_bars(frame.select([pl.col(src).alias(dst) for src, dst in names.items()]))


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "reset_index")


def _pandas_to_polars(frame: Any) -> pl.DataFrame:
    index = frame.index
    names = [n for n in getattr(index, "names", [None]) if n is not None]
    if names or "Datetime" in type(index).__name__:
        frame = frame.reset_index()
    return pl.from_pandas(frame)
