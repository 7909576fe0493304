"""Profile: where a warm backtest spends its time, by kernel and by instruction (Linux ``perf``).

Usage::

    perf record -e cpu-clock -F 10000 -o perf.data \
        python benchmarks/profile_perf.py [eq|opt] [SECONDS]
    perf report -i perf.data --sort sym

Runs ``bench_backtest.py``'s 100 x 1,260 equities or options case in a loop for ``SECONDS``
(default 20) after writing ``/tmp/perf-<pid>.map``, the symbol map ``perf`` reads for JIT code.
The map is exact: numba's object-cache hook hands over the object code the JIT loads, so the
offsets of its symbols (``nm``), internal ones included (the callee copies a compile root
inlines or keeps private), plus the root's load address place every function. ``perf script -F
ip,sym,symoff`` then gives offsets to bucket and to read against ``objdump -d`` of the object,
which is written next to the map as ``/tmp/perf-<pid>-<n>.o``. Reference-count calls show up as
``NRT_incref`` / ``NRT_decref``; page faults as kernel symbols.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from numba.core import codegen

OBJECTS: dict[str, bytes] = {}
_getbuffer = codegen.CPUCodeLibrary._object_getbuffer_hook.__func__  # type: ignore[attr-defined]
_compiled = codegen.CPUCodeLibrary._object_compiled_hook.__func__  # type: ignore[attr-defined]


def _keep_loaded(cls: Any, ll_module: Any) -> Any:
    buf = _getbuffer(cls, ll_module)  # object code loaded from the cache
    if buf:
        OBJECTS[ll_module.name] = buf
    return buf


def _keep_compiled(cls: Any, ll_module: Any, buf: bytes) -> None:
    OBJECTS[ll_module.name] = buf  # object code compiled in this process
    _compiled(cls, ll_module, buf)


# before numba's codegen exists (it registers the hooks when it is created)
codegen.CPUCodeLibrary._object_getbuffer_hook = classmethod(_keep_loaded)  # type: ignore[assignment]
codegen.CPUCodeLibrary._object_compiled_hook = classmethod(_keep_compiled)  # type: ignore[assignment]

from bench_backtest import make_case, run_case  # noqa: E402


def write_perf_map() -> int:
    """Write ``/tmp/perf-<pid>.map`` for every object loaded so far; return how many."""
    from numba.core.registry import cpu_target

    engine = cpu_target.target_context.codegen()._engine
    pid = os.getpid()
    n = 0
    with open(f"/tmp/perf-{pid}.map", "w") as out:
        for buf in OBJECTS.values():
            path = f"/tmp/perf-{pid}-{n}.o"
            with open(path, "wb") as f:
                f.write(buf)
            listing = subprocess.run(
                ["nm", "-n", "--defined-only", "-S", path], capture_output=True, text=True
            ).stdout
            syms = [line.split() for line in listing.splitlines()]
            text = [(int(s[0], 16), int(s[1], 16), s[3], s[2]) for s in syms if len(s) == 4]
            base = next(
                (
                    engine.get_function_address(name) - off
                    for off, _, name, kind in text
                    if kind == "T" and engine.get_function_address(name)
                ),
                None,
            )
            if base is None:
                os.remove(path)
                continue
            for off, size, name, kind in text:
                if kind in "tT":
                    out.write(f"{base + off:x} {max(size, 1):x} {name.split('B3v')[0]}\n")
            n += 1
    return n


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "eq"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    case = make_case(100, 1260, options=mode == "opt")
    run_case(*case)  # compile or load: the objects are captured
    print(f"perf map: {write_perf_map()} objects, /tmp/perf-{os.getpid()}.map", flush=True)
    runs = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        run_case(*case)
        runs += 1
    print(f"{runs} runs of the 100 x 1,260 {mode} case in {seconds:.0f} s")


if __name__ == "__main__":
    main()
