"""Backtest results: polars frames rendered from the step kernel's records, metrics, compare.

Frames
------
``equity``      one row per bar: ``timestamp, cash, positions_value, equity, drawdown,
                delta_exposure, gamma_exposure, vega_exposure, var_95, n_positions`` and then
                ``reserved_cash, theta_exposure, concentration, sector_exposure,
                gross_exposure, net_exposure`` (exposures are fractions of equity; VaR is
                computed when portfolio management is on, else null).
``trades``      one row per fill (entries and exits).
``rejections``  one row per rejected entry: ``timestamp, symbol, strategy, reasons`` (list of
                reason names), ``text`` (rendered from ``codes.REASON_TEXT``), ``warnings``.
``attribution`` one row per strategy (trades, win rate, P&L, contribution, Sharpe, ...).
``breaches``    one row per limit found breached on a bar and what the breach policy did
                (:func:`breaches_frame`; empty with portfolio management off).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.backtesting.metrics import Metrics, compute_metrics
from dollarbill_research.data.panel import with_input_timestamps
from dollarbill_research.kernels import codes, records

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dollarbill_research.backtesting.diagnose import Diagnosis
    from dollarbill_research.backtesting.streaming import StreamedResult
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.config.portfolio import PortfolioConfig
    from dollarbill_research.data.panel import Panel
    from dollarbill_research.strategies.base import Signals

__all__ = ["BacktestResult", "RawRecords", "compare"]

_LEG_LETTER = {codes.LEG_STOCK: "S", codes.LEG_CALL: "C", codes.LEG_PUT: "P"}


@dataclass(frozen=True, slots=True)
class RawRecords:
    """The kernel's records of one run (dtypes of :mod:`dollarbill_research.kernels.records`)."""

    fills: np.ndarray
    rejections: np.ndarray
    equity: np.ndarray
    strat_pnl: FloatArray
    stats: np.ndarray
    positions: np.ndarray
    breaches: np.ndarray | None = None  # BREACH_DTYPE rows (portfolio management on)
    targets: FloatArray | None = None  # (n_bars, n_strat) allocation targets in force per bar
    strategy_returns: FloatArray | None = None  # (n_bars, n_strat) return on allocated capital


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
    return {
        codes.R_DELTA: pp[codes.PP_MAX_DELTA] * 100.0,
        codes.R_GAMMA: pp[codes.PP_MAX_GAMMA] * 100.0,
        codes.R_VEGA: pp[codes.PP_MAX_VEGA] * 100.0,
        codes.R_CONCENTRATION: pp[codes.PP_MAX_CONCENTRATION_PCT],
        codes.R_SECTOR: pp[codes.PP_MAX_SECTOR_PCT],
        codes.R_VAR: pp[codes.PP_MAX_VAR_PCT],
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


def _list_column(lists: list[list[str]]) -> pl.Series:
    """A ``List(String)`` series built through arrow offsets (no per-row series inference)."""
    counts = np.array([len(x) for x in lists], dtype=np.int64)
    flat = pl.Series([t for x in lists for t in x], dtype=pl.String)
    return _list_of(flat, counts)


#: Reason / warning names as categories (the ``reasons`` and ``warnings`` list columns).
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


def _gather(names: tuple[str, ...], index: np.ndarray) -> list[str]:
    table = list(names)
    return [table[i] for i in index.tolist()]


def max_positions_limit(config: BacktestConfig, pp: FloatArray) -> float:
    values = [v for v in (float(config.max_positions), float(pp[codes.PP_MAX_POSITIONS])) if v]
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


#: Attribution row of the cash interest (runs with a non-zero ``cash_interest_rate``).
CASH_INTEREST_ROW = "Cash interest"


def attribution_frame(
    raw: RawRecords, strategies: tuple[str, ...], config: BacktestConfig
) -> pl.DataFrame:
    """Per-strategy attribution (:func:`dollarbill_research.portfolio.attribution`).

    Daily P&L per strategy is the bar-to-bar change of the kernel's cumulative per-strategy P&L
    (realised + unrealised, after costs); trades are the exit fills, paired with their entry bar.
    With a non-zero cash interest rate the interest credited on each bar is a row of its own,
    :data:`CASH_INTEREST_ROW`.
    """
    from dollarbill_research.portfolio.attribution import attribution_frame as attribution

    fills = raw.fills
    # (strategy, symbol, kind) -> [entry bar, open qty]: the kind tells a strategy's position
    # from the share hedge booked to it (breach policy "hedge"), which may be added to
    entry_bar: dict[tuple[int, int, int], list[float]] = {}
    entries, exits = [], []
    for bar, strat, sym, kind, side, qty in zip(
        fills["bar"].tolist(), fills["strategy"].tolist(), fills["symbol"].tolist(),
        fills["kind"].tolist(), fills["side"].tolist(), fills["qty"].tolist(), strict=True,
    ):  # fmt: skip
        key = (strat, sym, kind)
        if side > 0:
            if key in entry_bar:
                entry_bar[key][1] += qty
            else:
                entry_bar[key] = [bar, qty]
        else:  # a risk_reduce trim closes part of the quantity; the position stays open
            held = entry_bar[key]
            entries.append(int(held[0]))
            exits.append(bar)
            held[1] -= qty
            if held[1] <= 0.0:
                del entry_bar[key]
    closed = fills[fills["side"] < 0]
    cum = raw.strat_pnl
    daily = np.diff(cum, axis=0, prepend=np.zeros((1, cum.shape[1])))
    names = tuple(strategies)
    if config.effective_cash_interest_rate != 0.0:
        # cash interest is its own line (no trades), so the Total row is the whole book
        names = (*names, CASH_INTEREST_ROW)
        daily = np.column_stack([daily, raw.equity["interest"]])
    frame = attribution(
        names,
        trade_strategy=closed["strategy"],
        trade_pnl=closed["pnl"],
        daily_pnl=daily,
        trade_entry_bar=np.array(entries, dtype=np.int64),
        trade_exit_bar=np.array(exits, dtype=np.int64),
        equity=raw.equity["equity"],
        initial_capital=config.initial_capital,
        bars_per_year=config.bars_per_year,
        risk_free_rate=config.risk_free_rate,
    )
    if len(names) > len(strategies):  # the interest line just above the Total row
        last = pl.int_range(pl.len())
        key = pl.when(pl.col("strategy") == CASH_INTEREST_ROW).then(pl.len() - 1.5).otherwise(last)
        frame = frame.sort(key)
    return frame


def records_metrics(raw: RawRecords, timestamps: np.ndarray, config: BacktestConfig) -> Metrics:
    """:class:`Metrics` of a run's records (the engine's result and the sweep's rows alike).

    Trades are the exit fills (their realised P&L); traded notional is ``|price x qty|`` of every
    fill, where ``price`` is dollars per unit (per share, or per contract including the x100).
    """
    fills = raw.fills
    return compute_metrics(
        np.ascontiguousarray(raw.equity["equity"]),
        timestamps,
        bars_per_year=config.bars_per_year,
        risk_free_rate=config.risk_free_rate,
        trade_pnl=np.ascontiguousarray(fills[fills["side"] < 0]["pnl"]),
        costs=float(fills["costs"].sum()),
        exposure_mask=raw.equity["n_positions"] > 0,
        traded_notional=float(np.sum(np.abs(fills["price"] * fills["qty"]))),
    )


class _Pending:
    """Placeholder of a result frame not built yet (see :class:`_Frames`)."""

    __slots__ = ("source",)

    def __init__(self, source: _Frames) -> None:
        self.source = source

    def __repr__(self) -> str:
        return "<built on first access>"


class _Frames:
    """What a run's frames are built from, on first access: the records and the names.

    Holds the bar timestamps and names, not the panel (the input arrays are not kept alive).
    """

    __slots__ = ("config", "max_positions", "pp", "raw", "strategies", "symbols", "timestamps",
                 "zone")  # fmt: skip

    def __init__(self, raw: RawRecords, panel: Panel, strategies: tuple[str, ...],
                 config: BacktestConfig, pp: FloatArray) -> None:  # fmt: skip
        self.raw = raw
        self.timestamps = panel.timestamps
        self.symbols = tuple(panel.symbols)
        self.strategies = tuple(strategies)
        self.zone = panel.timestamp_dtype
        self.config = config
        self.pp = pp
        self.max_positions = max_positions_limit(config, pp)

    def build(self, name: str) -> object:
        """The frame (or metrics) ``name`` of the run."""
        raw, ts = self.raw, self.timestamps
        if name == "metrics":
            return records_metrics(raw, ts, self.config)
        if name == "attribution":
            return attribution_frame(raw, self.strategies, self.config)
        if name == "trades":
            frame = fills_frame(raw.fills, ts, self.symbols, self.strategies, self.pp,
                                self.max_positions)  # fmt: skip
        elif name == "rejections":
            frame = rejections_frame(raw.rejections, ts, self.symbols, self.strategies, self.pp,
                                     self.max_positions)  # fmt: skip
        elif name == "equity":
            frame = equity_frame(raw.equity, ts)
        elif name == "breaches":
            frame = breaches_frame(raw.breaches, ts, self.symbols)
        else:
            raise AttributeError(name)
        # result frames carry the input's timestamp dtype and zone (joins back to the input work)
        return with_input_timestamps(frame, self.zone)

    def reasons(self) -> pl.DataFrame:
        """The rejections frame without the rendered texts."""
        frame = rejections_frame(self.raw.rejections, self.timestamps, self.symbols,
                                 self.strategies, self.pp, self.max_positions,
                                 texts=False)  # fmt: skip
        return with_input_timestamps(frame, self.zone)


class _LazyField:
    """A slot of :class:`BacktestResult` whose value is built on first read and then kept."""

    __slots__ = ("name", "slot")

    def __init__(self, name: str, slot: object) -> None:
        self.name = name
        self.slot = slot  # the dataclass's member descriptor

    def __get__(self, obj: object, owner: type | None = None) -> object:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)  # type: ignore[attr-defined]
        if type(value) is _Pending:
            value = value.source.build(self.name)
            self.slot.__set__(obj, value)  # type: ignore[attr-defined]
        return value

    def __set__(self, obj: object, value: object) -> None:
        self.slot.__set__(obj, value)  # type: ignore[attr-defined]

    def __delete__(self, obj: object) -> None:
        self.slot.__delete__(obj)  # type: ignore[attr-defined]


