"""Sweep grids: parameter names, their resolution to config fields, and configurations.

A grid maps *parameter names* to values. A name is resolved once, before anything runs, to the
field it changes:

=========================  ==========================================================
name                       changes
=========================  ==========================================================
``portfolio.<field>``      a :class:`~dollarbill_research.config.PortfolioConfig` field
``risk_limits.<field>``    a :class:`~dollarbill_research.config.RiskLimits` field
``backtest.<field>``       a :class:`~dollarbill_research.config.BacktestConfig` field
``strategy.<field>``       a field of the (dataclass) strategy; signals are recomputed
``symbols``                the symbols traded (a subset of the data's symbols)
``<field>`` (bare)         the one namespace above that has ``<field>``
=========================  ==========================================================

A bare name must be unambiguous, with one exception: ``initial_capital`` (in both the portfolio
and the backtest config) sets both, since a run has one capital. An unknown or ambiguous name
raises :class:`~dollarbill_research.exceptions.ConfigError` listing the valid names. Values are
not checked here: each configuration is validated when it is built, and a configuration that
fails becomes a result row carrying its error text.

Examples
--------
>>> g = Grid.product({"sizing_method": ["VolatilityBased", "FixedFractional"],
...                   "max_risk_per_trade": [1.0, 2.0]})
>>> len(g), g.configurations[1]
(4, {'sizing_method': 'VolatilityBased', 'max_risk_per_trade': 2.0})
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from dollarbill_research.exceptions import ConfigError

__all__ = [
    "Configuration",
    "Grid",
    "ParameterSpace",
    "Target",
    "as_grid",
]

Target = Literal["portfolio", "risk_limits", "backtest", "strategy", "symbols"]
TARGETS: tuple[Target, ...] = ("portfolio", "risk_limits", "backtest", "strategy", "symbols")
SYMBOLS = "symbols"
_SHARED_CAPITAL = "initial_capital"


@dataclass(frozen=True, slots=True)
class Grid:
    """An ordered collection of configurations, each a mapping of parameter name to value.

    Build it with :meth:`product` (every combination, last name varying fastest) or
    :meth:`from_list` (explicit configurations; names may differ between them, a missing
    name keeps the base config's value).

    Attributes
    ----------
    configurations : tuple of dict
        One ``{name: value}`` per configuration, in run order.
    names : tuple of str
        Every parameter name used by any configuration, in first-seen order.
    """

    configurations: tuple[dict[str, object], ...]
    names: tuple[str, ...]

    @classmethod
    def product(cls, params: Mapping[str, Sequence[object]]) -> Grid:
        """Every combination of ``params`` values (``itertools.product`` order).

        Raises
        ------
        ConfigError
            A value list is empty, a string (use a one-element list) or not a sequence.
        """
        if not isinstance(params, Mapping) or not params:
            raise ConfigError(
                f"sweep grid={params!r} must be a non-empty mapping of name -> list of values; "
                "hint: {'max_risk_per_trade': [1.0, 2.0]}"
            )
        names = tuple(_check_name(name) for name in params)
        values: list[tuple[object, ...]] = []
        for name in names:
            options = params[name]
            if isinstance(options, str | bytes) or not isinstance(options, Sequence):
                raise ConfigError(
                    f"sweep grid[{name!r}]={options!r} must be a list of values; "
                    f"hint: {name!r}: [{options!r}]"
                )
            if len(options) == 0:
                raise ConfigError(f"sweep grid[{name!r}] is empty; give at least one value")
            values.append(tuple(options))
        configs = tuple(
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)
        )
        return cls(configurations=configs, names=names)

    @classmethod
    def from_list(cls, configs: Sequence[Mapping[str, object]]) -> Grid:
        """Explicit configurations, run in the order given.

        Raises
        ------
        ConfigError
            The list is empty or an entry is not a mapping of str names.
        """
        if isinstance(configs, Mapping | str) or not isinstance(configs, Sequence) or not configs:
            raise ConfigError(
                f"sweep grid={configs!r} in mode='list' must be a non-empty list of dicts; "
                "hint: [{'sizing_method': 'KellyCriterion'}, {'max_risk_per_trade': 1.0}]"
            )
        names: dict[str, None] = {}
        out: list[dict[str, object]] = []
        for i, config in enumerate(configs):
            if not isinstance(config, Mapping):
                raise ConfigError(f"sweep grid[{i}]={config!r} must be a dict of name -> value")
            for name in config:
                names[_check_name(name)] = None
            out.append(dict(config))
        return cls(configurations=tuple(out), names=tuple(names))

    def __len__(self) -> int:
        return len(self.configurations)


def as_grid(
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    mode: Literal["product", "list"],
) -> Grid:
    """Turn what a user passes to :func:`~dollarbill_research.sweep.sweep` into a :class:`Grid`."""
    if isinstance(grid, Grid):
        return grid
    if mode == "product":
        if not isinstance(grid, Mapping):
            raise ConfigError(
                f"sweep mode='product' needs a dict of name -> list of values, got "
                f"{type(grid).__name__}; hint: pass mode='list' for a list of configurations"
            )
        return Grid.product(grid)
    if mode == "list":
        if isinstance(grid, Mapping):
            raise ConfigError(
                "sweep mode='list' needs a list of dicts, got a dict; "
                "hint: pass mode='product' to combine value lists"
            )
        return Grid.from_list(grid)
    raise ConfigError(f"sweep mode={mode!r} must be 'product' or 'list'")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"sweep parameter name {name!r} must be a non-empty str")
    return name


@dataclass(frozen=True, slots=True)
class Configuration:
    """One configuration of a sweep, resolved to the objects a backtest needs.

    Attributes
    ----------
    index : int
        Position in the grid (the ``config_id`` column of the results).
    params : dict
        ``{name: value}`` as given in the grid (the result row's parameter columns).
    portfolio, backtest, strategy : object
        Validated configs and strategy (``None`` when building failed).
    symbols : tuple of str or None
        Symbols traded (``None``: all of the data's symbols).
    error : str or None
        Why the configuration could not be built (its row then has no metrics).
    """

    index: int
    params: dict[str, object]
    portfolio: object | None
    backtest: object | None
    strategy: object | None
    symbols: tuple[str, ...] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ParameterSpace:
    """The sweepable names of a base portfolio config, backtest config and strategy.

    Attributes
    ----------
    fields : dict
        ``{target: field names}`` for ``portfolio``, ``risk_limits``, ``backtest``, ``strategy``.
    """

    fields: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, portfolio: object, backtest: object, strategy: object) -> ParameterSpace:
        """Collect the dataclass fields of each base object (non-dataclass strategy: none)."""
        risk = getattr(portfolio, "risk_limits", None)
        port_fields = tuple(f for f in _field_names(portfolio) if f != "risk_limits")
        return cls(
            fields={
                "portfolio": port_fields,
                "risk_limits": _field_names(risk) if risk is not None else (),
                "backtest": _field_names(backtest),
                "strategy": tuple(f for f in _field_names(strategy) if f != "name"),
            }
        )

    def valid_names(self) -> list[str]:
        """Every accepted name: bare where unambiguous, then every prefixed form."""
        counts: dict[str, int] = {}
        for names in self.fields.values():
            for name in names:
                counts[name] = counts.get(name, 0) + 1
        bare = [n for n, c in counts.items() if c == 1 or n == _SHARED_CAPITAL]
        prefixed = [f"{t}.{n}" for t, names in self.fields.items() for n in names]
        return [SYMBOLS, *bare, *prefixed]

    def resolve(self, name: str) -> tuple[tuple[Target, str], ...]:
        """Return the ``(target, field)`` pairs that ``name`` sets.

        Raises
        ------
        ConfigError
            Unknown or ambiguous name; the message lists the valid names.
        """
        if name == SYMBOLS:
            return (("symbols", SYMBOLS),)
        prefix, dot, field = name.partition(".")
        if dot:
            if prefix in self.fields and field in self.fields[prefix]:
                return ((prefix, field),)  # type: ignore[return-value]
            raise self._unknown(name)
        hits = tuple((t, name) for t, names in self.fields.items() if name in names)
        if len(hits) == 1 or (name == _SHARED_CAPITAL and hits):
            return hits  # type: ignore[return-value]
        if hits:
            options = " or ".join(f"'{t}.{name}'" for t, _ in hits)
            raise ConfigError(f"sweep parameter {name!r} is ambiguous; hint: use {options}")
        raise self._unknown(name)

    def _unknown(self, name: str) -> ConfigError:
        valid = ", ".join(self.valid_names())
        return ConfigError(
            f"sweep parameter {name!r} is not a sweepable name; valid names: {valid}"
        )


def _field_names(obj: object) -> tuple[str, ...]:
    if obj is None or not dataclasses.is_dataclass(obj):
        return ()
    return tuple(f.name for f in dataclasses.fields(obj) if f.init)


def build_configuration(
    index: int,
    params: Mapping[str, object],
    resolved: Mapping[str, tuple[tuple[Target, str], ...]],
    portfolio: object,
    backtest: object,
    strategy: object,
    all_symbols: Sequence[str],
) -> Configuration:
    """Apply one grid entry to the base objects; errors become the configuration's ``error``.

    ``dataclasses.replace`` reruns each config's validation, so a bad value (a negative risk, an
    unknown sizing method) is caught here and reported with the config's own message.
    """
    changes: dict[str, dict[str, object]] = {t: {} for t in TARGETS}
    for name, value in params.items():
        for target, field in resolved[name]:
            changes[target][field] = value
    try:
        symbols = _check_symbols(changes["symbols"].get(SYMBOLS), all_symbols)
        port = portfolio
        if changes["risk_limits"]:
            risk = dataclasses.replace(port.risk_limits, **changes["risk_limits"])  # type: ignore[attr-defined]
            changes["portfolio"]["risk_limits"] = risk
        if changes["portfolio"]:
            port = dataclasses.replace(port, **changes["portfolio"])  # type: ignore[type-var]
        bt = (
            dataclasses.replace(backtest, **changes["backtest"])
            if changes["backtest"]
            else backtest
        )  # type: ignore[type-var]
        strat = strategy
        if changes["strategy"]:
            strat = dataclasses.replace(strategy, **changes["strategy"])  # type: ignore[type-var]
    except (ValueError, TypeError) as exc:  # ConfigError/DataError derive from ValueError
        return Configuration(index, dict(params), None, None, None, None, _error_text(exc))
    return Configuration(index, dict(params), port, bt, strat, symbols, None)


def _check_symbols(value: object, all_symbols: Sequence[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value:
        raise ConfigError(f"sweep symbols={value!r} must be a non-empty list of symbols")
    known = set(all_symbols)
    unknown = [s for s in value if s not in known]
    if unknown:
        raise ConfigError(
            f"sweep symbols={list(value)!r}: {unknown} not in the data; "
            f"hint: choose from {sorted(known)}"
        )
    if len(set(value)) != len(value):
        raise ConfigError(f"sweep symbols={list(value)!r} lists a symbol twice")
    return tuple(str(s) for s in value)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def display_value(value: object) -> object:
    """A value as it appears in a result column: enums by their value, symbols joined by ','."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value
