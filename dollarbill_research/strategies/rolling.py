"""Signals of the last bar of a rolling history window, for the live bot.

A backtest computes every strategy over the whole history at once. The bot sees a new bar at a
time and keeps only the last ``strategy.lookback_bars`` bars, so it needs the signal of that bar
alone. The built-in strategies' *conditions* on bar ``t`` depend only on the last
``lookback_bars`` valid bars, but their *signals* are transitions of a per-symbol regime (flat /
long / short, see :func:`~dollarbill_research.kernels.signals_nb.regime_signals_nb`), which
depends on the whole past. :class:`RollingSignals` therefore evaluates the conditions of the
window's last bar and advances a regime state that it carries from bar to bar (and that the bot
persists with its state), so that its signal on bar ``t`` equals the full-history signal on ``t``.

Two paths compute the conditions:

* the **last-bar path** (default, for the built-in strategies and the personality classifier):
  :class:`~dollarbill_research.strategies.lastbar.LastBarView` evaluates each feature on the
  last bar only, ``O(lookback)`` per symbol (the kernels of
  :mod:`dollarbill_research.kernels.lastbar_nb`), and the strategies' own ``_rules`` run on it;
  about 10 ms for the personality router on 500 symbols x 300 bars instead of about 60 ms;
* the **window path** (``last_bar=False``, and always for a custom strategy or a subclass of a
  built-in one): the strategy's full computation over the whole window, of which the last row
  is used. It is the reference the last-bar path is tested against.

Signal codes are equal exactly; confidences agree to rounding (a rolling mean or regression of
the full history carries running sums from its last exact recomputation, the last-bar kernels
sum the window afresh, so the last bits can differ; the window path differs from the full
history in the same way), which matters only for exact ties between candidates.

>>> from dollarbill_research.data import synthetic_universe, to_panel
>>> from dollarbill_research.strategies import Momentum
>>> panel = to_panel(synthetic_universe(n_symbols=2, n_bars=120, seed=1))
>>> rolling = RollingSignals(Momentum(), panel.symbols)
>>> sig, conf = rolling.step(window_panel(panel, 100))
>>> sig.shape
(1, 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.data.panel import Panel, panel_to_frame
from dollarbill_research.exceptions import ConfigError, StateError
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_NONE, SIG_SHORT
from dollarbill_research.strategies._common import RuleStrategy
from dollarbill_research.strategies.base import Combined, Strategy, declared_lookback
from dollarbill_research.strategies.lastbar import LastBarView, classify_last
from dollarbill_research.strategies.personality import (
    BREAKOUT_CHANNEL,
    PERSONALITIES,
    classify_view,
    market_returns,
)
from dollarbill_research.strategies.premium import CashSecuredPuts, IronCondor, ShortStrangle
from dollarbill_research.strategies.reversion import MeanReversion
from dollarbill_research.strategies.router import PersonalityStrategy
from dollarbill_research.strategies.trend import Breakout, Momentum
from dollarbill_research.strategies.view import SeriesView
from dollarbill_research.strategies.volatility import (
    VolatilityArbitrage,
    VolatilityMeanReversion,
)

__all__ = ["LAST_BAR_STRATEGIES", "RollingSignals", "window_panel"]

LAST_BAR_STRATEGIES: tuple[type, ...] = (
    Momentum,
    Breakout,
    MeanReversion,
    VolatilityMeanReversion,
    VolatilityArbitrage,
    CashSecuredPuts,
    IronCondor,
    ShortStrangle,
)
"""Strategy classes whose ``_rules`` read their features through the view's methods only, so
they run on a :class:`LastBarView`. Matched by exact type: a subclass (which may override
``_rules``) takes the window path."""


def window_panel(panel: Panel, t: int, n_rows: int | None = None) -> Panel:
    """Rows ``[t - n_rows + 1, t]`` of ``panel`` (all rows up to ``t`` when ``n_rows`` is None)."""
    if not 0 <= t < panel.n_bars:
        raise ConfigError(f"window_panel: bar {t} is outside the panel's {panel.n_bars} bars")
    t0 = 0 if n_rows is None else max(0, t - int(n_rows) + 1)
    rows = slice(t0, t + 1)
    return dataclasses.replace(
        panel,
        timestamps=panel.timestamps[rows],
        open=panel.open[rows],
        high=panel.high[rows],
        low=panel.low[rows],
        close=panel.close[rows],
        volume=panel.volume[rows],
        iv=panel.iv[rows],
        valid=panel.valid[rows],
    )


def _units(strategy: object) -> tuple[tuple[object, ...], PersonalityStrategy | None]:
    if isinstance(strategy, PersonalityStrategy):
        return tuple(strategy.strategies), strategy
    if isinstance(strategy, Combined):
        return tuple(strategy.strategies), None
    return (strategy,), None


class RollingSignals:
    """Last-bar signals of ``strategy`` on a rolling window, with the regime state carried.

    Parameters
    ----------
    strategy : Strategy
        A built-in strategy, a :class:`Combined`, a :class:`PersonalityStrategy`, or a custom
        strategy that declares ``lookback_bars`` and whose signals carry no state between bars
        (its last row on the window is used as is).
    symbols : sequence of str
        Column order of the windows passed to :meth:`step`.
    last_bar : bool
        Use the last-bar path where it applies (default); False computes every strategy and the
        classifier over the whole window (the reference path, see the module docstring).

    Attributes
    ----------
    names : tuple of str
        Strategy rows of the signal arrays.
    templates : numpy.ndarray
        ``(n_strategies, 2, TEMPLATE_LEN)``.
    lookback_bars : int
        Rows of history :meth:`step` needs.
    state : numpy.ndarray
        int8 ``(n_strategies, n_symbols)`` regime (0 flat, 1 long, -1 short); save it with the
        bot's state and restore it with :meth:`set_state`.
    """

    def __init__(
        self, strategy: Strategy, symbols: Sequence[str], *, last_bar: bool = True
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"RollingSignals: {strategy!r} is not a strategy; hint: e.g. PersonalityStrategy()"
            )
        self.strategy = strategy
        self.symbols = tuple(symbols)
        self.units, self.router = _units(strategy)
        self.lookback_bars = declared_lookback(strategy)
        self.names = tuple(str(getattr(u, "name", "")) for u in self.units)
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"RollingSignals: strategy names {self.names} repeat")
        tpl = []
        for u in self.units:
            if isinstance(u, RuleStrategy):
                tpl.append(u.templates)
            else:
                tpl.append(None)
        self._templates = tpl
        self.templates: FloatArray | None = (
            np.stack(tpl) if all(t is not None for t in tpl) else None  # type: ignore[arg-type]
        )
        self.state = np.zeros((len(self.units), len(self.symbols)), dtype=np.int8)
        self.last_bar = bool(last_bar)
        self._fast = tuple(self.last_bar and type(u) in LAST_BAR_STRATEGIES for u in self.units)
        self._allowed: list[list[int]] = []
        if self.router is not None:
            route = self.router.routing()
            index = {p: k for k, p in enumerate(PERSONALITIES)}
            self._allowed = [[index[p] for p in route[name]] for name in self.names]

    def set_state(self, state: np.ndarray) -> None:
        """Restore a regime state saved from :attr:`state`."""
        state = np.asarray(state)
        if state.shape != self.state.shape:
            raise StateError(
                f"RollingSignals: saved regime state has shape {state.shape}, expected "
                f"{self.state.shape}; hint: the strategies or symbols changed, start a fresh state"
            )
        self.state = state.astype(np.int8).copy()

    def prime(self, window: Panel) -> FloatArray:
        """The templates, asking custom strategies for theirs on ``window`` (state unchanged)."""
        if self.templates is None:
            for i, u in enumerate(self.units):
                if self._templates[i] is None:
                    block = u.signals(panel_to_frame(window), window)  # type: ignore[attr-defined]
                    self._templates[i] = np.asarray(block.templates[0], dtype=np.float64)
            self.templates = np.stack(self._templates)  # type: ignore[arg-type]
        return self.templates

    # ------------------------------------------------------------------------------------------
    def _regime(
        self, i: int, rules: object, usable: np.ndarray, min_conf: float
    ) -> tuple[np.ndarray, FloatArray]:
        """One bar of :func:`regime_signals_nb` for every symbol (same rules, same order)."""
        el = rules.enter_long[:, -1]  # type: ignore[attr-defined]
        es = rules.enter_short[:, -1]  # type: ignore[attr-defined]
        xl = rules.exit_long[:, -1]  # type: ignore[attr-defined]
        xs = rules.exit_short[:, -1]  # type: ignore[attr-defined]
        c = np.asarray(rules.confidence, dtype=np.float64)[:, -1]  # type: ignore[attr-defined]
        st = self.state[i]
        n = st.shape[0]
        sig = np.full(n, SIG_NONE, dtype=np.int8)
        conf = np.zeros(n)
        flat = usable & (st == 0)
        go_long = flat & el
        go_short = flat & ~el & es
        entry = go_long | go_short
        cc = np.where(np.isfinite(c), np.minimum(np.maximum(c, 0.0), 1.0), 0.0)
        keep = entry & ~(cc < min_conf)
        sig[go_long & keep] = SIG_LONG
        sig[go_short & keep] = SIG_SHORT
        conf[keep] = cc[keep]
        ex = usable & (((st == 1) & (xl | es)) | ((st == -1) & (xs | el)))
        sig[ex] = SIG_EXIT
        conf[ex] = 1.0
        new = st.copy()
        new[go_long] = 1
        new[go_short] = -1
        new[ex] = 0
        self.state[i] = new
        return sig, conf

    def step(self, window: Panel) -> tuple[np.ndarray, FloatArray]:
        """Signals of the window's last bar; advances the regime state by one bar.

        Parameters
        ----------
        window : Panel
            The last rows of history (at least :attr:`lookback_bars` of them once available),
            the bar to decide on last, columns in :attr:`symbols` order.

        Returns
        -------
        signal, confidence : numpy.ndarray
            int8 and float64 ``(n_strategies, n_symbols)``.
        """
        if tuple(window.symbols) != self.symbols:
            raise ConfigError(
                "RollingSignals.step: the window's symbols differ from the ones given at "
                "construction; hint: keep the symbol order fixed"
            )
        n_strat, n_sym = len(self.units), len(self.symbols)
        sig = np.zeros((n_strat, n_sym), dtype=np.int8)
        conf = np.zeros((n_strat, n_sym))
        last = LastBarView(window) if self.last_bar else None
        full: SeriesView | None = None
        if last is not None:
            usable = last.usable[:, 0]
        else:
            full = SeriesView(window)
            usable = full.usable[:, -1]
        for i, u in enumerate(self.units):
            if isinstance(u, RuleStrategy):
                if self._fast[i]:
                    rules = u._rules(last)  # type: ignore[arg-type]
                else:
                    full = full if full is not None else SeriesView(window)
                    rules = u._rules(full)
                sig[i], conf[i] = self._regime(i, rules, usable, float(u.min_confidence))  # type: ignore[attr-defined]
            else:
                block = u.signals(panel_to_frame(window), window)  # type: ignore[attr-defined]
                sig[i] = block.signal[0, -1]
                conf[i] = block.confidence[0, -1]
                if self.templates is None:
                    self._templates[i] = block.templates[0]
        if self.templates is None:
            self.templates = np.stack(self._templates)  # type: ignore[arg-type]
        if self.router is not None:
            r = self.router
            if last is not None:
                p_code, p_conf = classify_last(last, r.window, BREAKOUT_CHANNEL)
            else:
                # the classifier on the shared view (per-symbol kernels: the same numbers as
                # classify_panel's chunks), the market proxy from the whole window as in a
                # backtest
                assert full is not None
                pers = classify_view(full, market_returns(window), r.window)
                p_code, p_conf = pers.code[-1], pers.confidence[-1]
            code = np.where(p_conf >= r.min_personality_confidence, p_code, -1)
            for i in range(n_strat):
                allowed = np.isin(code, self._allowed[i])
                entry = (sig[i] == SIG_LONG) | (sig[i] == SIG_SHORT)
                drop = entry & (~allowed | (conf[i] < r.min_confidence))
                sig[i][drop] = SIG_NONE
                conf[i][drop] = 0.0
        return sig, conf
