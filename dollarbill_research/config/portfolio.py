"""Portfolio configuration (SPEC 5.1): sizing, risk limits, allocation; JSON in and out.

The seed's Rust snippet in Python form:

>>> from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits, SizingMethod
>>> config = PortfolioConfig(
...     initial_capital=100_000.0,
...     max_risk_per_trade=2.0,
...     max_position_pct=10.0,
...     sizing_method=SizingMethod.VolatilityBased,
...     risk_limits=RiskLimits(max_portfolio_delta=0.30, max_concentration_pct=20.0),
... )
>>> config.sizing_method = "KellyCriterion"  # the seed's strings are accepted anywhere
>>> config.validate().sizing_method
<SizingMethod.KellyCriterion: 'KellyCriterion'>
>>> PortfolioConfig.from_json(config.to_json()) == config
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from typing import Any

import numpy as np

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.config._validate import (
    check_enum,
    check_int,
    check_keys,
    check_range,
    read_json,
    write_json,
)
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.params import PORTFOLIO_DTYPE

__all__ = ["AllocationMethod", "BreachPolicy", "PortfolioConfig", "RiskLimits", "SizingMethod"]

INF = math.inf


class SizingMethod(StrEnum):
    """Position sizing methods (values are the seed's spellings); see SPEC 5.2."""

    VolatilityBased = "VolatilityBased"
    KellyCriterion = "KellyCriterion"
    RiskParity = "RiskParity"
    FixedFractional = "FixedFractional"
    FixedDollar = "FixedDollar"

    @property
    def code(self) -> int:
        """The kernel code ``SIZE_*`` of this method."""
        return _SIZE_CODES[self]


class AllocationMethod(StrEnum):
    """Capital allocation across strategies (values are the seed's spellings); see SPEC 5.4."""

    EqualWeight = "EqualWeight"
    RiskParity = "RiskParity"
    PerformanceWeighted = "PerformanceWeighted"
    VolatilityWeighted = "VolatilityWeighted"
    Custom = "Custom"

    @property
    def code(self) -> int:
        """The kernel code ``ALLOC_*`` of this method."""
        return _ALLOC_CODES[self]


class BreachPolicy(StrEnum):
    """What the backtest does when the book is above a limit after marking and exits.

    ``block``: record the breach and reject entries that grow the exposure; ``reduce``: also
    close or trim the largest contributors until the book is back inside (exit reason
    ``risk_reduce``); ``hedge``: delta breaches are hedged with the underlying's shares, other
    breaches are reduced. See docs/risk-model.md.
    """

    block = "block"
    reduce = "reduce"
    hedge = "hedge"

    @property
    def code(self) -> int:
        """The kernel code ``BREACH_*`` of this policy."""
        return {"block": codes.BREACH_BLOCK, "reduce": codes.BREACH_REDUCE,
                "hedge": codes.BREACH_HEDGE}[self.value]  # fmt: skip


_SIZE_CODES = {
    SizingMethod.VolatilityBased: codes.SIZE_VOLATILITY_BASED,
    SizingMethod.KellyCriterion: codes.SIZE_KELLY,
    SizingMethod.RiskParity: codes.SIZE_RISK_PARITY,
    SizingMethod.FixedFractional: codes.SIZE_FIXED_FRACTIONAL,
    SizingMethod.FixedDollar: codes.SIZE_FIXED_DOLLAR,
}
_ALLOC_CODES = {
    AllocationMethod.EqualWeight: codes.ALLOC_EQUAL_WEIGHT,
    AllocationMethod.RiskParity: codes.ALLOC_RISK_PARITY,
    AllocationMethod.PerformanceWeighted: codes.ALLOC_PERFORMANCE_WEIGHTED,
    AllocationMethod.VolatilityWeighted: codes.ALLOC_VOLATILITY_WEIGHTED,
    AllocationMethod.Custom: codes.ALLOC_CUSTOM,
}


@dataclass(slots=True)
class RiskLimits:
    """Portfolio-level limits checked before every entry (SPEC 5.1, 5.5).

    Attributes
    ----------
    max_portfolio_delta : float
        Net dollar delta / equity, fraction (0.30 = 30 %).
    max_portfolio_gamma : float
        Dollar gamma for a 1 % move / equity, fraction.
    max_portfolio_vega : float
        P&L for a 10 vol-point shock / equity, fraction.
    max_concentration_pct : float
        Largest position (|market value|, or max loss for defined-risk options), % of equity.
    max_var_pct : float
        Delta-normal one-bar VaR 95, % of equity.
    max_sector_exposure_pct : float
        Sum of |market value| in one sector, % of equity.
    warn_fraction : float
        Warn when an exposure passes this fraction of its limit.
    breach_policy : BreachPolicy or str
        ``"block"``, ``"reduce"`` (default) or ``"hedge"``: what happens when the book is above
        a limit after marking and exits (:class:`BreachPolicy`).
    """

    max_portfolio_delta: float = 0.30
    max_portfolio_gamma: float = 0.10
    max_portfolio_vega: float = 0.15
    max_concentration_pct: float = 20.0
    max_var_pct: float = 10.0
    max_sector_exposure_pct: float = 40.0
    warn_fraction: float = 0.8
    breach_policy: BreachPolicy = BreachPolicy.reduce

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> RiskLimits:
        """Check every field again (fields may be set after construction); return ``self``."""
        self.max_portfolio_delta = check_range(
            self, "max_portfolio_delta", self.max_portfolio_delta, 0.0, INF, low_open=True
        )
        self.max_portfolio_gamma = check_range(
            self, "max_portfolio_gamma", self.max_portfolio_gamma, 0.0, INF, low_open=True
        )
        self.max_portfolio_vega = check_range(
            self, "max_portfolio_vega", self.max_portfolio_vega, 0.0, INF, low_open=True
        )
        for name in ("max_concentration_pct", "max_var_pct", "max_sector_exposure_pct"):
            setattr(self, name, check_range(self, name, getattr(self, name), 0, 100, low_open=True))
        self.warn_fraction = check_range(
            self, "warn_fraction", self.warn_fraction, 0.0, 1.0, low_open=True
        )
        self.breach_policy = check_enum(self, "breach_policy", self.breach_policy, BreachPolicy)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the fields (the policy as its string)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["breach_policy"] = self.breach_policy.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskLimits:
        """Build from a dict; unknown keys raise :class:`ConfigError` naming them."""
        return cls(**check_keys(cls, data))


# PortfolioConfig.to_kernel(): settings written under their own name (kernels/params.py)
_SAME_NAMES = (
    "max_risk_per_trade",
    "max_position_pct",
    "fixed_fraction_pct",
    "fixed_dollar_amount",
    "kelly_fraction",
    "kelly_cap",
    "kelly_min_trades",
    "stop_distance",
    "var_window",
    "kelly_window",
    "kelly_shrinkage_trades",
    "kelly_probe_units",
    "rebalance_bars",
)
_RISK_LIMIT_NAMES = (  # RiskLimits fields: max_portfolio_delta -> params.max_portfolio_delta
    "max_portfolio_delta",
    "max_portfolio_gamma",
    "max_portfolio_vega",
    "max_concentration_pct",
    "max_var_pct",
    "max_sector_exposure_pct",
    "warn_fraction",
)


@dataclass(slots=True)
class PortfolioConfig:
    """Portfolio management settings: sizing, limits, allocation (SPEC 5.1).

    Percentages are given as percent (2.0 = 2 %); the risk limits' Greek limits as fractions.

    Attributes
    ----------
    initial_capital : float
        Starting equity in dollars, > 0.
    max_risk_per_trade : float
        % of equity: the VolatilityBased risk budget and the cap on ``units x unit max loss``.
    max_position_pct : float
        % of equity: cap on a position's notional (``units x unit cost``).
    sizing_method : SizingMethod or str
        One of the seed's method names.
    allocation_method : AllocationMethod or str
        How capital is split across strategies.
    risk_limits : RiskLimits
        Portfolio limits for pre-trade approval.
    fixed_fraction_pct : float
        FixedFractional's parameter, % of equity per trade.
    fixed_dollar_amount : float
        FixedDollar's parameter, dollars per trade.
    kelly_fraction, kelly_cap : float
        Fraction of full Kelly (0.5 = half Kelly) and the cap on the result (0.25 = 25 %).
    kelly_min_trades : int
        Closed trades a strategy needs before Kelly applies (FixedFractional at
        ``max_risk_per_trade`` before, with a ``kelly_fallback`` warning).
    kelly_window : int
        Kelly's rolling window: the strategy's last closed trades its win rate and payoff
        ratio (per unit of risk: return on max loss) are measured over, 1 to 1000.
    kelly_shrinkage_trades : float
        Pseudo-trades at no edge mixed into the window's win rate, so a small sample is
        shrunk toward no edge: the Kelly edge is scaled by ``w / (w + n0)`` (0 = no shrinkage).
    kelly_probe_units : int
        Minimum units Kelly trades (also while its estimate is <= 0, so the strategy keeps
        producing the trades that can revive it); 0 = no probe.
    stop_distance : float
        Fraction of price lost at the stop for shares and undefined-risk shorts (their unit max
        loss); 0.05 = a 5 % stop.
    scale_to_fit : bool
        Scale a trade down to the largest size that fits the limits instead of rejecting it.
    max_positions : int
        Open positions allowed at once, 0 = unlimited.
    var_window : int
        Bars in the rolling covariance of the VaR, >= 2.
    min_strategy_allocation_pct, max_strategy_allocation_pct : float
        Bounds on each strategy's allocation target, % of capital.
    rebalance_threshold_pct : float
        Drift (points) past which a rebalance is recommended.
    rebalance_bars : int
        Bars between recomputations of each strategy's capacity (target x equity) from the
        strategies' returns so far (``allocation_method``; docs/risk-model.md), >= 1.
    custom_weights : dict of str to float, optional
        ``allocation_method="Custom"``: weight per strategy name (normalised; missing = 0).
    strategy_bounds : dict of str to (float, float), optional
        Per-strategy (min, max) allocation in % of capital, overriding
        ``min/max_strategy_allocation_pct`` for the strategies named.
    """

    initial_capital: float = 100_000.0
    max_risk_per_trade: float = 2.0
    max_position_pct: float = 10.0
    sizing_method: SizingMethod = SizingMethod.VolatilityBased
    allocation_method: AllocationMethod = AllocationMethod.RiskParity
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    fixed_fraction_pct: float = 2.0
    fixed_dollar_amount: float = 5_000.0
    kelly_fraction: float = 0.5
    kelly_cap: float = 0.25
    kelly_min_trades: int = 20
    kelly_window: int = 50
    kelly_shrinkage_trades: float = 10.0
    kelly_probe_units: int = 1
    stop_distance: float = 0.05
    scale_to_fit: bool = False
    max_positions: int = 0
    var_window: int = 60
    min_strategy_allocation_pct: float = 0.0
    max_strategy_allocation_pct: float = 100.0
    rebalance_threshold_pct: float = 5.0
    rebalance_bars: int = 21
    custom_weights: dict[str, float] | None = None
    strategy_bounds: dict[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> PortfolioConfig:
        """Check (and coerce method strings of) every field again; return ``self``.

        Raises
        ------
        ConfigError
            Naming the field, value and allowed range, e.g.
            ``PortfolioConfig.max_position_pct=150.0 must be in (0, 100]``.
        """
        self.initial_capital = check_range(
            self, "initial_capital", self.initial_capital, 0.0, INF, low_open=True
        )
        for name in ("max_risk_per_trade", "max_position_pct", "fixed_fraction_pct"):
            setattr(self, name, check_range(self, name, getattr(self, name), 0, 100, low_open=True))
        self.sizing_method = check_enum(self, "sizing_method", self.sizing_method, SizingMethod)
        self.allocation_method = check_enum(
            self, "allocation_method", self.allocation_method, AllocationMethod
        )
        if not isinstance(self.risk_limits, RiskLimits):
            raise ConfigError(
                f"PortfolioConfig.risk_limits={self.risk_limits!r} must be a RiskLimits; "
                "hint: risk_limits=RiskLimits(max_portfolio_delta=0.3)"
            )
        self.risk_limits.validate()
        self.fixed_dollar_amount = check_range(
            self, "fixed_dollar_amount", self.fixed_dollar_amount, 0.0, INF, low_open=True
        )
        for name in ("kelly_fraction", "kelly_cap", "stop_distance"):
            setattr(self, name, check_range(self, name, getattr(self, name), 0, 1, low_open=True))
        self.kelly_min_trades = check_int(self, "kelly_min_trades", self.kelly_min_trades, 0)
        self.kelly_window = check_int(
            self, "kelly_window", self.kelly_window, 1, records.KELLY_MAX_WINDOW
        )
        self.kelly_shrinkage_trades = check_range(
            self, "kelly_shrinkage_trades", self.kelly_shrinkage_trades, 0.0, 1e6
        )
        self.kelly_probe_units = check_int(self, "kelly_probe_units", self.kelly_probe_units, 0)
        if not isinstance(self.scale_to_fit, bool):
            raise ConfigError(f"PortfolioConfig.scale_to_fit={self.scale_to_fit!r} must be a bool")
        self.max_positions = check_int(self, "max_positions", self.max_positions, 0)
        self.var_window = check_int(self, "var_window", self.var_window, 2)
        for name in ("min_strategy_allocation_pct", "max_strategy_allocation_pct"):
            setattr(self, name, check_range(self, name, getattr(self, name), 0, 100))
        if self.min_strategy_allocation_pct > self.max_strategy_allocation_pct:
            raise ConfigError(
                f"PortfolioConfig.min_strategy_allocation_pct={self.min_strategy_allocation_pct!r}"
                f" must be <= max_strategy_allocation_pct={self.max_strategy_allocation_pct!r}"
            )
        self.rebalance_threshold_pct = check_range(
            self, "rebalance_threshold_pct", self.rebalance_threshold_pct, 0, 100
        )
        self.rebalance_bars = check_int(self, "rebalance_bars", self.rebalance_bars, 1)
        self._validate_allocation()
        return self

    def _validate_allocation(self) -> None:
        """Check ``custom_weights`` and ``strategy_bounds`` (names are checked per run)."""
        if self.custom_weights is not None:
            if not isinstance(self.custom_weights, dict):
                raise ConfigError(
                    f"PortfolioConfig.custom_weights={self.custom_weights!r} must be a dict "
                    "{strategy name: weight}; hint: {'Momentum': 2, 'Iron Condor': 1}"
                )
            for name, w in self.custom_weights.items():
                ok = isinstance(w, int | float) and not isinstance(w, bool)
                if not isinstance(name, str) or not ok or not math.isfinite(w) or w < 0:
                    raise ConfigError(
                        f"PortfolioConfig.custom_weights[{name!r}]={w!r} must be a finite "
                        "weight >= 0 keyed by a strategy name"
                    )
            self.custom_weights = {k: float(v) for k, v in self.custom_weights.items()}
        if self.allocation_method == AllocationMethod.Custom and not (
            self.custom_weights and sum(self.custom_weights.values()) > 0
        ):
            raise ConfigError(
                "PortfolioConfig.allocation_method='Custom' needs custom_weights with a "
                "positive weight; hint: custom_weights={'Momentum': 2, 'Iron Condor': 1}"
            )
        if self.strategy_bounds is not None:
            if not isinstance(self.strategy_bounds, dict):
                raise ConfigError(
                    f"PortfolioConfig.strategy_bounds={self.strategy_bounds!r} must be a dict "
                    "{strategy name: (min_pct, max_pct)}"
                )
            out = {}
            for name, pair in self.strategy_bounds.items():
                if not isinstance(pair, tuple | list) or len(pair) != 2:
                    raise ConfigError(
                        f"PortfolioConfig.strategy_bounds[{name!r}]={pair!r} must be a "
                        "(min_pct, max_pct) pair; hint: (5.0, 40.0)"
                    )
                lo = check_range(self, f"strategy_bounds[{name!r}].min", pair[0], 0, 100)
                hi = check_range(self, f"strategy_bounds[{name!r}].max", pair[1], 0, 100)
                if lo > hi:
                    raise ConfigError(
                        f"PortfolioConfig.strategy_bounds[{name!r}]: min {lo} > max {hi}"
                    )
                out[name] = (float(lo), float(hi))
            self.strategy_bounds = out

    def allocation_arrays(self, strategies: tuple[str, ...] | list[str]) -> FloatArray:
        """float64 ``(3, n)``: custom weights, min and max allocation (fractions) per strategy.

        Raises
        ------
        ConfigError
            When ``custom_weights`` or ``strategy_bounds`` name a strategy not in the run.
        """
        names = list(strategies)
        for field_name in ("custom_weights", "strategy_bounds"):
            unknown = sorted(set(getattr(self, field_name) or {}) - set(names))
            if unknown:
                raise ConfigError(
                    f"PortfolioConfig.{field_name} names unknown strategies {unknown}; "
                    f"hint: the run's strategies are {names}"
                )
        out = np.zeros((3, len(names)))
        bounds = self.strategy_bounds or {}
        default = (self.min_strategy_allocation_pct, self.max_strategy_allocation_pct)
        for i, name in enumerate(names):
            out[0, i] = (self.custom_weights or {}).get(name, 0.0)
            lo, hi = bounds.get(name, default)
            out[1, i] = lo / 100.0
            out[2, i] = hi / 100.0
        return out

    def to_kernel(self) -> FloatArray:
        """Validate and flatten to the kernels' parameter vector, float64 ``(PP_LEN,)``."""
        self.validate()
        lim = self.risk_limits
        vec = np.zeros(codes.PP_LEN)
        pp = vec.view(PORTFOLIO_DTYPE).view(np.recarray)[0]  # the kernels' field names
        pp.portfolio_initial_capital = self.initial_capital
        pp.portfolio_max_positions = self.max_positions
        for name in _SAME_NAMES:  # the record's fields carry the config's names
            setattr(pp, name, getattr(self, name))
        for name in _RISK_LIMIT_NAMES:
            setattr(pp, name, getattr(lim, name))
        pp.sizing_method = self.sizing_method.code
        pp.allocation_method = self.allocation_method.code
        pp.breach_policy = lim.breach_policy.code
        pp.scale_to_fit = 1.0 if self.scale_to_fit else 0.0
        return vec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: methods as the seed's strings, ``risk_limits`` nested."""
        self.validate()
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, RiskLimits):
                value = value.to_dict()
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortfolioConfig:
        """Build from a dict (e.g. parsed JSON); unknown keys raise naming them."""
        data = dict(check_keys(cls, data))
        if "risk_limits" in data and not isinstance(data["risk_limits"], RiskLimits):
            data["risk_limits"] = RiskLimits.from_dict(data["risk_limits"])
        if isinstance(data.get("strategy_bounds"), dict):  # JSON pairs come back as lists
            data["strategy_bounds"] = {
                k: tuple(v) if isinstance(v, list) else v
                for k, v in data["strategy_bounds"].items()
            }
        return cls(**data)

    def to_json(self, path: PathLike | None = None) -> str:
        """Return the config as JSON text, and write it to ``path`` when given."""
        return write_json(self.to_dict(), path)

    @classmethod
    def from_json(cls, source: str | PathLike) -> PortfolioConfig:
        """Load from JSON text (starting with ``{``) or from a file path."""
        data = read_json(source)
        if not isinstance(data, dict):
            raise ConfigError(
                'PortfolioConfig JSON must be an object; hint: {"max_risk_per_trade": 2}'
            )
        return cls.from_dict(data)
