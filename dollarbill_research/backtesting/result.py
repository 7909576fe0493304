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


def _legs_texts(fills: np.ndarray) -> list[str]:
    """Legs of each fill as text, e.g. ``-1 P95 +1 P90`` or ``+1 S`` for stock (column-wise)."""
    n_legs = fills["n_legs"].tolist()
    cols = [
        (fills[f"leg{i}_type"].tolist(), fills[f"leg{i}_ratio"].tolist(),
         fills[f"leg{i}_strike"].tolist())
        for i in range(codes.MAX_LEGS)
    ]  # fmt: skip
    out = []
    for row, n in enumerate(n_legs):
        parts = []
        for i in range(int(n)):
            kind = int(cols[i][0][row])
            strike = "" if kind == codes.LEG_STOCK else f"{cols[i][2][row]:g}"
            parts.append(f"{cols[i][1][row]:+g} {_LEG_LETTER[kind]}{strike}")
        out.append(" ".join(parts))
    return out


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


def _values(recs: np.ndarray) -> dict[int, list[float]]:
    """Percent values named in the texts, per reason bit, from the records' projections."""
    return {
        codes.R_DELTA: (np.abs(recs["p_delta"]) * 100.0).tolist(),
        codes.R_GAMMA: (np.abs(recs["p_gamma"]) * 100.0).tolist(),
        codes.R_VEGA: (np.abs(recs["p_vega"]) * 100.0).tolist(),
        codes.R_CONCENTRATION: (recs["p_concentration"] * 100.0).tolist(),
        codes.R_SECTOR: (recs["p_sector"] * 100.0).tolist(),
        codes.R_VAR: (recs["p_var95"] * 100.0).tolist(),
        codes.R_CASH: (recs["cash_needed"] * 100.0).tolist(),
    }


def _render_all(
    recs: np.ndarray, field: str, warning: bool, pp: FloatArray, max_positions: float,
    strategies: list[str], symbols: list[str],
) -> list[list[str]]:  # fmt: skip
    """Texts of the bits of ``recs[field]`` for every record (one list per record)."""
    table = codes.WARNING_TEXT if warning else codes.REASON_TEXT
    values = _values(recs)
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


def _list_column(lists: list[list[str]]) -> pl.Series:
    """A ``List(String)`` series built through arrow offsets (no per-row series inference)."""
    offsets = np.zeros(len(lists) + 1, dtype=np.int32)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    flat = pa.array([t for x in lists for t in x], type=pa.string())
    return pl.Series(pl.from_arrow(pa.ListArray.from_arrays(pa.array(offsets), flat)))


def _names(mask: np.ndarray) -> pl.Series:
    unique, inverse = np.unique(mask, return_inverse=True)
    names = [[codes.REASON_NAMES[b] for b in codes.mask_bits(int(m))] for m in unique]
    return _list_column(names).gather(inverse.astype(np.int64))


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
    """The trades frame of fill records (one row per fill)."""
    sym = _gather(symbols, fills["symbol"])
    strat = _gather(strategies, fills["strategy"])
    warn_text = _render_all(fills, "warn", True, pp, max_positions, strat, sym)
    expiry = fills["expiry_day"]
    exp_ns = np.where(np.isfinite(expiry), expiry * 86_400e9, np.nan)
    return pl.DataFrame(
        {
            "timestamp": timestamps[fills["bar"] - bar_offset],
            "symbol": sym,
            "strategy": strat,
            "instrument": [codes.KIND_NAMES[k] for k in fills["kind"].tolist()],
            "legs": _legs_texts(fills),
            "side": np.where(fills["side"] > 0, "open", "close"),
            "direction": fills["direction"],
            "qty": fills["qty"],
            "price": fills["price"],
            "cash_flow": fills["cash_flow"],
            "costs": fills["costs"],
            "pnl": np.where(fills["side"] > 0, np.nan, fills["pnl"]),
            "reason": [codes.EXIT_NAMES[r] for r in fills["reason"].tolist()],
            "warnings": _names(fills["warn"]),
            "warning_text": _list_column(warn_text),
            "spot": fills["spot"],
            "iv": fills["sigma"],
            "expiry": pl.Series("expiry", exp_ns, nan_to_null=True)
            .cast(pl.Int64)
            .cast(pl.Datetime("ns")),
        },
        schema_overrides={
            "symbol": pl.String,
            "strategy": pl.String,
            "instrument": pl.String,
            "legs": pl.String,
            "side": pl.String,
            "reason": pl.String,
            "warnings": pl.List(pl.String),
            "warning_text": pl.List(pl.String),
        },
        nan_to_null=False,
    ).with_columns(pl.col("pnl").fill_nan(None))


