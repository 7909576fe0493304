"""PersonalityStrategy: route each symbol, bar by bar, to its personality's preferred strategies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from dollarbill_research.config._validate import check_int, check_range
from dollarbill_research.data.panel import Panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import SIG_LONG, SIG_SHORT
from dollarbill_research.strategies._common import RuleStrategy
from dollarbill_research.strategies.base import (
    Signals,
    Strategy,
    _check_strategies,
    declared_lookback,
    run_all,
)
from dollarbill_research.strategies.personality import (
    BREAKOUT_CHANNEL,
    PERSONALITIES,
    PREFERRED_STRATEGIES,
    Personality,
    PersonalityPanel,
    classify_panel,
)
from dollarbill_research.strategies.premium import CashSecuredPuts, IronCondor, ShortStrangle
from dollarbill_research.strategies.reversion import MeanReversion
from dollarbill_research.strategies.trend import Breakout, Momentum
from dollarbill_research.strategies.volatility import (
    VolatilityArbitrage,
    VolatilityMeanReversion,
)


def default_strategies() -> tuple[RuleStrategy, ...]:
    """One instance of each built-in strategy with its default parameters."""
    return (
        VolatilityMeanReversion(),
        Momentum(),
        MeanReversion(),
        Breakout(),
        VolatilityArbitrage(),
        CashSecuredPuts(),
        IronCondor(),
        ShortStrangle(),
    )


def default_preferences() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """:data:`PREFERRED_STRATEGIES` as ``((personality name, strategy names), ...)``."""
    return tuple((p.value, PREFERRED_STRATEGIES[p]) for p in PERSONALITIES)


@dataclass(frozen=True, slots=True)
class PersonalityStrategy:
    """Trade each symbol only with the strategies its current personality prefers.

    On every bar each symbol's rolling personality
    (:func:`~dollarbill_research.strategies.personality.classify`, ``window`` bars, past data only)
    selects strategies through ``preferences``. The block has one row per underlying strategy;
    an entry survives on bar ``t`` only where that strategy is preferred by the symbol's
    personality on bar ``t``, the personality's confidence is at least
    ``min_personality_confidence``, and the entry's confidence is at least ``min_confidence``
    (the filter applies to every strategy). Exits are never masked, so a position opened under an
    earlier personality still closes on its strategy's exit rule.

    Parameters
    ----------
    min_confidence : float
        Entries with a lower confidence are dropped, in [0, 1] (the bot's ``min_confidence``).
    window : int
        Bars of the personality window.
    min_personality_confidence : float
        Bars whose classification confidence is lower route nowhere (no entries).
    strategies : tuple of Strategy
        The underlying strategies (default: the eight built-ins); names must be distinct.
    preferences : tuple of (str, tuple of str)
        ``(personality name, strategy names)`` pairs; default :data:`PREFERRED_STRATEGIES`.
    name : str
        Label of the router.
    """

    min_confidence: float = 0.3
    window: int = 252
    min_personality_confidence: float = 0.0
    strategies: tuple[Strategy, ...] = field(default_factory=default_strategies)
    preferences: tuple[tuple[str, tuple[str, ...]], ...] = field(
        default_factory=default_preferences
    )
    name: str = "Personality"

    def __post_init__(self) -> None:
        check_range(self, "min_confidence", self.min_confidence, 0.0, 1.0)
        check_int(self, "window", self.window, 8, 10_000)
        check_range(self, "min_personality_confidence", self.min_personality_confidence, 0.0, 1.0)
        object.__setattr__(
            self, "strategies", _check_strategies("PersonalityStrategy", self.strategies)
        )
        names = {s.name for s in self.strategies}
        prefs = []
        for item in self.preferences:
            try:
                pname, snames = item
                pers = Personality(pname)
            except (TypeError, ValueError):
                allowed = ", ".join(p.value for p in PERSONALITIES)
                raise ConfigError(
                    f"PersonalityStrategy.preferences item {item!r} must be (personality, "
                    f"strategy names) with a personality in {allowed}"
                ) from None
            missing = sorted(set(snames) - names)
            if missing:
                raise ConfigError(
                    f"PersonalityStrategy.preferences[{pname!r}] names {missing}, which are not "
                    f"in strategies {sorted(names)}; hint: add them or fix the names"
                )
            prefs.append((pers.value, tuple(snames)))
        object.__setattr__(self, "preferences", tuple(prefs))

    @property
    def lookback_bars(self) -> int:
        """Bars the routed signal of a bar depends on.

        The personality window plus the breakout channel (a bar is classified from the
        ``window + 21``-st valid bar on), or a longer window of a routed strategy.
        """
        return max(
            self.window + BREAKOUT_CHANNEL + 1, *(declared_lookback(s) for s in self.strategies)
        )

    def routing(self) -> dict[str, tuple[Personality, ...]]:
        """For each strategy name, the personalities routed to it."""
        out: dict[str, list[Personality]] = {s.name: [] for s in self.strategies}
        for pname, snames in self.preferences:
            for s in snames:
                out[s].append(Personality(pname))
        return {k: tuple(v) for k, v in out.items()}

    def signals(self, frame: pl.DataFrame | None, panel: Panel) -> Signals:
        """Routed signals, one row per underlying strategy (see the class docstring)."""
        block = run_all(self.strategies, frame, panel)
        return self.route(block, classify_panel(panel, self.window))

    def route(self, block: Signals, pers: PersonalityPanel) -> Signals:
        """Drop the entries of ``block`` that ``pers`` does not route there (in place)."""
        code = np.where(pers.confidence >= self.min_personality_confidence, pers.code, -1)
        route = self.routing()
        index = {p: i for i, p in enumerate(PERSONALITIES)}
        for i, s in enumerate(self.strategies):
            sig = block.signal[i]
            conf = block.confidence[i]
            allowed = np.isin(code, [index[p] for p in route[s.name]])
            entry = (sig == SIG_LONG) | (sig == SIG_SHORT)
            drop = entry & (~allowed | (conf < self.min_confidence))
            sig[drop] = 0
            conf[drop] = 0.0
        return block
