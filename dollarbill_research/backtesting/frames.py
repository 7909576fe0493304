"""Result frames rendered column by column from the step kernel's records.

The trades, rejections, breaches and equity frames of
:class:`~dollarbill_research.backtesting.BacktestResult` (which builds them on first access) and
of the live :class:`~dollarbill_research.live.Decisions`. Names are gathered from one series;
leg texts are rendered once per distinct leg set; reason and warning texts per reason bit over
the records carrying it (:func:`_render_texts`), with the same text as
:func:`~dollarbill_research.kernels.codes.render_reason` (the row-by-row :func:`_render_all` is
the reference, and the path for a live bar's few records). Coded columns are ``pl.Categorical``;
``symbol`` and ``strategy`` stay ``pl.String`` (the frames join back to the input bars).
"""

from __future__ import annotations

import math
import string
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from dollarbill_research._typing import FloatArray
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.params import portfolio_params

if TYPE_CHECKING:
    from dollarbill_research.config.backtest import BacktestConfig

__all__ = [
    "breaches_frame",
    "equity_frame",
    "fills_frame",
    "max_positions_limit",
    "rejections_frame",
]

_LEG_LETTER = {codes.LEG_STOCK: "S", codes.LEG_CALL: "C", codes.LEG_PUT: "P"}


def _legs_texts(fills: np.ndarray) -> pl.Series:
    """Legs of each fill as text, e.g. ``-1 P95 +1 P90`` or ``+1 S`` for stock.

    Rendered once per distinct leg combination (legs past ``n_legs`` are masked out), then
    gathered: the Python formatting runs over the few distinct rows, not over every fill.
    """
    n = fills.shape[0]
    n_legs = fills["n_legs"].astype(np.int64)
    key_dtype = [("n", np.int64)] + [
        (f"{f}{i}", np.float64) for i in range(codes.MAX_LEGS) for f in ("t", "r", "k")
    ]
    key = np.zeros(n, dtype=key_dtype)
    key["n"] = n_legs
    for i in range(codes.MAX_LEGS):
        used = n_legs > i
        key[f"t{i}"] = np.where(used, fills[f"leg{i}_type"], 0)
        key[f"r{i}"] = np.where(used, fills[f"leg{i}_ratio"], 0.0)
        key[f"k{i}"] = np.where(used, fills[f"leg{i}_strike"], 0.0)
    unique, inverse = np.unique(key.view(np.dtype((np.void, key.dtype.itemsize))),
                                return_inverse=True)  # fmt: skip
    texts = []
    for row in unique.view(key.dtype).tolist():
        parts = []
        for i in range(int(row[0])):
            kind, ratio, strike = int(row[1 + 3 * i]), row[2 + 3 * i], row[3 + 3 * i]
            strike_text = "" if kind == codes.LEG_STOCK else f"{strike:g}"
            parts.append(f"{ratio:+g} {_LEG_LETTER[kind]}{strike_text}")
        texts.append(" ".join(parts))
    return _strings(texts, inverse.reshape(-1))


def _limits(pp: FloatArray, max_positions: float) -> dict[int, float]:
    """The limit each reason text names, in percent: the settings approval read, by name."""
    limits = portfolio_params(pp)  # RiskLimits' field names
    return {
        codes.R_DELTA: limits.max_portfolio_delta * 100.0,
        codes.R_GAMMA: limits.max_portfolio_gamma * 100.0,
        codes.R_VEGA: limits.max_portfolio_vega * 100.0,
        codes.R_CONCENTRATION: limits.max_concentration_pct,
        codes.R_SECTOR: limits.max_sector_exposure_pct,
        codes.R_VAR: limits.max_var_pct,
        codes.R_MAX_POSITIONS: max_positions,
    }


def _value_arrays(recs: np.ndarray) -> dict[int, FloatArray]:
    """Percent values named in the texts, per reason bit, from the records' projections."""
    return {
        codes.R_DELTA: np.abs(recs["p_delta"]) * 100.0,
        codes.R_GAMMA: np.abs(recs["p_gamma"]) * 100.0,
        codes.R_VEGA: np.abs(recs["p_vega"]) * 100.0,
        codes.R_CONCENTRATION: recs["p_concentration"] * 100.0,
        codes.R_SECTOR: recs["p_sector"] * 100.0,
        codes.R_VAR: recs["p_var95"] * 100.0,
        codes.R_CASH: recs["cash_needed"] * 100.0,
    }


