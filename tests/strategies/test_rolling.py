"""Declared lookbacks: last-bar signals on a rolling window equal the full-history signals."""

from __future__ import annotations

import numpy as np
import pytest

from dollarbill_research.data import load_bars, synthetic_universe, to_panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    Combined,
    IronCondor,
    MeanReversion,
    Momentum,
    PersonalityStrategy,
    ShortStrangle,
    VolatilityArbitrage,
    VolatilityMeanReversion,
)
from dollarbill_research.strategies.rolling import RollingSignals, window_panel

SMALL = [
    Momentum(lookback=10, trend_window=30),
    Breakout(window=15, exit_window=5),
    MeanReversion(window=15, entry_z=1.2, rsi_window=7),
    VolatilityMeanReversion(rv_window=10, z_window=30, entry_z=1.0),
    VolatilityArbitrage(short_window=3, medium_window=10, long_window=30, entry_edge=0.02),
    CashSecuredPuts(ivr_window=40, trend_window=15),
    IronCondor(ivr_window=40, trend_window=15),
    ShortStrangle(ivr_window=40, rv_window=10, trend_window=15),
]


def rolling_replay(strategy, panel, rows):
    roll = RollingSignals(strategy, panel.symbols)
    sig = np.zeros((len(roll.names), panel.n_bars, panel.n_symbols), dtype=np.int8)
    conf = np.zeros(sig.shape)
    for t in range(panel.n_bars):
        sig[:, t], conf[:, t] = roll.step(window_panel(panel, t, rows))
    return roll, sig, conf


def assert_same(full, sig, conf):
    np.testing.assert_array_equal(full.signal, sig)
    np.testing.assert_allclose(full.confidence, conf, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def panel():
    return to_panel(synthetic_universe(n_symbols=5, n_bars=260, seed=7))


@pytest.mark.parametrize("strategy", SMALL, ids=[s.name for s in SMALL])
def test_each_strategy_rolling_equals_full_history(panel, strategy):
    full = strategy.signals(None, panel)
    assert np.count_nonzero(full.signal) > 4  # the case really signals
    roll, sig, conf = rolling_replay(strategy, panel, strategy.lookback_bars)
    assert_same(full, sig, conf)
    np.testing.assert_array_equal(roll.templates, full.templates)


def test_declared_lookback_is_tight_enough_to_matter(panel):
    # one bar less than declared changes some signal: the declaration is not padded blindly
    s = Momentum(lookback=10, trend_window=30)
    full = s.signals(None, panel)
    _, sig, conf = rolling_replay(s, panel, s.lookback_bars - 1)
    with pytest.raises(AssertionError):
        assert_same(full, sig, conf)


def test_default_lookbacks():
    assert Momentum().lookback_bars == 51
    assert VolatilityMeanReversion().lookback_bars == 80
    assert IronCondor().lookback_bars == 252
    assert PersonalityStrategy().lookback_bars == 273
    assert Combined((Momentum(), Breakout())).lookback_bars == 51


def test_router_rolling_equals_full_history(panel):
    router = PersonalityStrategy(window=60, strategies=tuple(SMALL), min_confidence=0.2)
    full = router.signals(None, panel)
    assert np.count_nonzero(full.signal) > 4
    _, sig, conf = rolling_replay(router, panel, router.lookback_bars)
    assert_same(full, sig, conf)


@pytest.mark.realdata
@pytest.mark.slow
def test_default_router_rolling_equals_full_history_on_real_data(real_data_dir):
    panel = to_panel(load_bars(real_data_dir), validate=False)
    router = PersonalityStrategy()
    full = router.signals(None, panel)
    assert np.count_nonzero(full.signal) > 20
    _, sig, conf = rolling_replay(router, panel, router.lookback_bars)
    assert_same(full, sig, conf)


def test_custom_strategy_must_declare_lookback(panel):
    class Custom:
        name = "Custom"

        def signals(self, frame, panel):  # pragma: no cover - never called
            raise AssertionError

    with pytest.raises(ConfigError, match="lookback_bars"):
        RollingSignals(Custom(), panel.symbols)
