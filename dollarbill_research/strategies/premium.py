"""Premium-selling strategies: Cash-Secured Puts, Iron Condor, Short Strangle.

Shared features (:mod:`dollarbill_research.strategies._common`): ``ivr`` = IV rank of
``panel.iv`` over ``ivr_window`` valid bars, in [0, 1]; ``tau`` = vol-adjusted trailing return over
``trend_window`` bars (about N(0, 1) without drift; ``|tau| > 2`` is a strong trend). SIG_SHORT
sells volatility (condor, strangle); SIG_LONG is the bullish put sale. The template on the other
index is the mirror structure and is never emitted by these strategies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dollarbill_research._typing import FloatArray
from dollarbill_research.kernels.codes import (
    KIND_CASH_SECURED_PUT,
    KIND_IRON_CONDOR,
    KIND_PUT,
    KIND_STRANGLE,
)
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
    no_rule,
    saturate,
)
from dollarbill_research.strategies.view import BARS_PER_YEAR, SeriesView


@dataclass(frozen=True, slots=True)
class CashSecuredPuts(RuleStrategy):
    """Sell OTM cash-secured puts in a calm uptrend.

    * enter long (sell the put): ``tau >= min_trend`` and ``min_iv_rank <= ivr <= max_iv_rank``
      (an uptrend with no stress priced in);
    * exit: ``tau < exit_trend`` (the uptrend is gone) or ``ivr > exit_iv_rank`` (stress).

    Confidence: ``0.5 x clip(tau / 2, 0, 1) + 0.5 x (1 - ivr)``.

    Parameters
    ----------
    trend_window, ivr_window : int
        Bars of the trend score and of the IV rank.
    min_trend, exit_trend : float
        Entry and exit trend scores (``exit_trend < min_trend``).
    min_iv_rank, max_iv_rank, exit_iv_rank : float
        IV-rank band for entries and the exit level, in [0, 1].
    dte : float
        Calendar days to expiry.
    moneyness : float
        Put strike / spot (0.95 = 5 % OTM), used when ``delta_target`` is 0.
    delta_target : float
        |delta| of the put strike (0 = use moneyness).
    """

    trend_window: int = 50
    ivr_window: int = 252
    min_trend: float = 0.5
    exit_trend: float = 0.0
    min_iv_rank: float = 0.0
    max_iv_rank: float = 0.5
    exit_iv_rank: float = 0.8
    dte: float = 30.0
    moneyness: float = 0.95
    delta_target: float = 0.0
    name: str = "Cash-Secured Puts"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "trend_window", self.trend_window)
        check_window(self, "ivr_window", self.ivr_window)
        check_range(self, "min_trend", self.min_trend, -10.0, 10.0)
        check_range(self, "exit_trend", self.exit_trend, -10.0, 10.0)
        check_order(self, "exit_trend", "min_trend")
        for f in ("min_iv_rank", "max_iv_rank", "exit_iv_rank"):
            check_fraction(self, f, getattr(self, f))
        check_order(self, "min_iv_rank", "max_iv_rank")
        check_order(self, "max_iv_rank", "exit_iv_rank")
        check_dte(self, self.dte)
        check_range(self, "moneyness", self.moneyness, 0.5, 1.0)
        check_range(self, "delta_target", self.delta_target, 0.0, 1.0, high_open=True)

    def _lookback(self) -> int:
        # IV rank over ``ivr_window`` bars; trend over ``trend_window`` returns
        return max(self.ivr_window, self.trend_window + 1)

    def _templates(self) -> FloatArray:
        m, d = self.moneyness, self.delta_target
        return np.stack(
            [
                make_template(KIND_CASH_SECURED_PUT, 1.0, self.dte, m, delta_target=d),
                make_template(KIND_PUT, 1.0, self.dte, m, delta_target=d),
            ]
        )

    def _rules(self, view: SeriesView) -> Rules:
        tau = view.trend(self.trend_window)
        ivr = view.iv_rank(self.ivr_window)
        shape = view.close.shape
        return Rules(
            enter_long=(tau >= self.min_trend)
            & (ivr >= self.min_iv_rank)
            & (ivr <= self.max_iv_rank),
            enter_short=no_rule(shape),
            exit_long=(tau < self.exit_trend) | (ivr > self.exit_iv_rank),
            exit_short=no_rule(shape),
            confidence=0.5 * saturate(tau, 2.0) + 0.5 * (1.0 - ivr),
        )


@dataclass(frozen=True, slots=True)
class IronCondor(RuleStrategy):
    """Sell an iron condor when IV rank is rich and the underlying is range-bound.

    * enter short (sell the condor): ``ivr >= min_iv_rank`` and ``|tau| <= max_trend``;
    * exit: ``ivr <= exit_iv_rank`` (premium collapsed) or ``|tau| >= exit_trend`` (a trend broke
      out of the range).

    Confidence: ``0.5 x ivr + 0.5 x (1 - clip(|tau| / max_trend, 0, 1))``.

    Parameters
    ----------
    ivr_window, trend_window : int
        Bars of the IV rank and the trend score.
    min_iv_rank, exit_iv_rank : float
        Entry and exit IV ranks (``exit_iv_rank < min_iv_rank``).
    max_trend, exit_trend : float
        Largest |tau| to enter and |tau| that exits (``max_trend < exit_trend``).
    dte : float
        Calendar days to expiry.
    width, wing : float
        Short strikes at ``(1 -+ width) x spot``, wings ``wing x spot`` further out.
    """

    ivr_window: int = 252
    trend_window: int = 20
    min_iv_rank: float = 0.5
    exit_iv_rank: float = 0.2
    max_trend: float = 0.75
    exit_trend: float = 1.5
    dte: float = 45.0
    width: float = 0.05
    wing: float = 0.05
    name: str = "Iron Condor"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_window(self, "ivr_window", self.ivr_window)
        check_window(self, "trend_window", self.trend_window)
        check_fraction(self, "min_iv_rank", self.min_iv_rank)
        check_fraction(self, "exit_iv_rank", self.exit_iv_rank)
        check_order(self, "exit_iv_rank", "min_iv_rank")
        check_positive(self, "max_trend", self.max_trend, 10.0)
        check_positive(self, "exit_trend", self.exit_trend, 20.0)
        check_order(self, "max_trend", "exit_trend")
        check_dte(self, self.dte)
        check_positive(self, "width", self.width, 1.0)
        check_positive(self, "wing", self.wing, 1.0)

    def _lookback(self) -> int:
        # IV rank over ``ivr_window`` bars; trend over ``trend_window`` returns
        return max(self.ivr_window, self.trend_window + 1)

    def _templates(self) -> FloatArray:
        return np.stack(
            [
                make_template(KIND_IRON_CONDOR, -1.0, self.dte, 1.0, self.width, self.wing),
                make_template(KIND_IRON_CONDOR, 1.0, self.dte, 1.0, self.width, self.wing),
            ]
        )

    def _rules(self, view: SeriesView) -> Rules:
        tau = view.trend(self.trend_window)
        ivr = view.iv_rank(self.ivr_window)
        atau = np.abs(tau)
        shape = view.close.shape
        return Rules(
            enter_long=no_rule(shape),
            enter_short=(ivr >= self.min_iv_rank) & (atau <= self.max_trend),
            exit_long=no_rule(shape),
            exit_short=(ivr <= self.exit_iv_rank) | (atau >= self.exit_trend),
            confidence=0.5 * ivr + 0.5 * (1.0 - saturate(atau, self.max_trend)),
        )


@dataclass(frozen=True, slots=True)
class ShortStrangle(RuleStrategy):
    """Sell a delta-targeted strangle when IV is rich both in rank and against realised vol.

    Strikes: the put and call with ``|delta| = delta`` (template ``T_DELTA_TARGET``; ``width``
    is the moneyness fallback when a delta cannot be solved).

    * enter short: ``ivr >= min_iv_rank``, ``iv >= min_iv_rv x rv`` (``rv`` over ``rv_window``)
      and ``|tau| <= max_trend``;
    * exit: ``ivr <= exit_iv_rank`` or ``|tau| >= exit_trend``.

    Confidence: ``0.5 x ivr + 0.5 x clip((iv / rv - 1) / 0.5, 0, 1)``.

    Parameters
    ----------
    delta : float
        |delta| of both short strikes (0.16 ~ one standard deviation).
    dte : float
        Calendar days to expiry.
    width : float
        Fallback strike distance from spot, fraction.
    ivr_window, rv_window, trend_window : int
        Bars of the IV rank, realised vol and trend score.
    min_iv_rank, exit_iv_rank : float
        Entry and exit IV ranks.
    min_iv_rv : float
        Minimum ratio of IV to realised vol to enter.
    max_trend, exit_trend : float
        Largest |tau| to enter and |tau| that exits.
    """

    delta: float = 0.16
    dte: float = 45.0
    width: float = 0.10
    ivr_window: int = 252
    rv_window: int = 20
    trend_window: int = 20
    min_iv_rank: float = 0.6
    exit_iv_rank: float = 0.25
    min_iv_rv: float = 1.1
    max_trend: float = 1.0
    exit_trend: float = 2.0
    name: str = "Short Strangle"
    min_confidence: float = 0.0

    def _check(self) -> None:
        check_range(self, "delta", self.delta, 0.0, 0.5, low_open=True, high_open=True)
        check_dte(self, self.dte)
        check_positive(self, "width", self.width, 1.0)
        check_window(self, "ivr_window", self.ivr_window)
        check_window(self, "rv_window", self.rv_window)
        check_window(self, "trend_window", self.trend_window)
        check_fraction(self, "min_iv_rank", self.min_iv_rank)
        check_fraction(self, "exit_iv_rank", self.exit_iv_rank)
        check_order(self, "exit_iv_rank", "min_iv_rank")
        check_positive(self, "min_iv_rv", self.min_iv_rv, 10.0)
        check_positive(self, "max_trend", self.max_trend, 10.0)
        check_positive(self, "exit_trend", self.exit_trend, 20.0)
        check_order(self, "max_trend", "exit_trend")

    def _lookback(self) -> int:
        # IV rank, trend and realised vol windows
        return max(self.ivr_window, self.trend_window + 1, self.rv_window + 1)

    def _templates(self) -> FloatArray:
        return both_sides(KIND_STRANGLE, self.dte, 1.0, self.width, self.delta)

    def _rules(self, view: SeriesView) -> Rules:
        tau = view.trend(self.trend_window)
        ivr = view.iv_rank(self.ivr_window)
        sd = view.sigma(self.rv_window)
        rv = sd * math.sqrt(BARS_PER_YEAR)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = view.iv / rv
        atau = np.abs(tau)
        shape = view.close.shape
        return Rules(
            enter_long=no_rule(shape),
            enter_short=(ivr >= self.min_iv_rank)
            & (ratio >= self.min_iv_rv)
            & (atau <= self.max_trend),
            exit_long=no_rule(shape),
            exit_short=(ivr <= self.exit_iv_rank) | (atau >= self.exit_trend),
            confidence=0.5 * ivr + 0.5 * saturate(ratio - 1.0, 0.5),
        )
