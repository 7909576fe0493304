"""The same sweep on a Ray cluster: the plan is placed once in the object store, tasks per chunk.

``sweep(..., backend="ray")`` plans the sweep on the driver exactly as the local backend does,
places the plan (validated frame, panel arrays, configurations) once with ``ray.put``, and
submits one task per chunk of configurations. Chunks are cut along signal groups, so a task
computes each of its groups' signals once and runs its configurations on the worker's threads
with the local runner (``nogil`` driver). Rows are therefore identical to the local backend's.

Ray is an optional dependency (``pip install "dollarbill-research[ray]"``, i.e. ``ray[default]``).
Connect to a cluster with ``ray_address="ray://host:10001"`` or ``"host:6379"``; without an
address, an already-initialised Ray is used, else a local one is started for the sweep.

Robustness
----------
* **Connecting** has a deadline (``ray_timeout``, default 30 s): the address is probed over TCP
  first (nothing listening fails at once), then ``ray.init`` runs under a watchdog. Either
  failure is a :class:`ConfigError` naming the address, with the usual causes in its hint
  (Ray >= 2.59 heads use token authentication: the client needs ``RAY_AUTH_MODE=token``).
* **numba caches on workers**: tasks run with ``runtime_env={"env_vars": {"NUMBA_CACHE_DIR":
  ...}}`` pointing at a writable folder (see :func:`worker_runtime_env`), so a worker whose
  installed package is read-only still caches its compiled kernels.
* **Read-only inputs**: arrays fetched from the object store are read-only views of shared
  memory; the chunk runner copies the panel once per task (``O(bars x symbols)``) so that the
  kernels see the argument types they were compiled and cached for.
* **Failures**: a task is retried by Ray (``max_retries``); a chunk that still fails becomes
  error rows (``RayError: ...``) and the rest of the sweep completes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep._parallel import _progress_bar
from dollarbill_research.sweep.plan import SweepPlan
from dollarbill_research.sweep.result import BestCurves

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "chunk_indices",
    "connect",
    "run_plan_on_ray",
    "worker_runtime_env",
]

#: Seconds to wait for a Ray cluster to answer before giving up with a ConfigError.
DEFAULT_TIMEOUT_S = 30.0
#: Ray retries of a task whose worker died, before its chunk becomes error rows.
MAX_RETRIES = 2
_HINT = (
    "hint: start a head with 'ray start --head --port=6379' and check the address; Ray >= 2.59 "
    "heads use token authentication, so set RAY_AUTH_MODE=token here too (with RAY_AUTH_TOKEN or "
    "the head's ~/.ray/auth_token); a head started with --node-ip-address=127.0.0.1 also needs "
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 here; or raise ray_timeout (see the README)"
)


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
    timeout_s: float = DEFAULT_TIMEOUT_S,
    numba_cache_dir: str | None = "auto",
    max_retries: int = MAX_RETRIES,
) -> tuple[list[Any], BestCurves]:
    """Run every configuration of ``plan`` as Ray tasks; return outcomes in grid order.

    Parameters
    ----------
    n_cpus : int, optional
        CPUs (threads) per task; ``None`` = 1 (Ray then runs one task per cluster CPU).
    chunk_size : int
        Configurations per task.
    address : str, optional
        Cluster address; None uses a running Ray or starts a local one.
    timeout_s : float
        Deadline for connecting to ``address`` (see :func:`connect`).
    numba_cache_dir : str or None
        Workers' ``NUMBA_CACHE_DIR`` (see :func:`worker_runtime_env`).
    max_retries : int
        Ray retries of a task whose worker died.
    sink : ReturnsSink, optional
        Receives each configuration's returns (``keep_returns``); tasks send them back.
    """
    from dollarbill_research.sweep.runner import _failed, store_returns

    ray = _import_ray()
    started_here = connect(ray, address, timeout_s)
    try:
        threads = 1 if n_cpus is None or n_cpus == -1 else n_cpus
        plan_ref = ray.put(plan)
        options: dict[str, Any] = {"num_cpus": threads, "max_retries": max_retries}
        env = worker_runtime_env(numba_cache_dir)
        if env:
            options["runtime_env"] = env
        task = ray.remote(**options)(_ray_chunk)
        chunks = chunk_indices(plan, chunk_size)
        pending = {
            task.remote(plan_ref, idx, threads, keep_best, metric, sink is not None): idx
            for idx in chunks
        }
        best = BestCurves(keep_best, metric)
        done: dict[int, Any] = {}
        bar = _progress_bar(sum(len(idx) for idx in pending.values()), progress, "sweep[ray]")
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    indices = pending.pop(ref)
                    bar.update(len(indices))
                    try:
                        outcomes, chunk_best = ray.get(ref)
                    except Exception as exc:  # the task failed after Ray's retries
                        for i in indices:
                            done[i] = _chunk_failed(i, exc)
                        continue
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


def _chunk_failed(config_id: int, exc: BaseException) -> Any:
    from dollarbill_research.sweep.runner import Outcome

    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = lines[-1] if lines else type(exc).__name__
    return Outcome(config_id, None, None, None, f"RayError: {type(exc).__name__}: {detail}")


def worker_runtime_env(numba_cache_dir: str | None = "auto") -> dict[str, Any]:
    """The ``runtime_env`` of the sweep's tasks: where workers cache compiled kernels.

    Parameters
    ----------
    numba_cache_dir : str or None
        A folder path: workers use it as ``NUMBA_CACHE_DIR`` (it must be writable on every
        node; each node keeps its own cache there). ``"auto"`` (default): the driver's own
        ``NUMBA_CACHE_DIR`` when set; else nothing when this package's folder is writable (a
        development install: workers on this machine share its warm in-tree cache); else
        ``<tempdir>/dollarbill-numba-cache``. None: leave workers to numba's default.

    Examples
    --------
    >>> worker_runtime_env("/scratch/numba")
    {'env_vars': {'NUMBA_CACHE_DIR': '/scratch/numba'}}
    >>> worker_runtime_env(None)
    {}
    """
    if numba_cache_dir is None:
        return {}
    if numba_cache_dir == "auto":
        if os.environ.get("NUMBA_CACHE_DIR"):
            numba_cache_dir = os.environ["NUMBA_CACHE_DIR"]
        elif os.access(Path(__file__).resolve().parents[1] / "kernels", os.W_OK):
            return {}
        else:
            numba_cache_dir = os.path.join(tempfile.gettempdir(), "dollarbill-numba-cache")
    if not isinstance(numba_cache_dir, str) or not numba_cache_dir:
        raise ConfigError(
            f"sweep ray_numba_cache_dir={numba_cache_dir!r} must be a folder path, 'auto' or None"
        )
    return {"env_vars": {"NUMBA_CACHE_DIR": numba_cache_dir}}


def check_timeout(timeout_s: object) -> float:
    """Validate ``ray_timeout`` (seconds, finite, > 0)."""
    ok = isinstance(timeout_s, int | float) and not isinstance(timeout_s, bool)
    if not ok or not (math.isfinite(timeout_s) and timeout_s > 0):  # type: ignore[arg-type]
        raise ConfigError(f"sweep ray_timeout={timeout_s!r} must be a number of seconds > 0")
    return float(timeout_s)  # type: ignore[arg-type]


def _host_port(address: str) -> tuple[str, int]:
    text = address.strip()
    for prefix in ("ray://", "http://", "https://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    host, sep, port = text.rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"sweep ray_address={address!r} is not host:port; hint: e.g. '127.0.0.1:6379' "
            "(GCS port) or 'ray://head:10001' (Ray Client)"
        )
    return host.strip("[]"), int(port)


def _probe(address: str, host: str, port: int, deadline: float, timeout_s: float) -> None:
    """Fail fast when nothing listens at ``host:port`` (refused, unresolvable, unreachable)."""
    last: BaseException | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            with socket.create_connection((host, port), timeout=min(remaining, 5.0)):
                return
        except (ConnectionRefusedError, socket.gaierror) as exc:
            last = exc
            break  # nothing listens there (or no such host): waiting will not help
        except OSError as exc:  # timed out or unreachable for now: retry until the deadline
            last = exc
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))
    reason = f"{type(last).__name__}: {last}" if last is not None else "timed out"
    raise ConfigError(
        f"cannot reach the Ray cluster at ray_address={address!r} within {timeout_s:g} s "
        f"({reason}); {_HINT}"
    )


def connect(ray: Any, address: str | None, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """Make sure Ray is initialised; return True when this call started a local Ray.

    With an ``address``, the connection must be up within ``timeout_s`` seconds: a TCP probe
    first (a refused or unresolvable address fails at once), then ``ray.init`` on a watchdog
    thread (Ray itself would retry for minutes, printing ``Failed to connect to GCS``).

    Raises
    ------
    ConfigError
        The address is malformed, unreachable, does not answer as a Ray cluster in time, or
        refuses the connection (e.g. token authentication); the message names the address.
    """
    timeout_s = check_timeout(timeout_s)
    if ray.is_initialized():
        return False
    if address is None:
        ray.init(log_to_driver=False, configure_logging=False)
        return True
    deadline = time.monotonic() + timeout_s
    host, port = _host_port(address)
    _probe(address, host, port, deadline, timeout_s)
    outcome: dict[str, BaseException | None] = {}

    def init() -> None:
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=init, name="dollarbill-ray-connect", daemon=True)
    thread.start()
    thread.join(max(deadline - time.monotonic(), 0.1))
    if "error" not in outcome:
        raise ConfigError(
            f"the Ray cluster at ray_address={address!r} accepted a TCP connection but did not "
            f"answer within {timeout_s:g} s; {_HINT}"
        )
    error = outcome["error"]
    if error is not None:
        with contextlib.suppress(Exception):
            ray.shutdown()
        detail = " ".join(str(error).split())[:300]
        raise ConfigError(
            f"cannot connect to the Ray cluster at ray_address={address!r}: "
            f"{type(error).__name__}: {detail}; {_HINT}"
        )
    return False


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
