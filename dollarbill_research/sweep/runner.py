"""``sweep``: many backtest configurations in one call, in parallel on every core.

How it runs
-----------
1. :func:`~dollarbill_research.sweep.plan.plan_sweep` validates the data once, resolves the grid's
   parameter names (an unknown name raises :class:`ConfigError` listing the valid ones) and
   builds every configuration (one that fails validation becomes a row with its ``error``).
2. Configurations are ordered by *signal group* (same strategy parameters and symbols): each
   group's signals are computed once, by the first thread that needs them, and dropped after
   the group's last configuration, so only the groups in flight are in memory.
3. Worker threads run the compiled backtest driver (``nogil``) for one configuration each,
   ``chunk_size`` configurations at a time, and keep only its metrics and rejection counts
   (plus the equity curve while it ranks among the best ``keep_best``). Memory is therefore
   ``O(chunk_size x n_bars)`` on top of the data, whatever the grid size.
4. A ``tqdm.auto`` progress bar (plain terminal or Jupyter widget) shows configurations/s.

Every row equals what :class:`~dollarbill_research.backtesting.BacktestEngine` gives for that
configuration alone: both call the same driver entry point with the same inputs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import polars as pl

from dollarbill_research.backtesting.metrics import Metrics
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep._parallel import (
    KeyedOnce,
    check_chunk_size,
    resolve_n_jobs,
    run_chunked,
)
from dollarbill_research.sweep.grid import Configuration, Grid
from dollarbill_research.sweep.plan import (
    REJECTION_COLUMNS,
    GroupData,
    SweepPlan,
    group_data,
    plan_sweep,
    rejection_counts,
)
from dollarbill_research.sweep.result import BestCurves, SweepResult, metric_score

__all__ = ["METRIC_COLUMNS", "Outcome", "run_plan_chunk", "sweep"]

#: Metric columns of a sweep frame, in :class:`Metrics` field order.
METRIC_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Metrics))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One configuration's result: its row values and, when wanted, its equity curve."""

    config_id: int
    metrics: dict[str, float | int] | None
    rejections: tuple[int, ...] | None
    n_rejections: int | None
    error: str | None
    equity: np.ndarray | None = None
    breaches: tuple[int, ...] | None = None  # BREACH_COLUMNS counts


