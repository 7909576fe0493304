"""Validation of the canonical bar frame: one pass of checks with errors that say where.

Every problem raises :class:`~dollarbill_research.exceptions.DataError` whose message names the
symbol, the timestamp and row (and the file line when a ``source`` is given), the column, and
ends with ``Hint: ...``. Checks are vectorised polars expressions; the location of the first
offending row is only looked up when a check fails.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from dollarbill_research.data import schema as S
from dollarbill_research.exceptions import DataError

__all__ = ["validate_bars"]

_ROW = "__row"
_TZ_PATTERN = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def validate_bars(frame: pl.DataFrame | pl.LazyFrame, *, source: str | None = None) -> pl.DataFrame:
    """Check a long bar frame and return it in canonical form.

    Parameters
    ----------
    frame : polars.DataFrame or polars.LazyFrame
        One row per symbol and bar with the canonical column names (see
        :mod:`dollarbill_research.data.schema`); numeric columns may be strings (they are
        parsed), ``timestamp`` may be a ``Date``, a ``Datetime`` or ISO strings (tz-aware strings
        such as ``2021-03-08 00:00:00-05:00`` become UTC, a tz-aware ``Datetime`` keeps its zone,
        naive ones stay naive).
    source : str, optional
        Name used in messages (a file name); rows are then also given as file lines
        (``line = row + 2``: one header line, rows counted from 0).

    Returns
    -------
    polars.DataFrame
        Canonical columns only (``symbol, timestamp, open, high, low, close, volume`` and ``iv``,
        ``sector`` when present), numeric columns float64, sorted by ``(symbol, timestamp)``.
        Unsorted input is sorted, not rejected. Missing bars stay missing (nothing is filled).
        Null ``iv`` cells are allowed and left null: :func:`~dollarbill_research.data.to_panel`
        fills them from :func:`~dollarbill_research.data.features.iv_proxy`.

    Raises
    ------
    DataError
        Empty input; missing columns; unparsable or missing timestamps; non-numeric, missing,
        NaN or infinite values; prices <= 0; high < low; open or close outside [low, high]
        (relative tolerance :data:`~dollarbill_research.data.schema.OHLC_RTOL`); negative volume;
        iv <= 0, above :data:`~dollarbill_research.data.schema.MAX_IV` (percent given for a
        decimal) or non-finite; several sectors for one symbol; duplicate (symbol, timestamp).

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"symbol": ["A", "A"], "timestamp": ["2024-01-03", "2024-01-02"],
    ...     "open": [10.0, 10.0], "high": [11.0, 11.0], "low": [9.0, 9.0],
    ...     "close": [10.5, 10.5], "volume": [100, 100]})
    >>> validate_bars(raw)["timestamp"].to_list()
    [datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)]
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    src = f" in {source}" if source else ""
    if df.height == 0 or df.width == 0:
        raise DataError(
            f"empty input{src}: no bars (0 rows). Hint: check the file or the filter that "
            "produced the frame; a bar frame needs at least one row."
        )
    missing = [c for c in S.REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}{src}; found "
            f"{df.columns}. Hint: rename them (load_csv(..., column_map={{'Date': 'timestamp'}})) "
            "or load through load_bars/load_csv, which map yfinance names and take the symbol "
            "from the file name."
        )
    present = [c for c in S.CANONICAL_COLUMNS if c in df.columns]
    df = df.select(present).with_row_index(_ROW)
    checker = _Checker(source)
    df = checker.coerce_symbol(df)
    df = checker.coerce_timestamp(df)
    for col in S.NUMERIC_COLUMNS:
        if col in df.columns:
            df = checker.coerce_numeric(df, col, allow_null=col == S.IV)
    checker.check_values(df)
    checker.flush(df)
    df = _sort(df)
    checker.check_duplicates(df)
    if S.SECTOR in df.columns:
        df = checker.check_sector(df)
    checker.flush(df)
    return df.drop(_ROW)


def _sort(df: pl.DataFrame) -> pl.DataFrame:
    """Sort by (symbol, timestamp) unless already sorted (a cheap vectorised check)."""
    sym, ts = pl.col(S.SYMBOL), pl.col(S.TIMESTAMP)
    ordered = (sym.shift(1) < sym) | ((sym.shift(1) == sym) & (ts.shift(1) <= ts))
    if bool(df.select(ordered.fill_null(True).all()).item()):
        return df
    return df.sort([S.SYMBOL, S.TIMESTAMP], maintain_order=True)


