"""Turn ``sweep`` arguments into a plan: validated data, resolved configurations, signal groups.

Both backends (local threads, Ray) execute the same plan, which is why they give identical rows.
Configurations that share strategy parameters and symbols form a *group*: the group's panel and
signals are computed once and shared by every configuration in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from dollarbill_research.data.panel import Panel, to_panel
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.codes import REASON_NAMES, WARNING_ONLY_BITS
from dollarbill_research.strategies.base import Signals
from dollarbill_research.sweep.grid import (
    SYMBOLS,
    Configuration,
    Grid,
    ParameterSpace,
    Target,
    as_grid,
    build_configuration,
    display_value,
)

__all__ = ["REJECTION_COLUMNS", "GroupData", "SweepPlan", "group_data", "plan_sweep"]

#: Rejection reasons counted per configuration (``rejected_<name>`` columns), in code order.
REJECTION_REASONS: tuple[int, ...] = tuple(
    c for c in sorted(REASON_NAMES) if c not in WARNING_ONLY_BITS
)
REJECTION_COLUMNS: tuple[str, ...] = tuple(f"rejected_{REASON_NAMES[c]}" for c in REJECTION_REASONS)


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """Everything a backend needs to run a sweep.

    Attributes
    ----------
    frame : polars.DataFrame
        The validated long bar frame.
    panel : Panel
        ``frame`` aligned into (bars x symbols) arrays.
    strategy : object
        The base strategy.
    configurations : tuple of Configuration
        In grid order; failed ones carry their ``error``.
    group_keys : tuple
        The signal group of each configuration (hashable).
    param_names : tuple of str
        Grid parameter names (result columns).
    param_values : tuple of dict
        Each configuration's effective parameter values, as result columns show them.
    """

    frame: pl.DataFrame
    panel: Panel
    strategy: object
    configurations: tuple[Configuration, ...]
    group_keys: tuple[Hashable, ...]
    param_names: tuple[str, ...]
    param_values: tuple[dict[str, object], ...]

    def group_uses(self) -> dict[Hashable, int]:
        """How many runnable configurations use each signal group."""
        uses: dict[Hashable, int] = {}
        for cfg, key in zip(self.configurations, self.group_keys, strict=True):
            if cfg.error is None:
                uses[key] = uses.get(key, 0) + 1
        return uses

    def group_members(self, key: Hashable) -> Configuration:
        """Some runnable configuration of group ``key`` (it carries the group's strategy)."""
        for cfg, k in zip(self.configurations, self.group_keys, strict=True):
            if k == key and cfg.error is None:
                return cfg
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class GroupData:
    """The shared inputs of one signal group (or the error that computing them raised)."""

    panel: Panel | None
    signals: Signals | None
    error: str | None


def plan_sweep(
    data: object,
    strategy: object,
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    *,
    backtest_config: object | None,
    portfolio_config: object | None,
    mode: Literal["product", "list"],
) -> SweepPlan:
    """Validate the data and the grid's names, and build every configuration.

    Raises
    ------
    ConfigError
        Bad grid shape, or a parameter name that is unknown/ambiguous (listing valid names).
    DataError
        The data cannot be loaded or validated.
    """
    frame, panel = load_data(data)
    return plan_on_panel(
        frame, panel, strategy, grid, backtest_config=backtest_config,
        portfolio_config=portfolio_config, mode=mode,
    )  # fmt: skip


def plan_on_panel(
    frame: pl.DataFrame | None,
    panel: Panel,
    strategy: object,
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    *,
    backtest_config: object | None,
    portfolio_config: object | None,
    mode: Literal["product", "list"],
) -> SweepPlan:
    """:func:`plan_sweep` on loaded data.

    The streaming sweep passes ``frame=None`` and a panel of 0 bars that carries the symbols.
    """
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.config.portfolio import PortfolioConfig

    portfolio = _copy(portfolio_config) if portfolio_config is not None else PortfolioConfig()
    backtest = _copy(backtest_config) if backtest_config is not None else BacktestConfig()
    _validate(portfolio)
    _validate(backtest)
    the_grid = as_grid(grid, mode)
    space = ParameterSpace.of(portfolio, backtest, strategy)
    resolved = {name: space.resolve(name) for name in the_grid.names}
    check_portfolio_params(the_grid, resolved, backtest)
    configs: list[Configuration] = []
    keys: list[Hashable] = []
    values: list[dict[str, object]] = []
    for i, params in enumerate(the_grid.configurations):
        cfg = build_configuration(i, params, resolved, portfolio, backtest, strategy, panel.symbols)
        configs.append(cfg)
        keys.append(_group_key(params, resolved))
        values.append(
            {
                name: display_value(
                    params[name]
                    if name in params
                    else _base_value(resolved[name][0], portfolio, backtest, strategy, panel)
                )
                for name in the_grid.names
            }
        )
    return SweepPlan(
        frame,  # type: ignore[arg-type]
        panel, strategy, tuple(configs), tuple(keys), the_grid.names, tuple(values),
    )  # fmt: skip


#: Portfolio fields that act with portfolio management off too (a run has one capital).
ACTIVE_WITHOUT_PM = frozenset({"initial_capital"})
_USE_PM = ("backtest", "use_portfolio_management")


def check_portfolio_params(
    grid: Grid, resolved: Mapping[str, tuple[tuple[Target, str], ...]], backtest: object
) -> None:
    """Refuse a grid that varies portfolio settings in configurations where they cannot act.

    Portfolio (sizing, limits) parameters change nothing while
    ``use_portfolio_management`` is False, so such a sweep's rows would all be the same.

    Raises
    ------
    ConfigError
        A configuration sets a portfolio parameter with portfolio management off and the grid
        does not sweep ``use_portfolio_management`` itself; the hint gives both fixes.
    """
    pm_names = [
        name
        for name, targets in resolved.items()
        if any(t in ("portfolio", "risk_limits") and f not in ACTIVE_WITHOUT_PM for t, f in targets)
    ]
    if not pm_names:
        return
    use_pm_names = [name for name, targets in resolved.items() if _USE_PM in targets]
    if use_pm_names:
        return  # the grid compares with and without portfolio management on purpose
    if getattr(backtest, "use_portfolio_management", True):
        return
    names = ", ".join(repr(n) for n in pm_names)
    raise ConfigError(
        f"sweep parameter(s) {names} change the portfolio settings, which act only with "
        "portfolio management on, but BacktestConfig.use_portfolio_management is False: every "
        "configuration would give the same result. Hint: pass "
        "backtest_config=BacktestConfig(use_portfolio_management=True), or add "
        "'use_portfolio_management': [False, True] to the grid to compare with and without"
    )


def load_data(data: object) -> tuple[pl.DataFrame, Panel]:
    """Validated long frame and its panel from a frame, a path or a :class:`Panel`."""
    from dollarbill_research.backtesting.engine import prepare_data
    from dollarbill_research.data.panel import panel_to_frame

    frame, panel = prepare_data(data)  # type: ignore[arg-type]
    return (panel_to_frame(panel) if frame is None else frame), panel


def group_data(plan: SweepPlan, key: Hashable) -> GroupData:
    """Compute the panel and checked signals of one group (errors become the group's result)."""
    from dollarbill_research.backtesting.engine import check_signals

    cfg = plan.group_members(key)
    try:
        if cfg.symbols is None:
            frame, panel = plan.frame, plan.panel
        else:
            frame = plan.frame.filter(pl.col("symbol").is_in(list(cfg.symbols)))
            panel = to_panel(frame, validate=False)
        signals = check_signals(cfg.strategy.signals(frame, panel), panel)  # type: ignore[union-attr]
    except (ValueError, TypeError) as exc:  # ConfigError / DataError derive from ValueError
        return GroupData(None, None, f"{type(exc).__name__}: {exc}")
    return GroupData(panel, signals, None)


def _group_key(
    params: Mapping[str, object], resolved: Mapping[str, tuple[tuple[Target, str], ...]]
) -> Hashable:
    parts = []
    for name, value in params.items():
        for target, fld in resolved[name]:
            if target in ("strategy", "symbols"):
                frozen = tuple(value) if isinstance(value, list | tuple) else value
                parts.append((fld, repr(frozen)))
    return tuple(sorted(parts))


def _base_value(
    target_field: tuple[Target, str],
    portfolio: object,
    backtest: object,
    strategy: object,
    panel: Panel,
) -> object:
    target, fld = target_field
    if fld == SYMBOLS:
        return panel.symbols
    owner = {
        "portfolio": portfolio,
        "risk_limits": getattr(portfolio, "risk_limits", None),
        "backtest": backtest,
        "strategy": strategy,
    }[target]
    return getattr(owner, fld)


def _copy(config: object) -> object:
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ConfigError(
            f"sweep got a config of type {type(config).__name__}; pass a config object"
        )
    return dataclasses.replace(config)


def _validate(config: object) -> None:
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()


def rejection_counts(reasons: np.ndarray) -> np.ndarray:
    """Count each rejection reason bit of int64 masks (``REJECTION_REASONS`` order)."""
    bits = np.asarray(REJECTION_REASONS, dtype=np.int64)
    if reasons.size == 0:
        return np.zeros(bits.size, dtype=np.int64)
    return ((reasons[:, None] >> bits[None, :]) & 1).sum(axis=0).astype(np.int64)
