"""Profile: where a first compile in an empty cache spends its time (managed options backtest).

Usage: ``python benchmarks/profile_compile.py [--top N]``

Runs the backtest of ``bench_backtest.py --compile-only`` once in this process with an empty
temporary ``NUMBA_CACHE_DIR`` and prints the exclusive seconds of each numba compiler pass and
LLVM step (a callee compiled inside a caller's type inference counts for the callee), then the
functions with the most compile time of their own and the LLVM time of each code library.
The timers add a little overhead; compare runs of this script with each other, and take the
first-call figure from ``bench_backtest.py --compile-only``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="dollarbill-profile-")
os.environ.setdefault("DOLLARBILL_NO_COMPILE_NOTICE", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from numba.core import codegen, compiler_machinery, event

import dollarbill_research.kernels._jit  # noqa: F401  (its numba patches first: timers wrap them)

EXCLUSIVE: collections.Counter[str] = collections.Counter()
CALLS: collections.Counter[str] = collections.Counter()
LIBRARY_LLVM: collections.Counter[str] = collections.Counter()
_stack: list[float] = []


def _timed(key: str, fn: Callable[..., Any], per_library: bool = False) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _stack.append(0.0)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            total = time.perf_counter() - t0
            own = total - _stack.pop()
            EXCLUSIVE[key] += own
            CALLS[key] += 1
            if per_library:
                lib = args[0]
                LIBRARY_LLVM[f"{type(lib).__name__}:{lib.name}"] += own
            if _stack:
                _stack[-1] += total

    return wrapper


for _name in ("_optimize_functions", "_optimize_final_module", "_finalize_final_module"):
    setattr(
        codegen.CPUCodeLibrary,
        _name,
        _timed(f"llvm {_name}", getattr(codegen.CPUCodeLibrary, _name), per_library=True),
    )
codegen.CPUCodeLibrary.add_ir_module = _timed(  # type: ignore[method-assign]
    "llvm add_ir_module (print, parse, verify, link)", codegen.CPUCodeLibrary.add_ir_module
)
_run_pass = compiler_machinery.PassManager._runPass


def _run_pass_timed(self: Any, index: int, pss: Any, state: Any) -> Any:
    return _timed(f"pass {pss.name()}", _run_pass)(self, index, pss, state)


compiler_machinery.PassManager._runPass = _run_pass_timed  # type: ignore[method-assign]


class _CompileListener(event.Listener):
    """Own compile time of each compiled function (its callees' compiles subtracted)."""

    def __init__(self) -> None:
        self.stack: list[list[Any]] = []
        self.own: collections.Counter[str] = collections.Counter()
        self.count = 0

    def on_start(self, ev: event.Event) -> None:
        func = ev.data["dispatcher"].py_func
        self.stack.append([f"{func.__module__}.{func.__qualname__}", time.perf_counter(), 0.0])

    def on_end(self, ev: event.Event) -> None:
        name, t0, children = self.stack.pop()
        total = time.perf_counter() - t0
        self.own[name] += total - children
        self.count += 1
        if self.stack:
            self.stack[-1][2] += total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    t0 = time.perf_counter()
    from benchmarks.bench_backtest import make_case, run_case

    case = make_case(20, 80, options=True)
    t1 = time.perf_counter()
    listener = _CompileListener()
    with event.install_listener("numba:compile", listener):
        run_case(*case)
    t2 = time.perf_counter()
    print(f"imports and case {t1 - t0:.2f} s, first call {t2 - t1:.2f} s (timers included)")
    print(f"{listener.count} functions compiled; exclusive seconds by compiler pass / LLVM step:")
    for key, seconds in EXCLUSIVE.most_common(args.top):
        print(f"  {seconds:6.2f}  {CALLS[key]:5d}x  {key}")
    print("functions with the most compile time of their own:")
    for name, seconds in listener.own.most_common(args.top):
        print(f"  {seconds:6.2f}  {name}")
    print("LLVM seconds by code library (function passes, module passes, machine code):")
    for name, seconds in LIBRARY_LLVM.most_common(args.top):
        print(f"  {seconds:6.2f}  {name}")


if __name__ == "__main__":
    main()
