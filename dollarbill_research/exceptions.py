"""The one error tree of dollarbill-research.

Every error a user can trigger derives from :class:`DollarbillError`. Messages say what was
found where (class and field, symbol and timestamp, file and row) and end with a hint.
Rejected trades and limit warnings are *data* (reason codes), never exceptions.
"""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "ConfigError",
    "DataError",
    "DollarbillError",
    "DollarbillWarning",
    "StateError",
]


class DollarbillError(Exception):
    """Base class of every error raised by dollarbill-research."""


class ConfigError(DollarbillError, ValueError):
    """A configuration field is missing, of the wrong type or out of range.

    The message names the class, the field, the value and the allowed range, e.g.
    ``PortfolioConfig.max_position_pct=150.0 must be in (0, 100]``.
    """


class DataError(DollarbillError, ValueError):
    """Input market data is unusable; the message names symbol, row or timestamp, and column."""


class StateError(DollarbillError, RuntimeError):
    """A saved state file is corrupt, from another version, or does not match the config."""


class BrokerError(DollarbillError, RuntimeError):
    """A broker call failed or returned something inconsistent."""


class DollarbillWarning(UserWarning):
    """Something ran but probably not as meant (e.g. a sweep whose rows are all identical)."""
