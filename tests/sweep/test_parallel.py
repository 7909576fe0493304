"""Threaded chunked execution and the once-per-key cache, with trivial callables."""

from __future__ import annotations

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep._parallel import (
    KeyedOnce,
    check_chunk_size,
    resolve_n_jobs,
    run_chunked,
)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 40),
    n_jobs=st.integers(1, 4),
    chunk=st.integers(1, 7),
)
def test_results_in_task_order(n: int, n_jobs: int, chunk: int) -> None:
    tasks = list(range(n))
    out = list(run_chunked(tasks, lambda x: x * x, n_jobs=n_jobs, chunk_size=chunk, progress=False))
    assert out == [x * x for x in tasks]


def test_at_most_one_chunk_in_flight() -> None:
    lock = threading.Lock()
    state = {"running": 0, "peak": 0, "started": 0}
    chunk = 3
    consumed: list[int] = []

    def work(x: int) -> int:
        with lock:
            state["running"] += 1
            state["started"] += 1
            state["peak"] = max(state["peak"], state["running"])
            started = state["started"]
        # no task beyond the current chunk may start before the previous chunk is consumed
        assert started <= (len(consumed) // chunk + 1) * chunk
        time.sleep(0.002)
        with lock:
            state["running"] -= 1
        return x

    for x in run_chunked(list(range(20)), work, n_jobs=4, chunk_size=chunk, progress=False):
        consumed.append(x)
    assert consumed == list(range(20))
    assert state["peak"] <= chunk


def test_threads_really_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def work(x: int) -> int:
        barrier.wait()  # deadlocks (then times out) unless two tasks run at once
        return x

    assert list(run_chunked([1, 2], work, n_jobs=2, chunk_size=2, progress=False)) == [1, 2]


def test_progress_bar_counts_every_task(capsys: pytest.CaptureFixture[str]) -> None:
    out = list(run_chunked(list(range(5)), str, n_jobs=2, chunk_size=2, progress=True, desc="t"))
    assert out == ["0", "1", "2", "3", "4"]
    err = capsys.readouterr().err
    assert "5/5" in err
    assert "cfg/s" in err


def test_n_jobs_and_chunk_size_validation() -> None:
    assert resolve_n_jobs(None) == (os.cpu_count() or 1)
    assert resolve_n_jobs(-1) == (os.cpu_count() or 1)
    assert resolve_n_jobs(3) == 3
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="n_jobs"):
            resolve_n_jobs(bad)  # type: ignore[arg-type]
    assert check_chunk_size(8) == 8
    with pytest.raises(ConfigError, match="chunk_size"):
        check_chunk_size(0)


def test_keyed_once_computes_each_key_once_and_releases() -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def compute(key: object) -> str:
        with lock:
            calls.append(str(key))
        time.sleep(0.01)
        return f"v{key}"

    cache: KeyedOnce[str] = KeyedOnce(compute, {"a": 3, "b": 1})
    tasks = ["a", "a", "b", "a"]

    def use(key: str) -> str:
        value = cache.get(key)
        cache.release(key)
        return value

    out = list(run_chunked(tasks, use, n_jobs=4, chunk_size=4, progress=False))
    assert out == ["va", "va", "vb", "va"]
    assert sorted(calls) == ["a", "b"]
    assert cache.computed == 2
    assert cache.alive() == 0
