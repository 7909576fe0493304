"""Each rule strategy on hand-built series: what must trigger, what must not.

Expected bars are computed here with plain numpy/pandas from the documented rules, not read from
the implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_SHORT
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    IronCondor,
    MeanReversion,
    Momentum,
    ShortStrangle,
    VolatilityArbitrage,
    VolatilityMeanReversion,
)

from ._panels import build_panel


def sig1(strategy, panel) -> np.ndarray:
    return strategy.signals(None, panel).signal[0, :, 0]


def zigzag(n: int, amp: float) -> np.ndarray:
    """Log returns alternating +amp, -amp (constant realised vol, no drift)."""
    return amp * (-1.0) ** np.arange(n)


def first(mask: np.ndarray, start: int = 0) -> int:
    idx = np.nonzero(mask[start:])[0]
    return int(idx[0]) + start if idx.size else -1


# --- Momentum ---------------------------------------------------------------------------------
def momentum_path(fall: bool = True) -> np.ndarray:
    lr = zigzag(140, 0.0005)
    lr[70:100] = 0.01
    if fall:
        lr[100:] = -0.015
    return 100 * np.exp(np.cumsum(lr))


def test_momentum_enters_on_trailing_return_and_trend_then_exits() -> None:
    c = momentum_path()
    s = pd.Series(c)
    r = s / s.shift(20) - 1
    sma = s.rolling(50).mean()
    t_in = first(((r >= 0.05) & (s > sma)).to_numpy())
    t_out = first(((r <= 0.0) | (s < sma)).to_numpy(), t_in + 1)
    sig = sig1(Momentum(), build_panel(c))
    assert t_in > 0
    assert t_out > t_in
    assert sig[t_in] == SIG_LONG
    assert sig[t_out] == SIG_EXIT
    assert np.count_nonzero(sig[: t_out + 1]) == 2  # one entry, one exit


def test_momentum_does_not_trigger_on_flat_noise_or_disabled_short() -> None:
    flat = 100 * np.exp(np.cumsum(zigzag(200, 0.004)))
    assert not sig1(Momentum(), build_panel(flat)).any()
    falling = 100 * np.exp(np.cumsum(np.r_[zigzag(60, 0.0005), np.full(40, -0.01)]))
    assert SIG_SHORT in sig1(Momentum(), build_panel(falling))
    assert not sig1(Momentum(allow_short=False), build_panel(falling)).any()


# --- Mean Reversion ---------------------------------------------------------------------------
def test_mean_reversion_buys_a_stretched_drop_and_exits_on_recovery() -> None:
    lr = zigzag(100, 0.005)
    lr[60:64] = -0.03
    lr[64:70] = 0.02
    c = 100 * np.exp(np.cumsum(lr))
    s = pd.Series(c)
    z = (s - s.rolling(20).mean()) / s.rolling(20).std()
    d = s.diff()
    gain = d.clip(lower=0).rolling(14).mean()
    loss = (-d).clip(lower=0).rolling(14).mean()
    rsi = 100 * gain / (gain + loss)
    t_in = first(((z <= -2.0) & (rsi <= 30)).to_numpy())
    t_out = first((z >= -0.5).to_numpy(), t_in + 1)
    sig = sig1(MeanReversion(), build_panel(c))
    assert 60 <= t_in < 64
    assert t_out > t_in
    assert sig[t_in] == SIG_LONG
    assert sig[t_out] == SIG_EXIT
    assert np.count_nonzero(sig[:t_in]) == 0


def test_mean_reversion_silent_without_stretch_and_rsi_confirmation() -> None:
    c = 100 * np.exp(np.cumsum(zigzag(120, 0.005)))
    assert not sig1(MeanReversion(), build_panel(c)).any()
    lr = zigzag(100, 0.005)
    lr[60:64] = -0.03
    c = 100 * np.exp(np.cumsum(lr))
    # an impossible RSI level keeps the same stretch from triggering
    assert SIG_LONG not in sig1(MeanReversion(rsi_low=1.0), build_panel(c))


# --- Breakout ---------------------------------------------------------------------------------
def breakout_panel(volume_at_break: float):
    n = 60
    c = 100 + 0.5 * (-1.0) ** np.arange(n)
    c[40] = 103.0
    c[41:46] = 102.5
    c[46] = 95.0
    vol = np.full(n, 1e6)
    vol[40] = volume_at_break
    return build_panel(c, high=c + 0.5, low=c - 0.5, volume=vol)


def test_breakout_with_volume_triggers_then_turtle_exit() -> None:
    sig = sig1(Breakout(), breakout_panel(2e6))
    assert sig[40] == SIG_LONG  # 103 > prior 20-bar high 101, volume 2x >= 1.5x
    assert sig[46] == SIG_EXIT  # 95 < min low of previous 10 bars
    assert np.count_nonzero(sig[:40]) == 0


def test_breakout_needs_volume_confirmation() -> None:
    assert SIG_LONG not in sig1(Breakout(), breakout_panel(1.2e6))
    assert sig1(Breakout(volume_ratio=0.0), breakout_panel(1.2e6))[40] == SIG_LONG


def test_breakout_option_templates() -> None:
    t = Breakout(use_options=True, moneyness=1.02).templates
    assert t[0, 0] == 1
    assert t[1, 0] == 2
    assert t[0, 3] == pytest.approx(1.02)
    assert t[1, 3] == pytest.approx(0.98)


# --- Volatility Mean Reversion ----------------------------------------------------------------
def vmr_panel(shock: float):
    n = 160
    c = 100 * np.exp(np.cumsum(zigzag(n, 0.01)))
    iv = 0.30 + 0.01 * np.sin(np.arange(n) * 0.7)
    iv[120] += shock
    return build_panel(c, iv=iv)


def test_vmr_sells_rich_iv_and_buys_cheap_iv() -> None:
    sig = sig1(VolatilityMeanReversion(), vmr_panel(+0.2))
    assert sig[120] == SIG_SHORT
    assert sig[121] == SIG_EXIT  # spread back to normal: |z| <= 0.5
    assert np.count_nonzero(sig) == 2
    sig = sig1(VolatilityMeanReversion(), vmr_panel(-0.2))
    assert sig[120] == SIG_LONG


def test_vmr_silent_on_normal_fluctuations() -> None:
    # the spread is a sinusoid: its z-score never exceeds sqrt(2) < 1.5
    assert not sig1(VolatilityMeanReversion(), vmr_panel(0.0)).any()


def test_vmr_templates_are_straddle_and_condor() -> None:
    t = VolatilityMeanReversion(dte=21, condor_width=0.04, condor_wing=0.03).templates
    assert t[0, :4].tolist() == [4.0, 1.0, 21.0, 1.0]  # long ATM straddle
    assert t[1, [0, 1, 2, 4, 5]].tolist() == [8.0, 1.0, 21.0, 0.04, 0.03]  # sold condor


# --- Volatility Arbitrage ---------------------------------------------------------------------
def har_forecast(c: np.ndarray) -> np.ndarray:
    r = pd.Series(np.log(c)).diff()
    rv = {n: r.rolling(n).std().to_numpy() * math.sqrt(252) for n in (5, 22, 63)}
    return 0.3 * rv[5] + 0.4 * rv[22] + 0.3 * rv[63]


@pytest.mark.parametrize(("edge", "expected"), [(0.05, SIG_SHORT), (-0.05, SIG_LONG)])
def test_vol_arb_trades_iv_away_from_forecast(edge: float, expected: int) -> None:
    c = 100 * np.exp(np.cumsum(zigzag(120, 0.01)))
    f = har_forecast(c)
    iv = np.where(np.isfinite(f), f, 0.3)
    iv[100] += edge
    sig = sig1(VolatilityArbitrage(), build_panel(c, iv=iv))
    assert sig[100] == expected
    assert sig[101] == SIG_EXIT
    assert np.count_nonzero(sig) == 2


def test_vol_arb_silent_when_iv_equals_forecast() -> None:
    c = 100 * np.exp(np.cumsum(zigzag(120, 0.01)))
    f = har_forecast(c)
    iv = np.where(np.isfinite(f), f + 0.03, 0.3)  # inside the 4-point band
    assert not sig1(VolatilityArbitrage(), build_panel(c, iv=iv)).any()


# --- Premium sellers --------------------------------------------------------------------------
N_PREM = 300


def trend_close(drift: float, amp: float = 0.003) -> np.ndarray:
    return 100 * np.exp(np.cumsum(drift + zigzag(N_PREM, amp)))


def test_cash_secured_puts_in_calm_uptrend() -> None:
    falling_iv = np.linspace(0.40, 0.20, N_PREM)  # current IV is the window minimum: rank 0
    sig = sig1(CashSecuredPuts(), build_panel(trend_close(0.003), iv=falling_iv))
    assert sig[251] == SIG_LONG  # first bar with a full 252-bar IV window
    assert np.count_nonzero(sig) == 1
    t = CashSecuredPuts(moneyness=0.9, dte=35).templates
    assert t[0, :4].tolist() == [3.0, 1.0, 35.0, 0.9]


def test_cash_secured_puts_silent_in_downtrend_or_stress() -> None:
    falling_iv = np.linspace(0.40, 0.20, N_PREM)
    assert not sig1(CashSecuredPuts(), build_panel(trend_close(-0.003), iv=falling_iv)).any()
    rising_iv = np.linspace(0.20, 0.40, N_PREM)  # rank 1 > max_iv_rank
    assert not sig1(CashSecuredPuts(), build_panel(trend_close(0.003), iv=rising_iv)).any()


def test_iron_condor_when_iv_rich_and_range_bound() -> None:
    rising_iv = np.linspace(0.20, 0.40, N_PREM)
    sig = sig1(IronCondor(), build_panel(trend_close(0.0, 0.01), iv=rising_iv))
    assert sig[251] == SIG_SHORT
    assert np.count_nonzero(sig) == 1


def test_iron_condor_silent_when_trending_or_iv_cheap() -> None:
    rising_iv = np.linspace(0.20, 0.40, N_PREM)
    assert not sig1(IronCondor(), build_panel(trend_close(0.01, 0.01), iv=rising_iv)).any()
    falling_iv = np.linspace(0.40, 0.20, N_PREM)
    assert not sig1(IronCondor(), build_panel(trend_close(0.0, 0.01), iv=falling_iv)).any()


def test_short_strangle_needs_iv_rank_and_iv_over_rv() -> None:
    c = trend_close(0.0, 0.01)  # realised vol ~ 0.16
    sig = sig1(ShortStrangle(), build_panel(c, iv=np.linspace(0.20, 0.40, N_PREM)))
    assert sig[251] == SIG_SHORT
    assert not sig1(ShortStrangle(), build_panel(c, iv=np.linspace(0.05, 0.15, N_PREM))).any()
    t = ShortStrangle(delta=0.2).templates
    assert t[1, 0] == 5.0
    assert t[1, 1] == -1.0
    assert t[1, 6] == pytest.approx(0.2)