def sweep(
    data: object,
    strategy: object,
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    *,
    backtest_config: object | None = None,
    portfolio_config: object | None = None,
    mode: Literal["product", "list"] = "product",
    chunk_size: int = 64,
    n_jobs: int | None = None,
    keep_best: int = 0,
    metric: str = "sharpe_ratio",
    progress: bool = True,
    backend: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    streaming: bool | None = None,
    chunk_bars: int | None = None,
    memory_budget: int | None = None,
) -> SweepResult:
    """Run one backtest per grid configuration and return one row of metrics per configuration.

    Parameters
    ----------
    data : polars.DataFrame, pandas.DataFrame or path
        Long bar frame (or a CSV/Parquet file or folder); validated once.
    strategy : Strategy
        The base strategy; ``strategy.<field>`` grid names vary its (dataclass) parameters.
    grid : dict, list of dicts or Grid
        ``mode="product"``: ``{name: [values]}``, every combination. ``mode="list"``: explicit
        ``[{name: value}, ...]``. Names (see :mod:`dollarbill_research.sweep.grid`):
        ``sizing_method``, ``max_risk_per_trade``, ``max_position_pct``, each ``RiskLimits``
        field (``max_portfolio_delta``, ...), ``use_portfolio_management``,
        ``position_size_pct``, ``strategy.<field>`` (or the bare field when unambiguous),
        ``symbols`` (a list of symbol subsets), or any ``portfolio.``/``backtest.`` field.
    backtest_config, portfolio_config : BacktestConfig, PortfolioConfig, optional
        Base configs (defaults: the classes' defaults) that each configuration modifies.
    mode : {"product", "list"}
        How ``grid`` is read when it is not a :class:`Grid`.
    chunk_size : int
        Configurations in flight at once (bounds memory).
    n_jobs : int, optional
        Worker threads (local) or CPUs requested per Ray task; ``None``/``-1`` = all cores.
    keep_best : int
        Keep the equity curves of the best N configurations by ``metric`` (``result.curves``).
    metric : str
        A :class:`Metrics` field used to rank (``max_drawdown``, ``annual_volatility``,
        ``total_costs`` and ``turnover`` rank lower-is-better).
    progress : bool
        Show a progress bar.
    backend : {"local", "ray"}
        ``"ray"`` runs chunks as Ray tasks (see :mod:`dollarbill_research.sweep.ray_runner`).
    ray_address : str, optional
        Ray cluster address (``backend="ray"``); default: the running/auto-detected cluster.
    streaming : bool, optional
        Stream each configuration from a Parquet / LazyFrame source in time chunks
        (:mod:`dollarbill_research.sweep.streaming`; same rows). Default: when ``data`` is such
        a source whose in-memory run would exceed ``memory_budget``.
    chunk_bars, memory_budget : int, optional
        Streaming settings (see ``BacktestEngine.run_streaming``).

    Returns
    -------
    SweepResult
        ``result.frame`` is the polars frame (see :class:`SweepResult`).

    Raises
    ------
    ConfigError
        Unknown/ambiguous parameter names, a bad grid shape, or bad sweep options. A bad
        *value* in one configuration does not raise: that row carries the error text.
    DataError
        The data cannot be validated.
    """
    if metric not in METRIC_COLUMNS:
        raise ConfigError(f"sweep metric={metric!r} must be one of {', '.join(METRIC_COLUMNS)}")
    if isinstance(keep_best, bool) or not isinstance(keep_best, int) or keep_best < 0:
        raise ConfigError(f"sweep keep_best={keep_best!r} must be an int >= 0")
    chunk_size = check_chunk_size(chunk_size)
    workers = resolve_n_jobs(n_jobs)
    if backend not in ("local", "ray"):
        raise ConfigError(f"sweep backend={backend!r} must be 'local' or 'ray'")
    from dollarbill_research.backtesting import streaming as _streaming

    if streaming is None and _streaming.is_stream_source(data):
        budget = _streaming.DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
        streaming = _streaming.estimated_memory(data) > budget  # type: ignore[arg-type]
    if streaming:
        from dollarbill_research.sweep.streaming import sweep_streaming

        return sweep_streaming(
            data, strategy, grid, backtest_config=backtest_config,
            portfolio_config=portfolio_config, mode=mode, n_jobs=workers, keep_best=keep_best,
            metric=metric, backend=backend, ray_address=ray_address, chunk_bars=chunk_bars,
            memory_budget=memory_budget,
        )  # fmt: skip
    start = time.perf_counter()
    plan = plan_sweep(
        data,
        strategy,
        grid,
        backtest_config=backtest_config,
        portfolio_config=portfolio_config,
        mode=mode,
    )
    if backend == "ray":
        from dollarbill_research.sweep.ray_runner import run_plan_on_ray

        outcomes, best = run_plan_on_ray(
            plan,
            n_cpus=n_jobs,
            chunk_size=chunk_size,
            keep_best=keep_best,
            metric=metric,
            progress=progress,
            address=ray_address,
        )
    else:
        outcomes, best = run_plan_local(
            plan,
            n_jobs=workers,
            chunk_size=chunk_size,
            keep_best=keep_best,
            metric=metric,
            progress=progress,
        )
    return SweepResult(
        frame=results_frame(plan, outcomes),
        curves=best.frames(),
        metric=metric,
        param_names=plan.param_names,
        elapsed_s=time.perf_counter() - start,
        n_jobs=workers,
        backend=backend,
    )


def _timestamps(plan: SweepPlan, config_id: int) -> np.ndarray:
    cfg = plan.configurations[config_id]
    if cfg.symbols is None:
        return plan.panel.timestamps
    mask = np.isin(np.asarray(plan.panel.symbols), np.asarray(cfg.symbols))
    return plan.panel.timestamps[plan.panel.valid[:, mask].any(axis=1)]


