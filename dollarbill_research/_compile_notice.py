"""A one-line notice when kernels first compile in a process whose numba cache is empty.

A fresh environment compiles the kernels on first use (about 11-15 s for a backtest, 22 s for
the demo's kernels, 24 s for every kernel on the 2-core machine; numba then caches them on
disk). Without a word that looks like a hang, so
the first compile of a dollarbill kernel in a process checks whether the kernels' cache folder
holds any compiled kernel yet (numba's ``*.nbi`` index files) and, when it holds none, prints
:data:`NOTICE` once on stderr (terminals and notebooks both show it). The check is a directory
listing, made once per process; later compiles cost nothing more.

Set ``DOLLARBILL_NO_COMPILE_NOTICE=1`` to silence it.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from numba.core import event

__all__ = ["NOTICE", "cache_dir_of", "cache_is_empty", "install", "silence"]

NOTICE = (
    "dollarbill: compiling kernels, about 15-25 s, once per environment; "
    "`dollarbill warmup` does it ahead"
)
_PACKAGE = "dollarbill_research."


def cache_dir_of(dispatcher: Any) -> Path | None:
    """The folder where numba caches ``dispatcher`` (None for an uncached one)."""
    path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    return Path(path) if path else None


def cache_is_empty(folder: Path | None) -> bool:
    """Whether ``folder`` holds no compiled kernel (no ``*.nbi`` index file)."""
    if folder is None:
        return False
    try:
        return not any(name.endswith(".nbi") for name in os.listdir(folder))
    except OSError:  # not created yet: nothing was ever cached there
        return True


class _FirstCompile(event.Listener):  # type: ignore[misc]
    """Prints the notice on the first compile of one of our kernels, if the cache was empty."""

    def __init__(self) -> None:
        self.done = False
        self._lock = threading.Lock()

    def on_start(self, ev: Any) -> None:
        if self.done:
            return
        dispatcher = (ev.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if not module.startswith(_PACKAGE):
            return
        with self._lock:
            if self.done:
                return
            self.done = True
            if cache_is_empty(cache_dir_of(dispatcher)):
                print(NOTICE, file=sys.stderr, flush=True)

    def on_end(self, ev: Any) -> None:
        pass


_LISTENER: _FirstCompile | None = None


def install() -> None:
    """Register the listener once per process (no-op when silenced by the environment)."""
    global _LISTENER
    if _LISTENER is not None or os.environ.get("DOLLARBILL_NO_COMPILE_NOTICE", "") not in ("", "0"):
        return
    _LISTENER = _FirstCompile()
    event.register("numba:compile", _LISTENER)


def silence() -> None:
    """Do not print the notice in this process (a command that reports compiling itself)."""
    if _LISTENER is not None:
        _LISTENER.done = True
