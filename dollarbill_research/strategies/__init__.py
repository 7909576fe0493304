"""Signal generators (SPEC 7): rule strategies, the personality classifier and router.

Every strategy is a frozen dataclass with typed parameter fields (validated on construction) and
a ``name`` used in reasons and output lines; ``strategy.signals(frame, panel)`` returns a
:class:`Signals` block computed over all symbols and bars at once. Signals are transitions of a
per-symbol regime (one entry when the rule starts to hold, one exit when it is neutralised);
SIG_LONG opens template 0 and SIG_SHORT template 1 (for volatility strategies: long / short
volatility). A signal on bar t uses bars <= t only.

=========================  ============================================================
Volatility Mean Reversion  fade the z-score of IV - realised vol: sell an iron condor
                           when IV is rich, buy an ATM straddle when it is cheap
Momentum                   shares in the direction of a strong trailing return that
                           agrees with the moving-average trend
Mean Reversion             shares against a >= 2 sd stretch from the moving average,
                           confirmed by RSI; exit back near the mean
Breakout                   Donchian-channel break with volume confirmation (shares or
                           long calls/puts), Turtle exit
Volatility Arbitrage       buy/sell ATM straddles when IV is away from a HAR-style
                           forecast of realised vol
Cash-Secured Puts          sell OTM puts in a calm uptrend (IV rank not elevated)
Iron Condor                sell condors when IV rank is rich and the trend is flat
Short Strangle             sell delta-targeted strangles when IV is rich in rank and
                           against realised vol
=========================  ============================================================

:func:`classify` gives each symbol's rolling personality; :class:`PersonalityStrategy` routes
each symbol, bar by bar, to its personality's preferred strategies.
"""

from dollarbill_research.strategies.base import (
    Combined,
    Signals,
    Strategy,
    signals_frame,
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
    "signals_frame",
    "stack_signals",
]
