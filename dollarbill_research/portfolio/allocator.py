"""Allocation of capital across strategies (SPEC §5.4) and drift-based rebalancing.

The numbers come from :mod:`dollarbill_research.kernels.allocation_nb` (methods and the exact
water-filling of min/max bounds are documented there); this module validates the inputs once,
orders strategies by name, and renders rebalancing recommendations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.exceptions import ConfigError, DataError, StateError
from dollarbill_research.kernels.allocation_nb import allocation_targets_nb
from dollarbill_research.kernels.codes import (
    ALLOC_CUSTOM,
    ALLOC_EQUAL_WEIGHT,
    ALLOC_PERFORMANCE_WEIGHTED,
    ALLOC_RISK_PARITY,
    ALLOC_VOLATILITY_WEIGHTED,
)

__all__ = ["ALLOCATION_CODES", "RebalanceRecommendation", "StrategyAllocator"]

#: Allocation method names (the seed's spellings) and their kernel codes.
ALLOCATION_CODES: dict[str, int] = {
    "EqualWeight": ALLOC_EQUAL_WEIGHT,
    "RiskParity": ALLOC_RISK_PARITY,
    "PerformanceWeighted": ALLOC_PERFORMANCE_WEIGHTED,
    "VolatilityWeighted": ALLOC_VOLATILITY_WEIGHTED,
    "Custom": ALLOC_CUSTOM,
}


_DRIFT_EPS = 1e-12  # so that 0.55 - 0.50 does not "exceed" a 0.05 threshold by rounding


def _method_code(method: object) -> tuple[str, int]:
    """Map a method name or a str-enum member (``AllocationMethod.RiskParity``) to its code."""
    value = method.value if isinstance(method, Enum) else method
    if isinstance(value, str):
        for name, code in ALLOCATION_CODES.items():
            if value.lower() == name.lower():
                return name, code
    allowed = ", ".join(repr(n) for n in ALLOCATION_CODES)
    raise ConfigError(f"StrategyAllocator.method={method!r} is not one of {allowed}")


def _fraction(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"StrategyAllocator.{field}={value!r} must be a finite number")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"StrategyAllocator.{field}={value!r} must be in [0, 1] (fraction of capital); "
            "hint: 0.25 means 25 %"
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class RebalanceRecommendation:
    """Move one strategy's allocation back to its target.

    Attributes
    ----------
    strategy : str
        Strategy name.
    current, target : float
        Current and target allocation, fractions of allocated capital.
    drift : float
        ``current - target`` (positive: over-allocated).
    action : {"increase", "decrease"}
        What to do to the strategy's allocation.
    """

    strategy: str
    current: float
    target: float
    drift: float
    action: Literal["increase", "decrease"]

    def __str__(self) -> str:
        return (
            f"{self.action.capitalize()} {self.strategy}: {self.current:.1%} -> "
            f"{self.target:.1%} (drift {self.drift * 100:+.1f} pts)"
        )


class StrategyAllocator:
    """Target allocation per strategy with min/max bounds, and rebalancing past a threshold.

    Parameters
    ----------
    method : str or AllocationMethod
        ``"EqualWeight"``, ``"RiskParity"`` (inverse vol), ``"PerformanceWeighted"`` (positive
        Sharpe), ``"VolatilityWeighted"`` (inverse variance) or ``"Custom"``.
    custom_weights : mapping of str to float, optional
        Required for ``"Custom"``: non-negative weights, normalised to sum 1; strategies missing
        from it get weight 0 (their minimum bound still applies).
    bounds : mapping of str to (min, max), optional
        Per-strategy bounds, fractions in [0, 1]; others use ``min_weight``/``max_weight``.
    min_weight, max_weight : float
        Default bounds (fractions).
    rebalance_threshold : float
        Recommend a rebalance when ``|current - target|`` exceeds this (0.05 = 5 points).
    bars_per_year, risk_free_rate : float
        Annualisation for volatilities and Sharpe ratios; annual risk-free rate (decimal).

    Examples
    --------
    >>> alloc = StrategyAllocator("EqualWeight", bounds={"Momentum": (0.0, 0.2)})
    >>> t = alloc.targets({"Momentum": [], "IronCondor": [], "Breakout": []})
    >>> {name: round(v, 6) for name, v in t.items()}
    {'Breakout': 0.4, 'IronCondor': 0.4, 'Momentum': 0.2}
    >>> for rec in alloc.rebalance({"Breakout": 0.5, "IronCondor": 0.38, "Momentum": 0.12}):
    ...     print(rec)
    Decrease Breakout: 50.0% -> 40.0% (drift +10.0 pts)
    Increase Momentum: 12.0% -> 20.0% (drift -8.0 pts)
    """

    __slots__ = (
        "bars_per_year",
        "bounds",
        "custom_weights",
        "max_weight",
        "method",
        "min_weight",
        "rebalance_threshold",
        "risk_free_rate",
        "targets_",
    )

    def __init__(
        self,
        method: object = "RiskParity",
        *,
        custom_weights: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        min_weight: float = 0.0,
        max_weight: float = 1.0,
        rebalance_threshold: float = 0.05,
        bars_per_year: float = 252,
        risk_free_rate: float = 0.0,
    ) -> None:
        self.method = method
        self.custom_weights = custom_weights
        self.bounds = bounds
        self.min_weight = min_weight
        self.max_weight = max_weight
        self.rebalance_threshold = rebalance_threshold
        self.bars_per_year = bars_per_year
        self.risk_free_rate = risk_free_rate
        self.targets_: dict[str, float] | None = None
        self._validate()

    def _validate(self) -> tuple[str, int]:
        name, code = _method_code(self.method)
        lo = _fraction("min_weight", self.min_weight)
        hi = _fraction("max_weight", self.max_weight)
        if lo > hi:
            raise ConfigError(f"StrategyAllocator.min_weight={lo} exceeds max_weight={hi}")
        _fraction("rebalance_threshold", self.rebalance_threshold)
        bpy = self.bars_per_year
        if isinstance(bpy, bool) or not isinstance(bpy, int | float) or not bpy > 0:
            raise ConfigError(f"StrategyAllocator.bars_per_year={bpy!r} must be > 0; hint: 252")
        rf = self.risk_free_rate
        if isinstance(rf, bool) or not isinstance(rf, int | float) or not math.isfinite(rf):
            raise ConfigError(f"StrategyAllocator.risk_free_rate={rf!r} must be finite")
        for strat, pair in (self.bounds or {}).items():
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ConfigError(
                    f"StrategyAllocator.bounds[{strat!r}]={pair!r} must be a (min, max) pair"
                )
            smin = _fraction(f"bounds[{strat!r}].min", pair[0])
            smax = _fraction(f"bounds[{strat!r}].max", pair[1])
            if smin > smax:
                raise ConfigError(f"StrategyAllocator.bounds[{strat!r}]: min {smin} > max {smax}")
        if code == ALLOC_CUSTOM:
            if not self.custom_weights:
                raise ConfigError(
                    "StrategyAllocator.custom_weights is required for method 'Custom'; "
                    "hint: custom_weights={'Momentum': 2, 'IronCondor': 1}"
                )
            for strat, value in self.custom_weights.items():
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                if not ok or not math.isfinite(value) or value < 0:
                    raise ConfigError(
                        f"StrategyAllocator.custom_weights[{strat!r}]={value!r} must be >= 0"
                    )
            if sum(self.custom_weights.values()) <= 0:
                raise ConfigError("StrategyAllocator.custom_weights must not all be 0")
        return name, code

    def _bounds_for(self, names: list[str]) -> tuple[FloatArray, FloatArray]:
        bounds = self.bounds or {}
        unknown = sorted(set(bounds) - set(names))
        if unknown:
            raise ConfigError(
                f"StrategyAllocator.bounds names unknown strategies {unknown}; known: {names}"
            )
        lo = np.array([bounds.get(n, (self.min_weight, self.max_weight))[0] for n in names])
        hi = np.array([bounds.get(n, (self.min_weight, self.max_weight))[1] for n in names])
        if lo.sum() > 1.0 + 1e-12 or hi.sum() < 1.0 - 1e-12:
            raise ConfigError(
                f"StrategyAllocator bounds cannot sum to 100%: sum of mins {lo.sum():.4f} must "
                f"be <= 1 and sum of maxes {hi.sum():.4f} must be >= 1 for strategies {names}; "
                "hint: lower min_weight or raise max_weight"
            )
        return lo.astype(np.float64), hi.astype(np.float64)

    @staticmethod
    def _returns_matrix(
        strategy_returns: Mapping[str, object] | pl.DataFrame,
    ) -> tuple[list[str], FloatArray]:
        if isinstance(strategy_returns, pl.DataFrame):
            series = {c: strategy_returns[c].to_numpy() for c in strategy_returns.columns}
        elif isinstance(strategy_returns, Mapping):
            series = dict(strategy_returns)
        else:
            raise DataError(
                "strategy_returns must be a dict {strategy: returns} or a wide polars frame "
                f"(one column per strategy), got {type(strategy_returns).__name__}"
            )
        if not series:
            raise DataError("strategy_returns is empty; hint: give at least one strategy")
        names = sorted(series)
        arrays = []
        for n in names:
            if not isinstance(n, str):
                raise DataError(f"strategy name {n!r} must be a str")
            arr = np.asarray(series[n], dtype=np.float64).reshape(-1)
            if np.isinf(arr).any():
                bar = int(np.flatnonzero(np.isinf(arr))[0])
                raise DataError(f"returns of strategy {n!r} are infinite at row {bar}")
            arrays.append(arr)
        n_bars = max(a.shape[0] for a in arrays)
        # series of different lengths are aligned on their last (most recent) value
        mat = np.full((n_bars, len(names)), np.nan)
        for j, arr in enumerate(arrays):
            if arr.shape[0]:
                mat[n_bars - arr.shape[0] :, j] = arr
        return names, mat

    def targets(self, strategy_returns: Mapping[str, object] | pl.DataFrame) -> dict[str, float]:
        """Target allocation per strategy (fractions summing to 1), ordered by name.

        Parameters
        ----------
        strategy_returns : dict of str to float array, or polars DataFrame
            Per-bar simple returns of each strategy (a wide frame: one column per strategy).
            Series of different lengths are aligned on their most recent value; NaN = missing.
            EqualWeight and Custom only use the names.

        Returns
        -------
        dict of str to float
            Also kept as ``self.targets_`` for :meth:`rebalance`.
        """
        _, code = self._validate()
        names, mat = self._returns_matrix(strategy_returns)
        lo, hi = self._bounds_for(names)
        custom = np.array([float((self.custom_weights or {}).get(n, 0.0)) for n in names])
        if code == ALLOC_CUSTOM and custom.sum() <= 0:
            raise ConfigError(
                f"StrategyAllocator.custom_weights give no weight to any of {names}; "
                "hint: name the strategies you pass"
            )
        t = allocation_targets_nb(
            code, mat, custom, lo, hi, float(self.bars_per_year), float(self.risk_free_rate)
        )
        self.targets_ = {n: float(v) for n, v in zip(names, t, strict=True)}
        return dict(self.targets_)

    def targets_frame(self, strategy_returns: Mapping[str, object] | pl.DataFrame) -> pl.DataFrame:
        """:meth:`targets` as a frame with columns ``strategy, target`` (ordered by name)."""
        t = self.targets(strategy_returns)
        return pl.DataFrame({"strategy": list(t), "target": list(t.values())})

    def rebalance(
        self,
        current: Mapping[str, float],
        targets: Mapping[str, float] | None = None,
    ) -> list[RebalanceRecommendation]:
        """Recommendations for strategies whose allocation drifted past the threshold.

        Parameters
        ----------
        current : mapping of str to float
            Current allocation per strategy, fractions of allocated capital.
        targets : mapping of str to float, optional
            Targets to compare with; default the last :meth:`targets` result (EqualWeight and
            Custom compute them from the names in ``current`` when none were computed).

        Returns
        -------
        list of RebalanceRecommendation
            Strategies with ``|current - target| > rebalance_threshold`` (a drift equal to the
            threshold up to 1e-12 does not trigger), ordered by name.
            A strategy missing from one side counts as 0 there.
        """
        _, code = self._validate()
        for strat, value in current.items():
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(value):
                raise DataError(f"current[{strat!r}]={value!r} must be a finite fraction")
        if targets is None:
            if self.targets_ is None:
                if code not in (ALLOC_EQUAL_WEIGHT, ALLOC_CUSTOM):
                    raise StateError(
                        "StrategyAllocator.rebalance needs targets: call targets(returns) "
                        "first or pass targets=..."
                    )
                self.targets(dict.fromkeys(current, np.zeros(0)))
            targets = self.targets_ or {}
        out = []
        for name in sorted(set(current) | set(targets)):
            cur = float(current.get(name, 0.0))
            tgt = float(targets.get(name, 0.0))
            drift = cur - tgt
            if abs(drift) > self.rebalance_threshold + _DRIFT_EPS:
                action: Literal["increase", "decrease"] = "decrease" if drift > 0 else "increase"
                out.append(RebalanceRecommendation(name, cur, tgt, drift, action))
        return out
