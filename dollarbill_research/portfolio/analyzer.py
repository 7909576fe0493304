"""RiskAnalyzer: book exposures (SPEC 5.3) for a Python list of positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import codes
from dollarbill_research.kernels.records import FlatBook
from dollarbill_research.kernels.risk_nb import book_exposures_nb
from dollarbill_research.portfolio._book import Position, book_arrays

__all__ = ["Exposures", "RiskAnalyzer"]


@dataclass(frozen=True, slots=True)
class Exposures:
    """Book exposures as fractions of equity (``diversification`` is a count of positions).

    Attributes
    ----------
    delta, gamma, vega, theta : float
        Net dollar delta; dollar gamma for a 1 % move; P&L for +10 vol points; theta per day.
    concentration, sector : float
        Largest position (|mv| or defined-risk max loss); largest sector sum of |mv|.
    var95, var99 : float
        Delta-normal one-bar VaR.
    gross, net : float
        Sum of |mv| and of mv.
    diversification : float
        Effective number of positions ``(sum |mv|)^2 / sum mv^2``.
    """

    delta: float
    gamma: float
    vega: float
    theta: float
    concentration: float
    sector: float
    var95: float
    var99: float
    gross: float
    net: float
    diversification: float

    @classmethod
    def from_vector(cls, vec: FloatArray) -> Exposures:
        """Build from a kernel exposure vector ``(N_EXPOSURES,)``."""
        return cls(*(float(vec[e]) for e in _ORDER))


_ORDER = (
    codes.EXP_DELTA,
    codes.EXP_GAMMA,
    codes.EXP_VEGA,
    codes.EXP_THETA,
    codes.EXP_CONCENTRATION,
    codes.EXP_SECTOR,
    codes.EXP_VAR95,
    codes.EXP_VAR99,
    codes.EXP_GROSS,
    codes.EXP_NET,
    codes.EXP_DIVERSIFICATION,
)


def market_closes(
    closes: FloatArray | None, symbols: Sequence[str], book_symbols: Sequence[str]
) -> tuple[FloatArray, tuple[str, ...]]:
    """Check a ``(n_bars, n_symbols)`` close panel and extend its symbols with the book's.

    Symbols of the book that the panel lacks get an all-NaN column (no VaR contribution).
    """
    names = list(symbols)
    if closes is None:
        arr = np.full((1, 0), np.nan)
        names = []
    else:
        arr = np.ascontiguousarray(closes, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise DataError(
                f"closes has shape {arr.shape}; expected (n_bars, {len(names)}) matching symbols"
            )
    extra = [s for s in book_symbols if s not in names]
    if extra:
        arr = np.hstack([arr, np.full((arr.shape[0], len(extra)), np.nan)])
        names += extra
    return np.ascontiguousarray(arr), tuple(names)


class RiskAnalyzer:
    """Exposures of a book of :class:`Position` (one kernel call for the whole book).

    Examples
    --------
    >>> from dollarbill_research.config.portfolio import PortfolioConfig
    >>> book = [Position.shares("AAPL", "Momentum", 100, 150.0)]
    >>> RiskAnalyzer(PortfolioConfig()).analyze(book, equity=100_000.0).delta
    0.15
    """

    def __init__(self, config: PortfolioConfig) -> None:
        self.config = config

    def analyze(
        self,
        positions: Sequence[Position],
        *,
        equity: float,
        closes: FloatArray | None = None,
        symbols: Sequence[str] = (),
    ) -> Exposures:
        """Exposures of ``positions`` at the last bar of ``closes``.

        Parameters
        ----------
        positions : sequence of Position
            The open book.
        equity : float
            Dollars, > 0.
        closes : numpy.ndarray, optional
            ``(n_bars, n_symbols)`` closes, oldest first, NaN where missing; needed for VaR
            (VaR is 0 without it). The covariance window is ``config.var_window``.
        symbols : sequence of str
            Column names of ``closes``.
        """
        if not (np.isfinite(equity) and equity > 0.0):
            raise DataError(f"equity={equity!r} must be finite and > 0")
        self.config.validate()
        panel, names = market_closes(closes, symbols, [p.symbol for p in positions])
        book = book_arrays(positions, symbols=names)
        flat = FlatBook(
            book.pos_symbol, book.pos_sector, book.pos_strategy, book.delta_d, book.gamma_d,
            book.vega10, book.theta, book.mv, book.conc,
        )  # fmt: skip
        vec = book_exposures_nb(
            flat, float(equity), len(book.sectors), panel, panel.shape[0] - 1,
            self.config.var_window,
        )  # fmt: skip
        return Exposures.from_vector(vec)
