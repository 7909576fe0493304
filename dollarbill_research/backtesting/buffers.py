"""The drivers' record buffers: grown by doubling while a run writes, cut to their rows after.

The compiled driver appends to preallocated buffers and returns to Python when one could
overflow on the next bar; :func:`grown` makes room (``backtesting.engine.simulate`` and the
streaming driver both call it), and :func:`head` hands the used rows to the result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grown", "head"]


def head(rec: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of a record buffer, without a copy.

    A buffer at least three quarters used is returned as the view of its first ``n`` rows;
    one used less is shrunk in place (the rest is freed). Shrinking a mostly used buffer would
    hand the allocator back a chunk a little smaller than the next run's buffer, which then
    comes fresh from the kernel and page-faults on every page the driver writes (glibc serves
    a request from its heap once a chunk of that size was freed whole): measured 460 faults,
    19 % of a 100 x 1,260 equities run. A copy of the rows would add its size to the peak
    memory. ``rec`` must own its data and have no views (the driver's buffers: numba borrows
    them only for the duration of a call); any other array is copied.
    """
    if rec.base is not None or not rec.flags.owndata:
        return rec[:n].copy()
    if 4 * n >= 3 * rec.shape[0]:
        return rec[:n]
    rec.resize(n, refcheck=False)
    return rec


def grown(rec: np.ndarray, used: int, need: int, in_place: bool = False) -> np.ndarray:
    """``rec`` doubled (zero rows appended) until ``used + need`` rows fit.

    Also doubled once when more than half full; the rows are copied as raw bytes, or with
    ``in_place`` (a buffer of the driver's that nothing views) resized in place.
    """
    size = rec.shape[0]
    if used * 2 > size:
        size *= 2
    while used + need > size:
        size *= 2
    if size == rec.shape[0]:
        return rec
    if in_place and rec.base is None and rec.flags.owndata:
        rec.resize(size, refcheck=False)  # new rows are zeros
        return rec
    out = np.zeros(size, dtype=rec.dtype)
    out.view(np.uint8)[: rec.nbytes] = rec.view(np.uint8)
    return out
