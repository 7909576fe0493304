"""The same sweep on a Ray cluster: the plan is placed once in the object store, tasks per chunk.

``sweep(..., backend="ray")`` plans the sweep on the driver exactly as the local backend does,
places the plan (validated frame, panel arrays, configurations) once with ``ray.put``, and
submits one task per chunk of configurations. Chunks are cut along signal groups, so a task
computes each of its groups' signals once and runs its configurations on the worker's threads
with the local runner (``nogil`` driver). Rows are therefore identical to the local backend's.

Ray is an optional dependency (``pip install "dollarbill-research[ray]"``, i.e. ``ray[default]``).
Connect to a cluster with ``ray_address="ray://host:10001"`` or ``"host:6379"``; without an
address, an already-initialised Ray is used, else a local one is started for the sweep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep._parallel import _progress_bar
from dollarbill_research.sweep.plan import SweepPlan
from dollarbill_research.sweep.result import BestCurves

__all__ = ["chunk_indices", "run_plan_on_ray"]


def chunk_indices(plan: SweepPlan, chunk_size: int) -> list[list[int]]:
    """Split the runnable configurations into chunks that follow signal groups.

    Configurations of one group stay together (split only past ``chunk_size``), and small
    groups are packed into one chunk up to ``chunk_size``. Failed configurations are not sent.
    """
    groups: dict[Hashable, list[int]] = {}
    for cfg, key in zip(plan.configurations, plan.group_keys, strict=True):
        if cfg.error is None:
            groups.setdefault(key, []).append(cfg.index)
    chunks: list[list[int]] = []
    current: list[int] = []
    for members in groups.values():
        for start in range(0, len(members), chunk_size):
            part = members[start : start + chunk_size]
            if current and len(current) + len(part) > chunk_size:
                chunks.append(current)
                current = []
            current.extend(part)
    if current:
        chunks.append(current)
    return chunks


def run_plan_on_ray(
    plan: SweepPlan,
    *,
    n_cpus: int | None,
    chunk_size: int,
    keep_best: int,
    metric: str,
    progress: bool,
    address: str | None,
    sink: Any = None,
) -> tuple[list[Any], BestCurves]:
    """Run every configuration of ``plan`` as Ray tasks; return outcomes in grid order.

    Parameters
    ----------
    n_cpus : int, optional
        CPUs (threads) per task; ``None`` = 1 (Ray then runs one task per cluster CPU).
    chunk_size : int
        Configurations per task.
    sink : ReturnsSink, optional
        Receives each configuration's returns (``keep_returns``); tasks send them back.
    """
    from dollarbill_research.sweep.runner import _failed, store_returns

    ray = _import_ray()
    started_here = False
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        started_here = address is None
    try:
        threads = 1 if n_cpus is None or n_cpus == -1 else n_cpus
        plan_ref = ray.put(plan)
        task = ray.remote(num_cpus=threads)(_ray_chunk)
        chunks = chunk_indices(plan, chunk_size)
        pending = {
            task.remote(plan_ref, idx, threads, keep_best, metric, sink is not None): len(idx)
            for idx in chunks
        }
        best = BestCurves(keep_best, metric)
        done: dict[int, Any] = {}
        bar = _progress_bar(sum(pending.values()), progress, "sweep[ray]")
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    outcomes, chunk_best = ray.get(ref)
                    bar.update(pending.pop(ref))
                    for out in outcomes:
                        if sink is not None and out.returns is not None:
                            store_returns(plan, sink, out)
                            out = dataclasses.replace(out, returns=None)
                        done[out.config_id] = out
                    for score, neg_id, ts, eq in chunk_best._heap:
                        best.offer(-neg_id, score, ts, eq)
        finally:
            bar.close()
    finally:
        if started_here:
            ray.shutdown()
    return [done.get(cfg.index) or _failed(cfg) for cfg in plan.configurations], best


def _ray_chunk(
    plan: SweepPlan,
    indices: list[int],
    threads: int,
    keep_best: int,
    metric: str,
    keep_returns: bool = False,
) -> tuple[list[Any], BestCurves]:
    from dollarbill_research.sweep.runner import run_plan_chunk

    return run_plan_chunk(plan, indices, threads, keep_best, metric, keep_returns)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "sweep backend='ray' needs Ray; hint: pip install 'dollarbill-research[ray]' "
            "(ray[default])"
        ) from exc
    return ray
