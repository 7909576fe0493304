"""The open book as flat arrays (the layout the risk and approval kernels read).

``book_i`` int64 ``(BOOK_I_LEN, n_slots)`` and ``book_f`` float64 ``(BOOK_F_LEN, n_slots)``
hold the first ``k`` open positions column-wise (rows ``BI_*`` / ``BF_*`` of
:mod:`.records`), so that ``book_f[BF_DELTA, :k]`` is the contiguous ``delta_d[k]`` array of
docs/architecture.md.
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.kernels._jit import jit
from dollarbill_research.kernels.codes import EXP_VAR95, EXP_VAR99, PP_VAR_WINDOW
from dollarbill_research.kernels.records import (
    BF_CONC,
    BF_DELTA,
    BF_GAMMA,
    BF_MV,
    BF_THETA,
    BF_VEGA,
    BI_SECTOR,
    BI_STRATEGY,
    BI_SYMBOL,
)
from dollarbill_research.kernels.risk_nb import book_exposures_nb


@jit
def book_set_nb(
    book_i: np.ndarray,
    book_f: np.ndarray,
    i: int,
    positions: np.ndarray,
    slot: int,
    sector_codes: np.ndarray,
) -> None:
    """Write open position ``slot`` into column ``i`` of the flat book."""
    p = positions[slot]
    book_i[BI_SYMBOL, i] = p.symbol
    book_i[BI_SECTOR, i] = sector_codes[p.symbol]
    book_i[BI_STRATEGY, i] = p.strategy
    book_f[BF_DELTA, i] = p.delta_d
    book_f[BF_GAMMA, i] = p.gamma_d
    book_f[BF_VEGA, i] = p.vega10
    book_f[BF_THETA, i] = p.theta
    book_f[BF_MV, i] = p.mv
    book_f[BF_CONC, i] = p.conc


@jit
def flatten_book_nb(
    positions: np.ndarray, sector_codes: np.ndarray, book_i: np.ndarray, book_f: np.ndarray
) -> int:
    """Copy every open position into the flat book in slot order; return their number ``k``."""
    k = 0
    for slot in range(positions.shape[0]):
        if positions[slot].active == 1:
            book_set_nb(book_i, book_f, k, positions, slot, sector_codes)
            k += 1
    return k


@jit
def book_exposures_into_nb(
    book_i: np.ndarray,
    book_f: np.ndarray,
    k: int,
    equity: float,
    n_sectors: int,
    close: np.ndarray,
    t: int,
    pp: np.ndarray,
    with_var: bool,
    out: np.ndarray,
) -> None:
    """Exposures (``EXP_*``) of the first ``k`` book entries into ``out``.

    ``with_var=False`` skips the VaR covariance (``EXP_VAR95/99`` are NaN): the portfolio
    management off path records Greeks only, so an equities-only run stays O(positions) per bar.
    """
    window = int(pp[PP_VAR_WINDOW]) if with_var else 0
    exp = book_exposures_nb(
        book_i[BI_SYMBOL, :k],
        book_i[BI_SECTOR, :k],
        book_i[BI_STRATEGY, :k],
        book_f[BF_DELTA, :k],
        book_f[BF_GAMMA, :k],
        book_f[BF_VEGA, :k],
        book_f[BF_THETA, :k],
        book_f[BF_MV, :k],
        book_f[BF_CONC, :k],
        equity,
        n_sectors,
        close,
        t,
        window,
    )
    out[:] = exp
    if not with_var:
        out[EXP_VAR95] = np.nan
        out[EXP_VAR99] = np.nan
