"""The strategy interface: frames in, a :class:`Signals` block out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.data.panel import Panel
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.codes import TEMPLATE_LEN

SIGNAL_NAMES: dict[int, str] = {0: "none", 1: "long", -1: "short", 2: "exit"}


@dataclass(frozen=True, slots=True)
class Signals:
    """Entry and exit signals of one or more strategies over a panel.

    Attributes
    ----------
    strategies : tuple of str
        Strategy names as used in reasons and output lines (``"Momentum"``, ``"Iron Condor"``).
    signal : numpy.ndarray
        int8 ``(n_strategies, n_bars, n_symbols)`` of ``SIG_*`` codes
        (:mod:`dollarbill_research.kernels.codes`). A signal on bar ``t`` uses data up to and
        including bar ``t`` and is filled at bar ``t``'s close at the earliest.
    confidence : numpy.ndarray
        float64, same shape, in ``[0, 1]`` (0 where there is no signal, 1 on exits).
    templates : numpy.ndarray
        float64 ``(n_strategies, 2, TEMPLATE_LEN)``: the instrument opened on ``SIG_LONG``
        (index 0) and on ``SIG_SHORT`` (index 1).
    """

    strategies: tuple[str, ...]
    signal: np.ndarray
    confidence: FloatArray
    templates: FloatArray

    @property
    def n_strategies(self) -> int:
        """Number of strategies stacked in this block."""
        return len(self.strategies)

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of long, short and exit signals per strategy name."""
        out: dict[str, dict[str, int]] = {}
        for i, name in enumerate(self.strategies):
            s = self.signal[i]
            out[name] = {
                "long": int(np.count_nonzero(s == 1)),
                "short": int(np.count_nonzero(s == -1)),
                "exit": int(np.count_nonzero(s == 2)),
            }
        return out

    def to_frame(self, panel: Panel, *, active_only: bool = True) -> pl.DataFrame:
        """Long polars frame ``symbol, timestamp, strategy, signal, signal_name, confidence``.

        Parameters
        ----------
        panel : Panel
            The panel the signals were computed on (gives symbols and timestamps).
        active_only : bool
            Keep only rows with a signal (default); False gives every strategy x bar x symbol.
        """
        if self.signal.shape[1:] != (panel.n_bars, panel.n_symbols):
            raise DataError(
                f"Signals shape {self.signal.shape[1:]} does not match the panel "
                f"({panel.n_bars}, {panel.n_symbols}); hint: pass the panel the signals came from"
            )
        if active_only:
            k, t, j = np.nonzero(self.signal)
        else:
            k, t, j = (a.ravel() for a in np.indices(self.signal.shape))
        names = np.asarray(self.strategies, dtype=object)
        codes = self.signal[k, t, j].astype(np.int8)
        return pl.DataFrame(
            {
                "symbol": np.asarray(panel.symbols, dtype=object)[j].tolist(),
                "timestamp": panel.timestamps[t],
                "strategy": names[k].tolist(),
                "signal": codes,
                "signal_name": [SIGNAL_NAMES[int(c)] for c in codes],
                "confidence": self.confidence[k, t, j],
            },
            schema_overrides={"symbol": pl.String, "strategy": pl.String, "signal": pl.Int8},
        ).sort(["timestamp", "symbol", "strategy"])


def stack_signals(blocks: Sequence[Signals]) -> Signals:
    """Stack several :class:`Signals` blocks over the same panel into one (strategy axis).

    Raises
    ------
    ConfigError
        When the blocks have different panel shapes or repeat a strategy name.
    """
    if not blocks:
        raise ConfigError("stack_signals: no Signals blocks given; hint: pass at least one")
    shape = blocks[0].signal.shape[1:]
    names: list[str] = []
    for b in blocks:
        if b.signal.shape[1:] != shape:
            raise ConfigError(
                f"stack_signals: block {b.strategies} has shape {b.signal.shape[1:]}, "
                f"expected {shape}; hint: compute every block on the same panel"
            )
        names.extend(b.strategies)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"stack_signals: strategy names {dupes} appear more than once; hint: give each "
            "variant a distinct name=..."
        )
    return Signals(
        strategies=tuple(names),
        signal=np.ascontiguousarray(np.concatenate([b.signal for b in blocks], axis=0)),
        confidence=np.ascontiguousarray(np.concatenate([b.confidence for b in blocks], axis=0)),
        templates=np.ascontiguousarray(np.concatenate([b.templates for b in blocks], axis=0)),
    )


@runtime_checkable
class Strategy(Protocol):
    """Anything that turns a validated bar frame and its panel into :class:`Signals`."""

    name: str

    def signals(self, frame: pl.DataFrame, panel: Panel) -> Signals:
        """Compute the signals for every symbol and bar of ``panel``."""
        ...


def _check_strategies(owner: str, items: object) -> tuple[Strategy, ...]:
    if isinstance(items, Strategy):
        items = (items,)
    if not isinstance(items, list | tuple) or not items:
        raise ConfigError(
            f"{owner}.strategies={items!r} must be a non-empty tuple of strategies; "
            "hint: Combined((Momentum(), IronCondor()))"
        )
    for i, s in enumerate(items):
        if not isinstance(s, Strategy):
            raise ConfigError(
                f"{owner}.strategies[{i}]={s!r} is not a strategy (needs .name and .signals)"
            )
    names = [s.name for s in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{owner}.strategies repeats names {dupes}; hint: give each variant a distinct name="
        )
    return tuple(items)


