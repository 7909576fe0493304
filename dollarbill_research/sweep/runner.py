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
import os
import time
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import polars as pl

from dollarbill_research.backtesting.annualisation import infer_bars_per_year
from dollarbill_research.backtesting.metrics import Metrics
from dollarbill_research.data.panel import with_input_timestamps
from dollarbill_research.exceptions import ConfigError, DollarbillWarning
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
from dollarbill_research.sweep.returns import DEFAULT_BUDGET_MB, ReturnsSink, simple_returns32

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
    returns: np.ndarray | None = None  # float32 per-bar returns (keep_returns)
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
    keep_returns: bool | str | os.PathLike[str] = False,
    returns_budget_mb: float = DEFAULT_BUDGET_MB,
    ray_timeout: float = 30.0,
    ray_numba_cache_dir: str | None = "auto",
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
    keep_returns : bool or path
        Keep every configuration's per-bar returns as one float32 (bars x configurations)
        array (``result.returns``; ``4 x n_bars x n_configs`` bytes: 10 MB for 1,000
        configurations of 2,520 bars), for :meth:`SweepResult.deflated_sharpe` and
        :meth:`SweepResult.pbo`; the frame then also has ``psr``, ``dsr`` and
        ``dsr_effective`` columns (:func:`~dollarbill_research.sweep.overfitting.deflated_sharpe`).
        A path memory-maps the array to that file (see :mod:`dollarbill_research.sweep.returns`).
    returns_budget_mb : float
        With ``keep_returns=True``, above this size the array is memory-mapped to a temporary
        file instead of held in memory.
    ray_timeout : float
        Seconds to wait for the cluster at ``ray_address`` before a :class:`ConfigError`.
    ray_numba_cache_dir : str or None
        ``NUMBA_CACHE_DIR`` of the Ray workers (a writable folder on every node); ``"auto"``
        picks one (see :func:`~dollarbill_research.sweep.ray_runner.worker_runtime_env`).
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
    if not isinstance(keep_returns, bool | str | os.PathLike):
        raise ConfigError(f"sweep keep_returns={keep_returns!r} must be True/False or a file path")
    if backend == "ray":
        from dollarbill_research.sweep.ray_runner import check_timeout, worker_runtime_env

        check_timeout(ray_timeout)
        worker_runtime_env(ray_numba_cache_dir)  # validates the option before the run

    from dollarbill_research.backtesting import streaming as _streaming

    if streaming is None and _streaming.is_stream_source(data):
        budget = _streaming.DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
        streaming = _streaming.estimated_memory(data) > budget  # type: ignore[arg-type]
    if streaming:
        from dollarbill_research.sweep.streaming import sweep_streaming

        if keep_returns is not False:
            raise ConfigError(
                "sweep keep_returns is not available for a streaming sweep yet; hint: run the "
                "sweep in memory (streaming=False) to get the deflated Sharpe ratio and PBO"
            )

        return sweep_streaming(
            data, strategy, grid, backtest_config=backtest_config,
            portfolio_config=portfolio_config, mode=mode, n_jobs=workers, keep_best=keep_best,
            metric=metric, backend=backend, ray_address=ray_address, chunk_bars=chunk_bars,
            memory_budget=memory_budget, ray_timeout=ray_timeout,
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
    sink = None
    if keep_returns is not False:
        sink = ReturnsSink(
            plan.panel.timestamps, len(plan.configurations), keep_returns, returns_budget_mb
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
            sink=sink,
            timeout_s=ray_timeout,
            numba_cache_dir=ray_numba_cache_dir,
        )
    else:
        outcomes, best = run_plan_local(
            plan,
            n_jobs=workers,
            chunk_size=chunk_size,
            keep_best=keep_best,
            metric=metric,
            progress=progress,
            sink=sink,
        )
    frame = results_frame(plan, outcomes)
    kept = None if sink is None else sink.result()
    if kept is not None:
        from dollarbill_research.sweep.overfitting import with_dsr_columns

        frame = with_dsr_columns(frame, kept)
    identical = warn_if_identical(frame)
    return SweepResult(
        frame=frame,
        curves={
            cid: with_input_timestamps(curve, plan.panel.timestamp_dtype)
            for cid, curve in best.frames().items()
        },
        metric=metric,
        param_names=plan.param_names,
        elapsed_s=time.perf_counter() - start,
        n_jobs=workers,
        backend=backend,
        returns=kept,
        identical_rows=identical,
    )


def warn_if_identical(frame: pl.DataFrame) -> bool:
    """Warn (and return True) when all of a sweep's successful rows (two or more) are the same."""
    ok = frame.filter(pl.col("error").is_null())
    if ok.height < 2:
        return False
    outcome = [*METRIC_COLUMNS, "n_rejections", *REJECTION_COLUMNS]
    if ok.select(outcome).unique().height > 1:
        return False
    warnings.warn(
        f"sweep: all {ok.height} configurations gave identical results (same metrics and "
        "rejections), so the swept parameters changed nothing here; hint: check that they act "
        "in this setup (portfolio parameters need use_portfolio_management=True; limits that "
        "are never reached change nothing)",
        DollarbillWarning,
        stacklevel=3,
    )
    return True


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
    sink: ReturnsSink | None = None,
    keep_returns: bool = False,
) -> tuple[list[Outcome], BestCurves]:
    """Run the configurations ``indices`` (default: all) of ``plan`` on ``n_jobs`` threads.

    Tasks are ordered by signal group so each group's signals live only while needed. An
    equity curve is kept only while its configuration ranks among the best ``keep_best``.

    With ``sink``, each configuration's returns go into it; with ``keep_returns`` and no sink
    (a Ray task), they stay on the outcomes.

    Returns
    -------
    tuple
        Outcomes in the order of ``indices`` (without curves), and the kept best curves.
    """
    want_returns = keep_returns or sink is not None
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
            return _run_configuration(
                plan.configurations[i], cache.get(key), keep_best > 0, want_returns
            )
        finally:
            cache.release(key)

    done: dict[int, Outcome] = {}
    for out in run_chunked(runnable, work, n_jobs=n_jobs, chunk_size=chunk_size, progress=progress):
        if out.equity is not None and out.metrics is not None:
            score = metric_score(metric, out.metrics[metric])
            if best.wants(score):
                best.offer(out.config_id, score, _timestamps(plan, out.config_id), out.equity)
            out = dataclasses.replace(out, equity=None)  # only kept curves stay in memory
        if sink is not None and out.returns is not None:
            store_returns(plan, sink, out)
            out = dataclasses.replace(out, returns=None)
        done[out.config_id] = out
    outcomes = [done.get(i) or _failed(plan.configurations[i]) for i in order]
    return outcomes, best


