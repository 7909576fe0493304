"""dollarbill-research: vectorized options and equity backtesting with portfolio management."""

from __future__ import annotations

from dollarbill_research.exceptions import (
    BrokerError,
    ConfigError,
    DataError,
    DollarbillError,
    StateError,
)

__version__ = "0.1.0"

__all__ = [
    "BrokerError",
    "ConfigError",
    "DataError",
    "DollarbillError",
    "StateError",
    "__version__",
]