@dataclass(frozen=True, slots=True)
class Combined:
    """Several strategies run together; their signals are stacked in order.

    Parameters
    ----------
    strategies : tuple of Strategy
        The strategies (a list is accepted and stored as a tuple). Names must be distinct.
    name : str
        Label of the combination (the stacked block keeps each strategy's own name).

    Examples
    --------
    >>> from dollarbill_research.strategies import Combined, Momentum, IronCondor
    >>> Combined((Momentum(), IronCondor())).strategies[1].name
    'Iron Condor'
    """

    strategies: tuple[Strategy, ...]
    name: str = "Combined"

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategies", _check_strategies("Combined", self.strategies))

    @property
    def lookback_bars(self) -> int:
        """The longest ``lookback_bars`` of the members (see ``RuleStrategy.lookback_bars``)."""
        return max(declared_lookback(s) for s in self.strategies)

    def signals(self, frame: pl.DataFrame | None, panel: Panel) -> Signals:
        """Signals of every strategy, stacked (one row per strategy).

        Built-in strategies share one :class:`~dollarbill_research.strategies.view.SeriesView`
        (features computed once); other strategies get ``frame`` and ``panel``.
        """
        return run_all(self.strategies, frame, panel)


def run_all(strategies: Sequence[Strategy], frame: pl.DataFrame | None, panel: Panel) -> Signals:
    """Stacked signals of ``strategies`` on ``panel``.

    Built-in strategies (those with a ``fill(view, out_signal, out_confidence)`` method) run
    chunk by chunk of symbols on shared
    :class:`~dollarbill_research.strategies.view.SeriesView` feature caches and write straight
    into the stacked arrays; any other strategy is called once with ``frame`` and ``panel`` and
    must return a one-row block.
    """
    from dollarbill_research.strategies.view import SeriesView, for_each_chunk

    names = [s.name for s in strategies]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"strategy names {dupes} appear more than once; hint: give each variant a distinct "
            "name=..."
        )
    n = len(strategies)
    sig = np.zeros((n, panel.n_bars, panel.n_symbols), dtype=np.int8)
    conf = np.zeros((n, panel.n_bars, panel.n_symbols))
    templates = np.zeros((n, 2, TEMPLATE_LEN))
    fills = []
    for i, s in enumerate(strategies):
        fill = getattr(s, "fill", None)
        if fill is not None:
            fills.append((i, fill))
            templates[i] = s.templates  # type: ignore[attr-defined]
            continue
        block = s.signals(frame, panel)
        if block.n_strategies != 1 or block.signal.shape[1:] != sig.shape[1:]:
            raise ConfigError(
                f"strategy {s.name!r} returned a block of {block.n_strategies} rows and "
                f"shape {block.signal.shape[1:]}; expected 1 row of {sig.shape[1:]}"
            )
        sig[i] = block.signal[0]
        conf[i] = block.confidence[0]
        templates[i] = block.templates[0]
    if fills:

        def work(cols: slice) -> None:
            view = SeriesView(panel, cols)
            for i, fill in fills:
                fill(view, sig[i][:, cols], conf[i][:, cols])

        for_each_chunk(panel.n_symbols, work)
    return Signals(strategies=tuple(names), signal=sig, confidence=conf, templates=templates)


def declared_lookback(strategy: object) -> int:
    """``strategy.lookback_bars``, or a :class:`ConfigError` naming the strategy.

    The live bot computes signals on a rolling window of this many bars; a custom strategy
    declares it as an attribute or property ``lookback_bars`` (bars its longest window needs).
    """
    value = getattr(strategy, "lookback_bars", None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"strategy {getattr(strategy, 'name', strategy)!r} declares lookback_bars={value!r}; "
            "hint: give it an int attribute lookback_bars >= 1 (bars its longest window needs)"
        )
    return value


def empty_template() -> FloatArray:
    """A zero template vector of length ``TEMPLATE_LEN``."""
    return np.zeros(TEMPLATE_LEN)


def signals_frame(
    strategy: Strategy, data: pl.DataFrame | Panel, *, active_only: bool = True
) -> pl.DataFrame:
    """Run ``strategy`` on a bar frame (or panel) and return its signals as a long frame.

    Columns ``symbol, timestamp, strategy, signal, signal_name, confidence``; with
    ``active_only`` (default) only rows with a signal. Handy in notebooks.

    Examples
    --------
    >>> from dollarbill_research.data import synthetic_universe
    >>> from dollarbill_research.strategies import Momentum
    >>> df = signals_frame(Momentum(), synthetic_universe(n_symbols=2, n_bars=300, seed=1))
    >>> df.columns
    ['symbol', 'timestamp', 'strategy', 'signal', 'signal_name', 'confidence']
    """
    from dollarbill_research.data.panel import to_panel

    if isinstance(data, Panel):
        frame, panel = None, data
    else:
        frame, panel = data, to_panel(data)
    return strategy.signals(frame, panel).to_frame(panel, active_only=active_only)  # type: ignore[arg-type]
