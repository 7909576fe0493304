"""numba's overheads in typing and lowering, cut while one of our kernels compiles.

Most of what remains of a first compile is numba's typing and lowering in Python, and a few of
its costs are overheads that do not depend on our code. While one of our kernels compiles
(:func:`_compiling_a_kernel`: its :class:`KernelFlags` are on numba's ``ConfigStack``, also
below the implementations it compiles), and only then:

* :class:`KernelFlags` hashes and compares once, not on each of ~44,000 overload look-ups;
* numba's implementations are cached on the options they inherit (``_jit._get_impl``), so a root
  and its callees no longer compile ``np.empty`` & co. once per set of flags;
* an increment or decrement of an array extracts its meminfo only, not every member
  (:func:`_get_meminfos`: less IR to build, print, parse and optimise away);
* error messages of failed overload candidates (~12,000) are marked up without colorama
  (:func:`_kernel_markup`), ufunc loops are looked up once per ufunc and types
  (:func:`_find_matching_loop`), whether an implementation takes a ``loc`` argument is read
  from its signature once (:func:`_has_loc`), declarations get no LLVM function pass manager
  (:func:`_optimize_functions`), and inner code only a cleanup (:func:`_cleanup_pass_manager`);
  and (in :mod:`._jit`) roots and inner code get no C wrapper;
* Python's garbage collector runs less often while a compile root compiles
  (:func:`_fewer_collections`, used by ``_jit.KernelDispatcher.compile``);
* two passes of numba's pipeline run only on a function they can change
  (:func:`trimmed_pipeline`): the inlining of closures, comprehensions and ``reduce`` calls, and
  the rewrites after type inference (array expressions, string-literal indices). Each prepares
  and then re-analyses the whole IR (variable lifetimes, twice) even when there is nothing to
  rewrite, which is every kernel but one.

Each patch returns what numba's code returns (tests/kernels/test_jit.py compares them), leaves
other compilations to numba's code, and the golden runs stay byte-identical. Measured with
``benchmarks/bench_backtest.py --compile-only`` against the commit before (6046f1c), in the same
session on the 2-core machine (another job on one core): first call in an empty cache 18.1 s
minimum, 19.9 s median of 6 runs before; 15.1 s minimum, 16.1 s median of 7 runs with them
(main with the private-callee roots alone: 18.0 / 18.3 s); a new process with a warm cache
about 1.0 s either way, and warm throughput unchanged (100 x 1,260 and 1,000 x 2,520).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

import llvmlite.binding as ll
import numba
from numba.core import base as numba_base
from numba.core import config as numba_config
from numba.core import errors as numba_errors
from numba.core import ir
from numba.core.codegen import CPUCodeLibrary, _parse_refprune_flags
from numba.core.compiler import Flags
from numba.core.compiler_machinery import register_pass
from numba.core.dispatcher import _FunctionCompiler
from numba.core.rewrites import rewrite_registry
from numba.core.runtime.context import NRTContext
from numba.core.targetconfig import TargetConfig, _FlagsStack
from numba.core.typed_passes import NopythonRewrites
from numba.core.typing import npydecl
from numba.core.untyped_passes import InlineClosureLikes

__all__ = [
    "KernelFlags",
    "_KernelFunctionCompiler",
    "_compiling_a_kernel",
    "remembered",
    "trimmed_pipeline",
]


class KernelFlags(Flags):
    """The compile flags of one of our kernels: hashed and compared once, not on every lookup.

    numba keys its cache of overload implementations on the flags of the compilation in
    progress (``_OverloadFunctionTemplate._get_impl``), and ``TargetConfig`` hashes and compares
    by reading every option through a property: about 3.5 million reads for the ~44,000
    overload lookups of a backtest's first compile. The values are computed once per instance
    and again only after an option is set. Being an instance of this class is also how the
    patches below know that the compilation in progress is one of our kernels'.
    """

    __slots__ = ("_frozen", "_inherited")

    def __init__(self, copy_from: TargetConfig | None = None) -> None:
        super().__init__(copy_from)
        object.__setattr__(self, "_frozen", None)
        object.__setattr__(self, "_inherited", None)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, "_frozen", None)
        object.__setattr__(self, "_inherited", None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__setattr__(self, "_frozen", None)
        object.__setattr__(self, "_inherited", None)
        object.__delattr__(self, name)

    def values(self) -> dict[str, Any]:
        frozen = self._frozen
        if frozen is None:
            frozen = TargetConfig.values(self)
            object.__setattr__(self, "_frozen", frozen)
        return dict(frozen)

    def __hash__(self) -> int:
        return _FLAGS_HASH  # what TargetConfig hashes: its values' sorted option names

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KernelFlags):
            if self._frozen is None:
                self.values()
            if other._frozen is None:
                other.values()
            return self._frozen == other._frozen
        return TargetConfig.__eq__(self, other)


_FLAGS_HASH = hash(tuple(sorted(KernelFlags.options)))


def _compiling_a_kernel() -> bool:
    """Whether one of our kernels' compilations is in progress in this thread.

    Also true in the compilations it starts (numba's own implementations of ``np.empty``,
    ``max``... that our kernels call), which push their own flags on numba's ``ConfigStack``.
    """
    return any(type(flags) is KernelFlags for flags in _FlagsStack()._stack)


class _KernelFunctionCompiler(_FunctionCompiler):
    def _customize_flags(self, flags: Flags) -> Flags:
        return KernelFlags(flags)


_nrt_get_meminfos = NRTContext.get_meminfos
_holds_meminfo: dict[Any, bool] = {}


def _get_meminfos(self: NRTContext, builder: Any, ty: Any, val: Any) -> list[Any]:
    """``NRTContext.get_meminfos`` without extracting members that hold no meminfo.

    numba extracts every member of a value to look for reference-counted pointers, so each
    incref or decref of an array emitted eleven ``extractvalue`` instructions (meminfo, parent,
    sizes, data, each shape and stride) to use one, and a tuple of arrays eleven per array: dead
    IR that numba then prints, LLVM parses and optimises away. In our kernels' compilations this
    skips the members whose type holds no meminfo; the list returned is the same.
    """
    if not _compiling_a_kernel():
        return _nrt_get_meminfos(self, builder, ty, val)
    dmm = self._context.data_model_manager
    datamodel = dmm[ty]
    meminfos = []
    if datamodel.has_nrt_meminfo():
        meminfos.append((ty, datamodel.get_nrt_meminfo(builder, val)))
    for mtyp, getter in datamodel.traverse(builder):
        holds = _holds_meminfo.get(mtyp)
        if holds is None:
            holds = _holds_meminfo[mtyp] = dmm[mtyp].contains_nrt_meminfo()
        if holds:
            meminfos.extend(_get_meminfos(self, builder, mtyp, getter(val)))
    return meminfos


NRTContext.get_meminfos = _get_meminfos  # type: ignore[method-assign]

_markup = getattr(getattr(numba_errors, "HighlightColorScheme", None), "_markup", None)


def _markup_text(msg: str, color: str | None, style: str | None) -> str:
    """The text numba's ``HighlightColorScheme._markup`` returns, built without colorama calls."""
    return f"{color or ''}{style or ''}{msg}{numba_errors.Style.RESET_ALL}"


