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

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.backtesting.frames import (
    breaches_frame,
    equity_frame,
    fills_frame,
    max_positions_limit,
    rejections_frame,
)
from dollarbill_research.backtesting.metrics import Metrics, compute_metrics
from dollarbill_research.data.panel import with_input_timestamps
from dollarbill_research.kernels.params import portfolio_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dollarbill_research.backtesting.diagnose import Diagnosis
    from dollarbill_research.backtesting.streaming import StreamedResult
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.config.portfolio import PortfolioConfig
    from dollarbill_research.data.panel import Panel
    from dollarbill_research.strategies.base import Signals

__all__ = ["BacktestResult", "RawRecords", "compare"]
# the frame builders are re-exported here (their home before backtesting/frames.py)
_FRAME_BUILDERS = (breaches_frame, equity_frame, fills_frame, max_positions_limit,
                   rejections_frame)  # fmt: skip


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
            named = portfolio_params(pp)
            limits = {
                "delta_exposure": float(named.max_portfolio_delta),
                "gamma_exposure": float(named.max_portfolio_gamma),
                "vega_exposure": float(named.max_portfolio_vega),
                "var_95": float(named.max_var_pct) / 100.0,
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
