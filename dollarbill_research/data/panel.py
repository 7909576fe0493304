"""The hand-off from frames to kernels: aligned (bars x symbols) float64 arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dollarbill_research._typing import BoolArray, FloatArray, IntArray
from dollarbill_research.data.features import iv_proxy_panel
from dollarbill_research.data.schema import SECTOR, SYMBOL, TIMESTAMP, UNKNOWN_SECTOR
from dollarbill_research.data.validate import validate_bars
from dollarbill_research.kernels.panel_nb import block_to_panel_nb

__all__ = [
    "Panel",
    "input_timestamps",
    "panel_to_frame",
    "proxy_iv_mask",
    "to_panel",
    "with_input_timestamps",
]


@dataclass(frozen=True, slots=True)
class Panel:
    """Market data aligned on a common timestamp index, one column per symbol.

    All arrays are C-contiguous float64 of shape ``(n_bars, n_symbols)``. A missing bar (a
    symbol with no row at that timestamp) is NaN in every field and False in ``valid``; that
    symbol does not trade on that bar. Nothing is forward-filled.

    Attributes
    ----------
    timestamps : numpy.ndarray
        ``datetime64[ns]`` of shape ``(n_bars,)``, strictly increasing (UTC when tz-aware).
    symbols : tuple of str
        Column order of every array.
    open, high, low, close, volume : numpy.ndarray
        Prices in dollars, volume in shares.
    iv : numpy.ndarray
        Annualised implied volatility (decimal) from the ``iv`` column, or the documented proxy
        (:func:`dollarbill_research.data.features.iv_proxy`) where the input had none.
    valid : numpy.ndarray
        bool ``(n_bars, n_symbols)``: the symbol has a bar at that timestamp.
    sector_codes : numpy.ndarray
        int64 ``(n_symbols,)``, index into ``sectors``.
    sectors : tuple of str
        Sector names (``"Unknown"`` when the input had no ``sector`` column).
    timestamp_dtype : polars.DataType or None
        The input frame's ``timestamp`` dtype (``Date``, or ``Datetime`` with its unit and
        zone); result frames give their timestamps this dtype, so they join back to the input.
        None: unknown (a panel built by hand), timestamps stay ``Datetime("ns")``.
    """

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    iv: FloatArray
    valid: BoolArray
    sector_codes: IntArray
    sectors: tuple[str, ...]
    timestamp_dtype: pl.DataType | None = None

    @property
    def n_bars(self) -> int:
        """Number of timestamps."""
        return int(self.close.shape[0])

    @property
    def n_symbols(self) -> int:
        """Number of symbols."""
        return int(self.close.shape[1])

    @property
    def days(self) -> FloatArray:
        """Timestamps as float64 calendar days since 1970-01-01 (for time-to-expiry arithmetic)."""
        ns = self.timestamps.astype("datetime64[ns]").astype(np.int64)
        return ns.astype(np.float64) / 86_400e9


# ---------------------------------------------------------------------------------------------
# frame <-> panel
# ---------------------------------------------------------------------------------------------


def to_panel(frame: pl.DataFrame, *, validate: bool = True) -> Panel:
    """Align a long bar frame into a :class:`Panel` of ``(n_bars, n_symbols)`` arrays.

    The bar index is the sorted union of all timestamps; symbols are in sorted order. A symbol
    without a row at a timestamp gets NaN in every field and ``valid=False`` there (nothing is
    forward-filled). ``iv`` comes from the frame's ``iv`` column; where that column is absent or
    null on a valid bar it is filled by the implied-vol proxy
    (:func:`~dollarbill_research.data.features.iv_proxy_panel` on the close panel, the same
    numbers as the :func:`~dollarbill_research.data.features.iv_proxy` expression);
    :func:`proxy_iv_mask` says which cells were filled. A symbol's sector is its non-null
    ``sector`` value, ``"Unknown"`` when it has none.

    Parameters
    ----------
    frame : polars.DataFrame
        Long bar frame (canonical columns).
    validate : bool
        Run :func:`~dollarbill_research.data.validate_bars` first (default). Pass False only for
        a frame that is already the output of a loader or of ``validate_bars``.

    Returns
    -------
    Panel
        C-contiguous float64 arrays; timestamps as ``datetime64[ns]`` (UTC wall time for
        tz-aware inputs, midnight for dates).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"symbol": ["A", "B", "B"], "timestamp": ["2024-01-02", "2024-01-02",
    ...     "2024-01-03"], "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 0.0})
    >>> to_panel(f).valid.tolist()
    [[True, True], [False, True]]
    """
    df = validate_bars(frame) if validate else frame
    idx = _Index.of(df)
    fields = {name: idx.scatter(df[name].to_numpy()) for name in ("open", "high", "low", "close")}
    volume = idx.scatter(df["volume"].to_numpy())
    valid = np.zeros(idx.shape, dtype=np.bool_)
    valid.ravel()[idx.flat] = True
    if "iv" in df.columns:
        iv = idx.scatter(df["iv"].to_numpy())
        fill = valid & np.isnan(iv)
        if fill.any():
            iv[fill] = iv_proxy_panel(fields["close"])[fill]
    else:
        iv = iv_proxy_panel(fields["close"])
    sectors, sector_codes = _sectors(df, idx)
    return Panel(
        timestamps=idx.timestamps,
        symbols=idx.symbols,
        open=fields["open"],
        high=fields["high"],
        low=fields["low"],
        close=fields["close"],
        volume=volume,
        iv=iv,
        valid=valid,
        sector_codes=sector_codes,
        sectors=sectors,
        timestamp_dtype=df.schema[TIMESTAMP],
    )


def input_timestamps(values: np.ndarray | pl.Series, dtype: pl.DataType | None) -> pl.Series:
    """Bar times (``datetime64[ns]``, UTC wall time) as a ``timestamp`` series of ``dtype``.

    ``dtype`` is a panel's :attr:`Panel.timestamp_dtype`: ``Date`` gives dates, a ``Datetime``
    its unit and zone; None leaves ``Datetime("ns")``.
    """
    ts = pl.Series(TIMESTAMP, values)
    if ts.dtype != pl.Datetime("ns"):
        ts = ts.cast(pl.Datetime("ns"))
    if dtype is None:
        return ts
    if isinstance(dtype, pl.Datetime):
        out = ts.dt.cast_time_unit(dtype.time_unit or "us")
        if dtype.time_zone is not None:
            out = out.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
        return out
    return ts.cast(dtype)


def with_input_timestamps(frame: pl.DataFrame, dtype: pl.DataType | None) -> pl.DataFrame:
    """``frame`` with its ``timestamp`` in the input's dtype (see :func:`input_timestamps`)."""
    if dtype is None or TIMESTAMP not in frame.columns or frame.schema[TIMESTAMP] == dtype:
        return frame
    return frame.with_columns(input_timestamps(frame[TIMESTAMP], dtype))


