"""PortfolioManager: pre-trade approval on the projected book (SPEC 5.5).

Unlike the original Rust manager, this one is told about its positions and capital
(:meth:`PortfolioManager.update_positions`, :meth:`PortfolioManager.update_capital`), so every
limit sees the real book.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.approval_nb import decide_nb
from dollarbill_research.kernels.params import make_params
from dollarbill_research.portfolio._book import Candidate, Position, book_arrays
from dollarbill_research.portfolio.analyzer import Exposures, market_closes
from dollarbill_research.portfolio.sizer import PositionSizer

__all__ = ["Decision", "PortfolioManager"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one candidate trade.

    Attributes
    ----------
    approved : bool
        No reason fired and the size is at least one unit.
    size : int
        Approved units (possibly scaled down), or the requested units when rejected.
    reasons, warnings : tuple of int
        ``R_*`` / ``W_*`` codes of :mod:`dollarbill_research.kernels.codes`.
    reason_texts, warning_texts : tuple of str
        Texts rendered from ``REASON_TEXT`` / ``WARNING_TEXT``.
    exposures : Exposures
        Projected book exposures at ``size`` (fractions of equity).
    """

    approved: bool
    size: int
    reasons: tuple[int, ...]
    reason_texts: tuple[str, ...]
    warnings: tuple[int, ...]
    warning_texts: tuple[str, ...]
    exposures: Exposures


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """Closed-trade statistics of one strategy (for Kelly sizing)."""

    win_rate: float = 0.0
    payoff_ratio: float = 0.0
    n_closed: int = 0


