"""PersonalityStrategy routes entries by the bar's personality and filters by confidence."""

from __future__ import annotations

import numpy as np
import pytest

from dollarbill_research.data import synthetic_universe, to_panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_SHORT
from dollarbill_research.strategies import (
    PERSONALITIES,
    Combined,
    Momentum,
    PersonalityStrategy,
    classify_panel,
    default_strategies,
)


@pytest.mark.parametrize("min_confidence", [0.0, 0.3, 0.6])
def test_entries_only_where_the_personality_prefers_the_strategy(min_confidence: float) -> None:
    frame = synthetic_universe(n_symbols=12, n_bars=700, seed=5)
    panel = to_panel(frame)
    router = PersonalityStrategy(min_confidence=min_confidence, window=126)
    routed = router.signals(frame, panel)
    plain = Combined(default_strategies()).signals(frame, panel)
    code = classify_panel(panel, window=126).code
    assert routed.strategies == plain.strategies
    np.testing.assert_array_equal(routed.templates, plain.templates)
    route = router.routing()
    n_entries = 0
    for i, name in enumerate(routed.strategies):
        allowed = np.isin(code, [PERSONALITIES.index(p) for p in route[name]])
        plain_entry = (plain.signal[i] == SIG_LONG) | (plain.signal[i] == SIG_SHORT)
        expected = plain_entry & allowed & (plain.confidence[i] >= min_confidence)
        got = (routed.signal[i] == SIG_LONG) | (routed.signal[i] == SIG_SHORT)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        np.testing.assert_array_equal(routed.signal[i][got], plain.signal[i][got])
        np.testing.assert_array_equal(routed.confidence[i][got], plain.confidence[i][got])
        # exits are never masked
        np.testing.assert_array_equal(routed.signal[i] == SIG_EXIT, plain.signal[i] == SIG_EXIT)
        n_entries += int(got.sum())
    assert n_entries > 0


def test_min_personality_confidence_routes_nothing_at_one() -> None:
    frame = synthetic_universe(n_symbols=4, n_bars=500, seed=1)
    sig = PersonalityStrategy(window=126, min_personality_confidence=1.0).signals(
        frame, to_panel(frame)
    )
    assert not ((sig.signal == SIG_LONG) | (sig.signal == SIG_SHORT)).any()


def test_router_validation() -> None:
    with pytest.raises(ConfigError, match=r"PersonalityStrategy\.min_confidence=1\.5"):
        PersonalityStrategy(min_confidence=1.5)
    with pytest.raises(ConfigError, match="not in strategies"):
        PersonalityStrategy(strategies=(Momentum(),))
    with pytest.raises(ConfigError, match="must be \\(personality"):
        PersonalityStrategy(strategies=(Momentum(),), preferences=(("Grumpy", ("Momentum",)),))
    custom = PersonalityStrategy(
        strategies=(Momentum(),), preferences=(("TrendFollower", ("Momentum",)),)
    )
    assert [p.value for p in custom.routing()["Momentum"]] == ["TrendFollower"]
