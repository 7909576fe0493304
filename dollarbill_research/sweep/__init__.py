"""Parameter sweeps: many backtest configurations in one call, on every core or a Ray cluster.

>>> from dollarbill_research.sweep import sweep
>>> # res = sweep(data, Momentum(), {"sizing_method": SIZING_METHODS, "max_risk_per_trade": [1, 2]})
"""

from dollarbill_research.sweep.grid import Grid
from dollarbill_research.sweep.overfitting import (
    PBOResult,
    deflated_sharpe,
    overfitting_sentences,
    pbo,
)
from dollarbill_research.sweep.result import SweepResult
from dollarbill_research.sweep.returns import SweepReturns
from dollarbill_research.sweep.runner import METRIC_COLUMNS, sweep
from dollarbill_research.sweep.walk_forward import WalkForwardResult, walk_forward

#: The five sizing methods by their seed names (the usual first sweep axis).
SIZING_METHODS: tuple[str, ...] = (
    "VolatilityBased",
    "KellyCriterion",
    "RiskParity",
    "FixedFractional",
    "FixedDollar",
)

__all__ = [
    "METRIC_COLUMNS",
    "SIZING_METHODS",
    "Grid",
    "PBOResult",
    "SweepResult",
    "SweepReturns",
    "WalkForwardResult",
    "deflated_sharpe",
    "overfitting_sentences",
    "pbo",
    "sweep",
    "walk_forward",
]
