"""What every built-in strategy shares: templates, the regime step, confidence clean-up, checks.

A built-in strategy is a frozen slots dataclass deriving from :class:`RuleStrategy`. It implements
``_rules(view) -> Rules`` (boolean entry/exit conditions and a confidence per bar, all
``(n_symbols, n_bars)`` series-major, computed from the cached features of a
:class:`~dollarbill_research.strategies.view.SeriesView` and numpy) and
``_templates() -> (2, TEMPLATE_LEN)``. :meth:`RuleStrategy.signals` turns the rules into
transition signals with :func:`regime_signals_nb` and applies ``min_confidence``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from dollarbill_research._typing import BoolArray, FloatArray
from dollarbill_research.config._validate import check_int, check_range
from dollarbill_research.data.panel import Panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import (
    T_DELTA_TARGET,
    T_DIRECTION,
    T_DTE_DAYS,
    T_KIND,
    T_MONEYNESS,
    T_STRIKE_STEP,
    T_WIDTH,
    T_WING,
    TEMPLATE_LEN,
)
from dollarbill_research.kernels.signals_nb import regime_signals_nb
from dollarbill_research.strategies.base import Signals
from dollarbill_research.strategies.view import SeriesView


def make_template(
    kind: int,
    direction: float,
    dte: float,
    moneyness: float = 1.0,
    width: float = 0.0,
    wing: float = 0.0,
    delta_target: float = 0.0,
    strike_step: float = 0.0,
) -> FloatArray:
    """One instrument template vector in the ``T_*`` layout of ``kernels/codes.py``.

    Parameters
    ----------
    kind : int
        ``KIND_*`` code.
    direction : float
        +1 long (credit kinds: sold as named), -1 short.
    dte : float
        Calendar days to expiry at entry (ignored for shares).
    moneyness, width, wing : float
        Centre strike / spot, short-strike distance and wing width as fractions of spot.
    delta_target : float
        |delta| of the short strikes (0: use moneyness/width).
    strike_step : float
        Strike grid in dollars (0: automatic).
    """
    t = np.zeros(TEMPLATE_LEN)
    t[T_KIND] = kind
    t[T_DIRECTION] = direction
    t[T_DTE_DAYS] = dte
    t[T_MONEYNESS] = moneyness
    t[T_WIDTH] = width
    t[T_WING] = wing
    t[T_DELTA_TARGET] = delta_target
    t[T_STRIKE_STEP] = strike_step
    return t


def both_sides(
    kind: int,
    dte: float = 0.0,
    moneyness: float = 1.0,
    width: float = 0.0,
    delta_target: float = 0.0,
) -> FloatArray:
    """``(2, TEMPLATE_LEN)`` templates of one structure: bought on SIG_LONG, sold on SIG_SHORT.

    Row 0 has direction +1 and row 1 direction -1; the other fields are those of
    :func:`make_template` (no wing).
    """
    return np.stack(
        [
            make_template(kind, 1.0, dte, moneyness, width, delta_target=delta_target),
            make_template(kind, -1.0, dte, moneyness, width, delta_target=delta_target),
        ]
    )


@dataclass(frozen=True, slots=True)
class Rules:
    """Per-bar conditions of a strategy, each series-major ``(n_symbols, n_bars)``.

    NaN features must give False conditions (numpy comparisons with NaN do). ``confidence`` is
    the strength of the setup on each bar; it is clipped to [0, 1] (NaN -> 0) by
    :func:`regime_signals_nb`. Conditions are not masked by ``usable``: the regime step skips
    unusable bars.
    """

    enter_long: BoolArray
    enter_short: BoolArray
    exit_long: BoolArray
    exit_short: BoolArray
    confidence: FloatArray


def no_rule(shape: tuple[int, int]) -> BoolArray:
    """An all-False condition (e.g. the short side of a long-only strategy)."""
    return np.zeros(shape, dtype=np.bool_)


def saturate(x: FloatArray, full: float) -> FloatArray:
    """``clip(x / full, 0, 1)`` with NaN -> 0: linear ramp reaching 1 at ``x = full``."""
    out = np.clip(np.asarray(x, dtype=np.float64) / full, 0.0, 1.0)
    return np.where(np.isfinite(out), out, 0.0)


def finish(
    rules: Rules,
    usable: BoolArray,
    min_confidence: float,
    out_signal: np.ndarray,
    out_confidence: FloatArray,
) -> None:
    """Regime step, confidence clean-up and the ``min_confidence`` filter for one strategy.

    Inputs are series-major ``(n_symbols, n_bars)``; the outputs are bar-major
    ``(n_bars, n_symbols)`` int8 / float64 arrays (views into a stacked block are fine), written
    in place. See :func:`regime_signals_nb`: confidence clipped to [0, 1] on entries, 1.0 on
    exits, 0 elsewhere; entries below ``min_confidence`` dropped, exits never.
    """
    regime_signals_nb(
        (rules.enter_long, rules.enter_short, rules.exit_long, rules.exit_short),
        usable,
        np.ascontiguousarray(rules.confidence, dtype=np.float64),
        float(min_confidence),
        out_signal,
        out_confidence,
    )


class RuleStrategy:
    """Mixin of the built-in strategies (frozen slots dataclasses with typed parameter fields).

    Subclasses define the fields ``name: str`` and ``min_confidence: float`` plus their own
    parameters, and implement ``_rules``, ``_templates`` and ``_check``.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        name = getattr(self, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{type(self).__name__}.name={name!r} must be a non-empty string")
        check_range(self, "min_confidence", getattr(self, "min_confidence", None), 0.0, 1.0)
        self._check()

    def _check(self) -> None:
        raise NotImplementedError

    def _rules(self, view: SeriesView) -> Rules:
        raise NotImplementedError

    def _templates(self) -> FloatArray:
        raise NotImplementedError

    def _lookback(self) -> int:
        raise NotImplementedError

    @property
    def lookback_bars(self) -> int:
        """Valid bars of history the signal of a bar depends on (its longest window, plus lags).

        A signal computed on the last ``lookback_bars`` valid bars of each symbol equals the
        full-history signal of that bar once the regime state (flat / long / short) is carried
        over from the previous bar (see
        :class:`~dollarbill_research.strategies.rolling.RollingSignals`); the live bot sizes its
        history window from it.
        """
        return int(self._lookback())

    @property
    def templates(self) -> FloatArray:
        """float64 ``(2, TEMPLATE_LEN)``: opened on ``SIG_LONG`` (0) and on ``SIG_SHORT`` (1)."""
        return self._templates()

    def signals(self, frame: pl.DataFrame | None, panel: Panel) -> Signals:
        """Signals for every symbol and bar of ``panel`` (``frame`` is not needed and may be None).

        A bar without data (``panel.valid`` False, or a non-finite / non-positive close) gets no
        signal; windows skip it (see :mod:`dollarbill_research.kernels.signals_nb`).
        """
        from dollarbill_research.strategies.base import run_all

        return run_all((self,), frame, panel)  # type: ignore[arg-type]

    def fill(self, view: SeriesView, out_signal: np.ndarray, out_confidence: FloatArray) -> None:
        """Write this strategy's signals for the symbols of ``view`` into bar-major outputs."""
        finish(
            self._rules(view),
            view.usable,
            float(getattr(self, "min_confidence", 0.0)),
            out_signal,
            out_confidence,
        )


def check_window(obj: object, field: str, value: object, low: int = 2) -> int:
    """A window length in bars, at least ``low``."""
    return check_int(obj, field, value, low, 10_000)


def check_dte(obj: object, value: object) -> float:
    """The ``dte`` field: calendar days to expiry at entry, 1 to 3650."""
    return check_range(obj, "dte", value, 1.0, 3650.0)


def check_positive(obj: object, field: str, value: object, high: float = math.inf) -> float:
    """A strictly positive number (``(0, high]``)."""
    return check_range(obj, field, value, 0.0, high, low_open=True)


def check_fraction(obj: object, field: str, value: object) -> float:
    """A number in ``[0, 1]``."""
    return check_range(obj, field, value, 0.0, 1.0)


def check_order(obj: object, low_field: str, high_field: str) -> None:
    """``low_field < high_field`` (e.g. exit threshold below entry threshold)."""
    lo = getattr(obj, low_field)
    hi = getattr(obj, high_field)
    if not lo < hi:
        raise ConfigError(
            f"{type(obj).__name__}.{low_field}={lo!r} must be below "
            f"{type(obj).__name__}.{high_field}={hi!r}"
        )
