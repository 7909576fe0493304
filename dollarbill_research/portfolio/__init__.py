"""Portfolio management: sizing, risk analytics, pre-trade approval (SPEC 5)."""

from dollarbill_research.config.portfolio import (
    AllocationMethod,
    PortfolioConfig,
    RiskLimits,
    SizingMethod,
)
from dollarbill_research.portfolio._book import BookArrays, Candidate, Position, book_arrays
from dollarbill_research.portfolio.analyzer import Exposures, RiskAnalyzer
from dollarbill_research.portfolio.manager import Decision, PortfolioManager, StrategyStats
from dollarbill_research.portfolio.sizer import PositionSizer, SizeResult

__all__ = [
    "AllocationMethod",
    "BookArrays",
    "Candidate",
    "Decision",
    "Exposures",
    "PortfolioConfig",
    "PortfolioManager",
    "Position",
    "PositionSizer",
    "RiskAnalyzer",
    "RiskLimits",
    "SizeResult",
    "SizingMethod",
    "StrategyStats",
    "book_arrays",
]
