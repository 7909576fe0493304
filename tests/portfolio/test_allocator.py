"""StrategyAllocator: API, validation and rebalancing recommendations."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import polars as pl
import pytest

from dollarbill_research.exceptions import ConfigError, DataError, StateError
from dollarbill_research.portfolio.allocator import RebalanceRecommendation, StrategyAllocator


def _returns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "Momentum": rng.normal(0.001, 0.03, 200),
        "IronCondor": rng.normal(0.0005, 0.01, 200),
        "Breakout": rng.normal(0.0008, 0.02, 150),
    }


def test_risk_parity_targets_ordered_by_name_and_sum_to_one() -> None:
    rets = _returns()
    t = StrategyAllocator("RiskParity").targets(rets)
    assert list(t) == ["Breakout", "IronCondor", "Momentum"]
    assert sum(t.values()) == pytest.approx(1.0)
    inv = {k: 1 / np.std(v, ddof=1) for k, v in rets.items()}
    total = sum(inv.values())
    for k in t:
        assert t[k] == pytest.approx(inv[k] / total, rel=1e-10)


def test_polars_frame_input_matches_dict() -> None:
    rets = {k: v[:150] for k, v in _returns().items()}
    alloc = StrategyAllocator("VolatilityWeighted")
    assert alloc.targets(pl.DataFrame(rets)) == pytest.approx(alloc.targets(rets))
    frame = alloc.targets_frame(rets)
    assert frame.columns == ["strategy", "target"]
    assert frame["strategy"].to_list() == ["Breakout", "IronCondor", "Momentum"]


def test_enum_method_accepted() -> None:
    class AllocationMethod(StrEnum):
        EQUAL = "EqualWeight"

    t = StrategyAllocator(AllocationMethod.EQUAL).targets({"a": [], "b": []})
    assert t == {"a": 0.5, "b": 0.5}


def test_custom_weights_normalised_with_bounds() -> None:
    alloc = StrategyAllocator(
        "Custom",
        custom_weights={"A": 3.0, "B": 1.0},
        bounds={"A": (0.0, 0.6), "C": (0.1, 1.0)},
    )
    t = alloc.targets({"A": [], "B": [], "C": []})
    # A capped at 0.6; C takes its minimum 0.1; B gets the rest
    assert t == pytest.approx({"A": 0.6, "B": 0.3, "C": 0.1})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "Magic"}, "method='Magic' is not one of"),
        ({"min_weight": -0.1}, "min_weight"),
        ({"max_weight": 1.5}, "max_weight"),
        ({"min_weight": 0.6, "max_weight": 0.5}, "exceeds max_weight"),
        ({"rebalance_threshold": 2.0}, "rebalance_threshold"),
        ({"method": "Custom"}, "custom_weights is required"),
        ({"method": "Custom", "custom_weights": {"a": -1.0}}, "must be >= 0"),
        ({"bounds": {"a": (0.5, 0.2)}}, "min 0.5 > max 0.2"),
        ({"bounds": {"a": 0.5}}, r"\(min, max\) pair"),
        ({"bars_per_year": 0}, "bars_per_year"),
    ],
)
def test_config_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StrategyAllocator(**kwargs)  # type: ignore[arg-type]


def test_infeasible_bounds_raise() -> None:
    with pytest.raises(ConfigError, match=r"sum of mins 1\.2000"):
        StrategyAllocator("EqualWeight", min_weight=0.4).targets({"a": [], "b": [], "c": []})
    with pytest.raises(ConfigError, match=r"sum of maxes 0\.6000"):
        StrategyAllocator("EqualWeight", max_weight=0.3).targets({"a": [], "b": []})
    with pytest.raises(ConfigError, match="unknown strategies"):
        StrategyAllocator("EqualWeight", bounds={"zzz": (0, 1)}).targets({"a": []})


def test_data_errors() -> None:
    alloc = StrategyAllocator("RiskParity")
    with pytest.raises(DataError, match="empty"):
        alloc.targets({})
    with pytest.raises(DataError, match="infinite at row 1"):
        alloc.targets({"a": [0.0, np.inf]})
    with pytest.raises(DataError, match="dict"):
        alloc.targets([1, 2])  # type: ignore[arg-type]


def test_rebalance_threshold_and_order() -> None:
    alloc = StrategyAllocator("EqualWeight")
    alloc.targets({"a": [], "b": [], "c": [], "d": []})
    current = {"d": 0.31, "a": 0.25, "b": 0.14, "c": 0.30}
    recs = alloc.rebalance(current)
    assert [r.strategy for r in recs] == ["b", "d"]  # c drifts exactly 5 points: no trigger
    assert recs[0] == RebalanceRecommendation("b", 0.14, 0.25, pytest.approx(-0.11), "increase")
    assert recs[1].action == "decrease"
    assert "Decrease d: 31.0% -> 25.0%" in str(recs[1])
    wider = StrategyAllocator("EqualWeight", rebalance_threshold=0.2)
    assert wider.rebalance(current) == []


def test_rebalance_missing_strategies_count_as_zero() -> None:
    alloc = StrategyAllocator("RiskParity")
    recs = alloc.rebalance({"old": 0.4, "a": 0.6}, targets={"a": 0.5, "new": 0.5})
    assert [(r.strategy, r.action) for r in recs] == [
        ("a", "decrease"),
        ("new", "increase"),
        ("old", "decrease"),
    ]


def test_rebalance_needs_targets_for_data_driven_methods() -> None:
    with pytest.raises(StateError, match="call targets"):
        StrategyAllocator("RiskParity").rebalance({"a": 1.0})
    with pytest.raises(DataError, match="finite"):
        StrategyAllocator("EqualWeight").rebalance({"a": float("nan")})