def rejections_frame(
    rej: np.ndarray, timestamps: np.ndarray, symbols: tuple[str, ...],
    strategies: tuple[str, ...], pp: FloatArray, max_positions: float, bar_offset: int = 0,
) -> pl.DataFrame:  # fmt: skip
    """The rejections frame of rejection records."""
    sym = _gather(symbols, rej["symbol"])
    strat = _gather(strategies, rej["strategy"])
    text = ["; ".join(t) for t in _render_all(rej, "reason", False, pp, max_positions, strat, sym)]
    return pl.DataFrame(
        {
            "timestamp": timestamps[rej["bar"] - bar_offset],
            "symbol": sym,
            "strategy": strat,
            "reasons": _names(rej["reason"]),
            "text": text,
            "warnings": _names(rej["warn"]),
            "units": rej["units"],
            "reason_mask": rej["reason"],
        },
        schema_overrides={
            "symbol": pl.String,
            "strategy": pl.String,
            "text": pl.String,
            "reasons": pl.List(pl.String),
            "warnings": pl.List(pl.String),
        },
    )


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
    n_sym = np.minimum(rec["n_symbols"], records.MAX_BREACH_SYMBOLS).tolist()
    cols = [rec[f"sym{i}"].tolist() for i in range(records.MAX_BREACH_SYMBOLS)]
    lists = [[symbols[cols[i][row]] for i in range(n)] for row, n in enumerate(n_sym)]
    return pl.DataFrame(
        {
            "timestamp": timestamps[rec["bar"] - bar_offset],
            "exposure": [codes.REASON_NAMES[e] for e in rec["exposure"].tolist()],
            "value": rec["value"],
            "limit": rec["limit"],
            "action": [codes.BREACH_ACTION_NAMES[a] for a in rec["action"].tolist()],
            "symbols": _list_column(lists),
            "value_after": rec["value_after"],
            "note": [codes.BREACH_NOTE_TEXT[n] for n in rec["note"].tolist()],
        },
        schema_overrides={
            "timestamp": pl.Datetime("ns"),
            "exposure": pl.String,
            "action": pl.String,
            "symbols": pl.List(pl.String),
            "note": pl.String,
        },
    )


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


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a run produced: frames, metrics, attribution; ``plot()`` and ``compare``.

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
        """Render the frames and metrics of a run."""
        import copy

        ts = panel.timestamps
        maxpos = max_positions_limit(config, pp)
        trades = fills_frame(raw.fills, ts, panel.symbols, signals.strategies, pp, maxpos)
        rejections = rejections_frame(
            raw.rejections, ts, panel.symbols, signals.strategies, pp, maxpos
        )
        equity = equity_frame(raw.equity, ts)
        metrics = records_metrics(raw, ts, config)
        attribution = attribution_frame(raw, tuple(signals.strategies), config)
        # result frames carry the input's timestamp dtype and zone (joins back to the input work)
        zone = panel.timestamp_dtype
        breaches = breaches_frame(raw.breaches, ts, panel.symbols)
        trades, rejections, equity, breaches = (
            with_input_timestamps(f, zone) for f in (trades, rejections, equity, breaches)
        )
        limits: dict[str, float] = {}
        if config.use_portfolio_management:
            limits = {
                "delta_exposure": float(pp[codes.PP_MAX_DELTA]),
                "gamma_exposure": float(pp[codes.PP_MAX_GAMMA]),
                "vega_exposure": float(pp[codes.PP_MAX_VEGA]),
                "var_95": float(pp[codes.PP_MAX_VAR_PCT]) / 100.0,
            }
        return cls(
            equity, trades, rejections, attribution, metrics, tuple(signals.strategies),
            tuple(panel.symbols), raw, limits, breaches,
            config=copy.deepcopy(config), portfolio_config=copy.deepcopy(portfolio_config),
        )  # fmt: skip

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
        row["n_rejections"] = res.rejections.height
        row["final_equity"] = float(res.equity["equity"][-1]) if res.equity.height else math.nan
        rows.append(row)
    return pl.DataFrame(rows)
