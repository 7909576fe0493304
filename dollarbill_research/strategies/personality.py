"""Stock personalities (SPEC 7): classify each symbol from its own price history, bar by bar.

Features over a rolling ``window`` of the symbol's valid bars (no bar after the current one is
read, so a backtest can use the classification of bar ``t`` at bar ``t``):

=====================  =========================================================================
volatility             annualised std of daily log returns over ``window`` returns
vol_percentile         ``Phi(ln(volatility / 0.30) / 0.5)``: percentile in a lognormal reference
                       distribution of equity vols (median 30 %), independent of the universe
trend_r2               R^2 of log close on time over ``window`` closes
trend_score            ``tau = ln(c_t / c_{t-window}) / (sigma_d sqrt(window))`` (noise units)
trend_strength         ``trend_r2 x clip(|tau| / 2, 0, 1)``
momentum_accel         ``(r_recent - r_prior) / (sigma_d sqrt(2 q))``, log returns over the last
                       ``q = window // 4`` bars and the ``q`` bars before them
ar1                    AR(1) coefficient ``b`` of log close (``ln c_t = a + b ln c_{t-1}``)
half_life              ``ln 2 / -ln b`` bars for ``0 < b < 1`` (speed of mean reversion), else inf
mr_strength            ``clip(-t / 4, 0, 1)``, ``t = (b - 1) / se(b)`` (Dickey-Fuller statistic)
breakout_freq          share of bars in the window closing outside the prior 20-bar high/low
beta, beta_stability   beta of daily returns on the equal-weight market (mean log return of the
                       symbols with a bar; includes the symbol itself) over the last
                       ``window // 2`` returns, and ``1 / (1 + |beta - beta_prior|)`` against
                       the ``window // 2`` returns before them
=====================  =========================================================================

The scores, the arg-max and the confidence are documented on
:func:`dollarbill_research.kernels.personality_nb.personality_scores_nb`. A bar is classified from
the symbol's ``window + 21``-st valid bar on (the breakout channel needs 20 prior bars).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray
from dollarbill_research.data.panel import Panel, to_panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.personality_nb import (
    P_NONE,
    personality_scores_nb,
    rolling_ols_nb,
)
from dollarbill_research.kernels.signals_nb import (
    lagged_nb,
    rolling_extreme_nb,
    rolling_mean_std_nb,
)
from dollarbill_research.strategies.view import (
    BARS_PER_YEAR,
    SeriesView,
    for_each_chunk,
    symbol_chunks,
)

BREAKOUT_CHANNEL = 20


class Personality(StrEnum):
    """The five stock personalities; the value is the name used in output lines."""

    MOMENTUM_LEADER = "MomentumLeader"
    MEAN_REVERTING = "MeanReverting"
    TREND_FOLLOWER = "TrendFollower"
    VOLATILE_BREAKER = "VolatileBreaker"
    STABLE_ACCUMULATOR = "StableAccumulator"


# Order = kernel codes P_* of kernels/personality_nb.py.
PERSONALITIES: tuple[Personality, ...] = tuple(Personality)

PREFERRED_STRATEGIES: dict[Personality, tuple[str, ...]] = {
    Personality.MOMENTUM_LEADER: ("Momentum", "Breakout", "Cash-Secured Puts"),
    Personality.MEAN_REVERTING: ("Mean Reversion", "Volatility Mean Reversion", "Iron Condor"),
    Personality.TREND_FOLLOWER: ("Momentum", "Cash-Secured Puts", "Volatility Arbitrage"),
    Personality.VOLATILE_BREAKER: (
        "Breakout",
        "Volatility Arbitrage",
        "Volatility Mean Reversion",
    ),
    Personality.STABLE_ACCUMULATOR: ("Cash-Secured Puts", "Iron Condor", "Short Strangle"),
}
"""Strategies (by name) each personality is routed to: trend-riding for leaders and followers,
fading for mean reverters, long-vol and breakout trades for volatile names, premium selling for
stable ones."""

FEATURES: tuple[str, ...] = (
    "volatility",
    "vol_percentile",
    "trend_r2",
    "trend_score",
    "trend_strength",
    "momentum_accel",
    "ar1",
    "half_life",
    "mr_strength",
    "breakout_freq",
    "beta",
    "beta_stability",
)


@dataclass(frozen=True, slots=True)
class PersonalityPanel:
    """Per-bar classification, bar-major ``(n_bars, n_symbols)`` like the panel.

    Attributes
    ----------
    code : numpy.ndarray
        int64 index into :data:`PERSONALITIES`, -1 where not classified.
    confidence : numpy.ndarray
        float64 in [0, 1].
    features : dict of str to numpy.ndarray
        float64 arrays named as in :data:`FEATURES`.
    """

    code: np.ndarray
    confidence: FloatArray
    features: dict[str, FloatArray]


def _check_window(window: object) -> int:
    if isinstance(window, bool) or not isinstance(window, int) or window < 8:
        raise ConfigError(f"classify.window={window!r} must be an integer >= 8 (bars)")
    return window


def market_returns(panel: Panel) -> FloatArray:
    """Equal-weight market proxy: mean daily log return of the symbols with a bar, ``(n_bars,)``.

    NaN on bars where no symbol has a return. Uses only bar ``t`` on bar ``t``.
    """
    total = np.zeros(panel.n_bars)
    count = np.zeros(panel.n_bars)
    for cols in symbol_chunks(panel.n_symbols):
        r = SeriesView(panel, cols).returns()
        finite = np.isfinite(r)
        total += np.where(finite, r, 0.0).sum(axis=0)
        count += finite.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def classify_view(view: SeriesView, market: FloatArray, window: int = 252) -> PersonalityPanel:
    """Rolling personality of the symbols of a :class:`SeriesView`.

    ``market`` is :func:`market_returns` of the whole panel. Arrays of the result are bar-major
    ``(n_bars, n_view_symbols)``.
    """
    window = _check_window(window)
    u = view.usable
    sd = view.sigma(window)
    logc = np.log(view.close)
    idx = np.cumsum(u, axis=1, dtype=np.float64)
    _, r2, _ = rolling_ols_nb(idx, logc, u, window)
    tau = view.trend(window)
    q = max(window // 4, 1)
    lq = lagged_nb(logc, u, q)
    l2q = lagged_nb(logc, u, 2 * q)
    with np.errstate(divide="ignore", invalid="ignore"):
        accel = ((logc - lq) - (lq - l2q)) / (sd * math.sqrt(2 * q))
    b, _, b_se = rolling_ols_nb(lagged_nb(logc, u, 1), logc, u, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        ar1_t = (b - 1.0) / b_se
        half_life = np.where((b > 0.0) & (b < 1.0), math.log(2.0) / -np.log(b), np.inf)
    half_life = np.where(np.isnan(b), np.nan, half_life)
    hi = rolling_extreme_nb(view.high, u, BREAKOUT_CHANNEL, 1, True)
    lo = rolling_extreme_nb(view.low, u, BREAKOUT_CHANNEL, 1, False)
    brk = np.where(np.isnan(hi) | np.isnan(lo), np.nan, (view.close > hi) | (view.close < lo))
    bfreq, _ = rolling_mean_std_nb(np.ascontiguousarray(brk, dtype=np.float64), u, window)
    r = view.returns()
    mkt2d = np.ascontiguousarray(np.broadcast_to(market, r.shape))
    h = max(window // 2, 3)
    beta, _, _ = rolling_ols_nb(mkt2d, r, u, h)
    beta_prior = lagged_nb(beta, u, h)
    stab = 1.0 / (1.0 + np.abs(beta - beta_prior))
    vol = sd * math.sqrt(BARS_PER_YEAR)
    code, conf, vpct = personality_scores_nb(vol, r2, tau, accel, ar1_t, bfreq, stab)
    with np.errstate(invalid="ignore"):
        feats = {
            "volatility": vol,
            "vol_percentile": vpct,
            "trend_r2": r2,
            "trend_score": tau,
            "trend_strength": r2 * np.clip(np.abs(tau) / 2.0, 0.0, 1.0),
            "momentum_accel": accel,
            "ar1": b,
            "half_life": half_life,
            "mr_strength": np.clip(-ar1_t / 4.0, 0.0, 1.0),
            "breakout_freq": bfreq,
            "beta": beta,
            "beta_stability": stab,
        }
    code = np.where(u, code, P_NONE)
    return PersonalityPanel(
        code=np.ascontiguousarray(code.T),
        confidence=np.ascontiguousarray(np.where(u, conf, 0.0).T),
        features={k: np.ascontiguousarray(np.where(u, v, np.nan).T) for k, v in feats.items()},
    )


def classify_panel(
    panel: Panel, window: int = 252, *, market: FloatArray | None = None
) -> PersonalityPanel:
    """Rolling personality of every symbol and bar of ``panel`` (bar-major arrays).

    ``market`` is :func:`market_returns` of the panel by default; the streaming driver passes
    the market series of the whole universe when ``panel`` holds a group of its symbols.
    """
    window = _check_window(window)
    market = market_returns(panel) if market is None else market
    shape = (panel.n_bars, panel.n_symbols)
    code = np.full(shape, P_NONE, dtype=np.int64)
    conf = np.zeros(shape)
    feats = {k: np.full(shape, np.nan) for k in FEATURES}

    def work(cols: slice) -> None:
        part = classify_view(SeriesView(panel, cols), market, window)
        code[:, cols] = part.code
        conf[:, cols] = part.confidence
        for k in FEATURES:
            feats[k][:, cols] = part.features[k]

    for_each_chunk(panel.n_symbols, work)
    return PersonalityPanel(code=code, confidence=conf, features=feats)


def classify(data: pl.DataFrame | Panel, window: int = 252, per_bar: bool = False) -> pl.DataFrame:
    """Classify every symbol's personality on a rolling window of its own bars.

    Parameters
    ----------
    data : polars.DataFrame or Panel
        A canonical bar frame (validated and aligned with
        :func:`~dollarbill_research.data.to_panel`) or a panel.
    window : int
        Bars in the rolling window (>= 8); default one trading year.
    per_bar : bool
        False (default): one row per symbol, its latest valid bar. True: one row per symbol and
        valid bar, in (symbol, timestamp) order.

    Returns
    -------
    polars.DataFrame
        ``symbol, timestamp, personality`` (str, null until the window is full), ``confidence``
        (in [0, 1]), the features of :data:`FEATURES` and ``preferred_strategies``
        (list of str).

    Examples
    --------
    >>> from dollarbill_research.data import synthetic_universe
    >>> df = classify(synthetic_universe(n_symbols=3, n_bars=400, seed=1), window=126)
    >>> df.columns[:4]
    ['symbol', 'timestamp', 'personality', 'confidence']
    """
    panel = data if isinstance(data, Panel) else to_panel(data)
    res = classify_panel(panel, window)
    valid = panel.valid & np.isfinite(panel.close) & (panel.close > 0)
    if per_bar:
        j, t = np.nonzero(valid.T)
    else:
        has = valid.any(axis=0)
        last = panel.n_bars - 1 - np.argmax(valid[::-1], axis=0)
        j = np.nonzero(has)[0]
        t = last[j]
    code = res.code[t, j]
    names = np.array([p.value for p in PERSONALITIES] + [None], dtype=object)
    pref = [list(PREFERRED_STRATEGIES[p]) for p in PERSONALITIES] + [[]]
    cols: dict[str, object] = {
        "symbol": np.asarray(panel.symbols, dtype=object)[j].tolist(),
        "timestamp": panel.timestamps[t],
        "personality": names[code].tolist(),
        "confidence": res.confidence[t, j],
    }
    for k in FEATURES:
        cols[k] = res.features[k][t, j]
    cols["preferred_strategies"] = [pref[c] for c in code]
    return pl.DataFrame(
        cols,
        schema_overrides={
            "symbol": pl.String,
            "personality": pl.String,
            "preferred_strategies": pl.List(pl.String),
        },
    )
