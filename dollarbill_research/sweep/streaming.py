"""Sweeps over histories larger than memory: every configuration streams from the source.

``sweep(source, ..., streaming=True)`` (or automatically when the source is a LazyFrame /
Parquet path whose in-memory run exceeds the memory budget) plans the grid exactly as the
in-memory sweep does, from the source's symbol list (a cheap first pass, no bars loaded), and
runs each configuration with :meth:`BacktestEngine.run_streaming
<dollarbill_research.backtesting.BacktestEngine.run_streaming>`: local threads share the
budget; on Ray each task opens the Parquet path itself (the data is read from the shared path,
never placed in the object store). Rows equal the in-memory sweep's rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import polars as pl

from dollarbill_research.backtesting.stream_source import (
    DEFAULT_MEMORY_BUDGET,
    StreamSource,
    _universe,
    open_source,
)
from dollarbill_research.backtesting.streaming import run_streaming
from dollarbill_research.data.panel import Panel
from dollarbill_research.data.schema import SYMBOL
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep.grid import Configuration, Grid
from dollarbill_research.sweep.plan import plan_on_panel, rejection_counts
from dollarbill_research.sweep.result import BestCurves, SweepResult, metric_score

__all__ = ["sweep_streaming"]


def _symbols_panel(src: StreamSource) -> Panel:
    uni = _universe(src)
    empty = np.zeros((0, uni.n_symbols))
    return Panel(np.zeros(0, "datetime64[ns]"), uni.symbols, empty, empty, empty, empty, empty,
                 empty, empty.astype(bool), uni.sector_codes, uni.sectors)  # fmt: skip


def run_configuration(
    source: StreamSource | str, cfg: Configuration, chunk_bars: int | None, budget: int,
    keep_curve: bool,
) -> tuple[Any, np.ndarray | None, np.ndarray | None]:  # fmt: skip
    """One configuration streamed from ``source``: ``(Outcome, timestamps, equity)``."""
    from dollarbill_research.backtesting.engine import BacktestEngine
    from dollarbill_research.sweep._simulate import breach_counts
    from dollarbill_research.sweep.runner import Outcome

    src = open_source(source)
    if cfg.symbols is not None:
        scan = src.scan.filter(pl.col(SYMBOL).is_in(list(cfg.symbols)))
        src = StreamSource(scan, src.label, src.path)
    try:
        engine = BacktestEngine(cfg.backtest, cfg.portfolio)  # type: ignore[arg-type]
        res = run_streaming(engine, src, cfg.strategy, chunk_bars=chunk_bars,  # type: ignore[arg-type]
                            memory_budget=budget)  # fmt: skip
    except (ValueError, TypeError) as exc:  # ConfigError / DataError derive from ValueError
        return Outcome(cfg.index, None, None, None, f"{type(exc).__name__}: {exc}"), None, None
    reasons = np.ascontiguousarray(res.raw.rejections["reason"])  # type: ignore[union-attr]
    counts = rejection_counts(reasons)
    breaches = tuple(int(c) for c in breach_counts(res.raw.breaches))  # type: ignore[union-attr]
    out = Outcome(cfg.index, res.metrics.to_dict(), tuple(int(c) for c in counts),
                  int(reasons.size), None, None, breaches=breaches)  # fmt: skip
    if not keep_curve:
        return out, None, None
    stamps = res.raw.equity.shape[0]  # type: ignore[union-attr]
    ts = res.equity["timestamp"].to_numpy() if stamps else np.zeros(0, "datetime64[ns]")  # type: ignore[union-attr]
    return out, ts, np.ascontiguousarray(res.raw.equity["equity"])  # type: ignore[union-attr]


def sweep_streaming(
    source: object,
    strategy: object,
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    *,
    backtest_config: object | None = None,
    portfolio_config: object | None = None,
    mode: Literal["product", "list"] = "product",
    n_jobs: int = 1,
    keep_best: int = 0,
    metric: str = "sharpe_ratio",
    backend: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    chunk_bars: int | None = None,
    memory_budget: int | None = None,
    ray_timeout: float = 30.0,
) -> SweepResult:
    """The streaming sweep (module docstring); arguments as :func:`~.runner.sweep`'s."""
    from dollarbill_research.sweep.runner import _failed, results_frame

    start = time.perf_counter()
    src = open_source(source)  # type: ignore[arg-type]
    if backend == "ray" and src.path is None:
        raise ConfigError(
            "sweep(backend='ray') streams each task from a Parquet path; got a LazyFrame. "
            "Hint: pass the Parquet file or folder (it must be readable by every Ray node)."
        )
    plan = plan_on_panel(None, _symbols_panel(src), strategy, grid,
                         backtest_config=backtest_config, portfolio_config=portfolio_config,
                         mode=mode)  # fmt: skip
    runnable = [c for c in plan.configurations if c.error is None]
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    keep = keep_best > 0
    results: list[tuple[Any, np.ndarray | None, np.ndarray | None]]
    if backend == "ray":
        from dollarbill_research.sweep.ray_runner import _import_ray, connect

        ray = _import_ray()
        started_here = connect(ray, ray_address, ray_timeout)  # a timeout, not a hang
        try:
            task = ray.remote(num_cpus=1)(run_configuration)
            refs = [task.remote(src.path, c, chunk_bars, budget, keep) for c in runnable]
            results = ray.get(refs)
        finally:
            if started_here:
                ray.shutdown()
    else:
        workers = max(1, int(n_jobs))
        share = max(budget // workers, 1 << 24)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda c: run_configuration(src, c, chunk_bars, share, keep),
                                    runnable))  # fmt: skip
    best = BestCurves(keep_best, metric)
    done = {}
    for out, ts, eq in results:
        if eq is not None and out.metrics is not None:
            score = metric_score(metric, out.metrics[metric])
            if best.wants(score):
                best.offer(out.config_id, score, ts, eq)  # type: ignore[arg-type]
        done[out.config_id] = out
    outcomes = [done.get(c.index) or _failed(c) for c in plan.configurations]
    return SweepResult(
        frame=results_frame(plan, outcomes),
        curves=best.frames(),
        metric=metric,
        param_names=plan.param_names,
        elapsed_s=time.perf_counter() - start,
        n_jobs=1 if backend == "ray" else max(1, int(n_jobs)),
        backend=backend,
    )