#: Fields of a run's :class:`BacktestResult` built from the records on first access.
LAZY_FIELDS = ("equity", "trades", "rejections", "attribution", "breaches", "metrics")


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a run produced: frames, metrics, attribution; ``plot()`` and ``compare``.

    A result of :meth:`BacktestEngine.run <dollarbill_research.backtesting.BacktestEngine.run>`
    keeps the kernel records and builds each frame (and the metrics) on first access, column
    by column; later reads return the same object. The coded columns (``instrument``, ``side``,
    ``reason``, ``exposure``, ``action`` and the ``reasons`` / ``warnings`` lists) are
    ``pl.Categorical``; ``symbol`` and ``strategy`` stay ``pl.String`` so the frames join back to
    the input bars and to the attribution frame.

    Attributes
    ----------
    equity, trades, rejections, attribution : polars.DataFrame
        See the module docstring.
    metrics : Metrics
        ``total_return`` and ``max_drawdown`` as fractions, ``sharpe_ratio``, ``sortino_ratio``,
        ``cagr``, ``annual_volatility``, ``calmar_ratio``, ``win_rate``, ``profit_factor``,
        ``n_trades``, ``total_costs``, ``exposure``, ``turnover``.
    strategies, symbols : tuple of str
    raw : RawRecords
        The kernel records (exact numbers, for parity and invariant checks).
    limits : dict of str to float
        Exposure limits (fractions) used for plotting; empty with portfolio management off.
    config : BacktestConfig or None
        A copy of the run's settings (None for results built by hand).
    portfolio_config : PortfolioConfig or None
        A copy of the portfolio settings the kernels used (the defaults when none was given).
    breaches : polars.DataFrame
        Limits found breached and the policy's actions (:func:`breaches_frame`).
    """

    equity: pl.DataFrame
    trades: pl.DataFrame
    rejections: pl.DataFrame
    attribution: pl.DataFrame
    metrics: Metrics
    strategies: tuple[str, ...]
    symbols: tuple[str, ...]
    raw: RawRecords
    limits: dict[str, float]
    breaches: pl.DataFrame | None = None
    # run settings (for reports, diagnose, save/load); copies, so later edits do not leak in
    config: BacktestConfig | None = None
    portfolio_config: PortfolioConfig | None = None

    @classmethod
    def from_records(
        cls, raw: RawRecords, panel: Panel, signals: Signals, config: BacktestConfig,
        pp: FloatArray, portfolio_config: PortfolioConfig | None = None,
    ) -> BacktestResult:  # fmt: skip
        """The result of a run's records; frames and metrics are built on first access."""
        import copy

        config = copy.deepcopy(config)
        pending = _Pending(_Frames(raw, panel, tuple(signals.strategies), config, pp))
        limits: dict[str, float] = {}
        if config.use_portfolio_management:
            limits = {
                "delta_exposure": float(pp[codes.PP_MAX_DELTA]),
                "gamma_exposure": float(pp[codes.PP_MAX_GAMMA]),
                "vega_exposure": float(pp[codes.PP_MAX_VEGA]),
                "var_95": float(pp[codes.PP_MAX_VAR_PCT]) / 100.0,
            }
        return cls(
            pending, pending, pending, pending, pending, tuple(signals.strategies),  # type: ignore[arg-type]
            tuple(panel.symbols), raw, limits, pending,  # type: ignore[arg-type]
            config=config, portfolio_config=copy.deepcopy(portfolio_config),
        )  # fmt: skip

    def rejection_reasons(self) -> pl.DataFrame:
        """The rejections frame without its rendered ``text`` column (for counting by reason).

        Equal to ``rejections.drop("text")``; when the rejections frame has not been read yet it
        is built from the records without rendering a text.
        """
        value = _SLOTS["rejections"].__get__(self, type(self))  # type: ignore[attr-defined]
        if type(value) is _Pending:
            return value.source.reasons()
        return value.drop("text", strict=False)

    @staticmethod
    def open(out_dir: PathLike) -> StreamedResult:
        """The records a streaming run wrote to ``out_dir``, read lazily.

        See :meth:`BacktestEngine.run_streaming
        <dollarbill_research.backtesting.BacktestEngine.run_streaming>`.
        """
        from dollarbill_research.backtesting.streaming import StreamedResult

        return StreamedResult.open(out_dir)

    def plot(self, path: PathLike | None = None, *, title: str = "Backtest") -> Figure:
        """Equity, drawdown, exposures vs limits and rejections over time.

        Parameters
        ----------
        path : path, optional
            Also save the figure there (PNG/PDF/SVG by suffix).

        Returns
        -------
        matplotlib.figure.Figure
            A standalone figure (no pyplot state, the user's backend is left alone); it
            displays inline in Jupyter.
        """
        from dollarbill_research.backtesting.plot import plot_result

        return plot_result(self, path, title)

    # --- research workflow: report, diagnosis, summary, save/load, reprs ----------------------
    def report(self, path: PathLike, *, title: str = "Backtest report") -> Path:
        """Write a self-contained HTML report (figures inline, no network references).

        See :mod:`dollarbill_research.report`. The file is deterministic: the same result gives
        the same bytes. Returns the path written.
        """
        from dollarbill_research.report import backtest_report

        return backtest_report(self, path, title=title)

    def diagnose(self) -> Diagnosis:
        """Answer the guide's Troubleshooting questions from this run's records.

        Returns a :class:`~dollarbill_research.backtesting.diagnose.Diagnosis` (``.text`` and
        ``.frame``; it prints as the text and shows as HTML in Jupyter).
        """
        from dollarbill_research.backtesting.diagnose import diagnose

        return diagnose(self)

    def summary(self) -> pl.DataFrame:
        """Headline numbers as a polars frame ``name, value, display`` (one row per figure)."""
        from dollarbill_research.backtesting.summary import summary_frame

        return summary_frame(self)

    def save(self, path: PathLike) -> Path:
        """Save to one file (zip of Parquet records and JSON settings), atomically.

        Reload with :meth:`BacktestResult.load`; see :mod:`dollarbill_research.backtesting.io`.
        """
        from dollarbill_research.backtesting.io import save_result

        return save_result(self, path)

    @classmethod
    def load(cls, path: PathLike) -> BacktestResult:
        """Load a result written by :meth:`save` (``StateError`` naming the file if damaged)."""
        from dollarbill_research.backtesting.io import load_result

        return load_result(path)

    def __repr__(self) -> str:
        from dollarbill_research.backtesting.summary import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from dollarbill_research.backtesting.summary import result_html

        return result_html(self)


