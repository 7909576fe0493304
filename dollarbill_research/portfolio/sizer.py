"""PositionSizer: the sizing kernels (SPEC 5.2) for one trade, with checked inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dollarbill_research.config.portfolio import PortfolioConfig, SizingMethod
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import records
from dollarbill_research.kernels.codes import W_KELLY_FALLBACK, WARNING_TEXT, mask_bits
from dollarbill_research.kernels.params import make_params
from dollarbill_research.kernels.sizing_nb import size_units_nb
from dollarbill_research.portfolio._book import Candidate

__all__ = ["PositionSizer", "SizeResult"]


@dataclass(frozen=True, slots=True)
class SizeResult:
    """Outcome of sizing one trade.

    Attributes
    ----------
    units : int
        Whole shares or contracts, >= 0, after the notional and max-risk caps.
    method : SizingMethod
        The configured method.
    warnings : tuple of int
        Warning codes (``W_KELLY_FALLBACK`` when Kelly had too few closed trades).
    warning_texts : tuple of str
        Human texts of ``warnings``.
    """

    units: int
    method: SizingMethod
    warnings: tuple[int, ...] = ()
    warning_texts: tuple[str, ...] = ()

    @property
    def kelly_fallback(self) -> bool:
        """True when Kelly fell back to FixedFractional(max_risk_per_trade)."""
        return W_KELLY_FALLBACK in self.warnings


def _positive(field: str, value: float, symbol: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{symbol}: {field}={value!r} must be a number")
    if not (math.isfinite(value) and value > 0.0):
        raise DataError(
            f"{symbol}: {field}={value!r} must be finite and > 0; "
            "hint: a zero or negative price cannot be sized"
        )
    return float(value)


class PositionSizer:
    """Size single trades with a :class:`PortfolioConfig` (validated when sizing).

    Examples
    --------
    >>> from dollarbill_research.config.portfolio import PortfolioConfig
    >>> sizer = PositionSizer(PortfolioConfig(sizing_method="FixedFractional",
    ...                                       fixed_fraction_pct=1.5))
    >>> sizer.size(equity=100_000.0, unit_cost=100.0, unit_max_loss=5.0).units
    15
    """

    def __init__(self, config: PortfolioConfig) -> None:
        self.config = config

    def size(
        self,
        *,
        equity: float,
        unit_cost: float,
        unit_max_loss: float,
        unit_dollar_vol: float | None = None,
        win_rate: float = 0.0,
        payoff_ratio: float = 0.0,
        n_closed: int = 0,
        symbol: str = "trade",
    ) -> SizeResult:
        """Units for one trade.

        Parameters
        ----------
        equity : float
            Current equity, dollars.
        unit_cost, unit_max_loss : float
            Dollars per unit (share price, or premium x 100; see docs/architecture.md).
        unit_dollar_vol : float, optional
            Annualised dollar volatility of one unit; required by VolatilityBased and
            RiskParity.
        win_rate, payoff_ratio, n_closed : float, float, int
            The strategy's closed-trade statistics (Kelly only).
        symbol : str
            Named in error messages.

        Raises
        ------
        DataError
            A price-like input is zero, negative or not finite, or a required input is missing.
        """
        params = make_params(np.zeros(records.BP_LEN), self.config.to_kernel())
        _positive("equity", equity, symbol)
        _positive("unit_cost", unit_cost, symbol)
        _positive("unit_max_loss", unit_max_loss, symbol)
        method = self.config.sizing_method
        if method in (SizingMethod.VolatilityBased, SizingMethod.RiskParity):
            if unit_dollar_vol is None:
                raise DataError(f"{symbol}: {method.value} needs unit_dollar_vol")
            _positive("unit_dollar_vol", unit_dollar_vol, symbol)
        if not (0.0 <= win_rate <= 1.0):
            raise DataError(f"{symbol}: win_rate={win_rate!r} must be in [0, 1]")
        units, warn = size_units_nb(
            method.code,
            float(equity),
            float(equity),
            (
                float(unit_cost),
                float(unit_max_loss),
                float(unit_dollar_vol if unit_dollar_vol is not None else 0.0),
            ),
            params,
            (float(win_rate), float(payoff_ratio), int(n_closed)),
        )
        codes = tuple(mask_bits(int(warn)))
        return SizeResult(int(units), method, codes, tuple(WARNING_TEXT[c] for c in codes))

    def size_candidate(
        self,
        candidate: Candidate,
        *,
        equity: float,
        win_rate: float = 0.0,
        payoff_ratio: float = 0.0,
        n_closed: int = 0,
    ) -> SizeResult:
        """Units for a :class:`Candidate` (its per-unit quantities)."""
        return self.size(
            equity=equity,
            unit_cost=candidate.unit_cost,
            unit_max_loss=candidate.unit_max_loss,
            unit_dollar_vol=candidate.unit_dollar_vol,
            win_rate=win_rate,
            payoff_ratio=payoff_ratio,
            n_closed=n_closed,
            symbol=candidate.symbol,
        )
