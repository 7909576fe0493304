"""The one place where numba options are set, and how kernels become compile units.

``cache=True`` so a second process starts fast; ``nogil=True`` so sweeps can run kernels on
threads. No ``fastmath``: these kernels handle money. Kernels dispatch on integer codes and never
take jitted callables, which keeps every one of them cacheable.

Compile units. A kernel called from Python (``jit``) is a *compile root*: numba types it, links
in the IR of every kernel it calls, optimises that module once and emits its machine code, which
is what the cache stores. A kernel only other kernels call (``jit_inner``), and the inner twin
of a ``jit`` kernel when another kernel calls it, is compiled into an :class:`InnerCodeLibrary`:
typed and lowered once per process, but never optimised as a module, machine-compiled or cached
on its own. numba's default finalises every library, so a leaf helper was optimised and
code-generated once per level of the call tree above it; measured on a managed options backtest
in an empty cache, LLVM time fell from 16.2 s to 4.6 s and the first call from 33.5 s to 22.6 s
(``benchmarks/bench_backtest.py --compile-only``), with every golden run byte-identical.
numba's own implementations that a kernel calls (``np.empty``, ``max``, ``a.take``...) get an
inner library too (:func:`_create_library`), and a compile root installs the environments of
everything it links in (:func:`_set_linked_environments`).

Kernels borrow their arguments (:mod:`._borrowed_args`, imported here, which installs it).
numba's own overheads in typing and lowering, cut while our kernels compile, are in
:mod:`._numba_overheads` (imported here, which installs them); the two keyed on what an
implementation inherits from a compilation (:func:`inherited_options`: numba's compiled
implementations, :func:`_get_impl`, and the signatures of calls to numba's functions,
:func:`_get_call_type`) are here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import config as numba_config
from numba import njit
from numba.core import types
from numba.core.codegen import JITCodeLibrary, JITCPUCodegen, remove_redundant_nrt_refct
from numba.core.compiler import Compiler, Flags
from numba.core.compiler_machinery import LoweringPass, register_pass
from numba.core.environment import lookup_environment
from numba.core.lowering import BaseLower
from numba.core.registry import CPUDispatcher
from numba.core.targetconfig import ConfigStack
from numba.core.typed_passes import NativeLowering
from numba.core.types.functions import BaseFunction
from numba.core.typing.templates import _OverloadFunctionTemplate

from dollarbill_research.kernels import _borrowed_args  # noqa: F401  (installs its lowering)
from dollarbill_research.kernels._numba_overheads import (
    KernelFlags,
    _compiling_a_kernel,
    _fewer_collections,
    _KernelFunctionCompiler,
    remembered,
    trimmed_pipeline,
)

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True}

_INNER_OPTIONS: dict[str, Any] = {
    "nopython": True,
    "boundscheck": None,
    "nogil": JIT_OPTIONS["nogil"],
    "no_cpython_wrapper": True,
    "no_cfunc_wrapper": True,
}


def inherited_options(flags: Flags) -> tuple[Any, ...]:
    """What an implementation compiled under these flags inherits from them, as a key.

    ``nrt``, ``fastmath``, ``error_model`` and ``forceinline`` (``CPUTargetOptions.finalize``);
    computed once per :class:`KernelFlags` (and again after an option is set).
    """
    if type(flags) is KernelFlags and flags._inherited is not None:
        return flags._inherited
    key = (flags.nrt, frozenset(flags.fastmath.flags), flags.error_model, flags.forceinline)
    if type(flags) is KernelFlags:
        object.__setattr__(flags, "_inherited", key)
    return key


def _get_impl(self: Any, args: Any, kws: Any) -> Any:
    """``_OverloadFunctionTemplate._get_impl``, keyed on what an implementation inherits.

    An implementation (``np.empty(n, np.int64)``...) is compiled with its own options, and from
    the compilation calling it inherits only ``nrt``, ``fastmath``, ``error_model`` and
    ``forceinline`` (``CPUTargetOptions.finalize``); but numba keys its cache of compiled
    implementations on all the caller's flags, so a compile root (which has a Python wrapper),
    the kernels below it (which have none) and numba's implementations calling each other
    (other flags again) compiled the same implementation two or three times. In our kernels'
    compilations the key holds the inherited options only (a tuple, which never equals the
    ``Flags`` in the keys of other compilations).
    """
    if not _compiling_a_kernel():
        return _numba_get_impl(self, args, kws)
    inherited = ("kernel", *inherited_options(ConfigStack.top_or_none()))
    cache_key = self.context, tuple(args), tuple(kws.items()), inherited
    try:
        return self._impl_cache[cache_key]
    except KeyError:
        pass
    return self._build_impl(cache_key, args, kws)


_numba_get_impl = _OverloadFunctionTemplate._get_impl
_OverloadFunctionTemplate._get_impl = _get_impl


_numba_get_call_type = BaseFunction.get_call_type
_call_types: dict[tuple[Any, ...], Any] = {}


def _get_call_type(self: BaseFunction, context: Any, args: Any, kws: Any) -> Any:
    """``BaseFunction.get_call_type``, remembered per argument types while a kernel is typed.

    Type inference resolves every call to one of numba's functions or operators (``+`` on two
    floats, ``np.empty``, ``getitem`` on an array...) again at each of its passes over a
    function, and lowering resolves each ``getitem`` once more: about 9,500 resolutions for a
    backtest's first compile, of which about 500 are distinct, each trying the function's
    templates in turn (about 2 s of its 15-20 s). The signature depends on the function, the
    argument types and what an implementation inherits from the compilation (the key of
    :func:`_get_impl`); while one of our kernels is typed (its :class:`KernelFlags` on top of
    numba's ``ConfigStack``) it is resolved once per key. numba's own bookkeeping is kept: the
    implementation key it records for the signature (``_impl_keys``) is recorded on the first
    resolution and stays. Failures are not remembered (numba raises them each time).
    """
    flags = ConfigStack.top_or_none()
    if type(flags) is not KernelFlags:
        return _numba_get_call_type(self, context, args, kws)
    key = (self, context, tuple(args), tuple(kws.items()), inherited_options(flags))
    return remembered(_call_types, key, _numba_get_call_type, self, context, args, kws)


BaseFunction.get_call_type = _get_call_type  # type: ignore[method-assign]


class InnerCodeLibrary(JITCodeLibrary):
    """The code of a wrapperless kernel: linked into its callers, never optimised or run alone.

    numba finalises every compiled function's library on its own: it links in everything the
    function calls, runs the whole-module optimiser over that and emits machine code. For a kernel
    only other kernels call, all three are wasted work (its callers link its IR in and optimise
    again), and the waste grows with the depth of the call tree: a leaf helper was optimised and
    code-generated once per level above it. This library only links its callees' IR in; the
    compile root, an ordinary library, does the whole-module optimisation and the machine code
    once, for the whole tree. Its own functions get a cleanup instead of numba's per-function
    pipeline (``cleanup_only``: ``_numba_overheads._cleanup_pass_manager``), since the root's
    pipeline optimises them after inlining.
    """

    cleanup_only = True

    def finalize(self) -> None:
        self._raise_if_finalized()
        seen = set()
        for library in self._linking_libraries:
            if library not in seen:
                self._reload_init.update(library._reload_init)
                seen.add(library)
                self._final_module.link_in(library._get_module_for_linking(), preserve=True)
        self._finalize_dynamic_globals()
        self._finalized = True

    def get_pointer_to_function(self, name: str) -> int:
        self._ensure_finalized()
        return 0  # no machine code: only callers' libraries, which link this one in, have it

    @property
    def codegen(self) -> Any:
        return _NoEnvCodegen(self._codegen)


class _NoEnvCodegen:
    """The shared codegen, except that it does not install a kernel's ``Environment``.

    numba points a function's environment global at its ``Environment`` object after emitting its
    machine code; an :class:`InnerCodeLibrary` emits none, so there is nothing to point. Only
    object-mode blocks and exceptions raised with run-time arguments read the environment, and
    ``tests/test_architecture.py`` checks that no wrapperless kernel has either.
    """

    def __init__(self, codegen: Any) -> None:
        self._codegen = codegen

    def set_env(self, env_name: str, env: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._codegen, name)


class RootCodeLibrary(JITCodeLibrary):
    """The code of a compile root: the copies of its callees it links in are private to it.

    numba links a callee's code into each caller as ``linkonce_odr`` (a definition other modules
    may share), so LLVM's inliner treats every callee as possibly called from elsewhere and
    keeps large ones as calls; each call then increments and decrements the reference count of
    every array it passes (a ``Book`` or ``Workspace`` is several). A root's linked-in copies are
    used by nothing but the root, so before the module optimiser runs they become ``internal``:
    a kernel called once (``enter_nb`` from ``step_nb``) is inlined into its caller, numba's
    reference-count pruning then sees both sides of each pair, and unused copies are dropped.
    The root's own functions (the kernel and its wrappers) keep their linkage.

    The module then gets numba's full pipeline only. numba runs a cheaper pipeline first to
    inline reference-count pairs into one function before its pruning; our kernels borrow their
    arguments (:mod:`._borrowed_args`) and the full pipeline inlines and prunes what is left,
    so the first pass cost 1.5 s of a 19 s cold compile (8 %) for the same warm speed (golden runs
    byte-identical).
    """

    def __init__(self, codegen: Any, name: str) -> None:
        super().__init__(codegen, name)
        self._own_functions: set[str] = set()

    def add_llvm_module(self, ll_module: Any) -> None:
        self._own_functions.update(f.name for f in ll_module.functions if not f.is_declaration)
        super().add_llvm_module(ll_module)

    def _optimize_final_module(self) -> None:
        for f in self._final_module.functions:
            if (
                not f.is_declaration
                and f.linkage.name == "linkonce_odr"
                and f.name not in self._own_functions
            ):
                f.linkage = "internal"
        if not numba_config.LLVM_REFPRUNE_PASS:  # numba's text-based pruning, as numba does
            self._final_module = remove_redundant_nrt_refct(self._final_module)
        self._full_module_passes()

    def _full_module_passes(self) -> None:
        mpm, pb = self._codegen._module_pass_manager()
        with self._recorded_timings.record("Module passes (full optimization)", pb):
            mpm.run(self._final_module, pb)


class _UseLibrary(LoweringPass):
    """Before lowering: the kernel's code goes into a library of class ``library``."""

    library: type

    def __init__(self) -> None:
        LoweringPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        if state.library is None:
            state.library = self.library(state.targetctx.codegen(), state.func_id.func_qualname)
        return False  # the IR is unchanged


