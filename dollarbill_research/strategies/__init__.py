"""Signal generators (SPEC 7): rule strategies, the personality classifier and router.

Every strategy is a frozen dataclass with typed parameter fields and a ``name`` used in reasons
and output lines; ``strategy.signals(frame, panel)`` returns a :class:`Signals` block computed
over all symbols and bars at once.
"""

from dollarbill_research.strategies.base import (
    Combined,
    Signals,
    Strategy,
    stack_signals,
)
from dollarbill_research.strategies.personality import (
    PERSONALITIES,
    PREFERRED_STRATEGIES,
    Personality,
    PersonalityPanel,
    classify,
    classify_panel,
)
from dollarbill_research.strategies.premium import CashSecuredPuts, IronCondor, ShortStrangle
from dollarbill_research.strategies.reversion import MeanReversion
from dollarbill_research.strategies.router import PersonalityStrategy, default_strategies
from dollarbill_research.strategies.trend import Breakout, Momentum
from dollarbill_research.strategies.volatility import (
    VolatilityArbitrage,
    VolatilityMeanReversion,
)

__all__ = [
    "PERSONALITIES",
    "PREFERRED_STRATEGIES",
    "Breakout",
    "CashSecuredPuts",
    "Combined",
    "IronCondor",
    "MeanReversion",
    "Momentum",
    "Personality",
    "PersonalityPanel",
    "PersonalityStrategy",
    "ShortStrangle",
    "Signals",
    "Strategy",
    "VolatilityArbitrage",
    "VolatilityMeanReversion",
    "classify",
    "classify_panel",
    "default_strategies",
    "stack_signals",
]
