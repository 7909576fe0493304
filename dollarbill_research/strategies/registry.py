"""Strategies by name: the seed's names (``"Momentum"``, ``"Iron Condor"``, ``"personality"``).

Names are matched ignoring case, spaces, ``-`` and ``_`` (``"iron-condor"`` and ``"IronCondor"``
both name the Iron Condor); several names separated by commas make a :class:`Combined` book.

>>> strategy_from_name("Momentum").name
'Momentum'
>>> strategy_from_name("momentum, iron condor").name
'Combined'
"""

from __future__ import annotations

from collections.abc import Callable

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies.base import Combined, Strategy
from dollarbill_research.strategies.premium import CashSecuredPuts, IronCondor, ShortStrangle
from dollarbill_research.strategies.reversion import MeanReversion
from dollarbill_research.strategies.router import PersonalityStrategy
from dollarbill_research.strategies.trend import Breakout, Momentum
from dollarbill_research.strategies.volatility import VolatilityArbitrage, VolatilityMeanReversion

__all__ = ["STRATEGY_NAMES", "strategy_from_name"]

_FACTORIES: dict[str, Callable[[], Strategy]] = {
    "Volatility Mean Reversion": VolatilityMeanReversion,
    "Momentum": Momentum,
    "Mean Reversion": MeanReversion,
    "Breakout": Breakout,
    "Volatility Arbitrage": VolatilityArbitrage,
    "Cash-Secured Puts": CashSecuredPuts,
    "Iron Condor": IronCondor,
    "Short Strangle": ShortStrangle,
    "Personality": PersonalityStrategy,
}

#: The accepted names, in the seed's spelling.
STRATEGY_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_KEY = {_key(name): factory for name, factory in _FACTORIES.items()}
_BY_KEY["personalitystrategy"] = PersonalityStrategy


def strategy_from_name(name: str) -> Strategy:
    """The default-parameter strategy called ``name`` (comma-separated names: a Combined book).

    Raises
    ------
    ConfigError
        An unknown name; the message lists the valid ones.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"strategy name {name!r} is empty; hint: one of {_valid()}")
    parts = [p.strip() for p in name.split(",") if p.strip()]
    strategies = []
    for part in parts:
        factory = _BY_KEY.get(_key(part))
        if factory is None:
            raise ConfigError(f"unknown strategy {part!r}; hint: use one of {_valid()}")
        strategies.append(factory())
    if len(strategies) == 1:
        return strategies[0]
    return Combined(tuple(strategies))


def _valid() -> str:
    return ", ".join(repr(n) for n in STRATEGY_NAMES)