class _Checker:
    """Runs the checks and formats errors with their location."""

    __slots__ = ("pending", "source")

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.pending: list[tuple[pl.Expr, str, Callable[[int], str], str]] = []

    def check(self, mask: pl.Expr, column: str, problem: Callable[[int], str], hint: str) -> None:
        """Queue a check; :meth:`flush` evaluates all queued checks in one pass."""
        self.pending.append((mask, column, problem, hint))

    def flush(self, df: pl.DataFrame) -> None:
        """Evaluate the queued checks together; raise for the first (in queue order) that fails."""
        checks, self.pending = self.pending, []
        if not checks:
            return
        flags = df.select(
            [m.fill_null(False).any().alias(f"c{k}") for k, (m, *_) in enumerate(checks)]
        ).row(0)
        for (mask, column, problem, hint), bad in zip(checks, flags, strict=True):
            if bad:
                self.fail_on(df, mask, column, problem, hint)

    # -- error formatting ------------------------------------------------------------------
    def where(self, df: pl.DataFrame, idx: int) -> str:
        """'symbol X, timestamp T (row r, line l of file)' for frame position ``idx``."""
        row = int(df[_ROW][idx])
        parts = []
        if S.SYMBOL in df.columns:
            parts.append(f"symbol {df[S.SYMBOL][idx]}")
        if S.TIMESTAMP in df.columns:
            parts.append(f"timestamp {df[S.TIMESTAMP][idx]}")
        line = f", line {row + 2} of {self.source}" if self.source else ""
        return f"{', '.join(parts)} (row {row}{line})"

    def fail_on(
        self,
        df: pl.DataFrame,
        mask: pl.Expr,
        column: str,
        problem: Callable[[int], str],
        hint: str,
    ) -> None:
        """Raise for the first row where ``mask`` is true (null counts as false)."""
        flags = df.select(mask.fill_null(False)).to_series()
        if not flags.any():
            return
        hits = flags.arg_true()
        idx = int(hits[0])
        more = f" (and {hits.len() - 1} more row(s))" if hits.len() > 1 else ""
        raise DataError(
            f"{problem(idx)} in column '{column}' at {self.where(df, idx)}{more}. Hint: {hint}"
        )

    # -- coercion --------------------------------------------------------------------------
    def coerce_symbol(self, df: pl.DataFrame) -> pl.DataFrame:
        dtype = df.schema[S.SYMBOL]
        if isinstance(dtype, pl.Categorical | pl.Enum):
            df = df.with_columns(pl.col(S.SYMBOL).cast(pl.String))
        elif dtype != pl.String:
            raise DataError(
                f"column '{S.SYMBOL}' has dtype {dtype}{self._src()}; expected strings. "
                "Hint: cast it, e.g. frame.with_columns(pl.col('symbol').cast(pl.String))."
            )
        self.check(
            pl.col(S.SYMBOL).is_null() | (pl.col(S.SYMBOL).str.strip_chars() == ""),
            S.SYMBOL,
            lambda _: "missing symbol",
            "every row needs a ticker; drop the row or fill the symbol.",
        )
        return df

    def coerce_timestamp(self, df: pl.DataFrame) -> pl.DataFrame:
        col = pl.col(S.TIMESTAMP)
        dtype = df.schema[S.TIMESTAMP]
        if dtype == pl.String:
            df = self._parse_timestamps(df)
        elif isinstance(dtype, pl.Datetime):
            pass  # unit and zone are kept (UTC instants either way): results join back to it
        elif dtype != pl.Date:
            raise DataError(
                f"column '{S.TIMESTAMP}' has dtype {dtype}{self._src()}; expected Date, Datetime "
                "or ISO date strings. Hint: convert it, e.g. "
                "pl.col('timestamp').str.to_datetime(time_zone='UTC')."
            )
        self.check(
            col.is_null(),
            S.TIMESTAMP,
            lambda _: "missing timestamp",
            "every bar needs a date or time; drop the row or fill it.",
        )
        return df

    def _parse_timestamps(self, df: pl.DataFrame) -> pl.DataFrame:
        raw = pl.col(S.TIMESTAMP).str.strip_chars()
        stats = df.select(
            tz=raw.str.contains(_TZ_PATTERN).sum(),
            date=raw.str.contains(_DATE_PATTERN).sum(),
            n=raw.count(),
        ).row(0, named=True)
        if stats["tz"] > 0:
            if stats["tz"] < stats["n"]:
                self.fail_on(
                    df,
                    raw.is_not_null() & ~raw.str.contains(_TZ_PATTERN),
                    S.TIMESTAMP,
                    lambda i: (
                        f"timestamp {df[S.TIMESTAMP][i]!r} without a UTC offset among tz-aware ones"
                    ),
                    "use one convention per column: all with offsets (converted to UTC) or all "
                    "naive.",
                )
            parsed = raw.str.to_datetime(time_unit=S.TIME_UNIT, time_zone="UTC", strict=False)
        elif stats["date"] == stats["n"]:
            parsed = raw.str.to_date("%Y-%m-%d", strict=False)
        else:
            parsed = raw.str.to_datetime(time_unit=S.TIME_UNIT, strict=False)
        out = df.with_columns(parsed.alias("__ts"))
        self.fail_on(
            out,
            raw.is_not_null() & pl.col("__ts").is_null(),
            S.TIMESTAMP,
            lambda i: f"unparsable timestamp {df[S.TIMESTAMP][i]!r}",
            "use ISO dates ('2021-03-08') or date-times ('2021-03-08 00:00:00-05:00').",
        )
        return out.with_columns(pl.col("__ts").alias(S.TIMESTAMP)).drop("__ts")

    def coerce_numeric(self, df: pl.DataFrame, column: str, *, allow_null: bool) -> pl.DataFrame:
        col = pl.col(column)
        dtype = df.schema[column]
        if dtype == pl.String:
            raw = col.str.strip_chars()
            parsed = raw.cast(pl.Float64, strict=False)
            self.fail_on(
                df,
                raw.is_not_null() & (raw != "") & parsed.is_null(),
                column,
                lambda i: f"non-numeric value {df[column][i]!r}",
                "fix or drop the row; numbers use '.' as decimal point and no thousands separator.",
            )
            df = df.with_columns(parsed.alias(column))
        elif dtype.is_numeric() or dtype == pl.Null:
            df = df.with_columns(col.cast(pl.Float64))
        else:
            raise DataError(
                f"non-numeric column '{column}' of dtype {dtype}{self._src()}. Hint: it must hold "
                "numbers (float or int)."
            )
        if not allow_null:
            self.check(
                col.is_null(),
                column,
                lambda _: "missing value",
                "drop the bar (missing bars are allowed) instead of leaving a blank cell.",
            )
        self.check(
            col.is_nan() | col.is_infinite(),
            column,
            lambda i: f"non-finite value {df[column][i]}",
            "drop the bar (missing bars are allowed)"
            + ("; use null for a missing iv (filled by the proxy)." if allow_null else "."),
        )
        return df

    def check_sector(self, df: pl.DataFrame) -> pl.DataFrame:
        """Queue the one-sector-per-symbol check (the frame must be sorted by symbol)."""
        if df.schema[S.SECTOR] != pl.String:
            df = df.with_columns(pl.col(S.SECTOR).cast(pl.String))
        sec, sym = pl.col(S.SECTOR), pl.col(S.SYMBOL)
        if df[S.SECTOR].null_count() == 0:
            first = sec.shift(1)  # sorted: a change inside a symbol's run is a second sector
            mask = (sym == sym.shift(1)) & (sec != first)
        else:
            first = sec.drop_nulls().first().over(S.SYMBOL)
            mask = sec.is_not_null() & (sec != first)
        self.check(
            mask,
            S.SECTOR,
            lambda i: (
                f"second sector {df[S.SECTOR][i]!r} for one symbol "
                f"(before: {df.select(first)[S.SECTOR][i]!r})"
            ),
            "a symbol belongs to one sector; fix the sector column.",
        )
        return df

    # -- value checks ----------------------------------------------------------------------
    def check_values(self, df: pl.DataFrame) -> None:
        for name in S.PRICE_COLUMNS:
            self.check(
                pl.col(name) <= 0.0,
                name,
                lambda i, n=name: f"non-positive price {df[n][i]}",
                "prices must be > 0; drop the bar or fix the price (missing bars are allowed).",
            )
        lo, hi = pl.col("low"), pl.col("high")
        tol = S.OHLC_RTOL
        self.check(
            hi < lo * (1.0 - tol),
            "high",
            lambda i: f"high {df['high'][i]} < low {df['low'][i]}",
            "high and low may be swapped; high must be >= low.",
        )
        for name in ("open", "close"):
            c = pl.col(name)
            self.check(
                (c > hi * (1.0 + tol)) | (c < lo * (1.0 - tol)),
                name,
                lambda i, n=name: (
                    f"{n} {df[n][i]} outside [low {df['low'][i]}, high {df['high'][i]}]"
                ),
                "open and close must lie within the bar's range; check the column order.",
            )
        self.check(
            pl.col(S.VOLUME) < 0.0,
            S.VOLUME,
            lambda i: f"negative volume {df[S.VOLUME][i]}",
            "volume must be >= 0 (shares traded).",
        )
        if S.IV in df.columns:
            self.check(
                pl.col(S.IV) <= 0.0,
                S.IV,
                lambda i: f"non-positive implied vol {df[S.IV][i]}",
                "iv is annualised decimal vol (0.25 = 25%) and must be > 0; use null to let the "
                "proxy fill it.",
            )
            self.check(
                pl.col(S.IV) > S.MAX_IV,
                S.IV,
                lambda i: f"implied vol {df[S.IV][i]} looks like percent",
                f"iv is annualised decimal vol (0.30 = 30%), at most {S.MAX_IV:g} (500%); divide "
                "the column by 100 if it is in percent.",
            )

    def check_duplicates(self, df: pl.DataFrame) -> None:
        sym, ts = pl.col(S.SYMBOL), pl.col(S.TIMESTAMP)
        self.check(
            (sym == sym.shift(1)) & (ts == ts.shift(1)),
            f"{S.SYMBOL}/{S.TIMESTAMP}",
            lambda i: f"duplicate bar (also at row {df[_ROW][i - 1]})",
            "each (symbol, timestamp) must appear once; drop duplicates, e.g. "
            "frame.unique(['symbol', 'timestamp'], keep='last').",
        )

    def _src(self) -> str:
        return f" in {self.source}" if self.source else ""
