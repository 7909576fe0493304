"""One configuration through the engine's own entry points, keeping only what a sweep row needs.

:meth:`BacktestEngine.run` builds frames (trades, rejections, equity, attribution) that a sweep
does not keep; this calls the same lower-level functions (``kernel_params``, ``simulate``) and
computes the metrics from the raw records with the engine's own
:func:`~dollarbill_research.backtesting.result.records_metrics` (tests/sweep/test_runner.py checks
every row against the engine).
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.backtesting.engine import BacktestEngine, simulate
from dollarbill_research.backtesting.metrics import Metrics
from dollarbill_research.backtesting.result import records_metrics
from dollarbill_research.data.panel import Panel
from dollarbill_research.kernels.codes import (
    BA_UNREDUCIBLE,
    R_CONCENTRATION,
    R_DELTA,
    R_GAMMA,
    R_SECTOR,
    R_VAR,
    R_VEGA,
    REASON_NAMES,
)
from dollarbill_research.strategies.base import Signals

__all__ = ["BREACH_COLUMNS", "breach_counts", "simulate_configuration"]

#: Breach counts of a sweep row (issue 11): all breaches, per limited exposure, and those the
#: policy could not bring back inside (the breaches frame of a run, counted).
_BREACH_BITS = (R_DELTA, R_GAMMA, R_VEGA, R_CONCENTRATION, R_SECTOR, R_VAR)
BREACH_COLUMNS: tuple[str, ...] = (
    "n_breaches",
    *(f"breaches_{REASON_NAMES[b]}" for b in _BREACH_BITS),
    "n_unreducible",
)


def breach_counts(rec: np.ndarray | None) -> np.ndarray:
    """int64 counts in :data:`BREACH_COLUMNS` order from breach records (``BREACH_DTYPE``)."""
    out = np.zeros(len(BREACH_COLUMNS), dtype=np.int64)
    if rec is None or rec.size == 0:
        return out
    out[0] = rec.size
    for i, b in enumerate(_BREACH_BITS):
        out[1 + i] = int(np.count_nonzero(rec["exposure"] == b))
    out[-1] = int(np.count_nonzero(rec["action"] == BA_UNREDUCIBLE))
    return out


def simulate_configuration(
    panel: Panel, signals: Signals, backtest: object, portfolio: object
) -> tuple[Metrics, np.ndarray, np.ndarray]:
    """Backtest one configuration on checked signals.

    Returns
    -------
    tuple
        ``(metrics, equity float64 (n_bars,), rejection reason masks int64 (n_rejections,))``.

    Raises
    ------
    ConfigError
        A config fails its validation (the sweep turns it into the row's error).
    """
    metrics, equity, reasons, _breaches = simulate_configuration_full(
        panel, signals, backtest, portfolio
    )
    return metrics, equity, reasons


def simulate_configuration_full(
    panel: Panel, signals: Signals, backtest: object, portfolio: object
) -> tuple[Metrics, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulate_configuration` plus the row's :func:`breach_counts`."""
    engine = BacktestEngine(backtest, portfolio)  # type: ignore[arg-type]
    config = engine.config
    names = tuple(signals.strategies)
    bp, pp, capacity = engine.kernel_params(len(names), names)
    raw = simulate(panel, signals, bp, pp, capacity, engine.allocation_arrays(names))
    metrics = records_metrics(raw, panel.timestamps, config)
    equity = np.ascontiguousarray(raw.equity["equity"])
    reasons = np.ascontiguousarray(raw.rejections["reason"])
    return metrics, equity, reasons, breach_counts(raw.breaches)
