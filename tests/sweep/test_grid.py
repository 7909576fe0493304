"""Grid expansion, name resolution and per-configuration validation (no engine needed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep.grid import (
    Grid,
    ParameterSpace,
    as_grid,
    build_configuration,
    display_value,
)


@dataclass(frozen=True, slots=True)
class _Limits:
    max_portfolio_delta: float = 0.3
    max_concentration_pct: float = 20.0

    def __post_init__(self) -> None:
        if not 0 < self.max_portfolio_delta <= 10:
            raise ConfigError(f"_Limits.max_portfolio_delta={self.max_portfolio_delta!r} bad")


@dataclass(frozen=True, slots=True)
class _Portfolio:
    initial_capital: float = 100_000.0
    max_risk_per_trade: float = 2.0
    sizing_method: str = "VolatilityBased"
    risk_limits: _Limits = field(default_factory=_Limits)

    def __post_init__(self) -> None:
        if self.max_risk_per_trade <= 0:
            raise ConfigError(f"_Portfolio.max_risk_per_trade={self.max_risk_per_trade!r} bad")


@dataclass(frozen=True, slots=True)
class _Backtest:
    initial_capital: float = 100_000.0
    use_portfolio_management: bool = False
    position_size_pct: float = 10.0


@dataclass(frozen=True, slots=True)
class _Strategy:
    name: str = "Momentum"
    lookback: int = 20
    position_size_pct: float = 5.0  # clashes with the backtest field on purpose


SPACE = ParameterSpace.of(_Portfolio(), _Backtest(), _Strategy())


def test_product_has_every_combination_in_itertools_order() -> None:
    params = {"a": [1, 2, 3], "b": ["x", "y"], "c": [0.5]}
    grid = Grid.product(params)
    expected = [
        dict(zip(params, combo, strict=True)) for combo in itertools.product(*params.values())
    ]
    assert list(grid.configurations) == expected
    assert len(grid) == 6
    assert grid.names == ("a", "b", "c")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_product_size_is_product_of_lengths(lengths: list[int]) -> None:
    params = {f"p{i}": list(range(n)) for i, n in enumerate(lengths)}
    grid = Grid.product(params)
    size = 1
    for n in lengths:
        size *= n
    assert len(grid) == size
    assert len({tuple(c.values()) for c in grid.configurations}) == size


def test_list_mode_keeps_order_and_collects_names() -> None:
    grid = Grid.from_list([{"a": 1}, {"b": 2, "a": 3}])
    assert grid.configurations == ({"a": 1}, {"b": 2, "a": 3})
    assert grid.names == ("a", "b")


@pytest.mark.parametrize(
    ("grid", "mode", "match"),
    [
        ({}, "product", "non-empty mapping"),
        ({"a": []}, "product", "empty"),
        ({"a": "abc"}, "product", "list of values"),
        ({"a": 3}, "product", "list of values"),
        ([{"a": 1}], "product", "mode='list'"),
        ([], "list", "non-empty list"),
        ({"a": [1]}, "list", "mode='product'"),
        ([{"a": 1}, 3], "list", r"grid\[1\]"),
        ({"a": [1]}, "zip", "'product' or 'list'"),
    ],
)
def test_bad_grids_raise_config_error(grid: object, mode: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        as_grid(grid, mode)  # type: ignore[arg-type]


def test_resolution_of_bare_and_prefixed_names() -> None:
    assert SPACE.resolve("max_risk_per_trade") == (("portfolio", "max_risk_per_trade"),)
    assert SPACE.resolve("max_portfolio_delta") == (("risk_limits", "max_portfolio_delta"),)
    assert SPACE.resolve("risk_limits.max_portfolio_delta") == (
        ("risk_limits", "max_portfolio_delta"),
    )
    assert SPACE.resolve("use_portfolio_management") == (("backtest", "use_portfolio_management"),)
    assert SPACE.resolve("lookback") == (("strategy", "lookback"),)
    assert SPACE.resolve("strategy.lookback") == (("strategy", "lookback"),)
    assert SPACE.resolve("symbols") == (("symbols", "symbols"),)
    # one capital per run: the bare name sets both configs
    assert set(SPACE.resolve("initial_capital")) == {
        ("portfolio", "initial_capital"),
        ("backtest", "initial_capital"),
    }


def test_ambiguous_name_asks_for_a_prefix() -> None:
    with pytest.raises(ConfigError, match=r"'backtest.position_size_pct' or 'strategy"):
        SPACE.resolve("position_size_pct")
    assert SPACE.resolve("backtest.position_size_pct") == (("backtest", "position_size_pct"),)


@pytest.mark.parametrize("name", ["lookbak", "strategy.nope", "portfolio.risk_limits", "name"])
def test_unknown_name_lists_valid_names(name: str) -> None:
    with pytest.raises(ConfigError, match="valid names: symbols, ") as info:
        SPACE.resolve(name)
    text = str(info.value)
    assert repr(name) in text
    for valid in ("max_risk_per_trade", "strategy.lookback", "risk_limits.max_portfolio_delta"):
        assert valid in text


def _build(params: dict[str, object], index: int = 0):  # type: ignore[no-untyped-def]
    resolved = {name: SPACE.resolve(name) for name in params}
    return build_configuration(
        index, params, resolved, _Portfolio(), _Backtest(), _Strategy(), ("A", "B", "C")
    )


def test_build_applies_each_change_to_its_own_config() -> None:
    cfg = _build(
        {
            "max_risk_per_trade": 1.5,
            "max_portfolio_delta": 0.5,
            "strategy.lookback": 60,
            "backtest.position_size_pct": 7.0,
            "initial_capital": 5_000.0,
            "symbols": ["C", "A"],
        }
    )
    assert cfg.error is None
    assert cfg.portfolio == _Portfolio(
        initial_capital=5_000.0, max_risk_per_trade=1.5, risk_limits=_Limits(0.5)
    )
    assert cfg.backtest == _Backtest(initial_capital=5_000.0, position_size_pct=7.0)
    assert cfg.strategy == _Strategy(lookback=60)
    assert cfg.symbols == ("C", "A")


def test_untouched_configs_are_the_base_objects() -> None:
    cfg = _build({"lookback": 5})
    assert cfg.portfolio == _Portfolio()
    assert cfg.backtest == _Backtest()
    assert cfg.symbols is None


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_risk_per_trade": -1.0}, "_Portfolio.max_risk_per_trade=-1.0"),
        ({"max_portfolio_delta": 99.0}, "_Limits.max_portfolio_delta=99.0"),
        ({"symbols": ["A", "Z"]}, r"\['Z'\] not in the data"),
        ({"symbols": []}, "non-empty list"),
        ({"symbols": ["A", "A"]}, "twice"),
    ],
)
def test_invalid_configuration_becomes_an_error_not_a_raise(
    params: dict[str, object], match: str
) -> None:
    cfg = _build(params, index=3)
    assert cfg.index == 3
    assert cfg.portfolio is None
    assert cfg.error is not None
    assert cfg.error.startswith("ConfigError: ")
    assert pytest.importorskip("re").search(match, cfg.error)


def test_display_value() -> None:
    from enum import Enum

    class _M(Enum):
        VOL = "VolatilityBased"

    assert display_value(_M.VOL) == "VolatilityBased"
    assert display_value(("A", "B")) == "A,B"
    assert display_value(2.5) == 2.5
