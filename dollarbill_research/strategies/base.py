"""The strategy interface: frames in, a :class:`Signals` block out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.data.panel import Panel


@dataclass(frozen=True, slots=True)
class Signals:
    """Entry and exit signals of one or more strategies over a panel.

    Attributes
    ----------
    strategies : tuple of str
        Strategy names as used in reasons and output lines (``"Momentum"``, ``"Iron Condor"``).
    signal : numpy.ndarray
        int8 ``(n_strategies, n_bars, n_symbols)`` of ``SIG_*`` codes
        (:mod:`dollarbill_research.kernels.codes`). A signal on bar ``t`` uses data up to and
        including bar ``t`` and is filled at bar ``t``'s close at the earliest.
    confidence : numpy.ndarray
        float64, same shape, in ``[0, 1]`` (0 where there is no signal).
    templates : numpy.ndarray
        float64 ``(n_strategies, 2, TEMPLATE_LEN)``: the instrument opened on ``SIG_LONG``
        (index 0) and on ``SIG_SHORT`` (index 1).
    """

    strategies: tuple[str, ...]
    signal: np.ndarray
    confidence: FloatArray
    templates: FloatArray

    @property
    def n_strategies(self) -> int:
        """Number of strategies stacked in this block."""
        return len(self.strategies)


@runtime_checkable
class Strategy(Protocol):
    """Anything that turns a validated bar frame and its panel into :class:`Signals`."""

    name: str

    def signals(self, frame: pl.DataFrame, panel: Panel) -> Signals:
        """Compute the signals for every symbol and bar of ``panel``."""
        ...
