"""Directional trend strategies on shares (or long calls/puts): Momentum and Breakout.

Windows count the symbol's own valid bars (missing bars are skipped, see
:mod:`dollarbill_research.kernels.signals_nb`). Signals are transitions of a per-symbol regime:
one entry when the entry rule starts to hold, one exit when the exit rule holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.config._validate import check_bool
from dollarbill_research.kernels.codes import KIND_CALL, KIND_PUT, KIND_SHARES
from dollarbill_research.strategies._common import (
    Rules,
    RuleStrategy,
    both_sides,
    check_dte,
    check_order,
    check_positive,
    check_range,
    check_window,
    make_template,
    no_rule,
    saturate,
)
from dollarbill_research.strategies.view import SeriesView


@dataclass(frozen=True, slots=True)
class Momentum(RuleStrategy):
    """Trailing-return momentum on shares with a moving-average trend filter.

    Rules (``r = close_t / close_{t-lookback} - 1``, ``sma`` = mean close over ``trend_window``):

    * enter long: ``r >= threshold`` and ``close > sma``;
    * enter short (``allow_short``): ``r <= -threshold`` and ``close < sma``;
    * exit long: ``r <= exit_threshold`` or ``close < sma``; exit short: ``r >= -exit_threshold``
      or ``close > sma``.

    Confidence: ``clip(|ln(1 + r)| / (sigma_d sqrt(lookback)) / 2, 0, 1)`` — the trailing return
    in units of its own noise (``sigma_d``: daily log-return std over ``trend_window``), full at
    2 standard deviations; a steady move scores higher than a noisy spike of the same size.

    Parameters
    ----------
    lookback : int
        Bars of the trailing return.
    threshold : float
        Entry return, fraction (0.05 = 5 %).
    trend_window : int
        Bars of the moving-average filter and of ``sigma_d``.
    exit_threshold : float
        Exit when the trailing return falls back to this (fraction, below ``threshold``).
    allow_short : bool
        Also trade the short side (short shares).
    """

    lookback: int = 20
    threshold: float = 0.05
    trend_window: int = 50
    exit_threshold: float = 0.0
    allow_short: bool = True
    name: str = "Momentum"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "lookback", self.lookback, 1)
        check_positive(self, "threshold", self.threshold, 10.0)
        check_window(self, "trend_window", self.trend_window)
        check_range(self, "exit_threshold", self.exit_threshold, -1.0, 10.0)
        check_order(self, "exit_threshold", "threshold")
        check_bool(self, "allow_short", self.allow_short)

    def _lookback(self) -> int:
        # trailing return over ``lookback`` bars; ``sigma_d`` needs ``trend_window + 1`` closes
        return max(self.lookback, self.trend_window) + 1

    def _templates(self) -> FloatArray:
        return both_sides(KIND_SHARES)

    def _rules(self, view: SeriesView) -> Rules:
        c = view.close
        sma = view.sma(self.trend_window)
        sd = view.sigma(self.trend_window)
        past = view.lagged_close(self.lookback)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = c / past - 1.0
            strength = np.abs(np.log(c / past)) / (sd * math.sqrt(self.lookback))
        short_ok = self.allow_short
        return Rules(
            enter_long=(r >= self.threshold) & (c > sma),
            enter_short=((r <= -self.threshold) & (c < sma)) if short_ok else no_rule(c.shape),
            exit_long=(r <= self.exit_threshold) | (c < sma),
            exit_short=(r >= -self.exit_threshold) | (c > sma),
            confidence=saturate(strength, 2.0),
        )


@dataclass(frozen=True, slots=True)
class Breakout(RuleStrategy):
    """Donchian-channel breakout with volume confirmation (shares, or long calls/puts).

    Rules (channels exclude the current bar: ``upper`` = max high and ``lower`` = min low of the
    previous ``window`` bars; ``vavg`` = mean volume of the previous ``volume_window`` bars):

    * enter long: ``close > upper`` and ``volume >= volume_ratio x vavg``;
    * enter short (``allow_short``): ``close < lower`` and the same volume condition;
    * exit long: ``close <`` min low of the previous ``exit_window`` bars (Turtle exit); exit
      short: ``close >`` max high of the previous ``exit_window`` bars.

    ``volume_ratio = 0`` switches the volume confirmation off.

    Confidence: ``0.5 x clip(d / 2, 0, 1) + 0.5 x clip(v / (2 x volume_ratio), 0, 1)`` where
    ``d = |ln(close / level)| / sigma_d`` is the break distance in daily standard deviations
    (``sigma_d`` over ``window``) and ``v = volume / vavg`` (the volume term uses 3 as the full
    ratio when confirmation is off).

    Parameters
    ----------
    window, volume_window, exit_window : int
        Channel, volume average and exit channel lengths in bars.
    volume_ratio : float
        Volume multiple of the prior average needed to confirm (0 = no confirmation).
    allow_short : bool
        Also trade downside breaks.
    use_options : bool
        Open long calls (long side) and long puts (short side) instead of shares.
    dte : float
        Calendar days to expiry of the options.
    moneyness : float
        Call strike / spot (the put uses ``2 - moneyness``), e.g. 1.02 = 2 % OTM.
    """

    window: int = 20
    volume_window: int = 20
    volume_ratio: float = 1.5
    exit_window: int = 10
    allow_short: bool = True
    use_options: bool = False
    dte: float = 30.0
    moneyness: float = 1.0
    name: str = "Breakout"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "window", self.window)
        check_window(self, "volume_window", self.volume_window, 1)
        check_range(self, "volume_ratio", self.volume_ratio, 0.0, 100.0)
        check_window(self, "exit_window", self.exit_window, 1)
        check_bool(self, "allow_short", self.allow_short)
        check_bool(self, "use_options", self.use_options)
        check_dte(self, self.dte)
        check_range(self, "moneyness", self.moneyness, 0.5, 1.5)

    def _lookback(self) -> int:
        # prior channels and volume average exclude the current bar
        return max(self.window, self.volume_window, self.exit_window) + 1

    def _templates(self) -> FloatArray:
        if self.use_options:
            return np.stack(
                [
                    make_template(KIND_CALL, 1.0, self.dte, self.moneyness),
                    make_template(KIND_PUT, 1.0, self.dte, 2.0 - self.moneyness),
                ]
            )
        return both_sides(KIND_SHARES)

    def _rules(self, view: SeriesView) -> Rules:
        c = view.close
        upper = view.extreme("high", self.window, 1, True)
        lower = view.extreme("low", self.window, 1, False)
        exit_low = view.extreme("low", self.exit_window, 1, False)
        exit_high = view.extreme("high", self.exit_window, 1, True)
        vavg = view.prior_mean("volume", self.volume_window)
        sd = view.sigma(self.window)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = view.volume / vavg
            up = c > upper
            level = np.where(up, upper, lower)
            dist = np.abs(np.log(c / level)) / sd
        if self.volume_ratio > 0.0:
            vol_ok = v >= self.volume_ratio
            v_full = 2.0 * self.volume_ratio
        else:
            vol_ok = np.ones(c.shape, dtype=np.bool_)
            v_full = 3.0
        return Rules(
            enter_long=up & vol_ok,
            enter_short=((c < lower) & vol_ok) if self.allow_short else no_rule(c.shape),
            exit_long=c < exit_low,
            exit_short=c > exit_high,
            confidence=0.5 * saturate(dist, 2.0) + 0.5 * saturate(v, v_full),
        )
