"""Portfolio management: sizing, risk analytics, pre-trade approval, allocation, attribution."""

from dollarbill_research.config.portfolio import (
    AllocationMethod,
    PortfolioConfig,
    RiskLimits,
    SizingMethod,
)
from dollarbill_research.portfolio._book import BookArrays, Candidate, Position, book_arrays
from dollarbill_research.portfolio.allocator import RebalanceRecommendation, StrategyAllocator
from dollarbill_research.portfolio.analyzer import Exposures, RiskAnalyzer
from dollarbill_research.portfolio.attribution import (
    attribution_frame,
    best_strategy,
    compare_strategies,
)
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
    "RebalanceRecommendation",
    "RiskAnalyzer",
    "RiskLimits",
    "SizeResult",
    "SizingMethod",
    "StrategyAllocator",
    "StrategyStats",
    "attribution_frame",
    "best_strategy",
    "book_arrays",
    "compare_strategies",
]