class PortfolioManager:
    """Keeps the book, capital and market window; sizes and approves candidate trades.

    Examples
    --------
    >>> from dollarbill_research.config.portfolio import PortfolioConfig
    >>> pm = PortfolioManager(PortfolioConfig())
    >>> pm.update_positions([Position.shares("AAPL", "Momentum", 180, 150.0)])
    >>> d = pm.decide(Candidate.shares("MSFT", "Momentum", 100.0, 0.25), size=50)
    >>> d.approved, d.reason_texts
    (False, ('Portfolio delta (32.0%) exceeds limit (30.0%)',))
    """

    def __init__(self, config: PortfolioConfig) -> None:
        self.config = config
        self.equity = config.initial_capital
        self.cash = config.initial_capital
        self.positions: tuple[Position, ...] = ()
        self.capacity: dict[str, float] = {}
        self.stats: dict[str, StrategyStats] = {}
        self._closes: FloatArray | None = None
        self._symbols: tuple[str, ...] = ()

    # -- state -----------------------------------------------------------------------------
    def update_positions(self, positions: Sequence[Position]) -> None:
        """Replace the book with ``positions`` (all open positions, every strategy)."""
        for p in positions:
            if not isinstance(p, Position):
                raise DataError(f"update_positions expects Position records, got {p!r}")
        self.positions = tuple(positions)

    def update_capital(self, equity: float, cash: float | None = None) -> None:
        """Set current equity and cash in dollars (cash defaults to equity)."""
        if not (np.isfinite(equity) and equity > 0.0):
            raise DataError(f"update_capital: equity={equity!r} must be finite and > 0")
        cash = equity if cash is None else cash
        if not np.isfinite(cash):
            raise DataError(f"update_capital: cash={cash!r} must be finite")
        self.equity, self.cash = float(equity), float(cash)

    def update_market(self, closes: FloatArray, symbols: Sequence[str]) -> None:
        """Closes ``(n_bars, n_symbols)`` up to now, oldest first, NaN where missing (VaR)."""
        self._closes, self._symbols = market_closes(closes, symbols, ())

    def update_strategy_capacity(self, capacity: Mapping[str, float]) -> None:
        """Dollars each strategy may commit (allocation target x equity); others uncapped."""
        for name, value in capacity.items():
            if not (np.isfinite(value) and value >= 0.0):
                raise DataError(f"capacity of strategy {name!r}={value!r} must be >= 0")
        self.capacity = dict(capacity)

    def update_strategy_stats(
        self, strategy: str, *, win_rate: float, payoff_ratio: float, n_closed: int
    ) -> None:
        """Closed-trade statistics of ``strategy`` for Kelly sizing."""
        self.stats[strategy] = StrategyStats(float(win_rate), float(payoff_ratio), int(n_closed))

    # -- decisions -------------------------------------------------------------------------
    def can_take_position(self, candidate: Candidate, size: int | None = None) -> bool:
        """True when :meth:`decide` approves ``candidate``."""
        return self.decide(candidate, size=size).approved

    def decide(self, candidate: Candidate, size: int | None = None) -> Decision:
        """Size (unless ``size`` is given) and check ``candidate`` against every limit.

        Parameters
        ----------
        candidate : Candidate
            Per-unit quantities of the trade.
        size : int, optional
            Units requested; by default the configured sizing method decides.
        """
        cfg = self.config.validate()
        params = make_params(np.zeros(records.BP_LEN), cfg.to_kernel())
        warn0 = 0
        if size is None:
            st = self.stats.get(candidate.strategy, StrategyStats())
            sized = PositionSizer(cfg).size_candidate(
                candidate, equity=self.equity, win_rate=st.win_rate,
                payoff_ratio=st.payoff_ratio, n_closed=st.n_closed,
            )  # fmt: skip
            size = sized.units
            warn0 = sum(1 << w for w in sized.warnings)
        elif isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise DataError(f"size={size!r} must be a whole number of units >= 0")
        closes, names = market_closes(
            self._closes, self._symbols, [p.symbol for p in self.positions] + [candidate.symbol]
        )
        book = book_arrays(
            self.positions, symbols=names, sectors=[candidate.sector],
            strategies=[candidate.strategy],
        )  # fmt: skip
        strategies = book.strategies
        exposure = np.zeros(len(strategies))
        np.add.at(exposure, book.pos_strategy, book.cost)
        capacity = np.array([self.capacity.get(s, np.inf) for s in strategies])
        c = candidate
        cand = records.Candidate(
            float(c.unit_cost), float(c.unit_delta_d), float(c.unit_gamma_d),
            float(c.unit_vega10), float(c.unit_theta), float(c.unit_mv), float(c.unit_conc),
            names.index(c.symbol), 0, 0,
        )  # fmt: skip
        flat = records.FlatBook(
            book.pos_symbol, book.pos_sector, book.pos_strategy, book.delta_d, book.gamma_d,
            book.vega10, book.theta, book.mv, book.conc,
        )  # fmt: skip
        room = records.Room(float(self.equity), float(self.cash), len(self.positions), exposure,
                            capacity)  # fmt: skip
        units, reason, warn, proj = decide_nb(
            float(size), cand, flat, room, closes, closes.shape[0] - 1, params
        )
        exposures = Exposures.from_vector(proj)
        sector_now = float(np.sum(np.abs(book.mv[book.pos_sector == 0])))
        fields = self._text_fields(c, float(units), exposures, sector_now, warning=False)
        wfields = self._text_fields(c, float(units), exposures, sector_now, warning=True)
        reasons = tuple(codes.mask_bits(int(reason)))
        warnings = tuple(codes.mask_bits(int(warn) | warn0))
        return Decision(
            approved=reason == 0 and units > 0,
            size=int(units),
            reasons=reasons,
            reason_texts=tuple(codes.render_reason(r, **fields[r]) for r in reasons),
            warnings=warnings,
            warning_texts=tuple(
                codes.render_reason(w, **wfields[w], warning=True) for w in warnings
            ),
            exposures=exposures,
        )

    def _text_fields(
        self, c: Candidate, units: float, ex: Exposures, sector_now: float, *, warning: bool
    ) -> dict[int, dict[str, object]]:
        """Values (percent) and limits (percent) named in each reason / warning text."""
        lim = self.config.risk_limits
        eq = self.equity
        pairs = {
            codes.R_DELTA: (ex.delta, lim.max_portfolio_delta),
            codes.R_GAMMA: (ex.gamma, lim.max_portfolio_gamma),
            codes.R_VEGA: (ex.vega, lim.max_portfolio_vega),
            codes.R_CONCENTRATION: (units * abs(c.unit_conc) / eq, lim.max_concentration_pct / 100),
            codes.R_SECTOR: (
                (sector_now + units * abs(c.unit_mv)) / eq,
                lim.max_sector_exposure_pct / 100,
            ),
            codes.R_VAR: (ex.var95, lim.max_var_pct / 100),
            codes.R_CASH: (units * c.unit_cost / eq, 0.0),
            codes.R_MAX_POSITIONS: (0.0, self.config.max_positions / 100),
        }
        out: dict[int, dict[str, object]] = {}
        for code in range(codes.N_REASONS):
            value, limit = pairs.get(code, (0.0, 0.0))
            out[code] = {
                "value": 100.0 * value, "limit": 100.0 * limit,
                "strategy": c.strategy, "symbol": c.symbol,
            }  # fmt: skip
        if warning:  # warnings report the projected book's largest position and sector
            out[codes.R_CONCENTRATION]["value"] = 100.0 * ex.concentration
            out[codes.R_SECTOR]["value"] = 100.0 * ex.sector
        return out
