"""Signals of the last bar of a rolling history window, for the live bot.

A backtest computes every strategy over the whole history at once. The bot sees a new bar at a
time and keeps only the last ``strategy.lookback_bars`` bars, so it needs the signal of that bar
alone. The built-in strategies' *conditions* on bar ``t`` depend only on the last
``lookback_bars`` valid bars, but their *signals* are transitions of a per-symbol regime (flat /
long / short, see :func:`~dollarbill_research.kernels.signals_nb.regime_signals_nb`), which
depends on the whole past. :class:`RollingSignals` therefore evaluates the conditions on the
window and advances a regime state that it carries from bar to bar (and that the bot persists
with its state), so that its signal on bar ``t`` equals the full-history signal on ``t``.

Signal codes are equal exactly; confidences agree to rounding (the rolling means and
regressions recompute their running sums at positions counted from the window's first bar, so
the last bits can differ), which matters only for exact ties between candidates.

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
from dollarbill_research.strategies.personality import (
    PERSONALITIES,
    classify_view,
    market_returns,
)
from dollarbill_research.strategies.router import PersonalityStrategy
from dollarbill_research.strategies.view import SeriesView

__all__ = ["RollingSignals", "window_panel"]


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

    def __init__(self, strategy: Strategy, symbols: Sequence[str]) -> None:
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
        view = SeriesView(window)
        usable = view.usable[:, -1]
        for i, u in enumerate(self.units):
            if isinstance(u, RuleStrategy):
                rules = u._rules(view)
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
            # the classifier on the shared view (per-symbol kernels: the same numbers as
            # classify_panel's chunks), the market proxy from the whole window as in a backtest
            pers = classify_view(view, market_returns(window), r.window)
            code = np.where(pers.confidence[-1] >= r.min_personality_confidence, pers.code[-1], -1)
            route = r.routing()
            index = {p: k for k, p in enumerate(PERSONALITIES)}
            for i, name in enumerate(self.names):
                allowed = np.isin(code, [index[p] for p in route[name]])
                entry = (sig[i] == SIG_LONG) | (sig[i] == SIG_SHORT)
                drop = entry & (~allowed | (conf[i] < r.min_confidence))
                sig[i][drop] = SIG_NONE
                conf[i][drop] = 0.0
        return sig, conf
