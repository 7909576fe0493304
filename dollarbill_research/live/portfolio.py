"""LivePortfolio: the step kernel's state held between calls, one ``on_bar`` per timestamp.

The same :func:`~dollarbill_research.kernels.step_nb.step_nb` as the backtest driver advances
the state, so replaying a history bar by bar through :meth:`LivePortfolio.on_bar` gives exactly
the fills, rejections and equity of :meth:`BacktestEngine.run` on that history (the parity test).
The VaR covariance needs the last ``var_window + 1`` closes, which the portfolio keeps in a
rolling buffer.

>>> import numpy as np
>>> from dollarbill_research.config.backtest import BacktestConfig
>>> from dollarbill_research.kernels import codes
>>> tpl = np.zeros((1, 2, codes.TEMPLATE_LEN)); tpl[0, :, codes.T_DIRECTION] = 1.0
>>> live = LivePortfolio(BacktestConfig(), None, symbols=("AAA",), strategies=("S",),
...                      templates=tpl)
>>> d = live.on_bar(np.datetime64("2024-01-02"), close=np.array([100.0]), iv=np.array([0.2]),
...                 signal=np.array([[1]]), confidence=np.array([[0.9]]))
>>> d.orders["qty"].to_list()  # floor(100000 x 10% / 100)
[100.0]
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from dollarbill_research._typing import BoolArray, FloatArray, PathLike
from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.backtesting.result import (
    breaches_frame,
    fills_frame,
    max_positions_limit,
    rejections_frame,
)
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.exceptions import ConfigError, DataError, StateError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.alloc_time_nb import (
    committed_nb,
    rebalance_nb,
    strategy_returns_nb,
)
from dollarbill_research.kernels.breach_nb import BREACH_ROWS_PER_PASS
from dollarbill_research.kernels.step_nb import step_nb
from dollarbill_research.kernels.workspace_nb import WI_OPEN, new_workspace, sync_open_nb

__all__ = ["Decisions", "LivePortfolio"]

_STATE_VERSION = 2  # 2: breach counter, allocation state (issue 11)
_ARRAYS = ("account", "counters", "positions", "legs", "stats", "close_buf", "iv_buf", "valid_buf",
           "capacity", "alloc_last")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decisions:
    """What one bar decided.

    Attributes
    ----------
    timestamp : numpy.datetime64
    orders : polars.DataFrame
        Every fill of the bar (exits first, then entries with their sizes), trades-frame columns.
    rejections : polars.DataFrame
        Rejected entries with reason names and rendered texts.
    warnings : polars.DataFrame
        Approved entries that carry warnings: ``symbol, strategy, warnings, warning_text``.
    fills, rejection_records : numpy.ndarray
        The raw kernel records (:data:`~dollarbill_research.kernels.records.FILL_DTYPE`, ...).
    equity : numpy.ndarray
        The bar's :data:`~dollarbill_research.kernels.records.EQUITY_DTYPE` row.
    breaches : polars.DataFrame
        Limits found breached on the bar and the breach policy's action (the backtest's
        ``breaches`` frame); the policy's trades are among ``orders`` (reason ``risk_reduce``).
    breach_records : numpy.ndarray
        The raw :data:`~dollarbill_research.kernels.records.BREACH_DTYPE` rows.
    """

    timestamp: np.datetime64
    orders: pl.DataFrame
    rejections: pl.DataFrame
    warnings: pl.DataFrame
    fills: np.ndarray
    rejection_records: np.ndarray
    equity: np.ndarray
    breaches: pl.DataFrame | None = None
    breach_records: np.ndarray | None = None


class LivePortfolio:
    """A portfolio advanced one bar at a time by the backtest's step kernel.

    Parameters
    ----------
    backtest_config : BacktestConfig
    portfolio_config : PortfolioConfig or None
        Used when ``backtest_config.use_portfolio_management``; default settings when None.
    symbols : sequence of str
        Column order of every per-bar array.
    strategies : sequence of str
        Strategy names, row order of the signal arrays.
    templates : numpy.ndarray
        float64 ``(n_strategies, 2, TEMPLATE_LEN)`` instruments opened on long / short signals.
    sector_codes : numpy.ndarray, optional
        int64 ``(n_symbols,)`` sector index of each symbol (default: one sector).
    """

    def __init__(
        self,
        backtest_config: BacktestConfig,
        portfolio_config: PortfolioConfig | None,
        *,
        symbols: tuple[str, ...] | list[str],
        strategies: tuple[str, ...] | list[str],
        templates: FloatArray,
        sector_codes: np.ndarray | None = None,
    ) -> None:
        self.backtest_config = backtest_config
        self.portfolio_config = portfolio_config
        self.symbols = tuple(symbols)
        self.strategies = tuple(strategies)
        n_sym, n_strat = len(self.symbols), len(self.strategies)
        if n_sym == 0 or n_strat == 0:
            raise ConfigError("LivePortfolio needs at least one symbol and one strategy")
        tpl = np.ascontiguousarray(templates, dtype=np.float64)
        if tpl.shape != (n_strat, 2, codes.TEMPLATE_LEN):
            raise ConfigError(
                f"LivePortfolio.templates has shape {tpl.shape}, expected "
                f"({n_strat}, 2, {codes.TEMPLATE_LEN})"
            )
        self.templates = tpl
        sc = np.zeros(n_sym, np.int64) if sector_codes is None else np.asarray(sector_codes)
        self.sector_codes = np.ascontiguousarray(sc, dtype=np.int64)
        if self.sector_codes.shape != (n_sym,) or (self.sector_codes < 0).any():
            raise ConfigError("LivePortfolio.sector_codes must be (n_symbols,) codes >= 0")
        engine = BacktestEngine(backtest_config, portfolio_config)
        self.bp, self.pp, self.capacity = engine.kernel_params(n_strat, self.strategies)
        # allocation through time (kernels/alloc_time_nb.py): the backtest driver's inputs
        self._alloc = engine.allocation_arrays(self.strategies)
        self.capacity = np.array(self.capacity, dtype=np.float64)
        self.alloc_last = np.zeros(2 * n_strat)  # last close: cumulative P&L, committed $
        self.strategy_returns = np.full((0, n_strat), np.nan)  # one row per bar so far
        hedge = bool(
            self.bp[records.BP_USE_PM] > 0
            and self.pp[codes.PP_BREACH_POLICY] == codes.BREACH_HEDGE
        )  # fmt: skip
        self.account, self.counters, self.positions, self.legs, self.stats = records.new_state(
            n_strat, n_sym, backtest_config.initial_capital, hedge_slots=hedge
        )
        rows = int(self.pp[codes.PP_VAR_WINDOW]) + 1
        self.close_buf = np.full((rows, n_sym), np.nan)
        self.iv_buf = np.full((rows, n_sym), np.nan)
        self.valid_buf = np.zeros((rows, n_sym), dtype=np.bool_)
        self.n_bars = 0
        self.last_timestamp: np.datetime64 | None = None
        self._ws = new_workspace(n_strat, n_sym, int(self.pp[codes.PP_VAR_WINDOW]), hedge)

    # ------------------------------------------------------------------------------------------
    def _push(self, close: FloatArray, iv: FloatArray, valid: BoolArray) -> int:
        rows = self.close_buf.shape[0]
        if self.n_bars < rows:
            t = self.n_bars
        else:
            for buf in (self.close_buf, self.iv_buf, self.valid_buf):
                buf[:-1] = buf[1:]
            t = rows - 1
        self.close_buf[t] = close
        self.iv_buf[t] = iv
        self.valid_buf[t] = valid
        return t

    def on_bar(
        self,
        timestamp: np.datetime64,
        *,
        close: FloatArray,
        iv: FloatArray,
        signal: np.ndarray,
        confidence: FloatArray,
        valid: BoolArray | None = None,
    ) -> Decisions:
        """Advance by one bar: mark, exits, entries sized and approved, fills with costs.

        Parameters
        ----------
        timestamp : numpy.datetime64
            Bar time, strictly after the previous bar's.
        close, iv : numpy.ndarray
            float64 ``(n_symbols,)`` closes (dollars) and implied vols (decimal; the data
            layer's proxy when there is no quote).
        signal : numpy.ndarray
            int8 ``(n_strategies, n_symbols)`` ``SIG_*`` codes computed with data up to this bar.
        confidence : numpy.ndarray
            float64 ``(n_strategies, n_symbols)`` in ``[0, 1]``.
        valid : numpy.ndarray, optional
            bool ``(n_symbols,)``: the symbol has a bar (default: finite positive close).

        Returns
        -------
        Decisions
        """
        n_sym, n_strat = len(self.symbols), len(self.strategies)
        ts = np.datetime64(timestamp, "ns")
        if self.last_timestamp is not None and ts <= self.last_timestamp:
            raise DataError(
                f"LivePortfolio.on_bar: timestamp {ts} is not after the previous bar "
                f"{self.last_timestamp}; hint: feed bars in chronological order"
            )
        close = np.asarray(close, dtype=np.float64).reshape(n_sym)
        iv = np.asarray(iv, dtype=np.float64).reshape(n_sym)
        if valid is None:
            valid = np.isfinite(close) & (close > 0)
        valid = np.asarray(valid, dtype=np.bool_).reshape(n_sym)
        sig = np.ascontiguousarray(np.asarray(signal).reshape(n_strat, 1, n_sym), dtype=np.int8)
        conf = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0)
        conf = np.ascontiguousarray(conf.reshape(n_strat, 1, n_sym))
        t = self._push(close, iv, valid)
        need = int(self.counters[records.C_OPEN]) + int(np.count_nonzero(sig))
        # room for the breach passes and hedge unwinds too (breach_nb): 3 n_open + n_signals + 12
        fills = np.zeros(4 * need + 13, dtype=records.FILL_DTYPE)
        rej = np.zeros(need + 1, dtype=records.REJECTION_DTYPE)
        brs = np.zeros(2 * BREACH_ROWS_PER_PASS, dtype=records.BREACH_DTYPE)
        eq = np.zeros(1, dtype=records.EQUITY_DTYPE)
        strat_pnl = np.zeros((1, n_strat))
        self.counters[records.C_FILLS] = 0
        self.counters[records.C_REJECTIONS] = 0
        self.counters[records.C_BREACHES] = 0
        day = float(ts.astype(np.int64)) / 86_400e9
        bar = self.n_bars
        sync_open_nb(self.positions, self.counters, self._ws[2])
        if self.strategy_returns.shape[0] <= bar:  # grow by doubling (rows past n_bars unused)
            grown = np.full((max(2 * bar, 64), n_strat), np.nan)
            grown[: self.strategy_returns.shape[0]] = self.strategy_returns
            self.strategy_returns = grown
        rebalance_nb(bar, self.strategy_returns, self._alloc, self.bp, self.pp, self.capacity)
        step_nb(
            bar, t, 0, day, self.close_buf, self.iv_buf, self.valid_buf, self.sector_codes,
            int(self.sector_codes.max()) + 1, sig, conf, self.templates, self.capacity, self.bp,
            self.pp, self.account, self.counters, self.positions, self.legs, self.stats, fills,
            rej, brs, eq, strat_pnl, 0, self._ws,
        )  # fmt: skip
        last_pnl, committed = self.alloc_last[:n_strat], self.alloc_last[n_strat:]
        strategy_returns_nb(strat_pnl[0], last_pnl, committed, self.strategy_returns[bar])
        last_pnl[:] = strat_pnl[0]
        committed_nb(self.positions, self._ws[2][WI_OPEN], int(self.counters[records.C_OPEN]),
                     committed)  # fmt: skip
        fills = fills[: self.counters[records.C_FILLS]].copy()
        rej = rej[: self.counters[records.C_REJECTIONS]].copy()
        brs = brs[: self.counters[records.C_BREACHES]].copy()
        self.n_bars += 1
        self.last_timestamp = ts
        stamps = np.array([ts])
        maxpos = max_positions_limit(self.backtest_config, self.pp)
        args = (stamps, self.symbols, self.strategies, self.pp, maxpos, bar)
        orders = fills_frame(fills, *args)
        warnings = orders.filter(pl.col("warnings").list.len() > 0).select(
            "symbol", "strategy", "warnings", "warning_text"
        )
        return Decisions(
            ts, orders, rejections_frame(rej, *args), warnings, fills, rej, eq[0],
            breaches_frame(brs, stamps, self.symbols, bar), brs,
        )  # fmt: skip

    @property
    def cash(self) -> float:
        """Cash in dollars (including cash reserved for short and credit positions)."""
        return float(self.account[records.A_CASH])

    @property
    def open_positions(self) -> np.ndarray:
        """Open position records (:data:`~dollarbill_research.kernels.records.POSITION_DTYPE`)."""
        return self.positions[self.positions["active"] == 1].copy()

    # ------------------------------------------------------------------------------------------
    def save(self, path: PathLike) -> Path:
        """Write the whole state atomically (temporary file + ``os.replace``) as ``.npz``."""
        path = Path(path)
        meta = {
            "version": _STATE_VERSION,
            "backtest_config": self.backtest_config.to_dict(),
            "portfolio_config": None
            if self.portfolio_config is None
            else self.portfolio_config.to_dict(),
            "symbols": list(self.symbols),
            "strategies": list(self.strategies),
            "n_bars": self.n_bars,
            "last_timestamp": None if self.last_timestamp is None else str(self.last_timestamp),
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays["strategy_returns"] = self.strategy_returns[: self.n_bars]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh, meta=np.array(json.dumps(meta)), templates=self.templates,
                    sector_codes=self.sector_codes, **arrays,
                )  # fmt: skip
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: PathLike) -> LivePortfolio:
        """Restore a portfolio written by :meth:`save`.

        Raises
        ------
        StateError
            When the file is missing, corrupt or from another state version.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name].copy() for name in (*_ARRAYS, "templates",
                                                               "sector_codes",
                                                               "strategy_returns")}  # fmt: skip
        except (OSError, ValueError, KeyError) as err:
            raise StateError(f"cannot read LivePortfolio state {path}: {err}") from err
        if meta.get("version") != _STATE_VERSION:
            raise StateError(
                f"LivePortfolio state {path} has version {meta.get('version')}, expected "
                f"{_STATE_VERSION}; hint: start a fresh portfolio"
            )
        pc = meta["portfolio_config"]
        live = cls(
            BacktestConfig.from_dict(meta["backtest_config"]),
            None if pc is None else PortfolioConfig.from_dict(pc),
            symbols=meta["symbols"],
            strategies=meta["strategies"],
            templates=arrays["templates"],
            sector_codes=arrays["sector_codes"],
        )
        for name in _ARRAYS:
            current = getattr(live, name)
            if arrays[name].shape != current.shape or arrays[name].dtype != current.dtype:
                raise StateError(f"LivePortfolio state {path}: array {name} does not match")
            setattr(live, name, arrays[name])
        live.n_bars = int(meta["n_bars"])
        rets = arrays["strategy_returns"]
        if rets.shape != (live.n_bars, len(live.strategies)):
            raise StateError(f"LivePortfolio state {path}: array strategy_returns does not match")
        live.strategy_returns = rets
        stamp = meta["last_timestamp"]
        live.last_timestamp = None if stamp is None else np.datetime64(stamp, "ns")
        return live
