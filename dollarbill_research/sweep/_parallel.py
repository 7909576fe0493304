"""Chunked, threaded execution with a progress bar, and a once-per-key cache for shared work.

The backtest driver is compiled with ``nogil=True``, so threads running it use every core
without copying the market data. Tasks are submitted one chunk at a time: only the outputs of
the chunk in flight are alive, which bounds memory whatever the grid size.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from dollarbill_research.exceptions import ConfigError

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")

__all__ = ["KeyedOnce", "resolve_n_jobs", "run_chunked"]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Number of worker threads: ``None`` or ``-1`` = all cores, else ``n_jobs >= 1``."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"sweep n_jobs={n_jobs!r} must be an int >= 1, or -1/None for all cores")
    return n_jobs


def check_chunk_size(chunk_size: int) -> int:
    """Validate ``chunk_size`` (configurations held in memory at once)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"sweep chunk_size={chunk_size!r} must be an int >= 1")
    return chunk_size


def run_chunked(
    tasks: Sequence[T],
    fn: Callable[[T], R],
    *,
    n_jobs: int,
    chunk_size: int,
    progress: bool,
    desc: str = "sweep",
) -> Iterator[R]:
    """Yield ``fn(task)`` for every task, in task order, ``n_jobs`` threads at a time.

    Parameters
    ----------
    tasks : sequence
        Work items; ``fn`` must not raise for an ordinary failure (return an error value).
    fn : callable
        Called on worker threads; should spend its time in ``nogil`` compiled code.
    n_jobs : int
        Worker threads (1 runs inline, on the calling thread).
    chunk_size : int
        Tasks submitted at once; results of a chunk are yielded before the next is submitted.
    progress : bool
        Show a ``tqdm.auto`` bar (notebook-friendly) with configurations per second.
    """
    bar = _progress_bar(len(tasks), progress, desc)
    try:
        if n_jobs == 1:
            for task in tasks:
                out = fn(task)
                bar.update(1)
                yield out
            return
        with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="dollarbill-sweep") as pool:
            for start in range(0, len(tasks), chunk_size):
                chunk = tasks[start : start + chunk_size]
                futures = [pool.submit(fn, task) for task in chunk]
                for future in futures:
                    out = future.result()
                    bar.update(1)
                    yield out
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool, desc: str) -> _NoBar:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="cfg", smoothing=0.1)  # type: ignore[return-value]


class KeyedOnce(Generic[V]):
    """Compute a value once per key across threads, and drop it after its last use.

    ``uses`` tells how many tasks need each key; :meth:`get` computes the value on the first
    call (other threads asking for the same key wait for it) and :meth:`release` forgets it
    after the last task is done, so only the keys of the tasks in flight stay in memory.
    """

    def __init__(self, compute: Callable[[Hashable], V], uses: dict[Hashable, int]) -> None:
        self._compute = compute
        self._uses = dict(uses)
        self._values: dict[Hashable, V] = {}
        self._locks: dict[Hashable, threading.Lock] = {k: threading.Lock() for k in uses}
        self._guard = threading.Lock()
        self.computed = 0

    def get(self, key: Hashable) -> V:
        """The value for ``key``, computing it if no thread has yet."""
        with self._locks[key]:
            if key not in self._values:
                self._values[key] = self._compute(key)
                with self._guard:
                    self.computed += 1
            return self._values[key]

    def release(self, key: Hashable) -> None:
        """Mark one use of ``key`` done; forget the value after the last one."""
        with self._guard:
            self._uses[key] -= 1
            if self._uses[key] == 0:
                self._values.pop(key, None)

    def alive(self) -> int:
        """Number of values currently held."""
        return len(self._values)
