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

from dollarbill_research.kernels import _jit, _numba_overheads
from dollarbill_research.kernels._jit import (
    InnerCodeLibrary,
    InnerDispatcher,
    RootCodeLibrary,
    jit,
    jit_inner,
)

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "dollarbill_research" / "kernels"


@pytest.fixture
def uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels built in the test compile in it, whatever the cache holds."""
    monkeypatch.setitem(_jit.JIT_OPTIONS, "cache", False)


@pytest.mark.usefixtures("uncached")
def test_a_public_kernel_called_by_a_kernel_links_its_inner_twin() -> None:

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


@pytest.mark.usefixtures("uncached")
def test_a_root_keeps_its_own_functions_and_makes_its_callee_copies_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, str] = {}
    optimise = RootCodeLibrary._full_module_passes

    def record_then_optimise(library: RootCodeLibrary) -> None:
        for f in library._final_module.functions:  # what the module optimiser is handed
            if not f.is_declaration:
                seen[f.name] = f.linkage.name
        optimise(library)

    monkeypatch.setattr(RootCodeLibrary, "_full_module_passes", record_then_optimise)

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


def test_kernel_flags_hash_and_compare_like_numba_flags() -> None:
    from numba.core.compiler import Flags

    plain = Flags()
    plain.nrt = True
    ours = _numba_overheads.KernelFlags(plain)
    assert ours == plain
    assert plain == ours
    assert hash(ours) == hash(plain)
    assert ours.values() == plain.values()
    ours.values()["nrt"] = False  # a copy: the cached values cannot be changed through it
    assert ours.nrt is True
    ours.nrt = False  # setting an option forgets the cached values
    assert ours != plain
    assert ours.values() == {**plain.values(), "nrt": False}
    assert ours == _numba_overheads.KernelFlags(ours)
    assert ours.copy() == ours
    # numba pushes a copy on its ConfigStack
    assert type(ours.copy()) is _numba_overheads.KernelFlags
    del ours.nrt
    assert ours.values() == Flags().values()


@pytest.mark.usefixtures("uncached")
def test_meminfo_lists_match_numba_and_user_code_compiles_as_numba_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from numba import njit
    from numba.core.runtime.context import NRTContext

    seen = {"kernel": 0, "user": 0}

    def checked(self, builder, ty, val):  # type: ignore[no-untyped-def]
        ours = _numba_overheads._get_meminfos(self, builder, ty, val)
        # dead IR in a test kernel
        theirs = _numba_overheads._nrt_get_meminfos(self, builder, ty, val)
        assert [t for t, _ in ours] == [t for t, _ in theirs]
        seen["kernel" if _numba_overheads._compiling_a_kernel() else "user"] += 1
        return ours

    monkeypatch.setattr(NRTContext, "get_meminfos", checked)

    @jit_inner
    def pair(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, float], float]:
        return x, (x[::-1], 1.0), 2.0

    @jit
    def kernel(x: np.ndarray) -> float:
        a, (b, c), d = pair(x)
        return a[0] + b[0] + c + d

    def user(x: np.ndarray) -> float:
        t = (x, (x[::-1], 1.0))
        return t[0][1] + t[1][0][1]

    x = np.arange(4.0)
    assert kernel(x) == 0.0 + 3.0 + 1.0 + 2.0
    assert njit(user)(x) == 3.0
    assert seen["kernel"] > 0
    assert seen["user"] > 0


def test_error_markup_is_numba_s_text() -> None:
    from numba.core import errors

    if _numba_overheads._markup is None:
        pytest.skip("numba's error highlighting is off (NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING)")
    scheme = errors.termcolor()
    for msg in ("Cannot determine Numba type", "ünïcode\nline two", ""):
        for color in (None, errors.Fore.RED):
            style = _numba_overheads._kernel_markup.__defaults__[1]  # type: ignore[index]
            expected = _numba_overheads._markup(scheme, msg, color)
            assert _numba_overheads._markup_text(msg, color, style) == expected
            assert scheme._markup(msg, color) == expected  # outside a kernel: numba's own


@pytest.mark.usefixtures("uncached")
def test_kernels_share_numba_s_implementations_across_their_flags() -> None:
    # a root (Python wrapper) and the kernel below it (none) have different flags; numba keyed
    # its compiled np.empty implementation on them and compiled it once for each
    from numba.core import event

    compiled = []
    dispatchers = []

    class Listener(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)
            dispatchers.append(ev.data["dispatcher"])

        def on_end(self, ev: event.Event) -> None:
            pass

    @jit_inner
    def below(n: int) -> np.ndarray:
        return np.empty((n, 3, 5), np.uint16)  # a signature no other test compiles

    @jit
    def root(n: int) -> int:
        return np.empty((n, 3, 5), np.uint16).size + below(n).size

    with event.install_listener("numba:compile", Listener()):
        assert root(2) == 60
    assert compiled.count("ol_np_empty.<locals>.impl") == 1
    assert {"root", "below"} <= {name.rsplit(".", 1)[-1] for name in compiled}
    # numba's implementation, compiled for a kernel, is linked in and never machine-compiled
    (impl,) = (d for d in dispatchers if d.py_func.__qualname__ == "ol_np_empty.<locals>.impl")
    assert all(isinstance(c.library, InnerCodeLibrary) for c in impl.overloads.values())
    for c in impl.overloads.values():  # and no C wrapper, which nothing could call
        names = {f.name for f in c.library._final_module.functions}
        assert c.fndesc.llvm_func_name in names
        assert c.fndesc.llvm_cfunc_wrapper_name not in names

    def user(n: int) -> int:
        return np.empty((n, 3, 7), np.uint8).size

    from numba import njit

    dispatchers.clear()
    with event.install_listener("numba:compile", Listener()):
        assert njit(user)(2) == 42
    (impl,) = (d for d in dispatchers if d.py_func.__qualname__ == "ol_np_empty.<locals>.impl")
    assert not any(isinstance(c.library, InnerCodeLibrary) for c in impl.overloads.values())


@pytest.mark.usefixtures("uncached")
def test_a_root_installs_the_environments_of_what_it_links_in() -> None:
    # an inner library emits no machine code, so numba never points its environment global at
    # its Environment; the root does, and an exception raised with run-time values (which
    # reads it) works from an inner kernel as from numba's own functions

    @jit_inner
    def first_positive(x: np.ndarray) -> float:
        if x[0] < 0:
            raise ValueError("negative first value", x[0])
        return x[0]

    @jit
    def root(x: np.ndarray) -> float:
        return first_positive(x) + 1.0

    assert root(np.ones(3)) == 2.0
    with pytest.raises(ValueError, match="negative first value") as info:
        root(-np.ones(3))
    assert info.value.args == ("negative first value", -1.0)


def test_remembered_ufunc_loops_are_numba_s() -> None:
    from numba.core import types as nbt
    from numba.np.numpy_support import ufunc_find_matching_loop

    cases = [
        (np.add, (nbt.float64, nbt.int64)),
        (np.sqrt, (nbt.int32,)),
        (np.multiply, (nbt.boolean, nbt.float32)),
        (np.add, (nbt.NPDatetime("D"), nbt.float64)),  # no loop: None
    ]
    for ufunc, args in cases:
        expected = ufunc_find_matching_loop(ufunc, args)
        # outside a kernel: numba's
        assert _numba_overheads._find_matching_loop(ufunc, args) == expected
        _numba_overheads._ufunc_loops.pop((ufunc, *args), None)
    # inside a kernel's compilation the answer is remembered, and is the same
    flags = _numba_overheads.KernelFlags()
    from numba.core.targetconfig import ConfigStack

    with ConfigStack().enter(flags):
        for ufunc, args in cases:
            first = _numba_overheads._find_matching_loop(ufunc, args)
            assert first == ufunc_find_matching_loop(ufunc, args)
            assert _numba_overheads._find_matching_loop(ufunc, args) is first
            assert (ufunc, *args) in _numba_overheads._ufunc_loops


@pytest.mark.usefixtures("uncached")
def test_remembered_call_types_are_numba_s_and_failures_are_not_remembered() -> None:
    import operator

    from numba import njit
    from numba.core import errors
    from numba.core import types as nbt
    from numba.core.registry import cpu_target
    from numba.core.targetconfig import ConfigStack

    # kernels compiled through it compute what numba's own typing computes
    @jit
    def kernel(x: np.ndarray, k: int) -> float:
        y = np.empty((k, 2), np.uint16)
        return (x + 1.5)[k - 1, 0] + y.shape[0]

    x = np.arange(6.0).reshape(3, 2)
    assert kernel(x, 2) == njit(kernel.py_func)(x, 2) == 2.0 + 1.5 + 2

    context = cpu_target.typing_context  # its registries are loaded now
    add = context.resolve_value_type(operator.add)
    empty = context.resolve_value_type(np.empty)
    f8_2d = nbt.Array(nbt.float64, 2, "C")
    cases = [
        (add, (nbt.float64, nbt.int64), {}),
        (add, (f8_2d, nbt.float64), {}),
        (empty, (nbt.int64, nbt.NumberClass(nbt.uint16)), {}),
        (context.resolve_value_type(operator.getitem), (f8_2d, nbt.UniTuple(nbt.int64, 2)), {}),
    ]
    before = len(_jit._call_types)
    theirs = [_jit._numba_get_call_type(f, context, a, k) for f, a, k in cases]
    # outside a kernel's compilation: numba's, nothing remembered
    assert [f.get_call_type(context, a, k) for f, a, k in cases] == theirs
    assert len(_jit._call_types) == before
    flags = _numba_overheads.KernelFlags()
    flags.nrt = True  # as in a kernel's compilation
    with ConfigStack().enter(flags):
        first = [f.get_call_type(context, a, k) for f, a, k in cases]
        assert first == theirs
        again = [f.get_call_type(context, a, k) for f, a, k in cases]
        assert all(x is y for x, y in zip(first, again, strict=True))
        # numba's implementation key for each signature is recorded, as numba records it
        for (f, _, _), sig in zip(cases, first, strict=True):
            assert f.get_impl_key(sig) is not None
        for _ in range(2):  # a failure raises each time and is not remembered
            n = len(_jit._call_types)
            with pytest.raises(errors.TypingError):
                add.get_call_type(context, (nbt.unicode_type, f8_2d), {})
            assert len(_jit._call_types) == n


@pytest.mark.usefixtures("uncached")
def test_trimmed_passes_run_where_they_can_change_a_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from numba.core import event

    ran: list[tuple[str, str, bool]] = []
    for cls, check in (
        (_numba_overheads._InlineClosureLikesWhenAny, "_inliner_may_change"),
        (_numba_overheads._NopythonRewritesWhenAny, "_rewrites_match"),
    ):
        original = getattr(_numba_overheads, check)

        def spy(arg, original=original, name=cls._name):  # type: ignore[no-untyped-def]
            ir = getattr(arg, "func_ir", arg)
            answer = original(arg)
            ran.append((name, ir.func_id.func_name, answer))
            return answer

        monkeypatch.setattr(_numba_overheads, check, spy)

    @jit_inner
    def plain(x: np.ndarray) -> float:
        total = 0.0
        for i in range(x.shape[0]):
            total += x[i]
        return total

    @jit_inner
    def closures(x: np.ndarray) -> float:
        double = lambda v: 2.0 * v  # noqa: E731
        squares = np.array([v * v for v in x])
        return double(squares.sum())

    @jit
    def kernel(x: np.ndarray) -> float:
        y = x * 2.0 + 1.0  # an array expression: rewritten after type inference
        return plain(y) + closures(x) + y[0]

    passes_run: list[tuple[str, str]] = []

    class Listener(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            name = ev.data["name"].split(" [")[0]  # "pass_name [qualname]"
            passes_run.append((name, ev.data["qualname"].rsplit(".", 1)[-1]))

        def on_end(self, ev: event.Event) -> None:
            pass

    x = np.arange(4.0)
    with event.install_listener("numba:run_pass", Listener()):
        assert kernel(x) == 16.0 + 2.0 * 14.0 + 1.0  # sum(2x + 1) + 2 sum(x ** 2) + y[0]
    answers = {(name, fn): answer for name, fn, answer in ran}
    assert answers[("dollarbill_inline_closure_likes", "plain")] is False
    assert answers[("dollarbill_inline_closure_likes", "closures")] is True
    assert answers[("dollarbill_nopython_rewrites", "plain")] is False
    assert answers[("dollarbill_nopython_rewrites", "kernel")] is True
    # numba's own two passes never ran on our kernels: ours ran in their place
    ran_passes = {name for name, _ in passes_run}
    assert {"dollarbill_inline_closure_likes", "dollarbill_nopython_rewrites"} <= ran_passes
    assert not {"inline_closure_likes", "nopython_rewrites"} & {
        name for name, fn in passes_run if fn in {"plain", "closures", "kernel"}
    }


@pytest.mark.usefixtures("uncached")
def test_the_garbage_collector_runs_less_often_while_a_root_compiles_and_is_restored() -> None:
    import gc

    from numba.core import errors, event

    during: list[tuple[int, int, int]] = []

    class Listener(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            during.append(gc.get_threshold())

        def on_end(self, ev: event.Event) -> None:
            pass

    @jit_inner
    def below(x: float) -> float:
        return x + 1.0

    @jit
    def root(x: float) -> float:
        return below(x) * 2.0

    @jit
    def broken(x: float) -> float:
        return x + "text"  # type: ignore[operator]  # a typing error

    before = gc.get_threshold()
    gc.set_threshold(700, 11, 12)
    try:
        with event.install_listener("numba:compile", Listener()):
            assert root(1.0) == 4.0
        assert during
        assert all(t == (_numba_overheads._COMPILE_GC_THRESHOLD, 11, 12) for t in during)
        assert gc.get_threshold() == (700, 11, 12)
        with pytest.raises(errors.TypingError):
            broken(1.0)
        assert gc.get_threshold() == (700, 11, 12)  # restored after a failed compile too
        gc.set_threshold(50_000, 11, 12)  # a user's higher threshold is kept
        with event.install_listener("numba:compile", Listener()):
            assert root(2) == 6.0  # a new signature compiles
        assert during[-1] == (50_000, 11, 12)
    finally:
        gc.set_threshold(*before)


@pytest.mark.usefixtures("uncached")
def test_inner_code_gets_a_cleanup_and_roots_numba_s_function_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleaned: list[str] = []
    cleanup = _numba_overheads._cleanup_pass_manager

    def counted(codegen):  # type: ignore[no-untyped-def]
        cleaned.append("inner")
        return cleanup(codegen)

    monkeypatch.setattr(_numba_overheads, "_cleanup_pass_manager", counted)

    @jit_inner
    def leaf(x: np.ndarray, i: int) -> float:
        total = 0.0
        for k in range(i):
            total += x[k] * x[k]
        return total

    @jit
    def root(x: np.ndarray) -> float:
        return leaf(x, x.shape[0]) + 1.0

    from numba.core.codegen import JITCPUCodegen

    original = JITCPUCodegen._function_pass_manager
    full: list[str] = []

    def counted_full(self, **kwargs):  # type: ignore[no-untyped-def]
        full.append("numba")
        return original(self, **kwargs)

    monkeypatch.setattr(JITCPUCodegen, "_function_pass_manager", counted_full)
    x = np.arange(5.0)
    assert root(x) == 30.0 + 1.0
    assert cleaned  # the leaf's function got the cleanup
    assert full  # the root's own functions got numba's passes


def test_remembered_loc_arguments_are_numba_s() -> None:
    from numba.core import base
    from numba.core.targetconfig import ConfigStack

    def with_loc(context, builder, sig, args, loc=None):  # type: ignore[no-untyped-def]
        return None

    def without(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return None

    class Callable_:
        def __call__(self, context, builder, sig, args, loc=None):  # type: ignore[no-untyped-def]
            return None

        __hash__ = None  # type: ignore[assignment]  # unhashable: answered by numba each time

    cases = (with_loc, without, Callable_())
    expected = [_numba_overheads._numba_has_loc(fn) for fn in cases]
    assert expected == [True, False, True]
    assert [base._has_loc(fn) for fn in cases] == expected  # outside a kernel: numba's
    assert with_loc not in _numba_overheads._takes_loc
    flags = _numba_overheads.KernelFlags()
    with ConfigStack().enter(flags):
        assert [base._has_loc(fn) for fn in cases] == expected
        assert [base._has_loc(fn) for fn in cases] == expected
    assert _numba_overheads._takes_loc[with_loc] is True
    assert _numba_overheads._takes_loc[without] is False


@pytest.mark.usefixtures("uncached")
def test_kernels_borrow_their_arguments_and_what_they_return_keeps_its_own_reference() -> None:
    # a kernel takes no reference to an argument bound once (_borrowed_args._borrows); a view
    # of it, a record built from it or the argument itself returned must still own one

    @jit_inner
    def head(x: np.ndarray, n: int) -> np.ndarray:
        return x[:n]

    @jit
    def pair(x: np.ndarray, n: int) -> tuple:
        return head(x, n), x

    @jit
    def same(x: np.ndarray) -> np.ndarray:
        return x

    for _ in range(3):  # the returned arrays outlive every reference of the caller
        a = np.arange(6.0)
        v, w = pair(a, 3)
        s = same(np.arange(4.0))  # a temporary: only the result holds it
        del a
        assert v.tolist() == [0.0, 1.0, 2.0]
        assert w.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        assert s.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert sys.getrefcount(v) == 2  # the view's own reference, no leaked extra


def test_no_reference_is_leaked_or_freed_twice_over_many_runs() -> None:
    # NRT's allocation statistics in a fresh process: a run allocates and frees the same count
    code = textwrap.dedent(
        """
        from numba.core.runtime import rtsys
        from benchmarks.bench_backtest import make_case, run_case
        for options in (False, True):
            case = make_case(12, 120, options)
            run_case(*case)
            a0 = rtsys.get_allocation_stats()
            for _ in range(5):
                run_case(*case)
            a1 = rtsys.get_allocation_stats()
            print((a1.mi_alloc - a1.mi_free) - (a0.mi_alloc - a0.mi_free))
        """
    )
    env = {**os.environ, "NUMBA_NRT_STATS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["0", "0"]
