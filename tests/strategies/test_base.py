"""Combined, stack_signals and the template layout."""

from __future__ import annotations

import numpy as np
import pytest

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import (
    KIND_IRON_CONDOR,
    T_DIRECTION,
    T_DTE_DAYS,
    T_KIND,
    T_WIDTH,
    T_WING,
    TEMPLATE_LEN,
)
from dollarbill_research.strategies import (
    Combined,
    IronCondor,
    Momentum,
    Signals,
    Strategy,
    stack_signals,
)

from ._panels import random_panel


def test_combined_equals_each_strategy_stacked() -> None:
    panel = random_panel(n_bars=300, n_sym=3, seed=9)
    parts = (Momentum(), Momentum(lookback=10, name="Momentum 10"), IronCondor(ivr_window=60))
    combined = Combined(list(parts)).signals(None, panel)
    assert combined.strategies == ("Momentum", "Momentum 10", "Iron Condor")
    for i, s in enumerate(parts):
        alone = s.signals(None, panel)
        np.testing.assert_array_equal(combined.signal[i], alone.signal[0])
        np.testing.assert_array_equal(combined.confidence[i], alone.confidence[0])
        np.testing.assert_array_equal(combined.templates[i], alone.templates[0])
    assert isinstance(Combined((Momentum(),)), Strategy)


def test_duplicate_names_and_bad_members_are_rejected() -> None:
    with pytest.raises(ConfigError, match="repeats names"):
        Combined((Momentum(), Momentum(lookback=5)))
    with pytest.raises(ConfigError, match=r"strategies\[1\]"):
        Combined((Momentum(), "IronCondor"))
    with pytest.raises(ConfigError, match="non-empty"):
        Combined(())


def test_stack_signals_checks_shapes() -> None:
    a = Signals(("A",), np.zeros((1, 5, 2), np.int8), np.zeros((1, 5, 2)), np.zeros((1, 2, 8)))
    b = Signals(("B",), np.zeros((1, 6, 2), np.int8), np.zeros((1, 6, 2)), np.zeros((1, 2, 8)))
    with pytest.raises(ConfigError, match="shape"):
        stack_signals([a, b])
    c = Signals(("C",), a.signal + 1, a.confidence, a.templates)
    both = stack_signals([a, c])
    assert both.strategies == ("A", "C")
    assert both.signal.shape == (2, 5, 2)
    np.testing.assert_array_equal(both.signal[1], c.signal[0])
    with pytest.raises(ConfigError, match="more than once"):
        stack_signals([a, a])


def test_iron_condor_template_layout() -> None:
    t = IronCondor(dte=30, width=0.07, wing=0.03).templates
    assert t.shape == (2, TEMPLATE_LEN)
    assert t[1, T_KIND] == KIND_IRON_CONDOR
    assert t[1, T_DIRECTION] == 1.0
    assert t[1, T_DTE_DAYS] == 30
    assert t[1, T_WIDTH] == 0.07
    assert t[1, T_WING] == 0.03


def test_chunked_run_equals_per_symbol_panels() -> None:
    """Panels wider than one chunk of symbols give each symbol the signals it gets alone."""
    from dollarbill_research.strategies import default_strategies
    from dollarbill_research.strategies.view import CHUNK_SYMBOLS

    from ._panels import build_panel

    wide = random_panel(n_bars=300, n_sym=CHUNK_SYMBOLS + 6, seed=12)
    strategies = Combined(default_strategies())
    full = strategies.signals(None, wide)
    cols = [0, CHUNK_SYMBOLS - 1, CHUNK_SYMBOLS, CHUNK_SYMBOLS + 5]
    sub = build_panel(
        wide.close[:, cols],
        high=wide.high[:, cols],
        low=wide.low[:, cols],
        volume=wide.volume[:, cols],
        iv=wide.iv[:, cols],
        valid=wide.valid[:, cols],
    )
    part = strategies.signals(None, sub)
    np.testing.assert_array_equal(full.signal[:, :, cols], part.signal)
    np.testing.assert_array_equal(full.confidence[:, :, cols], part.confidence)
