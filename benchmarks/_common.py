"""Helpers shared by the benchmark scripts: machine info, timing, memory, fresh-process runs.

A script imports them as ``from _common import ...`` after putting this folder on ``sys.path``
(``sys.path.insert(0, str(Path(__file__).resolve().parent))``), which works both when it runs as
a script and when a compile-time snippet imports it as ``benchmarks.<script>``.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_info() -> str:
    """One line per fact: CPU, cores, load, Python and library versions."""
    import numba
    import numpy
    import polars

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"machine: {cpu}, {os.cpu_count()} logical cores, load average "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (other jobs share the cores when > cores)\n"
        f"python {platform.python_version()}, numpy {numpy.__version__}, numba "
        f"{numba.__version__}, polars {polars.__version__}"
    )


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float], float]:
    """Median wall seconds of ``repeats`` calls, all timings, and CPU/wall ratio of the runs."""
    times = []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ratio = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    return statistics.median(times), times, ratio


def warm_median(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0: write 5 to clear_refs); False if not."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def window_peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak_rss` (``VmHWM``), MiB; NaN off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def current_rss_mb() -> float:
    """Current resident memory, MiB (``VmRSS``); NaN off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def run_fresh(code: str, cache_dir: str) -> tuple[float, str]:
    """Run ``python -c code`` in a fresh interpreter; its wall seconds and stdout.

    The child runs in the repository root with it on ``PYTHONPATH`` and ``NUMBA_CACHE_DIR`` set
    to ``cache_dir``. A failing child ends the benchmark with its stderr.
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t
    if out.returncode:
        raise SystemExit(out.stderr)
    return seconds, out.stdout


def cold_and_warm(code: str) -> tuple[tuple[float, str], tuple[float, str]]:
    """:func:`run_fresh` with an empty numba cache, then again in a new process with that cache."""
    with tempfile.TemporaryDirectory(prefix="dollarbill-numba-") as cache:
        cold = run_fresh(code, cache)
        warm = run_fresh(code, cache)
    return cold, warm


def cold_and_warm_cache(code: str) -> tuple[float, float]:
    """Wall seconds of the cold and the warm-cache fresh process of :func:`cold_and_warm`."""
    (cold, _), (warm, _) = cold_and_warm(code)
    return cold, warm


def last_line(stdout: str) -> str:
    """The last non-empty line a child printed (its result; earlier lines are chatter)."""
    return stdout.strip().splitlines()[-1]