def store_returns(plan: SweepPlan, sink: ReturnsSink, out: Outcome) -> None:
    """Put one outcome's returns into ``sink``, aligned on the data's timestamps."""
    cfg = plan.configurations[out.config_id]
    ts = None if cfg.symbols is None else _timestamps(plan, out.config_id)
    bt = cfg.backtest
    bars_per_year = bt.bars_per_year  # type: ignore[union-attr]
    if bars_per_year is None:  # inferred from the bars, as the engine does
        bars_per_year = infer_bars_per_year(plan.panel.timestamps if ts is None else ts)
    sink.put(out.config_id, out.returns, ts, bt.risk_free_rate, bars_per_year)  # type: ignore[arg-type, union-attr]


def run_plan_chunk(
    plan: SweepPlan,
    indices: Sequence[int],
    n_jobs: int,
    keep_best: int,
    metric: str,
    keep_returns: bool = False,
) -> tuple[list[Outcome], BestCurves]:
    """Run some configurations of a plan without a progress bar (the Ray task body).

    Arrays that come out of Ray's object store are read-only; the panel is copied once here
    when it is, so the kernels see the (writable) argument types they were compiled for.
    """
    return run_plan_local(
        writable_plan(plan),
        n_jobs=n_jobs,
        chunk_size=max(1, len(indices)),
        keep_best=keep_best,
        metric=metric,
        progress=False,
        indices=indices,
        keep_returns=keep_returns,
    )


def writable_plan(plan: SweepPlan) -> SweepPlan:
    """``plan`` itself, or a copy whose panel arrays are writable when some are read-only."""
    panel = plan.panel
    arrays = {
        f.name: getattr(panel, f.name)
        for f in fields(panel)
        if isinstance(getattr(panel, f.name), np.ndarray)
    }
    if all(a.flags.writeable for a in arrays.values()):
        return plan
    copies = {k: np.array(a, copy=True) for k, a in arrays.items() if not a.flags.writeable}
    return dataclasses.replace(plan, panel=dataclasses.replace(panel, **copies))


def _failed(cfg: Configuration) -> Outcome:
    return Outcome(cfg.index, None, None, None, cfg.error)


def _run_configuration(
    cfg: Configuration, group: GroupData, keep_curve: bool, keep_returns: bool = False
) -> Outcome:
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
        simple_returns32(equity) if keep_returns else None,
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
