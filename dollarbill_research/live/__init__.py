"""Live trading: the stateful adapter over the backtest's step kernel."""

from dollarbill_research.live.portfolio import Decisions, LivePortfolio

__all__ = ["Decisions", "LivePortfolio"]
