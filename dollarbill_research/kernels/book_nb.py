"""The open book as flat arrays (the layout the risk and approval kernels read).

``book_i`` int64 ``(BOOK_I_LEN, n_slots)`` and ``book_f`` float64 ``(BOOK_F_LEN, n_slots)``
hold the first ``k`` open positions column-wise (rows ``BI_*`` / ``BF_*`` of
:mod:`.records`), so that ``book_f[BF_DELTA, :k]`` is the contiguous ``delta_d[k]`` array of
docs/architecture.md.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit_inner
from dollarbill_research.kernels.codes import EXP_VAR95, EXP_VAR99
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
from dollarbill_research.kernels.risk_nb import CX_LEN, exposures_into_nb
from dollarbill_research.kernels.workspace_nb import (
    V_OUT,
    WI_OPEN,
    Workspace,
    quad_form_ws_nb,
    sector_scratch_nb,
)


@jit_inner
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


@jit_inner
def flatten_book_nb(
    positions: np.ndarray,
    sector_codes: np.ndarray,
    wi: np.ndarray,
    n_open: int,
    book_i: np.ndarray,
    book_f: np.ndarray,
) -> int:
    """Copy the open positions (``wi[WI_OPEN, :n_open]``, slot order) into the flat book."""
    for i in range(n_open):
        book_set_nb(book_i, book_f, i, positions, wi[WI_OPEN, i], sector_codes)
    return n_open


@jit_inner
def book_exposures_into_nb(
    k: int,
    equity: float,
    n_sectors: int,
    closes: np.ndarray,
    with_var: bool,
    ws: Workspace,
    out: np.ndarray,
) -> None:
    """Exposures (``EXP_*``) of the first ``k`` book entries into ``out``.

    The VaR is :func:`~dollarbill_research.kernels.risk_nb.var_nb`'s over the bar's window,
    from the workspace ``ws`` (:mod:`.workspace_nb`) cache. ``with_var=False`` skips it
    (``EXP_VAR95/99`` are NaN): the portfolio management off path records Greeks only, so an
    equities-only run stays O(positions) per bar.
    """
    q = 0.0
    if with_var and math.isfinite(equity) and equity > 0.0:
        q = quad_form_ws_nb(closes, k, ws)
    sector_abs = sector_scratch_nb(ws.wf, n_sectors)
    tot = ws.vec[V_OUT, :CX_LEN]
    exposures_into_nb(ws.book_i, ws.book_f, k, equity, q, out, sector_abs, tot)
    if not with_var:
        out[EXP_VAR95] = np.nan
        out[EXP_VAR99] = np.nan