def _fixed_texts(values: FloatArray, decimals: int) -> pl.Series:
    """``format(v, f".{decimals}f")`` for every value, columnar (the same text as Python).

    The digits come from ``rint(|v| x 10**decimals)``; a value whose scaled fraction lies within
    1e-6 of a half (where the rounding of the exact binary value could differ from that of the
    scaled float), a non-finite or a huge value is formatted by Python instead.
    """
    v = np.asarray(values, dtype=np.float64)
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.abs(v) * scale
        frac = t - np.floor(t)
        risky = ~np.isfinite(t) | (t >= 1e9) | (np.abs(frac - 0.5) < 1e-6)
    k = np.where(risky, 0.0, np.rint(np.where(risky, 0.0, t))).astype(np.int64)
    div = 10**decimals
    frame = pl.DataFrame(
        {"sign": np.signbit(v), "whole": k // div, "part": k % div}, nan_to_null=False
    )
    pieces: list[pl.Expr] = [
        pl.when(pl.col("sign")).then(pl.lit("-")).otherwise(pl.lit("")),
        pl.col("whole").cast(pl.String),
    ]
    if decimals > 0:
        pieces += [pl.lit("."), pl.col("part").cast(pl.String).str.zfill(decimals)]
    out = frame.select(pl.concat_str(pieces).alias("v")).to_series()
    if risky.any():
        rows = np.flatnonzero(risky)
        out = out.scatter(rows, [format(float(x), f".{decimals}f") for x in v[rows]])
    return out


_FORMATTER = string.Formatter()


def _render_template(
    template: str, rows: np.ndarray, value: FloatArray, limit: float,
    strategy: pl.Series, symbol: pl.Series,
) -> pl.Series:  # fmt: skip
    """``template.format(value=..., limit=..., strategy=..., symbol=...)`` for ``rows``, columnar.

    ``value``, ``strategy`` and ``symbol`` are per record (indexed by ``rows``), ``limit`` is one
    number; a field spec other than fixed-point on ``value`` is formatted per row by Python.
    """
    n = rows.shape[0]
    pieces: list[pl.Series | str] = []
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        if conversion or field not in ("value", "limit", "strategy", "symbol"):
            raise ValueError(f"unsupported reason text field {field!r} in {template!r}")
        if field == "limit":
            pieces.append(format(limit, spec or ""))
        elif field == "value":
            spec = spec or ""
            if len(spec) >= 3 and spec[0] == "." and spec[-1] == "f" and spec[1:-1].isdigit():
                pieces.append(_fixed_texts(value[rows], int(spec[1:-1])))
            else:
                pieces.append(pl.Series([format(float(x), spec) for x in value[rows]],
                                        dtype=pl.String))  # fmt: skip
        else:
            column = strategy if field == "strategy" else symbol
            pieces.append(column.gather(rows))
    if not any(isinstance(p, pl.Series) for p in pieces):
        return pl.repeat("".join(p for p in pieces if isinstance(p, str)), n, eager=True,
                         dtype=pl.String)  # fmt: skip
    cols = {f"c{i}": p for i, p in enumerate(pieces) if isinstance(p, pl.Series)}
    exprs = [pl.col(f"c{i}") if isinstance(p, pl.Series) else pl.lit(p)
             for i, p in enumerate(pieces)]  # fmt: skip
    return pl.DataFrame(cols).select(pl.concat_str(exprs).alias("t")).to_series()


#: Up to this many records the texts are rendered row by row (:func:`_render_all`, the same
#: texts): below it the per-column polars calls cost more than the Python loop.
ROW_BY_ROW_MAX = 48


def _render_texts(
    recs: np.ndarray, field: str, warning: bool, pp: FloatArray, max_positions: float,
    strategy: pl.Series, symbol: pl.Series,
) -> tuple[pl.Series, np.ndarray]:  # fmt: skip
    """Texts of the bits of ``recs[field]`` of every record, columnar.

    Returns the texts of all records flat, ordered by record then bit (ascending), and the number
    of texts per record: the same texts as :func:`~dollarbill_research.kernels.codes.
    render_reason` per bit (same table choice, same rounding up past a limit), rendered per bit
    over the records that carry it.
    """
    n = recs.shape[0]
    if n <= ROW_BY_ROW_MAX:  # a live bar's few records: per row is cheaper than per column
        lists = _render_all(recs, field, warning, pp, max_positions, strategy.to_list(),
                            symbol.to_list())  # fmt: skip
        flat_texts = pl.Series("t", [t for x in lists for t in x], dtype=pl.String)
        return flat_texts, np.array([len(x) for x in lists], dtype=np.int64)
    masks = recs[field].astype(np.int64)
    table = codes.WARNING_TEXT if warning else codes.REASON_TEXT
    values = _value_arrays(recs)
    limits = _limits(pp, max_positions)
    nan = np.full(n, math.nan)
    row_parts: list[np.ndarray] = []
    bit_parts: list[np.ndarray] = []
    text_parts: list[pl.Series] = []
    for bit in sorted(b for b in table if b < codes.N_REASONS):
        rows = np.flatnonzero((masks >> bit) & 1)
        if rows.size == 0:
            continue
        v = values.get(bit, nan)
        lim = float(limits.get(bit, math.nan))
        with np.errstate(invalid="ignore"):
            known = ~np.isnan(v[rows]) & (lim == lim)
            above = known & (np.abs(v[rows]) > lim * (1.0 + codes.EXCEED_RTOL))
            at = known & ~above & (np.abs(v[rows]) >= lim * (1.0 - codes.EXCEED_RTOL))
        shown = v.copy()
        up = rows[above]  # away from zero, so a negative delta rounds the same way
        shown[up] = np.copysign(np.ceil(np.abs(v[up]) * 10.0 - 1e-9) / 10.0, v[up])
        variant = np.zeros(rows.shape[0], dtype=np.int8)
        if warning and bit in codes.WARNING_ABOVE_TEXT:
            variant[above] = 1
            variant[at] = 2
        tables = (table, codes.WARNING_ABOVE_TEXT, codes.WARNING_AT_TEXT)
        for var in np.unique(variant).tolist():
            sub = rows[variant == var]
            text = _render_template(tables[var][bit], sub, shown, lim, strategy, symbol)
            row_parts.append(sub)
            bit_parts.append(np.full(sub.shape[0], bit))
            text_parts.append(text)
    counts = np.zeros(n, dtype=np.int64)
    if not text_parts:
        return pl.Series("t", [], dtype=pl.String), counts
    rows_all = np.concatenate(row_parts)
    order = np.lexsort((np.concatenate(bit_parts), rows_all))
    counts = np.bincount(rows_all, minlength=n)
    flat = pl.concat(text_parts).gather(order)
    return flat, counts


def _render_all(
    recs: np.ndarray, field: str, warning: bool, pp: FloatArray, max_positions: float,
    strategies: list[str], symbols: list[str],
) -> list[list[str]]:  # fmt: skip
    """Texts of the bits of ``recs[field]`` for every record, one list per record, row by row.

    The slow obvious renderer (:func:`~dollarbill_research.kernels.codes.render_reason` per
    record and bit), kept as the reference the columnar :func:`_render_texts` is tested against.
    """
    table = codes.WARNING_TEXT if warning else codes.REASON_TEXT
    values = {bit: arr.tolist() for bit, arr in _value_arrays(recs).items()}
    limits = _limits(pp, max_positions)
    bits_of = {int(m): [b for b in codes.mask_bits(int(m)) if b in table]
               for m in np.unique(recs[field])}  # fmt: skip
    out = []
    for row, mask in enumerate(recs[field].tolist()):
        out.append([
            codes.render_reason(
                bit, value=values[bit][row] if bit in values else math.nan,
                limit=limits.get(bit, math.nan), strategy=strategies[row],
                symbol=symbols[row], warning=warning,
            )
            for bit in bits_of[mask]
        ])  # fmt: skip
    return out


def _offsets(counts: np.ndarray) -> pa.Array:
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.array(offsets)


def _list_of(flat: pl.Series, counts: np.ndarray) -> pl.Series:
    """A ``List`` series of ``flat`` cut into runs of ``counts`` (built through arrow offsets)."""
    values = flat.to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pl.Series(pl.from_arrow(pa.ListArray.from_arrays(_offsets(counts), values)))


def _names(mask: np.ndarray) -> pl.Series:
    """Reason names of each mask as a ``List(String)`` column (one list per distinct mask)."""
    unique, inverse = np.unique(mask, return_inverse=True)
    names = [[codes.REASON_NAMES[b] for b in codes.mask_bits(int(m))] for m in unique]
    flat = pl.Series([t for x in names for t in x], dtype=pl.String)
    counts = np.array([len(x) for x in names], dtype=np.int64)
    inverse = inverse.reshape(-1)
    if len(inverse) <= ROW_BY_ROW_MAX:
        return pl.Series([names[i] for i in inverse.tolist()], dtype=pl.List(pl.String))
    return _list_of(flat, counts).gather(inverse.astype(np.int64))


def _strings(names: tuple[str, ...] | list[str], index: np.ndarray) -> pl.Series:
    """``names[index]`` as a String series (one gather, no per-row Python).

    A few rows (a live bar's) are looked up in Python: cheaper than a polars gather.
    """
    if len(index) <= ROW_BY_ROW_MAX:
        return pl.Series([names[i] for i in np.asarray(index).tolist()], dtype=pl.String)
    return pl.Series(list(names), dtype=pl.String).gather(np.asarray(index, dtype=np.int64))


def _coded(table: dict[int, str], index: np.ndarray) -> pl.Series:
    """``table[code]`` for every code (small non-negative ints) as a String series."""
    size = max(table) + 1
    return _strings([table.get(i, "") for i in range(size)], index)


def _as_categories(frame: pl.DataFrame, names: tuple[str, ...], lists: tuple[str, ...] = (),
                   *more: pl.Expr) -> pl.DataFrame:  # fmt: skip
    """``frame`` with ``names`` (String) and ``lists`` (List(String)) as ``pl.Categorical``.

    ``more`` expressions are applied in the same pass (one polars call per frame).
    """
    return frame.with_columns(
        *(pl.col(c).cast(pl.Categorical) for c in names),
        *(pl.col(c).cast(pl.List(pl.Categorical)) for c in lists),
        *more,
    )


def max_positions_limit(config: BacktestConfig, pp: FloatArray) -> float:
    """The position-count limit the texts name: the smaller non-zero of the two settings."""
    portfolio = float(portfolio_params(pp).portfolio_max_positions)
    values = [v for v in (float(config.max_positions), portfolio) if v]
    if not config.use_portfolio_management:
        values = values[:1] if config.max_positions else []
    return min(values) if values else 0.0


def fills_frame(
    fills: np.ndarray, timestamps: np.ndarray, symbols: tuple[str, ...],
    strategies: tuple[str, ...], pp: FloatArray, max_positions: float, bar_offset: int = 0,
) -> pl.DataFrame:  # fmt: skip
    """The trades frame of fill records (one row per fill), built column by column."""
    sym = _strings(symbols, fills["symbol"])
    strat = _strings(strategies, fills["strategy"])
    warn_flat, warn_counts = _render_texts(fills, "warn", True, pp, max_positions, strat, sym)
    expiry = fills["expiry_day"]
    exp_ns = np.where(np.isfinite(expiry), expiry * 86_400e9, np.nan)
    frame = pl.DataFrame(
        {
            "timestamp": timestamps[fills["bar"] - bar_offset],
            "symbol": sym,
            "strategy": strat,
            "instrument": _coded(codes.KIND_NAMES, fills["kind"]),
            "legs": _legs_texts(fills),
            "side": np.where(fills["side"] > 0, "open", "close"),
            "direction": fills["direction"],
            "qty": fills["qty"],
            "price": fills["price"],
            "cash_flow": fills["cash_flow"],
            "costs": fills["costs"],
            "pnl": np.where(fills["side"] > 0, np.nan, fills["pnl"]),
            "reason": _coded(codes.EXIT_NAMES, fills["reason"]),
            "warnings": _names(fills["warn"]),
            "warning_text": _list_of(warn_flat, warn_counts),
            "spot": fills["spot"],
            "iv": fills["sigma"],
            "expiry": pl.Series("expiry", exp_ns, nan_to_null=True)
            .cast(pl.Int64)
            .cast(pl.Datetime("ns")),
        },
        nan_to_null=False,
    )
    return _as_categories(frame, ("instrument", "side", "reason"), ("warnings",),
                          pl.col("pnl").fill_nan(None))  # fmt: skip


def rejections_frame(
    rej: np.ndarray, timestamps: np.ndarray, symbols: tuple[str, ...],
    strategies: tuple[str, ...], pp: FloatArray, max_positions: float, bar_offset: int = 0,
    *, texts: bool = True,
) -> pl.DataFrame:  # fmt: skip
    """The rejections frame of rejection records, built column by column.

    ``texts=False`` leaves out the rendered ``text`` column (counting by reason needs only the
    ``reasons`` names).
    """
    sym = _strings(symbols, rej["symbol"])
    strat = _strings(strategies, rej["strategy"])
    columns: dict[str, object] = {
        "timestamp": timestamps[rej["bar"] - bar_offset],
        "symbol": sym,
        "strategy": strat,
        "reasons": _names(rej["reason"]),
    }
    if texts:
        flat, counts = _render_texts(rej, "reason", False, pp, max_positions, strat, sym)
        columns["text"] = _list_of(flat, counts).list.join("; ")
    columns.update(warnings=_names(rej["warn"]), units=rej["units"], reason_mask=rej["reason"])
    return _as_categories(pl.DataFrame(columns), (), ("reasons", "warnings"))


def breaches_frame(
    rec: np.ndarray | None, timestamps: np.ndarray, symbols: tuple[str, ...], bar_offset: int = 0
) -> pl.DataFrame:
    """The breaches frame: one row per limit found breached on a bar and the policy's action.

    Columns ``timestamp, exposure`` (``delta``, ``gamma``, ``vega``, ``concentration``,
    ``sector``, ``var``), ``value, limit, value_after`` (fractions of equity; absolute values),
    ``action`` (``block``, ``reduce``, ``hedge``, ``unreducible``), ``symbols`` (the symbols
    traded, largest contributor first; under ``block`` the largest contributors) and ``note``
    (why an ``unreducible`` breach could not be brought inside).
    """
    if rec is None:
        rec = np.zeros(0, dtype=records.BREACH_DTYPE)
    n_sym = np.minimum(rec["n_symbols"], records.MAX_BREACH_SYMBOLS).astype(np.int64)
    grid = np.stack([rec[f"sym{i}"] for i in range(records.MAX_BREACH_SYMBOLS)], axis=1)
    used = np.arange(records.MAX_BREACH_SYMBOLS)[None, :] < n_sym[:, None]
    flat = _strings(symbols, grid[used])
    notes = [codes.BREACH_NOTE_TEXT.get(i, "") for i in range(max(codes.BREACH_NOTE_TEXT) + 1)]
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(timestamps[rec["bar"] - bar_offset], dtype=pl.Datetime("ns")),
            "exposure": _coded(codes.REASON_NAMES, rec["exposure"]),
            "value": rec["value"],
            "limit": rec["limit"],
            "action": _coded(codes.BREACH_ACTION_NAMES, rec["action"]),
            "symbols": _list_of(flat, n_sym),
            "value_after": rec["value_after"],
            "note": _strings(notes, rec["note"]),
        },
    )
    return _as_categories(frame, ("exposure", "action"))


def equity_frame(eq: np.ndarray, timestamps: np.ndarray) -> pl.DataFrame:
    """The per-bar equity frame (see the module docstring)."""
    equity = eq["equity"]
    peak = np.maximum.accumulate(equity)
    drawdown = np.where(peak > 0, 1.0 - equity / peak, 0.0)
    frame = pl.DataFrame(
        {
            "timestamp": timestamps,
            "cash": eq["cash"],
            "positions_value": eq["positions_value"],
            "equity": equity,
            "drawdown": drawdown,
            "delta_exposure": eq["exp_delta"],
            "gamma_exposure": eq["exp_gamma"],
            "vega_exposure": eq["exp_vega"],
            "var_95": eq["exp_var95"],
            "n_positions": eq["n_positions"],
            "reserved_cash": eq["reserved"],
            "theta_exposure": eq["exp_theta"],
            "concentration": eq["exp_concentration"],
            "sector_exposure": eq["exp_sector"],
            "gross_exposure": eq["exp_gross"],
            "net_exposure": eq["exp_net"],
            "interest": eq["interest"],
        }
    )
    return frame.with_columns(pl.col("var_95").fill_nan(None))
