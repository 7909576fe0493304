"""dollarbill-research: vectorized options and equity backtesting with portfolio management.

The names most sessions need are re-exported here; each lives in its subpackage
(:mod:`~dollarbill_research.data`, :mod:`~dollarbill_research.pricing`,
:mod:`~dollarbill_research.portfolio`, :mod:`~dollarbill_research.backtesting`,
:mod:`~dollarbill_research.strategies`, :mod:`~dollarbill_research.live`).
"""

from __future__ import annotations

from dollarbill_research import _compile_notice

_compile_notice.install()  # one line on stderr when kernels first compile into an empty cache

# ruff: noqa: E402
from dollarbill_research.backtesting import (
    BacktestConfig,
    BacktestEngine,
    BacktestResult,
    Metrics,
    compare,
    compute_metrics,
)
from dollarbill_research.data import (
    Panel,
    load_bars,
    load_csv,
    load_parquet,
    panel_to_frame,
    synthetic_universe,
    to_panel,
    validate_bars,
)
from dollarbill_research.exceptions import (
    BrokerError,
    ConfigError,
    DataError,
    DollarbillError,
    StateError,
)
from dollarbill_research.live import Decisions, LivePortfolio
from dollarbill_research.plotting import plot_heatmap, plot_sizing_comparison
from dollarbill_research.portfolio import (
    AllocationMethod,
    Candidate,
    Decision,
    PortfolioConfig,
    PortfolioManager,
    Position,
    PositionSizer,
    RiskAnalyzer,
    RiskLimits,
    SizingMethod,
    StrategyAllocator,
    attribution_frame,
    best_strategy,
    compare_strategies,
)
from dollarbill_research.pricing import Greeks, bs_greeks, bs_price, implied_vol
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    Combined,
    IronCondor,
    MeanReversion,
    Momentum,
    PersonalityStrategy,
    ShortStrangle,
    Signals,
    Strategy,
    VolatilityArbitrage,
    VolatilityMeanReversion,
    classify,
)
from dollarbill_research.sweep import Grid, SweepResult

__version__ = "0.1.0"

__all__ = [
    "AllocationMethod",
    "BacktestConfig",
    "BacktestEngine",
    "BacktestResult",
    "Breakout",
    "BrokerError",
    "Candidate",
    "CashSecuredPuts",
    "Combined",
    "ConfigError",
    "DataError",
    "Decision",
    "Decisions",
    "DollarbillError",
    "Greeks",
    "Grid",
    "IronCondor",
    "LivePortfolio",
    "MeanReversion",
    "Metrics",
    "Momentum",
    "Panel",
    "PersonalityStrategy",
    "PortfolioConfig",
    "PortfolioManager",
    "Position",
    "PositionSizer",
    "RiskAnalyzer",
    "RiskLimits",
    "ShortStrangle",
    "Signals",
    "SizingMethod",
    "StateError",
    "Strategy",
    "StrategyAllocator",
    "SweepResult",
    "VolatilityArbitrage",
    "VolatilityMeanReversion",
    "__version__",
    "attribution_frame",
    "best_strategy",
    "bs_greeks",
    "bs_price",
    "classify",
    "compare",
    "compare_strategies",
    "compute_metrics",
    "implied_vol",
    "load_bars",
    "load_csv",
    "load_parquet",
    "panel_to_frame",
    "plot_heatmap",
    "plot_sizing_comparison",
    "synthetic_universe",
    "to_panel",
    "validate_bars",
]
