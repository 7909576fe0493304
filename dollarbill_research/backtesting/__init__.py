"""backtesting."""
