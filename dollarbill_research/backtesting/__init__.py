"""Backtesting: the engine (compiled driver over the step kernel), results, metrics, plots."""

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.backtesting.metrics import Metrics, compute_metrics
from dollarbill_research.backtesting.result import BacktestResult, compare
from dollarbill_research.config.backtest import BacktestConfig

__all__ = [
    "BacktestConfig",
    "BacktestEngine",
    "BacktestResult",
    "Metrics",
    "compare",
    "compute_metrics",
]