_numba_create_library = JITCPUCodegen.create_library


def _create_library(self: JITCPUCodegen, name: str, **kwargs: Any) -> Any:
    """Numba's ``create_library``, with inner libraries for implementations kernels call.

    numba compiles its implementation of ``np.empty``, ``max``, ``a.take``... that a kernel
    calls as a function of its own, without a Python wrapper, and finalises its library like
    any other: module optimisation and machine code that nothing runs (the kernel links the
    IR in). While one of our kernels compiles, an implementation compiled for it (flags
    without a Python wrapper, pushed above the kernel's) gets an inner library instead; the
    compile root sets the environments of what it links in (:meth:`KernelDispatcher.add_overload`).
    """
    top = ConfigStack.top_or_none()
    if (
        not kwargs
        and top is not None
        and type(top) is not KernelFlags
        and top.no_cpython_wrapper
        and _compiling_a_kernel()
    ):
        return InnerCodeLibrary(self, name)
    return _numba_create_library(self, name, **kwargs)


JITCPUCodegen.create_library = _create_library  # type: ignore[method-assign]


def _set_linked_environments(cres: Any) -> None:
    """Point the environment globals of everything a root linked in at their ``Environment``.

    numba installs a function's environment when it emits the function's machine code, and an
    :class:`InnerCodeLibrary` emits none; the root's machine code holds their code and their
    environment globals (numba's cache does the same when it loads a root).
    """
    module = getattr(cres.library, "_final_module", None)
    if module is None:
        return
    own = cres.fndesc.env_name
    for gv in module.global_variables:
        if gv.name.startswith("_ZN08NumbaEnv") and gv.name != own:
            env = lookup_environment(gv.name)
            if env is not None:
                cres.library.codegen.set_env(gv.name, env)


