"""The vectorized backtest: ``BacktestEngine(config).run(data, strategy)``.

The seed's Rust examples in Python form:

>>> from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
>>> from dollarbill_research.data import synthetic_universe
>>> data = synthetic_universe(n_symbols=2, n_bars=120, seed=1)
>>> config = BacktestConfig()
>>> config.use_portfolio_management = True
>>> engine = BacktestEngine(config)
>>> result = engine.run_simple_strategy(data["symbol"][0], data, 0.25)
>>> isinstance(result.metrics.total_return * 100, float)
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.backtesting.annualisation import resolve_bars_per_year
from dollarbill_research.backtesting.buffers import grown, head
from dollarbill_research.backtesting.result import BacktestResult, RawRecords
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import AllocationMethod, PortfolioConfig
from dollarbill_research.data import Panel, load_bars, panel_to_frame, to_panel
from dollarbill_research.data.schema import MAX_IV
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.alloc_time_nb import rebalance_due_nb, rebalance_nb
from dollarbill_research.kernels.allocation_nb import bounded_targets_nb, raw_weights_nb
from dollarbill_research.kernels.breach_nb import BREACH_ROWS_PER_PASS
from dollarbill_research.kernels.driver_nb import run_bars_nb
from dollarbill_research.kernels.params import make_params, params_array
from dollarbill_research.kernels.workspace_nb import new_workspace
from dollarbill_research.strategies.base import Signals, Strategy

if TYPE_CHECKING:
    from dollarbill_research.backtesting.streaming import StreamedResult

__all__ = ["BacktestEngine", "check_signals", "prepare_data", "simulate", "strategy_capacity"]

DataInput = pl.DataFrame | Panel | PathLike


def prepare_data(data: DataInput) -> tuple[pl.DataFrame | None, Panel]:
    """Turn a bar frame, a path or a :class:`Panel` into ``(frame or None, panel)``."""
    if isinstance(data, Panel):
        return None, data
    frame = load_bars(data)
    return frame, to_panel(frame, validate=False)


def needs_frame(strategy: object) -> bool:
    """False for the built-in strategies (and combinations of them): they read only the panel.

    Their ``signals(frame, panel)`` accepts ``frame=None``; any other strategy is handed the
    bar frame.
    """
    from dollarbill_research.strategies._common import RuleStrategy
    from dollarbill_research.strategies.base import Combined
    from dollarbill_research.strategies.router import PersonalityStrategy

    if type(strategy) in (Combined, PersonalityStrategy):
        return any(needs_frame(s) for s in strategy.strategies)  # type: ignore[attr-defined]
    return getattr(type(strategy), "signals", None) is not RuleStrategy.signals


def check_signals(signals: Signals, panel: Panel) -> Signals:
    """Validate a :class:`Signals` block against ``panel``; return C-contiguous arrays.

    Raises
    ------
    DataError
        When a shape does not match the panel or a code / template is unknown.
    """
    n_strat = len(signals.strategies)
    shape = (n_strat, panel.n_bars, panel.n_symbols)
    sig = np.asarray(signals.signal)
    conf = np.asarray(signals.confidence, dtype=np.float64)
    tpl = np.asarray(signals.templates, dtype=np.float64)
    if n_strat == 0:
        raise DataError("Signals has no strategy; hint: give at least one strategy name")
    if sig.shape != shape or conf.shape != shape:
        raise DataError(
            f"Signals.signal {sig.shape} / confidence {conf.shape} must have shape {shape} "
            "(strategies, bars, symbols); hint: compute the signals on the same panel"
        )
    if tpl.shape != (n_strat, 2, codes.TEMPLATE_LEN):
        raise DataError(
            f"Signals.templates {tpl.shape} must have shape ({n_strat}, 2, {codes.TEMPLATE_LEN})"
        )
    allowed = np.array([codes.SIG_NONE, codes.SIG_LONG, codes.SIG_SHORT, codes.SIG_EXIT])
    if sig.dtype == np.int8 and np.array_equal(np.sort(allowed), np.arange(-1, 3)):
        bad = (sig < -1) | (sig > 2)  # the codes are the range -1..2: two compares, no sort
    else:
        bad = ~np.isin(sig, allowed)
    if bad.any():
        s, t, j = (int(x[0]) for x in np.nonzero(bad))
        raise DataError(
            f"Signals.signal has unknown code {int(sig[s, t, j])} for strategy "
            f"{signals.strategies[s]!r}, symbol {panel.symbols[j]!r}, bar {t}; "
            "hint: use the SIG_* codes"
        )
    kinds = tpl[:, :, codes.T_KIND]
    if not np.all(np.isin(kinds, np.arange(codes.N_KINDS))):
        raise DataError(f"Signals.templates has unknown instrument kinds {np.unique(kinds)}")
    if not np.all(np.isfinite(tpl)):
        raise DataError("Signals.templates must be finite")
    return Signals(
        strategies=tuple(signals.strategies),
        signal=np.ascontiguousarray(sig, dtype=np.int8),
        confidence=np.ascontiguousarray(
            conf if np.isfinite(conf).all() else np.nan_to_num(conf, nan=0.0)
        ),
        templates=np.ascontiguousarray(tpl),
    )


def strategy_capacity(
    portfolio: PortfolioConfig, n_strategies: int, strategies: tuple[str, ...] | None = None
) -> FloatArray:
    """Each strategy's allocation target on the first bar, fraction of equity, ``(n,)``.

    Equal weights clipped to ``[min_strategy_allocation_pct, max_strategy_allocation_pct]``
    (the per-strategy ``strategy_bounds`` where given); ``allocation_method="Custom"``: the
    custom weights within the bounds. A trade that takes a strategy's committed dollars past
    ``target x equity`` is rejected with ``Strategy <name> at capacity``; the learning methods
    recompute the targets every ``rebalance_bars`` bars (:mod:`~dollarbill_research.kernels.
    alloc_time_nb`).
    """
    if strategies is None and not (portfolio.custom_weights or portfolio.strategy_bounds):
        w = np.full(n_strategies, 1.0 / n_strategies)
        lo = portfolio.min_strategy_allocation_pct / 100.0
        hi = portfolio.max_strategy_allocation_pct / 100.0
        return np.clip(w, lo, hi)
    names = tuple(strategies) if strategies is not None else tuple(
        f"strategy{i}" for i in range(n_strategies)
    )  # fmt: skip
    alloc = portfolio.allocation_arrays(names)
    if portfolio.allocation_method == AllocationMethod.Custom:
        raw = raw_weights_nb(codes.ALLOC_CUSTOM, np.zeros((0, len(names))), alloc[0], 252.0, 0.0)
        return bounded_targets_nb(raw, alloc[1], alloc[2])
    return np.clip(np.full(n_strategies, 1.0 / n_strategies), alloc[1], alloc[2])


def _first_rows(signal: np.ndarray, managed: bool) -> tuple[int, int]:
    """Starting rows of the fills and rejections buffers for a run with these signals.

    Each entry signal makes at most one entry or rejection and later one exit fill (exit
    signals make no record of their own). Without portfolio management most entry signals
    fill (only cash and ``max_positions`` reject), so fills start at one row per entry signal;
    with it, rejections can approach the entry signals when a limit binds but fills are a few
    per position, so their buffer starts at an eighth. (A buffer that fills up doubles, which
    costs a copy and a return to Python: measured 10 % of an equities run at 100 x 1,260.)
    """
    entries = int(np.count_nonzero(signal)) - int(np.count_nonzero(signal == codes.SIG_EXIT))
    return 1024 + (entries // 8 if managed else entries), 1024 + entries


def simulate(
    panel: Panel, signals: Signals, bp: FloatArray, pp: FloatArray, capacity: FloatArray,
    alloc: FloatArray | None = None,
) -> RawRecords:  # fmt: skip
    """Run the compiled driver over every bar of ``panel``; return the raw records.

    Record buffers start small (rejections at one row per entry signal, fills at an eighth of
    that) and double whenever the driver reports a bar it could not fit, so the result never
    depends on the starting capacity; at the end they are shrunk in place to the rows written.
    """
    n_strat = len(signals.strategies)
    n_sym = panel.n_symbols
    params = make_params(bp, pp)  # read by name here
    rows = params_array(bp, pp)  # what the kernels take
    managed = params.use_portfolio_management > 0
    hedge = managed and params.breach_policy == codes.BREACH_HEDGE
    book = records.new_state(n_strat, n_sym, float(params.initial_capital), hedge_slots=hedge)
    fill_rows, rejection_rows = _first_rows(signals.signal, managed)
    rec = records.new_records(panel.n_bars, n_strat, fill_rows, n_rejections=rejection_rows)
    market = records.make_market(
        panel.days, panel.close, panel.iv, panel.valid, panel.sector_codes,
        max(len(panel.sectors), 1),
    )  # fmt: skip
    ws = new_workspace(n_strat, n_sym, int(params.var_window), hedge_slots=hedge)
    if alloc is None:  # no custom weights, bounds [0, 1]
        alloc = np.zeros((3, n_strat))
        alloc[2] = 1.0
    alloc_time = records.AllocTime(
        np.ascontiguousarray(alloc, dtype=np.float64),
        np.full((panel.n_bars, n_strat), np.nan),  # strategy returns
        np.zeros((panel.n_bars, n_strat)),  # targets
        np.zeros(n_strat),  # committed at the last close
    )
    capacity = np.array(capacity, dtype=np.float64)  # updated in place at rebalances
    sig = records.SignalBlock(signals.signal, signals.confidence, signals.templates, capacity)
    counters = book.counters
    n_bars = panel.n_bars
    t = 0
    rebalanced = -1
    while t < n_bars:
        t = run_bars_nb(
            records.Span(t, n_bars, 0, rebalanced), market, sig, rows, book, rec, ws, alloc_time
        )
        if t >= n_bars:
            break
        if t != rebalanced and rebalance_due_nb(t, n_strat, rows):
            rebalance_nb(t, alloc_time.strat_returns, alloc_time.alloc, rows, capacity)
            rebalanced = t  # capacities from bars < t only; if the driver also lacked room at
            continue  # t, it returns t again and the buffers grow then
        need = int(counters[records.C_OPEN]) + int(np.count_nonzero(signals.signal[:, t]))
        # with portfolio management the breach passes (and hedge unwinds) may add
        # 3 n_open + n_signals + 12
        rec = rec._replace(
            fills=grown(rec.fills, int(counters[records.C_FILLS]), 4 * need + 12, True),
            rejections=grown(rec.rejections, int(counters[records.C_REJECTIONS]), need, True),
            breaches=grown(
                rec.breaches, int(counters[records.C_BREACHES]), 2 * BREACH_ROWS_PER_PASS, True
            ),
        )
    fills, rejections, breaches, equity, strat_pnl = rec
    strat_returns, targets = alloc_time.strat_returns, alloc_time.targets
    stats, positions = book.stats, book.positions
    return RawRecords(
        fills=head(fills, int(counters[records.C_FILLS])),
        rejections=head(rejections, int(counters[records.C_REJECTIONS])),
        equity=equity,
        breaches=head(breaches, int(counters[records.C_BREACHES])),
        targets=targets,
        strategy_returns=strat_returns,
        strat_pnl=strat_pnl,
        stats=stats,
        positions=positions,
    )


@dataclass(slots=True)
class BacktestEngine:
    """Backtest engine over many symbols with shared capital.

    Parameters
    ----------
    config : BacktestConfig, optional
        Run settings (default :class:`BacktestConfig()`).
    portfolio_config : PortfolioConfig, optional
        Portfolio management settings used when ``config.use_portfolio_management`` is True;
        a default :class:`PortfolioConfig` with the run's initial capital when omitted.
    """

    config: BacktestConfig = dataclasses.field(default_factory=BacktestConfig)
    portfolio_config: PortfolioConfig | None = None

    @classmethod
    def with_portfolio(
        cls, config: BacktestConfig, portfolio_config: PortfolioConfig
    ) -> BacktestEngine:
        """Engine with portfolio management on and explicit settings (``new_with_portfolio``).

        ``config`` is copied with ``use_portfolio_management=True``.
        """
        if not isinstance(portfolio_config, PortfolioConfig):
            raise ConfigError(
                f"BacktestEngine.with_portfolio: portfolio_config must be a PortfolioConfig, "
                f"got {type(portfolio_config).__name__}"
            )
        return cls(dataclasses.replace(config, use_portfolio_management=True), portfolio_config)

    def run_config(self, timestamps: np.ndarray | None = None) -> BacktestConfig:
        """The config a run on bars ``timestamps`` uses: ``bars_per_year`` inferred if None."""
        if not isinstance(self.config, BacktestConfig):
            raise ConfigError(
                f"BacktestEngine.config must be a BacktestConfig, got {type(self.config).__name__}"
            )
        if timestamps is None:
            return self.config
        return resolve_bars_per_year(self.config, timestamps)  # type: ignore[return-value]

    def kernel_params(
        self,
        n_strategies: int,
        strategies: tuple[str, ...] | None = None,
        timestamps: np.ndarray | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Validate the configs and return ``(bp, pp, strategy capacity)`` for the kernels.

        ``strategies`` (names) are needed for ``custom_weights`` / ``strategy_bounds``;
        ``timestamps`` (the panel's bar times) resolve an unset ``bars_per_year``.
        """
        bp = self.run_config(timestamps).to_kernel()
        portfolio = self.portfolio_config
        if portfolio is None:
            portfolio = PortfolioConfig(initial_capital=self.config.initial_capital)
        pp = portfolio.to_kernel()
        if self.config.use_portfolio_management:
            capacity = strategy_capacity(portfolio, n_strategies, strategies)
        else:
            capacity = np.full(n_strategies, np.inf)
        return bp, pp, capacity

    def allocation_arrays(self, strategies: tuple[str, ...]) -> FloatArray:
        """Custom weights and bounds per strategy, float64 ``(3, n)`` (:mod:`alloc_time_nb`)."""
        portfolio = self.portfolio_config
        if portfolio is None:
            portfolio = PortfolioConfig(initial_capital=self.config.initial_capital)
        return portfolio.allocation_arrays(strategies)

    def run(
        self,
        data: DataInput | pl.LazyFrame,
        strategy: Strategy | Signals,
        *,
        memory_budget: int | None = None,
    ) -> BacktestResult:
        """Backtest ``strategy`` (or a ready :class:`Signals` block) on ``data``.

        Parameters
        ----------
        data : polars.DataFrame, polars.LazyFrame, path or Panel
            Long bar frame (SPEC 2), a CSV/Parquet file or folder (hive partitions allowed),
            a LazyFrame, or an aligned panel.
        strategy : Strategy or Signals
            Signals on bar ``t`` fill at bar ``t``'s close.
        memory_budget : int, optional
            Bytes (default :data:`~.streaming.DEFAULT_MEMORY_BUDGET`). A LazyFrame or Parquet
            source whose in-memory run would take more (:func:`~.streaming.estimated_memory`)
            is run by :meth:`run_streaming` instead, with the same result.

        Returns
        -------
        BacktestResult
        """
        from dollarbill_research.backtesting import streaming

        if streaming.is_stream_source(data):
            budget = streaming.DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
            if streaming.estimated_memory(data) > budget:  # type: ignore[arg-type]
                return self.run_streaming(data, strategy, memory_budget=budget)  # type: ignore[return-value,arg-type]
            if isinstance(data, pl.LazyFrame) or not any(Path(data).glob("*.parquet")):  # type: ignore[arg-type]
                data = streaming.open_source(data).scan.collect()  # a LazyFrame or hive folder
        frame, panel = prepare_data(data)  # type: ignore[arg-type]
        if isinstance(strategy, Signals):
            signals = strategy
        elif isinstance(strategy, Strategy):
            if frame is None and needs_frame(strategy):
                frame = panel_to_frame(panel, validate=False)  # validated when it was built
            signals = strategy.signals(frame, panel)  # type: ignore[arg-type]
        else:
            raise ConfigError(
                f"BacktestEngine.run: strategy must be a Strategy or Signals, got "
                f"{type(strategy).__name__}"
            )
        signals = check_signals(signals, panel)
        names = tuple(signals.strategies)
        bp, pp, capacity = self.kernel_params(len(names), names, panel.timestamps)
        raw = simulate(panel, signals, bp, pp, capacity, self.allocation_arrays(names))
        config = self.run_config(panel.timestamps)
        portfolio = self.portfolio_config or PortfolioConfig(
            initial_capital=self.config.initial_capital
        )
        return BacktestResult.from_records(raw, panel, signals, config, pp, portfolio)

    def run_streaming(
        self,
        source: PathLike | pl.LazyFrame,
        strategy: Strategy | Signals,
        *,
        chunk_bars: int | None = None,
        out_dir: PathLike | None = None,
        memory_budget: int | None = None,
    ) -> BacktestResult | StreamedResult:
        """Backtest on a Parquet file / folder or a LazyFrame in time chunks (larger than memory).

        Same results as :meth:`run` bit for bit; see :mod:`~.streaming` for the passes and
        what is kept in memory. With ``out_dir`` the trades, rejections and equity are written
        there per chunk and a :class:`~.streaming.StreamedResult` (lazy frames) is returned.
        """
        from dollarbill_research.backtesting import streaming

        budget = streaming.DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
        return streaming.run_streaming(
            self, source, strategy, chunk_bars=chunk_bars, out_dir=out_dir, memory_budget=budget
        )

    def run_simple_strategy(
        self, symbol: str, data: DataInput, vol_threshold: float
    ) -> BacktestResult:
        """Buy ATM calls with ``days_to_expiry`` days on bars where ``iv < vol_threshold``.

        ``iv`` is the data's implied vol or the proxy (see :func:`~dollarbill_research.data.
        to_panel`); confidence is ``(vol_threshold - iv) / vol_threshold``. Exits follow the
        config (expiry, max hold, stop loss, take profit).
        """
        _frame, panel = prepare_data(data)
        if symbol not in panel.symbols:
            raise DataError(
                f"run_simple_strategy: symbol {symbol!r} is not in the data; "
                f"hint: symbols are {', '.join(panel.symbols[:10])}"
            )
        if not (isinstance(vol_threshold, int | float) and vol_threshold > 0):
            raise ConfigError(f"run_simple_strategy: vol_threshold={vol_threshold!r} must be > 0")
        if vol_threshold > MAX_IV:
            raise ConfigError(
                f"run_simple_strategy: vol_threshold={vol_threshold!r} looks like percent; hint: "
                f"it is an annualised decimal vol (0.45 = 45%), at most {MAX_IV:g} (500%)"
            )
        return self.run(panel, simple_vol_signals(panel, symbol, float(vol_threshold),
                                                  self.config.days_to_expiry))  # fmt: skip


def simple_vol_signals(panel: Panel, symbol: str, vol_threshold: float, dte: int) -> Signals:
    """The seed's simple strategy as a :class:`Signals` block (long ATM call when iv is low)."""
    j = panel.symbols.index(symbol)
    sig = np.zeros((1, panel.n_bars, panel.n_symbols), dtype=np.int8)
    conf = np.zeros((1, panel.n_bars, panel.n_symbols))
    iv = panel.iv[:, j]
    low = panel.valid[:, j] & np.isfinite(iv) & (iv < vol_threshold)
    sig[0, low, j] = codes.SIG_LONG
    conf[0, low, j] = (vol_threshold - iv[low]) / vol_threshold
    tpl = np.zeros((1, 2, codes.TEMPLATE_LEN))
    tpl[0, :, codes.T_KIND] = codes.KIND_CALL
    tpl[0, :, codes.T_DIRECTION] = 1.0
    tpl[0, :, codes.T_DTE_DAYS] = dte
    tpl[0, :, codes.T_MONEYNESS] = 1.0
    return Signals(("Simple Volatility",), sig, conf, tpl)
