"""The one place where numba options are set.

``cache=True`` so a second process starts fast; ``nogil=True`` so sweeps can run kernels on
threads. No ``fastmath``: these kernels handle money. Kernels dispatch on integer codes and never
take jitted callables, which keeps every one of them cacheable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True}


def jit(fn: F) -> F:
    """Compile ``fn`` with the project's numba options (cached, nogil, no fastmath)."""
    return njit(**JIT_OPTIONS)(fn)  # type: ignore[no-any-return]


def jit_parallel(fn: F) -> F:
    """Compile ``fn`` with ``parallel=True`` for ``prange`` loops (sweeps over configurations)."""
    return njit(parallel=True, **JIT_OPTIONS)(fn)  # type: ignore[no-any-return]
