"""The one place where numba options are set.

``cache=True`` so a second process starts fast; ``nogil=True`` so sweeps can run kernels on
threads. No ``fastmath``: these kernels handle money. Kernels dispatch on integer codes and never
take jitted callables, which keeps every one of them cacheable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import config as numba_config
from numba import njit
from numba.core.registry import CPUDispatcher

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True}


def jit(fn: F) -> F:
    """Compile ``fn`` with the project's numba options (cached, nogil, no fastmath)."""
    return njit(**JIT_OPTIONS)(fn)  # type: ignore[no-any-return]


class InnerDispatcher(CPUDispatcher):
    """A dispatcher compiled without CPython/C wrappers: callable from other kernels only.

    Calling it from Python raises ``TypeError`` (without a wrapper numba would crash).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.py_func.__module__}.{self.py_func.__name__} is a kernel helper that only "
            "other kernels can call (compiled without a Python wrapper); hint: call the public "
            "kernel or its Python wrapper instead"
        )


def jit_inner(fn: F) -> F:
    """Like :func:`jit`, for kernels only other kernels call: no CPython or C wrapper is built.

    The wrappers are most of the compile time of a small kernel (about 65 ms of the 110 ms of a
    one-line kernel here), and a helper that only other kernels call never uses them.
    ``tests/test_architecture.py`` checks that no Python code outside the kernels names one.
    """
    if numba_config.DISABLE_JIT:
        return fn
    options = {
        "nopython": True,
        "boundscheck": None,
        "nogil": JIT_OPTIONS["nogil"],
        "no_cpython_wrapper": True,
        "no_cfunc_wrapper": True,
    }
    disp = InnerDispatcher(py_func=fn, locals={}, targetoptions=options)
    if JIT_OPTIONS["cache"]:
        disp.enable_caching()
    return disp  # type: ignore[return-value]


def jit_parallel(fn: F) -> F:
    """Compile ``fn`` with ``parallel=True`` for ``prange`` loops (sweeps over configurations)."""
    return njit(parallel=True, **JIT_OPTIONS)(fn)  # type: ignore[no-any-return]