@register_pass(mutates_CFG=False, analysis_only=False)
class _UseInnerLibrary(_UseLibrary):
    _name = "dollarbill_inner_library"
    library = InnerCodeLibrary


@register_pass(mutates_CFG=False, analysis_only=False)
class _UseRootLibrary(_UseLibrary):
    _name = "dollarbill_root_library"
    library = RootCodeLibrary

    def run_pass(self, state: Any) -> bool:
        if state.library is None:
            super().run_pass(state)
            state.library.enable_object_caching()  # as numba's lowering does: roots are cached
        return False


def _with_library_pass(compiler: Compiler, library_pass: type, note: str) -> list[Any]:
    (pm,) = Compiler.define_pipelines(compiler)
    pm.passes = trimmed_pipeline(pm.passes)
    at = next(i for i, (p, _) in enumerate(pm.passes) if p is NativeLowering)
    pm.passes.insert(at, (library_pass, note))
    return [pm]


class RootCompiler(Compiler):
    """numba's nopython pipeline, with the kernel's code in a :class:`RootCodeLibrary`."""

    def define_pipelines(self) -> list[Any]:
        return _with_library_pass(self, _UseRootLibrary, "code library of a compile root")


_numba_create_cfunc_wrapper = BaseLower.create_cfunc_wrapper