def proxy_iv_mask(frame: pl.DataFrame, *, validate: bool = True) -> BoolArray:
    """Cells of ``to_panel(frame).iv`` that were filled by the proxy (no or null ``iv``).

    Returns bool ``(n_bars, n_symbols)`` aligned like :func:`to_panel`'s arrays.
    """
    df = validate_bars(frame) if validate else frame
    idx = _Index.of(df)
    mask = np.zeros(idx.shape, dtype=np.bool_)
    if "iv" in df.columns:
        mask.ravel()[idx.flat] = df["iv"].is_null().to_numpy()
    else:
        mask.ravel()[idx.flat] = True
    return mask


def panel_to_frame(
    panel: Panel, *, timestamp_dtype: pl.DataType | None = None, validate: bool = True
) -> pl.DataFrame:
    """The long canonical frame of a panel's valid bars (inverse of :func:`to_panel`).

    Parameters
    ----------
    panel : Panel
        Aligned arrays.
    timestamp_dtype : polars.DataType, optional
        dtype of the ``timestamp`` column, e.g. ``pl.Datetime("us", "UTC")`` to restore UTC
        times. Default: the panel's :attr:`Panel.timestamp_dtype`; for a panel without one,
        ``pl.Date`` when every timestamp is a midnight, else naive ``pl.Datetime("us")``.
    validate : bool
        Run :func:`~dollarbill_research.data.validate_bars` on the frame (default). False for a
        panel whose bars were validated when it was built (the frame is then only sorted by
        ``(symbol, timestamp)`` where the panel's order is not already that order).

    Returns
    -------
    polars.DataFrame
        Columns ``symbol, timestamp, open, high, low, close, volume, iv, sector`` (``iv`` always,
        proxy values included), validated and sorted by ``(symbol, timestamp)``.
    """
    s_idx, t_idx = np.nonzero(panel.valid.T)
    ns = panel.timestamps.astype("datetime64[ns]").astype(np.int64)
    if timestamp_dtype is None:
        timestamp_dtype = panel.timestamp_dtype
    if timestamp_dtype is None:
        timestamp_dtype = pl.Date() if bool(np.all(ns % 86_400_000_000_000 == 0)) else None
    ts = pl.Series(TIMESTAMP, ns[t_idx], dtype=pl.Int64).cast(pl.Datetime("ns"))
    if timestamp_dtype is None:
        ts = ts.dt.cast_time_unit("us")
    elif isinstance(timestamp_dtype, pl.Datetime) and timestamp_dtype.time_zone is not None:
        ts = ts.dt.replace_time_zone("UTC").dt.convert_time_zone(timestamp_dtype.time_zone)
        ts = ts.dt.cast_time_unit(timestamp_dtype.time_unit or "us")
    else:
        ts = ts.cast(timestamp_dtype)
    symbols = pl.Series(SYMBOL, list(panel.symbols), dtype=pl.String)
    sectors = pl.Series(SECTOR, list(panel.sectors), dtype=pl.String)
    codes = np.asarray(panel.sector_codes, dtype=np.int64)
    data: dict[str, pl.Series] = {
        SYMBOL: symbols.gather(s_idx),
        TIMESTAMP: ts,
    }
    for name in ("open", "high", "low", "close", "volume", "iv"):
        data[name] = pl.Series(name, np.asarray(getattr(panel, name))[t_idx, s_idx])
    data[SECTOR] = sectors.gather(codes[s_idx])
    if validate:
        return validate_bars(pl.DataFrame(data))
    frame = pl.DataFrame(data)
    ordered = list(panel.symbols) == sorted(panel.symbols) and bool(np.all(np.diff(ns) > 0))
    return frame if ordered else frame.sort(SYMBOL, TIMESTAMP)


