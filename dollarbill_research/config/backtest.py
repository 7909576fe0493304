"""Backtest configuration (SPEC 6): capital, simple sizing, exits, costs; JSON in and out.

The seed's Rust snippet in Python form:

>>> from dollarbill_research.config.backtest import BacktestConfig
>>> config = BacktestConfig()
>>> config.use_portfolio_management = True  # the seed's users set fields after construction
>>> config.validate().position_size_pct
10.0
>>> BacktestConfig.from_json(config.to_json()) == config
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.config._validate import (
    check_bool,
    check_int,
    check_keys,
    check_range,
    read_json,
    write_json,
)
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import records
from dollarbill_research.kernels.params import BACKTEST_DTYPE

__all__ = ["BacktestConfig"]

INF = math.inf
#: Bars per year when a config leaves it to inference but no history is at hand (live).
DEFAULT_BARS_PER_YEAR = 252
# Minimum half-spread per share of an option leg (below $3, at $3 or more), dollars: the
# exchanges' quoting increments (docs/risk-model.md, "Costs"). "penny" is the Penny Interval
# Program's ($0.01 below $3, $0.05 above), "nickel_dime" the standard ($0.05 / $0.10).
TICK_RULES: dict[str, tuple[float, float]] = {
    "nickel_dime": (0.05, 0.10),
    "penny": (0.01, 0.05),
    "none": (0.0, 0.0),
}
_OPTIONAL_PCT = (
    "stop_loss_pct",
    "take_profit_pct",
    "short_stop_loss_pct",
    "short_take_profit_pct",
)


@dataclass(slots=True)
class BacktestConfig:
    """Settings of one backtest run.

    Attributes
    ----------
    initial_capital : float
        Starting cash in dollars, > 0.
    use_portfolio_management : bool
        False: the seed's simple sizing ``floor(cash x position_size_pct% / unit cost)`` and no
        risk checks. True: sizing and pre-trade approval by the portfolio kernels.
    position_size_pct : float
        % of free cash per trade with portfolio management off, in (0, 100].
    max_positions : int
        Open positions allowed at once (both modes), 0 = unlimited.
    days_to_expiry : int
        Calendar days to expiry of new options when the template gives none.
    max_days_hold : int
        Bars a position may stay open (0 = no limit).
    stop_loss_pct, take_profit_pct : float or None
        Exit a long/debit position when its value fell / rose by this % of the entry value
        (None = off).
    short_stop_loss_pct, short_take_profit_pct : float or None
        The same for short and credit positions, in % of the credit received (a loss of 100 %
        = the position now costs twice the credit to close).
    risk_free_rate, dividend_yield : float
        Continuously compounded decimals for option pricing; ``risk_free_rate`` is also the
        rate Sharpe and Sortino subtract (0 allowed).
    commission_per_share, commission_per_contract : float
        Dollars per share of stock and per option contract (each leg), both sides.
    spread_pct : float
        Full bid-ask spread in % of each leg's price; half is paid on each fill. Applies to
        option legs, and to shares unless ``share_spread_pct`` is set.
    share_spread_pct : float or None
        Full bid-ask spread of shares in % of their price; None (default) = ``spread_pct``.
        US large caps quote far tighter than their options: the daily-bar estimate of the
        effective spread on the shipped real histories is 0.02-0.2 % (docs/risk-model.md,
        "Costs"), so a share-trading book is costed with e.g. ``share_spread_pct=0.05``.
    slippage_vol_mult : float
        Volatility-scaled slippage: each fill also pays
        ``slippage_vol_mult x iv / sqrt(bars_per_year)`` of each leg's value (0 = off).
    bars_per_year : int or None
        Annualisation of the metrics and of the per-bar slippage (252 for daily bars). None
        (default): inferred from the data's timestamps by the engine and the sweep
        (:func:`~dollarbill_research.backtesting.annualisation.infer_bars_per_year`: 252 for
        trading days, 52 for weekly bars, ...); the result's config shows the value used. The
        live adapter, which sees one bar at a time, uses 252.
    position_size_units : int
        With portfolio management off: a fixed number of shares / contracts per entry (the
        seed bot's ``position_size_shares``; still capped by free cash); 0 (default) sizes by
        ``position_size_pct``.
    option_tick_rule : str
        Minimum half-spread per option contract leg, on top of ``spread_pct``: each leg pays
        ``max(spread_pct / 2 % of its price, tick)`` per share, ``tick`` from the rule:
        ``"nickel_dime"`` ($0.05 below $3, $0.10 at $3 or more), ``"penny"`` ($0.01 / $0.05)
        or ``"none"``. Shares are unaffected.
    max_contracts_per_trade : int
        Liquidity cap: option contracts one entry may trade (units x contracts per unit, e.g.
        4 per iron condor); 0 = unlimited. Applied with portfolio management on and off. The
        default 20 is about 10 % of the lower-quartile daily volume (166 contracts) of the
        strikes within 15 % out of the money in the shipped option-chain snapshots.
    max_notional_multiple : float
        Liquidity cap: underlying notional of one entry (units x 100 x spot for options,
        shares x price for shares) at most this multiple of equity; 0 = unlimited.
    max_round_trip_cost_pct : float
        Cost filter for option structures (portfolio management on and off): an entry whose
        round trip at the bar's prices (twice one unit's entry costs: commissions, half-spreads
        with the tick floor, slippage) costs more than this % of the unit's max loss (premium
        for long options, width - credit for defined-risk credit structures, the margin rule
        for naked shorts) is rejected with reason ``cost``; 0 = off. The default 10 is the
        75th percentile of the same ratio at the quoted bid/ask of the shipped option-chain
        snapshots (ATM straddles: median 4.8 %, 75th percentile 9.1 %; 5 %-wide iron condors
        5 % out of the money: 3.8 % and 9.7 %; docs/risk-model.md, "Costs"): structures
        costlier to trade than three quarters of real chains are left alone. Shares are never
        rejected by it.
    cash_interest_rate : float or None
        Annual rate cash (including collateral reserved for short and credit positions) earns,
        simple, per calendar day between bars; None = ``risk_free_rate``. Set 0.0 to reproduce
        a run without interest.
    """

    initial_capital: float = 100_000.0
    use_portfolio_management: bool = False
    position_size_pct: float = 10.0
    max_positions: int = 10
    days_to_expiry: int = 30
    max_days_hold: int = 21
    stop_loss_pct: float | None = 50.0
    take_profit_pct: float | None = 100.0
    short_stop_loss_pct: float | None = 100.0
    short_take_profit_pct: float | None = 50.0
    risk_free_rate: float = 0.05
    dividend_yield: float = 0.0
    commission_per_share: float = 0.0
    commission_per_contract: float = 0.65
    spread_pct: float = 1.0
    share_spread_pct: float | None = None
    slippage_vol_mult: float = 0.0
    bars_per_year: int | None = None
    position_size_units: int = 0
    option_tick_rule: str = "nickel_dime"
    max_contracts_per_trade: int = 20
    max_notional_multiple: float = 1.0
    cash_interest_rate: float | None = None
    max_round_trip_cost_pct: float = 10.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> BacktestConfig:
        """Check every field (again: fields may be set after construction); return ``self``.

        Raises
        ------
        ConfigError
            Naming the class, field, value and allowed range, e.g.
            ``BacktestConfig.position_size_pct=150.0 must be in (0, 100]``.
        """
        check_range(self, "initial_capital", self.initial_capital, 0.0, INF, low_open=True)
        check_bool(self, "use_portfolio_management", self.use_portfolio_management)
        check_range(self, "position_size_pct", self.position_size_pct, 0.0, 100.0, low_open=True)
        check_int(self, "max_positions", self.max_positions, 0)
        check_int(self, "days_to_expiry", self.days_to_expiry, 1, 3650)
        check_int(self, "max_days_hold", self.max_days_hold, 0)
        for name in _OPTIONAL_PCT:
            value = getattr(self, name)
            if value is not None:
                check_range(self, name, value, 0.0, INF, low_open=True)
        check_range(self, "risk_free_rate", self.risk_free_rate, -1.0, 1.0)
        check_range(self, "dividend_yield", self.dividend_yield, -1.0, 1.0)
        check_range(self, "commission_per_share", self.commission_per_share, 0.0, INF)
        check_range(self, "commission_per_contract", self.commission_per_contract, 0.0, INF)
        check_range(self, "spread_pct", self.spread_pct, 0.0, 100.0, high_open=True)
        if self.share_spread_pct is not None:
            check_range(self, "share_spread_pct", self.share_spread_pct, 0.0, 100.0, high_open=True)
        check_range(self, "slippage_vol_mult", self.slippage_vol_mult, 0.0, INF)
        if self.bars_per_year is not None:
            check_int(self, "bars_per_year", self.bars_per_year, 1)
        check_int(self, "position_size_units", self.position_size_units, 0)
        if self.option_tick_rule not in TICK_RULES:
            raise ConfigError(
                f"BacktestConfig.option_tick_rule={self.option_tick_rule!r} must be one of "
                f"{sorted(TICK_RULES)}; hint: 'penny' for Penny Program names"
            )
        check_int(self, "max_contracts_per_trade", self.max_contracts_per_trade, 0)
        check_range(self, "max_notional_multiple", self.max_notional_multiple, 0.0, INF)
        if self.cash_interest_rate is not None:
            check_range(self, "cash_interest_rate", self.cash_interest_rate, -1.0, 1.0)
        check_range(self, "max_round_trip_cost_pct", self.max_round_trip_cost_pct, 0.0, INF)
        return self

    @property
    def effective_cash_interest_rate(self) -> float:
        """The rate cash earns: ``cash_interest_rate``, or ``risk_free_rate`` when None."""
        rate = self.cash_interest_rate
        return float(self.risk_free_rate if rate is None else rate)

    @property
    def effective_share_spread_pct(self) -> float:
        """The spread shares pay: ``share_spread_pct``, or ``spread_pct`` when None."""
        pct = self.share_spread_pct
        return float(self.spread_pct if pct is None else pct)

    def to_kernel(self) -> FloatArray:
        """Validate and flatten to the step kernel's vector, float64 ``(BP_LEN,)``.

        Disabled stops / take profits become ``+inf``.
        """
        self.validate()
        vec = np.zeros(records.BP_LEN)
        bp = vec.view(BACKTEST_DTYPE).view(np.recarray)[0]  # the kernels' field names
        bp.initial_capital = self.initial_capital
        bp.use_portfolio_management = 1.0 if self.use_portfolio_management else 0.0
        bp.position_size_pct = self.position_size_pct
        bp.max_positions = self.max_positions
        bp.days_to_expiry = self.days_to_expiry
        bp.max_days_hold = self.max_days_hold
        for name in _OPTIONAL_PCT:  # the stop / take-profit fields share the config's names
            value = getattr(self, name)
            setattr(bp, name, INF if value is None else float(value))
        bp.risk_free_rate = self.risk_free_rate
        bp.dividend_yield = self.dividend_yield
        bp.commission_per_share = self.commission_per_share
        bp.commission_per_contract = self.commission_per_contract
        bp.spread_pct = self.spread_pct
        bp.share_spread_pct = self.effective_share_spread_pct
        bp.slippage_vol_mult = self.slippage_vol_mult
        bp.bars_per_year = (
            self.bars_per_year if self.bars_per_year is not None else DEFAULT_BARS_PER_YEAR
        )
        bp.position_size_units = self.position_size_units
        bp.tick_low, bp.tick_high = TICK_RULES[self.option_tick_rule]
        bp.max_contracts_per_trade = self.max_contracts_per_trade
        bp.max_notional_multiple = self.max_notional_multiple
        bp.cash_interest_rate = self.effective_cash_interest_rate
        bp.max_round_trip_cost_pct = self.max_round_trip_cost_pct
        return vec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        self.validate()
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestConfig:
        """Build from a dict (e.g. parsed JSON); unknown keys raise naming them."""
        return cls(**check_keys(cls, data))

    def to_json(self, path: PathLike | None = None) -> str:
        """Return the config as JSON text, and write it to ``path`` when given."""
        return write_json(self.to_dict(), path)

    @classmethod
    def from_json(cls, source: str | PathLike) -> BacktestConfig:
        """Load from JSON text (starting with ``{``) or from a file path."""
        return cls.from_dict(read_json(source))
