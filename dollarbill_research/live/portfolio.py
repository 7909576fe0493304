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

import difflib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping
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
from dollarbill_research.kernels.params import make_params, params_array
from dollarbill_research.kernels.step_nb import step_nb
from dollarbill_research.kernels.workspace_nb import WI_OPEN, new_workspace, sync_open_nb

__all__ = ["Decisions", "LivePortfolio", "check_bar_inputs"]

_STATE_VERSION = 2  # 2: breach counter, allocation state (issue 11)
_ARRAYS = ("account", "counters", "positions", "legs", "stats", "close_buf", "iv_buf", "valid_buf",
           "capacity", "alloc_last")  # fmt: skip


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

    The frames are built from the records on first access (a bot that reads only the records
    pays nothing for them).
    """

    __slots__ = (
        "_args",
        "_breach_args",
        "_frames",
        "breach_records",
        "equity",
        "fills",
        "rejection_records",
        "timestamp",
    )

    def __init__(
        self,
        timestamp: np.datetime64,
        fills: np.ndarray,
        rejection_records: np.ndarray,
        equity: np.ndarray,
        args: tuple[object, ...],
        breach_records: np.ndarray | None = None,
        breach_args: tuple[object, ...] = (),
    ) -> None:
        self.timestamp = timestamp
        self.fills = fills
        self.rejection_records = rejection_records
        self.equity = equity
        self._args = args
        self.breach_records = breach_records
        self._breach_args = breach_args
        self._frames: dict[str, pl.DataFrame] = {}

    def _frame(self, name: str) -> pl.DataFrame:
        if name not in self._frames:
            if name == "rejections":
                self._frames[name] = rejections_frame(self.rejection_records, *self._args)
            elif name == "breaches":
                self._frames[name] = breaches_frame(self.breach_records, *self._breach_args)
            else:
                orders = self._frame("orders") if name == "warnings" else None
                if orders is None:
                    self._frames[name] = fills_frame(self.fills, *self._args)
                else:
                    self._frames[name] = orders.filter(pl.col("warnings").list.len() > 0).select(
                        "symbol", "strategy", "warnings", "warning_text"
                    )
        return self._frames[name]

    @property
    def orders(self) -> pl.DataFrame:
        """Every fill of the bar, trades-frame columns."""
        return self._frame("orders")

    @property
    def rejections(self) -> pl.DataFrame:
        """Rejected entries with reason names and texts."""
        return self._frame("rejections")

    @property
    def warnings(self) -> pl.DataFrame:
        """Approved entries that carry warnings."""
        return self._frame("warnings")

    @property
    def breaches(self) -> pl.DataFrame:
        """Limits breached on the bar and the breach policy's action (``breaches`` frame)."""
        return self._frame("breaches")

    def __repr__(self) -> str:
        from dollarbill_research.live._display import decisions_repr

        return decisions_repr(self)

    def _repr_html_(self) -> str:
        from dollarbill_research.live._display import decisions_html

        return decisions_html(self)


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
        self.params = make_params(self.bp, self.pp)  # read by name here
        self._param_rows = params_array(self.bp, self.pp)  # what the kernels take
        # allocation through time (kernels/alloc_time_nb.py): the backtest driver's inputs
        self._alloc = engine.allocation_arrays(self.strategies)
        self.capacity = np.array(self.capacity, dtype=np.float64)
        self.alloc_last = np.zeros(2 * n_strat)  # last close: cumulative P&L, committed $
        self.strategy_returns = np.full((0, n_strat), np.nan)  # one row per bar so far
        hedge = bool(
            self.params.use_portfolio_management > 0
            and self.params.breach_policy == codes.BREACH_HEDGE
        )  # fmt: skip
        self.account, self.counters, self.positions, self.legs, self.stats = records.new_state(
            n_strat, n_sym, backtest_config.initial_capital, hedge_slots=hedge
        )
        rows = int(self.params.var_window) + 1
        self.close_buf = np.full((rows, n_sym), np.nan)
        self.iv_buf = np.full((rows, n_sym), np.nan)
        self.valid_buf = np.zeros((rows, n_sym), dtype=np.bool_)
        self._days = np.zeros(rows)  # Market.days: the step reads BarAt.day, not this
        self.n_bars = 0
        self.last_timestamp: np.datetime64 | None = None
        self._ws = new_workspace(n_strat, n_sym, int(self.params.var_window), hedge)

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
        close, iv : numpy.ndarray or dict
            float64 ``(n_symbols,)`` closes (dollars) and implied vols (decimal; the data
            layer's proxy when there is no quote), or ``{symbol: value}`` (a symbol left out
            has no bar; an unknown symbol is a :class:`DataError`).
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
        try:
            ts = np.datetime64(timestamp, "ns")
        except (TypeError, ValueError) as err:
            raise DataError(
                f"LivePortfolio.on_bar: timestamp {timestamp!r} is not a time; hint: pass a "
                "numpy.datetime64"
            ) from err
        if np.isnat(ts):
            raise DataError("LivePortfolio.on_bar: timestamp is NaT; hint: pass the bar's time")
        if self.last_timestamp is not None and ts <= self.last_timestamp:
            raise DataError(
                f"LivePortfolio.on_bar: timestamp {ts} is not after the previous bar "
                f"{self.last_timestamp}; hint: feed bars in chronological order"
            )
        close, iv, valid, sig, conf = check_bar_inputs(
            self.symbols, self.strategies, close, iv, valid, signal, confidence
        )
        sig = np.ascontiguousarray(sig.reshape(n_strat, 1, n_sym))
        conf = np.ascontiguousarray(conf.reshape(n_strat, 1, n_sym))
        t = self._push(close, iv, valid)
        need = int(self.counters[records.C_OPEN]) + int(np.count_nonzero(sig))
        # room for the breach passes and hedge unwinds too (breach_nb): 3 n_open + n_signals + 12
        rec = records.new_records(1, n_strat, 4 * need + 13, 2 * BREACH_ROWS_PER_PASS, need + 1)
        fills, rej, brs, eq, strat_pnl = rec
        self.counters[records.C_FILLS] = 0
        self.counters[records.C_REJECTIONS] = 0
        self.counters[records.C_BREACHES] = 0
        day = float(ts.astype(np.int64)) / 86_400e9
        bar = self.n_bars
        sync_open_nb(self.positions, self.counters, self._ws.wi)
        if self.strategy_returns.shape[0] <= bar:  # grow by doubling (rows past n_bars unused)
            grown = np.full((max(2 * bar, 64), n_strat), np.nan)
            grown[: self.strategy_returns.shape[0]] = self.strategy_returns
            self.strategy_returns = grown
        rebalance_nb(bar, self.strategy_returns, self._alloc, self._param_rows, self.capacity)
        market = records.Market(
            self._days, self.close_buf, self.iv_buf, self.valid_buf, self.sector_codes,
            int(self.sector_codes.max()) + 1,
        )  # fmt: skip
        book = records.Book(self.account, self.counters, self.positions, self.legs, self.stats)
        block = records.SignalBlock(sig, conf, self.templates, self.capacity)
        at = records.BarAt(bar, t, 0, 0, day)
        step_nb(at, market, block, self._param_rows, book, rec, self._ws)
        last_pnl, committed = self.alloc_last[:n_strat], self.alloc_last[n_strat:]
        strategy_returns_nb(strat_pnl[0], last_pnl, committed, self.strategy_returns[bar])
        last_pnl[:] = strat_pnl[0]
        committed_nb(self.positions, self._ws.wi[WI_OPEN], int(self.counters[records.C_OPEN]),
                     committed)  # fmt: skip
        fills = fills[: self.counters[records.C_FILLS]].copy()
        rej = rej[: self.counters[records.C_REJECTIONS]].copy()
        brs = brs[: self.counters[records.C_BREACHES]].copy()
        self.n_bars += 1
        self.last_timestamp = ts
        stamps = np.array([ts])
        maxpos = max_positions_limit(self.backtest_config, self.pp)
        args = (stamps, self.symbols, self.strategies, self.pp, maxpos, bar)
        return Decisions(ts, fills, rej, eq[0], args, brs, (stamps, self.symbols, bar))

    def pending_interest(self, timestamp: np.datetime64) -> float:
        """Cash interest the next :meth:`on_bar` at ``timestamp`` will credit first (dollars).

        The step kernel's ``cash x cash_interest_rate x (day - last day) / 365`` (0 on the
        first bar); a broker that credits interest on the bar's date already holds it.
        """
        rate = float(self.params.cash_interest_rate)
        last = float(self.account[records.A_LAST_DAY])
        day = float(np.datetime64(timestamp, "ns").astype(np.int64)) / 86_400e9
        if rate == 0.0 or not np.isfinite(last) or day <= last:
            return 0.0
        return float(self.account[records.A_CASH]) * rate * (day - last) / 365.0

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
        arrays = self._state_arrays()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _state_arrays(self) -> dict[str, np.ndarray]:
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
        arrays["meta"] = np.array(json.dumps(meta))
        arrays["templates"] = self.templates
        arrays["sector_codes"] = self.sector_codes
        arrays["sha256"] = np.array(_digest(arrays))
        return arrays

    def to_bytes(self) -> bytes:
        """The state as the bytes :meth:`save` writes (for a database blob)."""
        buf = io.BytesIO()
        np.savez(buf, **self._state_arrays())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, name: str = "<bytes>") -> LivePortfolio:
        """Restore from :meth:`to_bytes` (same checks as :meth:`load`)."""
        return cls._from_source(io.BytesIO(blob), name)

    @classmethod
    def load(cls, path: PathLike) -> LivePortfolio:
        """Restore a portfolio written by :meth:`save`.

        Raises
        ------
        StateError
            When the file is missing, corrupt or from another state version.
        """
        path = Path(path)
        if not path.is_file():
            raise StateError(
                f"cannot read LivePortfolio state {path}: no such file; hint: check the path"
            )
        return cls._from_source(path, str(path))

    @classmethod
    def _from_source(cls, source: Path | io.BytesIO, path: str) -> LivePortfolio:
        names = (*_ARRAYS, "meta", "templates", "sector_codes", "strategy_returns")
        try:
            with np.load(source, allow_pickle=False) as data:
                arrays = {name: data[name].copy() for name in names}
                digest = str(data["sha256"]) if "sha256" in data.files else None
            meta = json.loads(str(arrays["meta"]))
        except Exception as err:  # BadZipFile, EOFError, zlib / JSON errors, missing arrays
            raise StateError(
                f"cannot read LivePortfolio state {path}: {type(err).__name__}: {err}; hint: "
                "the file is truncated or corrupt; restore a backup or start a fresh portfolio"
            ) from err
        if digest is None or digest != _digest(arrays):
            raise StateError(
                f"cannot read LivePortfolio state {path}: checksum mismatch (the file was "
                "damaged or edited); hint: restore a backup or start a fresh portfolio"
            )
        if not isinstance(meta, dict) or meta.get("version") != _STATE_VERSION:
            meta = meta if isinstance(meta, dict) else {}
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


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the state arrays (names, dtypes, shapes and bytes, in a fixed order)."""
    h = hashlib.sha256()
    for name in sorted(k for k in arrays if k != "sha256"):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(str(a).encode() if a.dtype.kind == "U" else a.tobytes())
    return h.hexdigest()


_SIGNAL_CODES = np.array([codes.SIG_NONE, codes.SIG_LONG, codes.SIG_SHORT, codes.SIG_EXIT])


def _vector(symbols: tuple[str, ...], name: str, value: object, dtype: type) -> np.ndarray:
    if isinstance(value, Mapping):  # {symbol: value}: missing symbols have no bar
        unknown = [k for k in value if k not in symbols]
        if unknown:
            near = difflib.get_close_matches(str(unknown[0]), symbols, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"symbols are {', '.join(symbols[:8])}"
            raise DataError(
                f"LivePortfolio.on_bar: {name} names unknown symbol {unknown[0]!r}; hint: {hint}"
            )
        fill = False if dtype is np.bool_ else np.nan
        value = [value.get(sym, fill) for sym in symbols]
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise DataError(f"LivePortfolio.on_bar: {name} is not numeric: {err}") from err
    if arr.shape != (len(symbols),):
        raise DataError(
            f"LivePortfolio.on_bar: {name} has shape {arr.shape}, expected ({len(symbols)},) "
            f"(one value per symbol {', '.join(symbols[:8])}...); hint: keep the symbol order"
        )
    return arr


def check_bar_inputs(
    symbols: tuple[str, ...],
    strategies: tuple[str, ...],
    close: object,
    iv: object,
    valid: object,
    signal: object,
    confidence: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate one bar's inputs; return ``close, iv, valid, signal (int8), confidence``.

    Raises
    ------
    DataError
        Naming the symbol and field: wrong lengths, NaN / non-positive close or NaN / negative /
        percent-looking iv (> 5) on a valid symbol, unknown signal codes, confidence outside
        [0, 1] where a signal is given.
    """
    n_sym, n_strat = len(symbols), len(strategies)
    close_a = _vector(symbols, "close", close, np.float64)
    iv_a = _vector(symbols, "iv", iv, np.float64)
    if valid is None:
        valid_a = np.isfinite(close_a) & (close_a > 0)
    else:
        raw = valid if isinstance(valid, Mapping) else np.asarray(valid)
        if not isinstance(raw, Mapping) and raw.dtype != np.bool_:
            raise DataError(f"LivePortfolio.on_bar: valid must be bool, got {raw.dtype}")
        valid_a = _vector(symbols, "valid", raw, np.bool_)
    with np.errstate(invalid="ignore"):
        bad_close = valid_a & ~(np.isfinite(close_a) & (close_a > 0))
        bad_iv = valid_a & ~(np.isfinite(iv_a) & (iv_a >= 0))
        pct_iv = valid_a & ~bad_iv & (iv_a > 5.0)
    if bad_close.any():
        j = int(np.argmax(bad_close))
        raise DataError(
            f"LivePortfolio.on_bar: symbol {symbols[j]!r} is marked valid but "
            f"close={float(close_a[j])!r}; hint: mark the symbol invalid for this bar "
            "(valid=False) or fix the price"
        )
    if bad_iv.any():
        j = int(np.argmax(bad_iv))
        raise DataError(
            f"LivePortfolio.on_bar: symbol {symbols[j]!r} is marked valid but "
            f"iv={float(iv_a[j])!r}; hint: pass a decimal implied vol >= 0 (or the data "
            "layer's proxy)"
        )
    if pct_iv.any():
        j = int(np.argmax(pct_iv))
        raise DataError(
            f"LivePortfolio.on_bar: symbol {symbols[j]!r} has iv={float(iv_a[j])!r}, which "
            "looks like a percent; hint: pass decimals (0.25 for 25 %)"
        )
    sig_raw = np.asarray(signal)
    if sig_raw.shape != (n_strat, n_sym):
        raise DataError(
            f"LivePortfolio.on_bar: signal has shape {sig_raw.shape}, expected ({n_strat}, "
            f"{n_sym}) (strategies {strategies}, symbols); hint: one row per strategy"
        )
    bad = ~np.isin(sig_raw, _SIGNAL_CODES)
    if bad.any():
        s, j = (int(x[0]) for x in np.nonzero(bad))
        raise DataError(
            f"LivePortfolio.on_bar: signal has unknown code {int(sig_raw[s, j])} for strategy "
            f"{strategies[s]!r}, symbol {symbols[j]!r}; hint: use the SIG_* codes (0, 1, -1, 2)"
        )
    sig = sig_raw.astype(np.int8)
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.shape != (n_strat, n_sym):
        raise DataError(
            f"LivePortfolio.on_bar: confidence has shape {conf.shape}, expected ({n_strat}, "
            f"{n_sym}); hint: one row per strategy"
        )
    out_of_range = (sig != codes.SIG_NONE) & ~((conf >= 0.0) & (conf <= 1.0))
    if out_of_range.any():
        s, j = (int(x[0]) for x in np.nonzero(out_of_range))
        raise DataError(
            f"LivePortfolio.on_bar: confidence={float(conf[s, j])!r} for strategy "
            f"{strategies[s]!r}, symbol {symbols[j]!r} is outside [0, 1]; hint: clip or "
            "rescale the confidence"
        )
    conf = np.where(sig != codes.SIG_NONE, conf, np.nan_to_num(conf, nan=0.0))
    return close_a, iv_a, valid_a, sig, conf
