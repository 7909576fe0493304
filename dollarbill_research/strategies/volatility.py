"""Volatility strategies: trade implied against realised volatility with option structures.

Both read ``panel.iv`` (the ``iv`` column, or the documented proxy when the input has none) and
realised volatility ``rv`` = sample std of daily log returns over a window x sqrt(252). SIG_LONG
buys volatility, SIG_SHORT sells it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.kernels.codes import KIND_IRON_CONDOR, KIND_STRADDLE
from dollarbill_research.strategies._common import (
    Rules,
    RuleStrategy,
    both_sides,
    check_dte,
    check_fraction,
    check_order,
    check_positive,
    check_range,
    check_window,
    make_template,
    saturate,
)
from dollarbill_research.strategies.view import BARS_PER_YEAR, SeriesView


@dataclass(frozen=True, slots=True)
class VolatilityMeanReversion(RuleStrategy):
    """Fade extremes of the implied-minus-realised volatility spread.

    ``spread = iv - rv`` (``rv`` over ``rv_window``), ``z`` = its z-score against its own mean
    and sample std over ``z_window`` valid bars (current included). First defined on the symbol's
    ``rv_window + z_window``-th valid bar.

    * enter short (sell premium, an iron condor): ``z >= entry_z`` — IV rich versus realised;
    * enter long (buy an ATM straddle): ``z <= -entry_z`` — IV cheap;
    * exit either when the spread is back near normal: ``|z| <= exit_z``.

    Confidence: ``clip(|z| / 3, 0, 1)`` (three standard deviations = full confidence).

    Parameters
    ----------
    rv_window, z_window : int
        Bars of realised vol and of the z-score.
    entry_z, exit_z : float
        Entry and exit z levels (``exit_z < entry_z``).
    dte : float
        Calendar days to expiry of both structures.
    condor_width, condor_wing : float
        Short-strike distance from spot and wing width of the condor, fractions of spot.
    """

    rv_window: int = 20
    z_window: int = 60
    entry_z: float = 1.5
    exit_z: float = 0.5
    dte: float = 30.0
    condor_width: float = 0.05
    condor_wing: float = 0.05
    name: str = "Volatility Mean Reversion"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "rv_window", self.rv_window)
        check_window(self, "z_window", self.z_window, 3)
        check_positive(self, "entry_z", self.entry_z, 20.0)
        check_range(self, "exit_z", self.exit_z, 0.0, 20.0)
        check_order(self, "exit_z", "entry_z")
        check_dte(self, self.dte)
        check_positive(self, "condor_width", self.condor_width, 1.0)
        check_positive(self, "condor_wing", self.condor_wing, 1.0)

    def _lookback(self) -> int:
        # ``z`` over ``z_window`` spreads, each needing ``rv_window + 1`` closes
        return self.rv_window + self.z_window

    def _templates(self) -> FloatArray:
        return np.stack(
            [
                make_template(KIND_STRADDLE, 1.0, self.dte, 1.0),
                make_template(
                    KIND_IRON_CONDOR, 1.0, self.dte, 1.0, self.condor_width, self.condor_wing
                ),
            ]
        )

    def _rules(self, view: SeriesView) -> Rules:
        sd = view.sigma(self.rv_window)
        spread = view.iv - sd * math.sqrt(BARS_PER_YEAR)
        m, s = view.spread_mean_std(self.rv_window, self.z_window)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (spread - m) / s
        z = np.where(np.isfinite(z), z, np.nan)
        return Rules(
            enter_long=z <= -self.entry_z,
            enter_short=z >= self.entry_z,
            exit_long=z >= -self.exit_z,
            exit_short=z <= self.exit_z,
            confidence=saturate(np.abs(z), 3.0),
        )


@dataclass(frozen=True, slots=True)
class VolatilityArbitrage(RuleStrategy):
    """Buy or sell ATM straddles when IV is far from a HAR-style forecast of realised vol.

    ``forecast = (w_short rv_short + w_medium rv_medium + w_long rv_long) / (w_short + w_medium
    + w_long)`` with realised vols over ``short_window``, ``medium_window``, ``long_window``
    (heterogeneous-horizon blend, mean-reverting toward the long-run level); ``edge = iv -
    forecast`` in vol points (0.04 = 4 points).

    * enter short (sell the straddle): ``edge >= entry_edge``;
    * enter long (buy the straddle): ``edge <= -entry_edge``;
    * exit when the edge has closed: long ``edge >= -exit_edge``, short ``edge <= exit_edge``.

    Confidence: ``clip(|iv / forecast - 1| / 0.5, 0, 1)`` (IV 50 % away from the forecast =
    full confidence).

    Parameters
    ----------
    short_window, medium_window, long_window : int
        Realised-vol horizons in bars (increasing).
    w_short, w_medium, w_long : float
        Blend weights in [0, 1] (normalised; not all zero).
    entry_edge, exit_edge : float
        Entry and exit edges in annualised vol (decimal), ``exit_edge < entry_edge``.
    dte : float
        Calendar days to expiry of the straddle.
    """

    short_window: int = 5
    medium_window: int = 22
    long_window: int = 63
    w_short: float = 0.3
    w_medium: float = 0.4
    w_long: float = 0.3
    entry_edge: float = 0.04
    exit_edge: float = 0.01
    dte: float = 30.0
    name: str = "Volatility Arbitrage"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "short_window", self.short_window)
        check_window(self, "medium_window", self.medium_window)
        check_window(self, "long_window", self.long_window)
        check_order(self, "short_window", "medium_window")
        check_order(self, "medium_window", "long_window")
        for f in ("w_short", "w_medium", "w_long"):
            check_fraction(self, f, getattr(self, f))
        if self.w_short + self.w_medium + self.w_long <= 0.0:
            check_positive(self, "w_long", self.w_long)
        check_positive(self, "entry_edge", self.entry_edge, 5.0)
        check_range(self, "exit_edge", self.exit_edge, 0.0, 5.0)
        check_order(self, "exit_edge", "entry_edge")
        check_dte(self, self.dte)

    def _lookback(self) -> int:
        # the longest realised vol needs ``long_window + 1`` closes
        return self.long_window + 1

    def _templates(self) -> FloatArray:
        return both_sides(KIND_STRADDLE, self.dte)

    def forecast(self, view: SeriesView) -> FloatArray:
        """The realised-vol forecast (annualised, decimal), series-major ``(n_symbols, n_bars)``."""
        total = self.w_short + self.w_medium + self.w_long
        out = np.zeros(view.close.shape)
        for w, n in (
            (self.w_short, self.short_window),
            (self.w_medium, self.medium_window),
            (self.w_long, self.long_window),
        ):
            if w > 0.0:
                out += w * view.sigma(n)
        return out * (math.sqrt(BARS_PER_YEAR) / total)

    def _rules(self, view: SeriesView) -> Rules:
        f = self.forecast(view)
        edge = view.iv - f
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(view.iv / f - 1.0)
        return Rules(
            enter_long=edge <= -self.entry_edge,
            enter_short=edge >= self.entry_edge,
            exit_long=edge >= -self.exit_edge,
            exit_short=edge <= self.exit_edge,
            confidence=saturate(rel, 0.5),
        )
