"""The compile units of ``kernels._jit``: a compile root links its callees' IR and caches it all.

A kernel that only other kernels call (``jit_inner``, and the inner twin of a public ``jit``
kernel when a kernel calls it) gets an :class:`InnerCodeLibrary`: no module optimisation and no
machine code of its own, not cached on its own. These tests check that this saves what it says
without changing what runs: the results, the Python entry points and the numba cache.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numba.core.codegen import JITCodeLibrary

from dollarbill_research.kernels import _jit
from dollarbill_research.kernels._jit import (
    InnerCodeLibrary,
    InnerDispatcher,
    RootCodeLibrary,
    jit,
    jit_inner,
)

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "dollarbill_research" / "kernels"


def test_a_public_kernel_called_by_a_kernel_links_its_inner_twin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # built here, uncached, so that they compile in this test whatever the cache holds
    monkeypatch.setitem(_jit.JIT_OPTIONS, "cache", False)

    @jit_inner
    def scaled(x: np.ndarray, k: float) -> float:
        total = 0.0
        for v in x:
            total += k * v
        return total

    @jit
    def public_sum(x: np.ndarray) -> float:
        return scaled(x, 1.0)

    @jit
    def root(x: np.ndarray) -> float:
        return public_sum(x) + scaled(x, 2.0)

    x = np.arange(5.0)
    assert root(x) == 30.0
    assert public_sum(x) == 10.0  # the Python entry point still works (its own wrapper)
    twin = public_sum._twin  # type: ignore[attr-defined]
    assert isinstance(twin, InnerDispatcher)
    (sig,) = twin.signatures
    assert isinstance(twin.overloads[sig].library, InnerCodeLibrary)
    # the root's library is an ordinary one: it holds the machine code of the whole tree
    (root_sig,) = root.signatures  # type: ignore[attr-defined]
    assert not isinstance(root.overloads[root_sig].library, InnerCodeLibrary)  # type: ignore[attr-defined]


def test_a_root_keeps_its_own_functions_and_makes_its_callee_copies_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(_jit.JIT_OPTIONS, "cache", False)
    seen: dict[str, str] = {}
    optimise = JITCodeLibrary._optimize_final_module

    def record_then_optimise(library: JITCodeLibrary) -> None:
        if isinstance(library, RootCodeLibrary):  # what the module optimiser is handed
            for f in library._final_module.functions:
                if not f.is_declaration:
                    seen[f.name] = f.linkage.name
        optimise(library)

    monkeypatch.setattr(JITCodeLibrary, "_optimize_final_module", record_then_optimise)

    @jit_inner
    def leaf(x: np.ndarray, k: float) -> float:
        total = 0.0
        for i in range(x.shape[0]):
            total += k * x[i] * x[i]
        return total

    @jit
    def root_of_two(x: np.ndarray) -> float:
        return leaf(x, 1.0) + leaf(x, 2.0)

    x = np.arange(5.0)
    assert root_of_two(x) == 90.0  # 30 + 60: the inlined code computes the same
    (sig,) = root_of_two.signatures  # type: ignore[attr-defined]
    library = root_of_two.overloads[sig].library  # type: ignore[attr-defined]
    assert isinstance(library, RootCodeLibrary)
    own = {name for name in seen if name in library._own_functions}
    copies = {name for name in seen if name not in library._own_functions}
    assert any("root_of_two" in name for name in own)
    assert all(seen[name] == "external" for name in own)  # the kernel and its wrappers
    assert any("leaf" in name for name in copies)
    assert all(seen[name] == "internal" for name in copies)


MODULE = """
import numpy as np
from dollarbill_research.kernels._jit import jit, jit_inner

@jit_inner
def leaf(x, k):
    return k * x.sum()

@jit
def public(x):
    return leaf(x, 3.0)

@jit
def root(x):
    return public(x) + leaf(x, 1.0)
"""

RUN = """
import sys, numpy as np
sys.path.insert(0, {folder!r})
import treemod
print(treemod.root(np.arange(4.0)))
print(len(treemod.root.stats.cache_hits), treemod.public._twin is None)
"""


def test_a_second_process_loads_the_root_from_the_cache_without_compiling_callees(
    tmp_path: Path,
) -> None:
    (tmp_path / "treemod.py").write_text(MODULE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env["DOLLARBILL_NO_COMPILE_NOTICE"] = "1"

    def run() -> list[str]:
        code = RUN.format(folder=str(tmp_path))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=300, env=env, check=True)  # fmt: skip
        return out.stdout.split()

    cold = run()
    assert cold[0] == "24.0"
    assert cold[1:] == ["0", "False"]  # compiled: the twin of `public` was built for `root`
    warm = run()
    assert warm[0] == "24.0"
    assert warm[1:] == ["1", "True"]  # loaded from the cache; no callee compiled


def _kernel_functions() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted(KERNELS.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id in {"jit", "jit_inner", "jit_parallel"}
                for d in node.decorator_list
            ):
                found.append((path.name, node))
    return found


def test_no_kernel_needs_a_numba_environment() -> None:
    # an inner library emits no machine code, so numba never installs the function's
    # Environment; only object-mode blocks, print and exceptions raised with run-time values
    # read it, and no kernel may use them
    assert len(_kernel_functions()) > 100
    bad = []
    for name, fn in _kernel_functions():
        for node in ast.walk(fn):
            if isinstance(node, ast.Raise):
                bad.append(f"{name}:{node.lineno} raise")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in {"print", "objmode"}:
                    bad.append(f"{name}:{node.lineno} {node.func.id}")
            elif isinstance(node, ast.Name) and node.id == "objmode":
                bad.append(f"{name}:{node.lineno} objmode")
    assert not bad, f"kernels needing a numba Environment: {textwrap.shorten(str(bad), 300)}"