def _kernel_markup(self: Any, msg: str, color: str | None = None, style: str | None = None) -> str:
    """The error-message markup of numba, the same text without re-initialising colorama.

    numba builds about 12,000 error objects while typing a backtest (failed overload
    candidates, most never shown), and marking up each message wraps and unwraps
    ``sys.stdout``/``sys.stderr`` through colorama twice, although the text is only returned.
    In our kernels' compilations the text is built directly.
    """
    if not _compiling_a_kernel():
        return _markup(self, msg, color, style)  # type: ignore[misc]
    return _markup_text(msg, color, style)


if _markup is not None:  # None where NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING is set
    _kernel_markup.__defaults__ = (None, _markup.__defaults__[1])  # numba's default style
    numba_errors.HighlightColorScheme._markup = _kernel_markup


_numba_optimize_functions = CPUCodeLibrary._optimize_functions


def _optimize_functions(self: CPUCodeLibrary, ll_module: Any) -> None:
    """Numba's per-function optimisation, without building a pass manager for declarations.

    numba builds an LLVM pass builder and function pass manager for every function of each
    module added to a library, declarations included (about 1,100 of the 1,260 in a backtest's
    first compile, each running an empty pipeline). In our kernels' compilations only the
    functions with a body are optimised, with the same passes; inner code (a library with
    ``cleanup_only``) gets the cleanup of :func:`_cleanup_pass_manager` instead.
    """
    if not _compiling_a_kernel():
        _numba_optimize_functions(self, ll_module)
        return
    ll_module.data_layout = self._codegen._data_layout
    cleanup_only = getattr(self, "cleanup_only", False)
    for func in ll_module.functions:
        if not func.is_declaration:
            if cleanup_only:
                fpm, pb = _cleanup_pass_manager(self._codegen)
            else:
                fpm, pb = self._codegen._function_pass_manager()
            with self._recorded_timings.record(f"Function passes on {func.name!r}", pb):
                fpm.run(func, pb)


