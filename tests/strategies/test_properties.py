"""Properties every strategy must have: confidence range, missing bars, no look-ahead, checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_NONE, SIG_SHORT
from dollarbill_research.strategies import (
    Breakout,
    CashSecuredPuts,
    IronCondor,
    MeanReversion,
    Momentum,
    PersonalityStrategy,
    ShortStrangle,
    VolatilityArbitrage,
    VolatilityMeanReversion,
    default_strategies,
)

from ._panels import build_panel, random_panel

# short windows so that a 300-bar panel exercises every rule
FAST = (
    VolatilityMeanReversion(z_window=30),
    Momentum(),
    MeanReversion(entry_z=1.5, rsi_low=40, rsi_high=60),
    Breakout(volume_ratio=1.0),
    VolatilityArbitrage(),
    CashSecuredPuts(ivr_window=60, max_iv_rank=0.7),
    IronCondor(ivr_window=60),
    ShortStrangle(ivr_window=60, min_iv_rv=0.8),
    PersonalityStrategy(window=60, min_confidence=0.0),
)
IDS = [type(s).__name__ for s in FAST]


@pytest.mark.parametrize("strategy", FAST, ids=IDS)
def test_confidence_range_missing_bars_and_determinism(strategy) -> None:
    panel = random_panel(n_bars=300, n_sym=5, seed=11, p_missing=0.05)
    a = strategy.signals(None, panel)
    b = strategy.signals(None, panel)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    assert a.signal.dtype == np.int8
    assert a.confidence.dtype == np.float64
    assert set(np.unique(a.signal)) <= {SIG_NONE, SIG_LONG, SIG_SHORT, SIG_EXIT}
    assert ((a.confidence >= 0) & (a.confidence <= 1)).all()
    entry = (a.signal == SIG_LONG) | (a.signal == SIG_SHORT)
    assert entry.any()
    assert (a.confidence[a.signal == SIG_EXIT] == 1.0).all()
    assert (a.confidence[a.signal == SIG_NONE] == 0.0).all()
    assert not a.signal[:, ~panel.valid].any()
    assert a.templates.shape == (a.n_strategies, 2, 8)


@pytest.mark.parametrize("strategy", FAST, ids=IDS)
@pytest.mark.parametrize("cut", [120, 250])
def test_no_look_ahead(strategy, cut: int) -> None:
    panel = random_panel(n_bars=300, n_sym=4, seed=5)
    base = strategy.signals(None, panel)
    rng = np.random.default_rng(cut)
    arrays = {}
    for name in ("close", "high", "low", "volume", "iv"):
        a = getattr(panel, name).copy()
        a[cut + 1 :] *= rng.uniform(0.5, 1.5, a[cut + 1 :].shape)
        arrays[name] = a
    valid = panel.valid.copy()
    valid[cut + 1 :] = rng.uniform(size=valid[cut + 1 :].shape) > 0.3
    changed = build_panel(
        arrays["close"],
        high=arrays["high"],
        low=arrays["low"],
        volume=arrays["volume"],
        iv=arrays["iv"],
        valid=valid,
    )
    other = strategy.signals(None, changed)
    np.testing.assert_array_equal(base.signal[:, : cut + 1], other.signal[:, : cut + 1])
    np.testing.assert_array_equal(base.confidence[:, : cut + 1], other.confidence[:, : cut + 1])


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 299), min_size=1, max_size=30))
def test_missing_bars_are_skipped_not_filled(seed: int, holes: list[int]) -> None:
    """Inserting missing bars leaves every signal on the symbol's own bars unchanged."""
    dense = random_panel(n_bars=300, n_sym=1, seed=seed, p_missing=0.0)
    keep = np.ones(300 + len(holes), dtype=bool)
    pos = np.sort(np.array(holes)) + np.arange(len(holes))
    keep[pos] = False

    def spread(a: np.ndarray) -> np.ndarray:
        out = np.full((keep.size, 1), np.nan)
        out[keep, 0] = a[:, 0]
        return out

    sparse = build_panel(
        spread(dense.close),
        high=spread(dense.high),
        low=spread(dense.low),
        volume=spread(dense.volume),
        iv=spread(dense.iv),
        valid=keep,
    )
    for strategy in FAST[:-1]:
        a = strategy.signals(None, dense)
        b = strategy.signals(None, sparse)
        np.testing.assert_array_equal(a.signal[0, :, 0], b.signal[0, keep, 0])
        np.testing.assert_allclose(a.confidence[0, :, 0], b.confidence[0, keep, 0], rtol=1e-9)
        assert not b.signal[0, ~keep].any()


def test_min_confidence_drops_entries_but_never_exits() -> None:
    panel = random_panel(n_bars=300, n_sym=6, seed=3)
    base = Momentum().signals(None, panel)
    entry = (base.signal == SIG_LONG) | (base.signal == SIG_SHORT)
    level = float(np.median(base.confidence[entry]))
    filt = Momentum(min_confidence=level).signals(None, panel)
    keep = entry & (base.confidence >= level)
    assert 0 < keep.sum() < entry.sum()
    np.testing.assert_array_equal(filt.signal[keep], base.signal[keep])
    assert not filt.signal[entry & ~keep].any()
    np.testing.assert_array_equal(filt.signal == SIG_EXIT, base.signal == SIG_EXIT)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Momentum(lookback=0), "Momentum.lookback=0"),
        (lambda: Momentum(threshold=-0.1), "Momentum.threshold=-0.1"),
        (lambda: Momentum(exit_threshold=0.2), "Momentum.exit_threshold=0.2"),
        (lambda: Momentum(allow_short="yes"), "Momentum.allow_short"),
        (lambda: MeanReversion(rsi_low=80), "MeanReversion.rsi_low=80"),
        (lambda: VolatilityMeanReversion(exit_z=2.0), "VolatilityMeanReversion.exit_z=2.0"),
        (lambda: VolatilityArbitrage(short_window=30), "VolatilityArbitrage.short_window=30"),
        (lambda: IronCondor(min_iv_rank=1.5), "IronCondor.min_iv_rank=1.5"),
        (lambda: ShortStrangle(delta=0.7), "ShortStrangle.delta=0.7"),
        (lambda: CashSecuredPuts(moneyness=1.2), "CashSecuredPuts.moneyness=1.2"),
        (lambda: Breakout(window=1.5), "Breakout.window=1.5"),
        (lambda: Momentum(name=""), "Momentum.name"),
        (lambda: Momentum(min_confidence=2), "Momentum.min_confidence=2"),
    ],
)
def test_parameters_are_validated_with_class_and_field(factory, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        factory()


def test_strategies_are_frozen_with_names() -> None:
    names = [s.name for s in default_strategies()]
    assert names == [
        "Volatility Mean Reversion",
        "Momentum",
        "Mean Reversion",
        "Breakout",
        "Volatility Arbitrage",
        "Cash-Secured Puts",
        "Iron Condor",
        "Short Strangle",
    ]
    m = Momentum(lookback=30, threshold=0.08)
    with pytest.raises(AttributeError):
        m.lookback = 5  # type: ignore[misc]
    assert m == Momentum(lookback=30, threshold=0.08)