def _create_cfunc_wrapper(self: BaseLower) -> None:
    """Numba's C-callable wrapper, not built for code in an :class:`InnerCodeLibrary`.

    numba builds one for each implementation it compiles (``np.empty``...); one in an inner
    library can never be called (the library has no machine code of its own; the root that links
    it in drops the unused copy), so in our kernels' compilations it is skipped.
    """
    if isinstance(self.library, InnerCodeLibrary) and _compiling_a_kernel():
        return
    _numba_create_cfunc_wrapper(self)


BaseLower.create_cfunc_wrapper = _create_cfunc_wrapper  # type: ignore[method-assign]


class InnerCompiler(Compiler):
    """numba's nopython pipeline, with the kernel's code in an :class:`InnerCodeLibrary`."""

    def define_pipelines(self) -> list[Any]:
        return _with_library_pass(self, _UseInnerLibrary, "code library of a wrapperless kernel")


class InnerDispatcher(CPUDispatcher):
    """A dispatcher compiled without CPython/C wrappers: callable from other kernels only.

    Its code goes into an :class:`InnerCodeLibrary` and is not cached on its own: it is in the
    cache entry of every compile root that calls it. Calling it from Python raises ``TypeError``
    (without a wrapper numba would crash).
    """

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(
            py_func=py_func,
            locals={},
            targetoptions=dict(_INNER_OPTIONS),
            pipeline_class=InnerCompiler,
        )
        self._compiler = _KernelFunctionCompiler(
            py_func, self.targetdescr, self.targetoptions, self.locals, InnerCompiler
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.py_func.__module__}.{self.py_func.__name__} is a kernel helper that only "
            "other kernels can call (compiled without a Python wrapper); hint: call the public "
            "kernel or its Python wrapper instead"
        )


class KernelDispatcher(CPUDispatcher):
    """A public kernel: Python calls it through its (cached) wrapper; kernels call its inner twin.

    When another kernel calls this one, numba types the call through ``_numba_type_``, which
    names an :class:`InnerDispatcher` of the same function: the caller links the twin's IR and
    optimises it once, with its own code, instead of linking a separately optimised and
    machine-compiled library. The twin compiles only when a kernel calls the function.
    """

    _twin: InnerDispatcher | None = None

    def __init__(self, py_func: Callable[..., Any], targetoptions: dict[str, Any]) -> None:
        super().__init__(
            py_func=py_func, locals={}, targetoptions=targetoptions, pipeline_class=RootCompiler
        )
        self._compiler = _KernelFunctionCompiler(
            py_func, self.targetdescr, self.targetoptions, self.locals, RootCompiler
        )

    def compile(self, sig: Any) -> Any:
        with _fewer_collections():
            return super().compile(sig)

    def add_overload(self, cres: Any) -> None:
        if not cres.objectmode:
            _set_linked_environments(cres)
        super().add_overload(cres)

    @property
    def _numba_type_(self) -> types.Dispatcher:
        if self._twin is None:
            self._twin = InnerDispatcher(self.py_func)
        return types.Dispatcher(self._twin)


def jit(fn: F) -> F:
    """Compile ``fn`` with the project's numba options (cached, nogil, no fastmath)."""
    if numba_config.DISABLE_JIT:
        return fn
    options = {"nopython": True, "boundscheck": None, "nogil": JIT_OPTIONS["nogil"]}
    options["no_cfunc_wrapper"] = True
    disp = KernelDispatcher(fn, options)
    if JIT_OPTIONS["cache"]:
        disp.enable_caching()
    return disp  # type: ignore[return-value]


def jit_inner(fn: F) -> F:
    """Like :func:`jit`, for kernels only other kernels call: no CPython or C wrapper is built.

    The wrappers are most of the compile time of a small kernel (about 65 ms of the 110 ms of a
    one-line kernel here), and a helper that only other kernels call never uses them.
    ``tests/test_architecture.py`` checks that no Python code outside the kernels names one.
    """
    if numba_config.DISABLE_JIT:
        return fn
    return InnerDispatcher(fn)  # type: ignore[return-value]


def jit_parallel(fn: F) -> F:
    """Compile ``fn`` with ``parallel=True`` for ``prange`` loops (sweeps over configurations)."""
    return njit(parallel=True, **JIT_OPTIONS)(fn)  # type: ignore[no-any-return]