@dataclass(frozen=True, slots=True)
class _Index:
    """Where each row of a canonical frame lands in the (n_bars, n_symbols) grid."""

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    flat: IntArray  # row -> t * n_symbols + s
    run_starts: IntArray  # first row of each symbol
    full: bool  # every symbol has every timestamp: the frame is a (symbols x bars) block

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.timestamps.shape[0]), len(self.symbols))

    @classmethod
    def of(cls, df: pl.DataFrame) -> _Index:
        runs = df[SYMBOL].rle()  # the frame is sorted by symbol: one run per symbol
        symbols = tuple(runs.struct.field("value").to_list())
        lengths = runs.struct.field("len").to_numpy()
        ts = df[TIMESTAMP]
        phys = ts.to_physical().to_numpy().astype(np.int64, copy=False)
        n_sym, first = len(symbols), int(lengths[0])
        full = bool(
            np.all(lengths == first)
            and np.array_equal(
                phys.reshape(n_sym, first), np.broadcast_to(phys[:first], (n_sym, first))
            )
        )
        if full:  # every symbol has the same timestamps (sorted, no duplicates: validated)
            uniq = phys[:first].copy()
            t_idx = np.tile(np.arange(first, dtype=np.int64), n_sym)
        else:
            uniq = np.sort(ts.to_physical().unique().to_numpy().astype(np.int64, copy=False))
            t_idx = np.searchsorted(uniq, phys)
        s_idx = np.repeat(np.arange(n_sym, dtype=np.int64), lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        return cls(_to_ns(uniq, ts.dtype), symbols, t_idx * n_sym + s_idx, starts, full)

    def scatter(self, values: np.ndarray) -> FloatArray:
        """Long column (frame order) -> (n_bars, n_symbols) float64, NaN where no row."""
        if self.full:
            n_bars, n_sym = self.shape
            return block_to_panel_nb(np.asarray(values, dtype=np.float64), n_sym, n_bars)
        out = np.full(self.shape, np.nan)
        out.ravel()[self.flat] = values
        return out


def _to_ns(phys: np.ndarray, dtype: pl.DataType) -> np.ndarray:
    """Physical timestamp ints (days for Date, time unit for Datetime) -> datetime64[ns]."""
    if isinstance(dtype, pl.Datetime):
        unit = dtype.time_unit or "us"
        return phys.astype(f"datetime64[{unit}]").astype("datetime64[ns]")
    return phys.astype("datetime64[D]").astype("datetime64[ns]")


def _sectors(df: pl.DataFrame, idx: _Index) -> tuple[tuple[str, ...], IntArray]:
    """Sector names (sorted) and each symbol's code; ``"Unknown"`` for symbols without one."""
    if SECTOR not in df.columns:
        return (UNKNOWN_SECTOR,), np.zeros(idx.n_symbols, dtype=np.int64)
    sector = df[SECTOR]
    if sector.null_count() == 0:  # validated: constant within a symbol, so take its first row
        per_symbol = sector.gather(idx.run_starts)
    else:
        per_symbol = (
            df.group_by(SYMBOL, maintain_order=True)
            .agg(pl.col(SECTOR).drop_nulls().first())[SECTOR]
            .fill_null(UNKNOWN_SECTOR)
        )
    names = tuple(sorted(set(per_symbol.to_list())))
    lookup = {name: i for i, name in enumerate(names)}
    codes = np.array([lookup[s] for s in per_symbol.to_list()], dtype=np.int64)
    return names, codes
