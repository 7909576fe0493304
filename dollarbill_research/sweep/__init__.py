"""Parameter sweeps: many backtest configurations in one call, on every core or a Ray cluster.

>>> from dollarbill_research.sweep import sweep
>>> # res = sweep(data, Momentum(), {"sizing_method": SIZING_METHODS, "max_risk_per_trade": [1, 2]})
"""

from dollarbill_research.sweep.grid import Grid
from dollarbill_research.sweep.result import SweepResult
from dollarbill_research.sweep.runner import METRIC_COLUMNS, sweep

#: The five sizing methods by their seed names (the usual first sweep axis).
SIZING_METHODS: tuple[str, ...] = (
    "VolatilityBased",
    "KellyCriterion",
    "RiskParity",
    "FixedFractional",
    "FixedDollar",
)

__all__ = ["METRIC_COLUMNS", "SIZING_METHODS", "Grid", "SweepResult", "sweep"]