def _cleanup_pass_manager(codegen: Any) -> tuple[Any, Any]:
    """The function passes of inner code: numba's stack slots to registers, then a cleanup.

    Inner code is linked into a compile root, whose module gets numba's full optimisation
    pipeline, and that pipeline simplifies every function again after inlining; numba's own
    per-function pipeline (the full function simplification at ``-O3``) run on each inner
    function first is mostly done twice. Skipping it altogether made the root's pipeline slower:
    numba's unoptimised IR (a stack slot, loads and stores for every variable) is several times
    larger. Promoting the slots to registers (SROA), combining instructions and simplifying the
    CFG shrinks it about as much, at half the cost: per-function LLVM time 1.32-1.40 s ->
    0.75-0.80 s, and a first compile 11.9-12.8 -> 11.0-11.6 s, in three interleaved pairs;
    warm throughput equal. Reference-count pruning runs as in numba's pipeline.
    """
    pb = codegen._pass_builder()
    fpm = ll.create_new_function_pass_manager()
    fpm.add_sroa_pass()
    fpm.add_instruction_combine_pass()
    fpm.add_simplify_cfg_pass()
    if numba_config.LLVM_REFPRUNE_PASS:
        fpm.add_refprune_pass(_parse_refprune_flags())
    return fpm, pb


CPUCodeLibrary._optimize_functions = _optimize_functions  # type: ignore[method-assign]


def remembered(cache: dict[Any, Any], key: Any, compute: Any, *args: Any) -> Any:
    """``cache[key]``, set to ``compute(*args)`` the first time (each remembered answer below).

    A key that cannot be hashed (an unhashable literal type or callable) is not remembered:
    the answer is computed each time, as numba does. An exception from ``compute`` propagates
    and nothing is remembered.
    """
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = compute(*args)
        return value
    except TypeError:
        return compute(*args)


_numba_find_loop = npydecl.ufunc_find_matching_loop
_ufunc_loops: dict[tuple[Any, ...], Any] = {}


def _find_matching_loop(ufunc: Any, arg_types: Any) -> Any:
    """``ufunc_find_matching_loop`` of numpy's typing rules, remembered while kernels compile.

    numba resolves an arithmetic operator on an array through the ufunc's loop table, again at
    every pass of type inference over the function (about 7,000 look-ups for a backtest's first
    compile, most with the same ufunc and types). The answer depends on the ufunc and the types
    only, so in our kernels' compilations each is looked up once.
    """
    if not _compiling_a_kernel():
        return _numba_find_loop(ufunc, arg_types)
    return remembered(_ufunc_loops, (ufunc, *arg_types), _numba_find_loop, ufunc, arg_types)


npydecl.ufunc_find_matching_loop = _find_matching_loop


# Values whose presence in a function lets numba's closure inliner change it: a call of
# ``functools.reduce`` (through the module or the name) and a stencil.
_INLINER_GLOBALS = (functools, functools.reduce, numba, numba.stencil)