def run_plan_local(
    plan: SweepPlan,
    *,
    n_jobs: int,
    chunk_size: int,
    keep_best: int,
    metric: str,
    progress: bool,
    indices: Sequence[int] | None = None,
) -> tuple[list[Outcome], BestCurves]:
    """Run the configurations ``indices`` (default: all) of ``plan`` on ``n_jobs`` threads.

    Tasks are ordered by signal group so each group's signals live only while needed. An
    equity curve is kept only while its configuration ranks among the best ``keep_best``.

    Returns
    -------
    tuple
        Outcomes in the order of ``indices`` (without curves), and the kept best curves.
    """
    order = list(range(len(plan.configurations))) if indices is None else list(indices)
    runnable = [i for i in order if plan.configurations[i].error is None]
    uses: dict[Hashable, int] = {}
    for i in runnable:
        uses[plan.group_keys[i]] = uses.get(plan.group_keys[i], 0) + 1
    first_seen = {
        key: n for n, key in enumerate(dict.fromkeys(plan.group_keys[i] for i in runnable))
    }
    runnable.sort(key=lambda i: (first_seen[plan.group_keys[i]], i))
    cache: KeyedOnce[GroupData] = KeyedOnce(lambda key: group_data(plan, key), uses)
    best = BestCurves(keep_best, metric)

    def work(i: int) -> Outcome:
        key = plan.group_keys[i]
        try:
            return _run_configuration(plan.configurations[i], cache.get(key), keep_best > 0)
        finally:
            cache.release(key)

    done: dict[int, Outcome] = {}
    for out in run_chunked(runnable, work, n_jobs=n_jobs, chunk_size=chunk_size, progress=progress):
        if out.equity is not None and out.metrics is not None:
            score = metric_score(metric, out.metrics[metric])
            if best.wants(score):
                best.offer(out.config_id, score, _timestamps(plan, out.config_id), out.equity)
            out = dataclasses.replace(out, equity=None)  # only kept curves stay in memory
        done[out.config_id] = out
    outcomes = [done.get(i) or _failed(plan.configurations[i]) for i in order]
    return outcomes, best


def run_plan_chunk(
    plan: SweepPlan, indices: Sequence[int], n_jobs: int, keep_best: int, metric: str
) -> tuple[list[Outcome], BestCurves]:
    """Run some configurations of a plan without a progress bar (the Ray task body)."""
    return run_plan_local(
        plan,
        n_jobs=n_jobs,
        chunk_size=max(1, len(indices)),
        keep_best=keep_best,
        metric=metric,
        progress=False,
        indices=indices,
    )


def _failed(cfg: Configuration) -> Outcome:
    return Outcome(cfg.index, None, None, None, cfg.error)


def _run_configuration(cfg: Configuration, group: GroupData, keep_curve: bool) -> Outcome:
    if group.error is not None:
        return Outcome(cfg.index, None, None, None, group.error)
    from dollarbill_research.sweep._simulate import simulate_configuration_full

    try:
        metrics, equity, reasons, breaches = simulate_configuration_full(
            group.panel, group.signals, cfg.backtest, cfg.portfolio
        )
    except (ValueError, TypeError) as exc:
        return Outcome(cfg.index, None, None, None, f"{type(exc).__name__}: {exc}")
    counts = rejection_counts(reasons)
    return Outcome(
        cfg.index,
        metrics.to_dict(),
        tuple(int(c) for c in counts),
        int(reasons.size),
        None,
        equity if keep_curve else None,
        tuple(int(c) for c in breaches),
    )


def results_frame(plan: SweepPlan, outcomes: Sequence[Outcome]) -> pl.DataFrame:
    """Assemble the one-row-per-configuration polars frame (grid order)."""
    columns: dict[str, pl.Series] = {
        "config_id": pl.Series("config_id", [o.config_id for o in outcomes], pl.Int64)
    }
    for name in plan.param_names:
        columns[name] = pl.Series(
            name, [plan.param_values[o.config_id][name] for o in outcomes], strict=False
        )
    for name in METRIC_COLUMNS:
        dtype = pl.Int64 if name == "n_trades" else pl.Float64
        values = [None if o.metrics is None else o.metrics[name] for o in outcomes]
        columns[name] = pl.Series(name, values, dtype, strict=False)
    columns["n_rejections"] = pl.Series(
        "n_rejections", [o.n_rejections for o in outcomes], pl.Int64
    )
    for j, name in enumerate(REJECTION_COLUMNS):
        columns[name] = pl.Series(
            name, [None if o.rejections is None else o.rejections[j] for o in outcomes], pl.Int64
        )
    from dollarbill_research.sweep._simulate import BREACH_COLUMNS

    for j, name in enumerate(BREACH_COLUMNS):
        columns[name] = pl.Series(
            name, [None if o.breaches is None else o.breaches[j] for o in outcomes], pl.Int64
        )
    columns["error"] = pl.Series("error", [o.error for o in outcomes], pl.String)
    return pl.DataFrame(list(columns.values()))
