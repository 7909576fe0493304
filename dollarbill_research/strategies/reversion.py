"""Price mean reversion on shares: z-score of the close against its moving average, with RSI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.config._validate import check_bool
from dollarbill_research.kernels.codes import KIND_SHARES
from dollarbill_research.strategies._common import (
    Rules,
    RuleStrategy,
    both_sides,
    check_order,
    check_positive,
    check_range,
    check_window,
    no_rule,
    saturate,
)
from dollarbill_research.strategies.view import SeriesView


@dataclass(frozen=True, slots=True)
class MeanReversion(RuleStrategy):
    """Buy stretched-down closes, sell stretched-up ones; exit on the way back to the mean.

    ``z = (close - sma) / sd`` with the mean and sample std of the close over ``window`` valid bars
    (current bar included); ``rsi`` is Cutler's RSI over ``rsi_window`` changes
    (:func:`dollarbill_research.kernels.signals_nb.rsi_nb`).

    * enter long: ``z <= -entry_z`` and ``rsi <= rsi_low``;
    * enter short (``allow_short``): ``z >= entry_z`` and ``rsi >= rsi_high``;
    * exit long: ``z >= -exit_z``; exit short: ``z <= exit_z``.

    Confidence: ``0.5 x clip(|z| / 4, 0, 1) + 0.5 x clip(|rsi - 50| / 50, 0, 1)``.

    Parameters
    ----------
    window : int
        Bars of the moving average and standard deviation.
    entry_z, exit_z : float
        Entry and exit stretch in standard deviations (``exit_z < entry_z``).
    rsi_window : int
        Price changes in the RSI.
    rsi_low, rsi_high : float
        RSI confirmation levels in [0, 100].
    allow_short : bool
        Also trade the short side.
    """

    window: int = 20
    entry_z: float = 2.0
    exit_z: float = 0.5
    rsi_window: int = 14
    rsi_low: float = 30.0
    rsi_high: float = 70.0
    allow_short: bool = True
    name: str = "Mean Reversion"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "window", self.window, 3)
        check_positive(self, "entry_z", self.entry_z, 20.0)
        check_range(self, "exit_z", self.exit_z, -20.0, 20.0)
        check_order(self, "exit_z", "entry_z")
        check_window(self, "rsi_window", self.rsi_window, 1)
        check_range(self, "rsi_low", self.rsi_low, 0.0, 100.0)
        check_range(self, "rsi_high", self.rsi_high, 0.0, 100.0)
        check_order(self, "rsi_low", "rsi_high")
        check_bool(self, "allow_short", self.allow_short)

    def _lookback(self) -> int:
        # ``z`` over ``window`` closes; RSI over ``rsi_window`` changes
        return max(self.window, self.rsi_window + 1)

    def _templates(self) -> FloatArray:
        return both_sides(KIND_SHARES)

    def _rules(self, view: SeriesView) -> Rules:
        c = view.close
        sma, sd = view.mean_std("close", self.window)
        rsi = view.rsi(self.rsi_window)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (c - sma) / sd
        z = np.where(np.isfinite(z), z, np.nan)
        return Rules(
            enter_long=(z <= -self.entry_z) & (rsi <= self.rsi_low),
            enter_short=(
                ((z >= self.entry_z) & (rsi >= self.rsi_high))
                if self.allow_short
                else no_rule(c.shape)
            ),
            exit_long=z >= -self.exit_z,
            exit_short=z <= self.exit_z,
            confidence=0.5 * saturate(np.abs(z), 4.0) + 0.5 * saturate(np.abs(rsi - 50.0), 50.0),
        )
