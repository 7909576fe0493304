"""Numba kernels of the frame -> panel hand-off (numpy + math only)."""

from __future__ import annotations

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.kernels._jit import jit

__all__ = ["block_to_panel_nb"]

_TILE = 64


@jit
def block_to_panel_nb(values: FloatArray, n_symbols: int, n_bars: int) -> FloatArray:
    """Symbol-major long column -> C-contiguous ``(n_bars, n_symbols)`` panel (tiled transpose).

    ``values`` holds ``n_symbols`` consecutive runs of ``n_bars`` values (the canonical frame's
    order when every symbol has every bar). Tiling keeps both reads and writes in cache, several
    times faster than ``np.ascontiguousarray(values.reshape(n_symbols, n_bars).T)``.
    """
    out = np.empty((n_bars, n_symbols))
    for s0 in range(0, n_symbols, _TILE):
        s1 = min(s0 + _TILE, n_symbols)
        for t0 in range(0, n_bars, _TILE):
            t1 = min(t0 + _TILE, n_bars)
            for s in range(s0, s1):
                base = s * n_bars
                for t in range(t0, t1):
                    out[t, s] = values[base + t]
    return out