def _inliner_may_change(func_ir: ir.FunctionIR) -> bool:
    """Whether ``InlineClosureCallPass`` could change this IR.

    It inlines calls of closures (``make_function``: lambdas, nested functions, comprehensions),
    ``functools.reduce`` and stencils, and turns a list built by appends in a loop (an empty
    ``build_list``) into an array; without any of these it changes nothing.
    """
    for block in func_ir.blocks.values():
        for inst in block.body:
            if not isinstance(inst, ir.Assign):
                continue
            value = inst.value
            if isinstance(value, ir.Expr):
                if value.op in ("make_function", "build_list"):
                    return True
            elif isinstance(value, (ir.Global, ir.FreeVar)):
                v = value.value
                if any(v is g for g in _INLINER_GLOBALS) or type(v).__name__ == "StencilFunc":
                    return True
    return False


@register_pass(mutates_CFG=True, analysis_only=False)
class _InlineClosureLikesWhenAny(InlineClosureLikes):
    """numba's ``InlineClosureLikes``, skipped when there is nothing it could inline.

    With nothing to inline the pass only inserts and strips ``ir.Del`` statements and recomputes
    the variable lifetimes (the passes that read them recompute them first): about 0.6 s of a
    backtest's first compile over ~130 functions.
    """

    _name = "dollarbill_inline_closure_likes"

    def run_pass(self, state: Any) -> bool:
        if _inliner_may_change(state.func_ir):
            return super().run_pass(state)
        return False


def _rewrites_match(state: Any) -> bool:
    """Whether a rewrite numba applies after type inference matches a block of this function."""
    func_ir = state.func_ir
    for rewrite_cls in rewrite_registry.rewrites["after-inference"]:
        rewrite = rewrite_cls(state)
        for block in func_ir.blocks.values():
            if rewrite.match(func_ir, block, state.typemap, state.calltypes):
                return True
    return False


@register_pass(mutates_CFG=True, analysis_only=False)
class _NopythonRewritesWhenAny(NopythonRewrites):
    """numba's ``NopythonRewrites``, skipped when none of its rewrites matches a block.

    The rewrites (array expressions, string-literal ``getitem``/``setitem``) match on
    assignments and ``setitem`` statements, never on the ``ir.Del`` statements numba inserts
    before it runs them, so matching without them gives the same answer; without a match the
    pass leaves the IR as it was and only recomputes the variable lifetimes, twice.
    """

    _name = "dollarbill_nopython_rewrites"

    def run_pass(self, state: Any) -> bool:
        if _rewrites_match(state):
            return super().run_pass(state)
        return False


_TRIMMED = {
    InlineClosureLikes: _InlineClosureLikesWhenAny,
    NopythonRewrites: _NopythonRewritesWhenAny,
}


def trimmed_pipeline(passes: list[tuple[type, str]]) -> list[tuple[type, str]]:
    """The passes of numba's pipeline for one of our kernels, with the two above replaced."""
    return [(_TRIMMED.get(pss, pss), note) for pss, note in passes]


_numba_has_loc = numba_base._has_loc
_takes_loc: dict[Any, bool] = {}


def _has_loc(fn: Any) -> bool:
    """Whether a lowering implementation takes ``loc`` (numba's ``_has_loc``), per function once.

    numba reads the answer from ``inspect.signature`` each time it wraps an implementation to
    lower one operation: about 3,800 signatures for a backtest's first compile, of a few hundred
    functions. In our kernels' compilations each function's answer is read once.
    """
    if not _compiling_a_kernel():
        return _numba_has_loc(fn)
    return remembered(_takes_loc, fn, _numba_has_loc, fn)


numba_base._has_loc = _has_loc


# Objects allocated between two young-generation collections while a root compiles (Python's
# default is 700).
_COMPILE_GC_THRESHOLD = 10_000


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector runs less often while a compile root compiles.

    Typing and lowering a backtest allocate millions of short-lived objects (numba IR, types,
    llvmlite instructions), and with Python's default threshold the collector ran about 1,700
    times during a first compile, each time walking the objects the compiler holds alive: about
    1.5 s of a 15 s first compile. With young collections every 10,000 allocations while a root
    compiles, a first backtest runs about 330 collections in all, and its peak memory grows by
    3 MB (326 -> 329 MB). The thresholds in force are restored afterwards, also when the compile
    fails, and a user's higher threshold is kept; loading a root from the cache allocates little
    either way.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _COMPILE_GC_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