_SLOTS = {name: BacktestResult.__dict__[name] for name in LAZY_FIELDS}
for _name, _slot in _SLOTS.items():
    setattr(BacktestResult, _name, _LazyField(_name, _slot))
del _name, _slot


def frame_height(result: BacktestResult, name: str) -> int:
    """Rows of ``result.<name>`` (``trades`` / ``rejections``) without building the frame.

    A frame not read yet has one row per record (``raw.fills`` / ``raw.rejections``).
    """
    slot = _SLOTS[name].__get__(result, type(result))  # type: ignore[attr-defined]
    if type(slot) is _Pending:
        return len(getattr(slot.source.raw, "fills" if name == "trades" else name))
    return int(slot.height)


_COMPARE_FIELDS = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "win_rate",
    "profit_factor",
    "n_trades",
    "total_costs",
    "exposure",
)


def compare(results: dict[str, BacktestResult]) -> pl.DataFrame:
    """One row per named result with its metrics and counts (the with/without table).

    Examples
    --------
    >>> # compare({"without": simple, "with": managed}) -> columns run, total_return, ...
    """
    rows = []
    for name, res in results.items():
        row: dict[str, object] = {"run": name}
        row.update({f: getattr(res.metrics, f) for f in _COMPARE_FIELDS})
        row["n_rejections"] = frame_height(res, "rejections")
        row["final_equity"] = float(res.equity["equity"][-1]) if res.equity.height else math.nan
        rows.append(row)
    return pl.DataFrame(rows)
