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
from dollarbill_research.strategies.base import Signals

__all__ = ["simulate_configuration"]


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
    engine = BacktestEngine(backtest, portfolio)  # type: ignore[arg-type]
    config = engine.run_config(panel.timestamps)
    bp, pp, capacity = engine.kernel_params(len(signals.strategies), panel.timestamps)
    raw = simulate(panel, signals, bp, pp, capacity)
    metrics = records_metrics(raw, panel.timestamps, config)
    equity = np.ascontiguousarray(raw.equity["equity"])
    return metrics, equity, np.ascontiguousarray(raw.rejections["reason"])
