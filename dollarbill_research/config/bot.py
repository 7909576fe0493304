"""The personality bot's configuration: the seed's ``personality_bot_config.json``, as printed.

The guide's block is read as is, ``//`` comments included (a user pastes it), and mapped onto our
configs: ``trading`` and ``portfolio`` (the seed's keys) plus two optional sections of ours,
``safety`` and ``bot``.

========================================  ==========================================================
``trading.position_size_shares``          fixed units per entry when ``portfolio.enabled`` is false
                                          (:attr:`BacktestConfig.position_size_units`)
``trading.max_positions``                 open positions at once (``BacktestConfig.max_positions``
                                          and ``PortfolioConfig.max_positions``)
``trading.risk_management.stop_loss_pct`` fraction (0.15 = 15 %) -> ``BacktestConfig.stop_loss_pct``
``...take_profit_pct``                    fraction -> ``BacktestConfig.take_profit_pct``
``...max_daily_trades``                   entries per session day (exits are never blocked), 0 = no
                                          limit
``trading.min_confidence``                entries below it are dropped (the router's filter)
``trading.symbols`` (ours, optional)      symbols to trade; default every symbol of the data source;
                                          required for Alpaca
``trading.strategies`` (ours, optional)   strategy names (``"Momentum"``, ``"Iron Condor"``, ...);
                                          default the personality router over all eight
``portfolio.*``                           :class:`PortfolioConfig` fields and two ``RiskLimits``
                                          (``max_portfolio_delta``, ``max_concentration_pct``);
                                          ``enabled`` -> ``use_portfolio_management``
``portfolio.breach_policy`` (ours)        what a breached limit triggers after marking: ``"reduce"``
                                          (default), ``"hedge"`` or ``"block"``
                                          (``RiskLimits.breach_policy``)
``safety.max_daily_drawdown_pct``         circuit breaker: HALTED when equity falls this % below
                                          the session's start equity (0 = off), default 5
``safety.kill_switch_file``               path (relative: to the state dir), default ``KILL``
``safety.kill_switch_flatten``            kill switch closes every position (REDUCING) instead of
                                          only stopping new orders (HALTED), default false
``safety.check_market_hours``             refuse to trade outside XNYS sessions, default true
``safety.max_bar_age_hours``              refuse a latest bar older than this, default 96
``bot.id``                                prefix of client order ids, default ``dbr``
========================================  ==========================================================

>>> cfg = BotConfig.from_json('{"trading": {"position_size_shares": 10}, '
...                           '"portfolio": {"enabled": false}}')
>>> cfg.backtest_config().position_size_units
10
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dollarbill_research._typing import PathLike
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits, SizingMethod
from dollarbill_research.exceptions import ConfigError

__all__ = ["BotConfig", "SafetyConfig", "strip_json_comments"]

_SCHEMA: dict[str, Any] = {
    "trading": {
        "position_size_shares": None,
        "max_positions": None,
        "risk_management": {
            "stop_loss_pct": None,
            "take_profit_pct": None,
            "max_daily_trades": None,
        },
        "min_confidence": None,
        "symbols": None,
        "strategies": None,
    },
    "portfolio": {
        "enabled": None,
        "initial_capital": None,
        "max_risk_per_trade": None,
        "max_position_pct": None,
        "sizing_method": None,
        "max_portfolio_delta": None,
        "max_concentration_pct": None,
        "breach_policy": None,
    },
    "safety": {
        "max_daily_drawdown_pct": None,
        "kill_switch_file": None,
        "kill_switch_flatten": None,
        "check_market_hours": None,
        "max_bar_age_hours": None,
    },
    "bot": {"id": None},
}


def strip_json_comments(text: str) -> str:
    """Remove ``//`` line comments and ``/* */`` blocks outside JSON strings."""
    out: list[str] = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass(slots=True)
class SafetyConfig:
    """Safety settings of the bot (the optional ``safety`` section), see the module table."""

    max_daily_drawdown_pct: float = 5.0
    kill_switch_file: str = "KILL"
    kill_switch_flatten: bool = False
    check_market_hours: bool = True
    max_bar_age_hours: float = 96.0
    max_daily_trades: int = 10


@dataclass(slots=True)
class BotConfig:
    """The bot's settings, parsed from the seed's JSON (see the module docstring).

    Build with :meth:`from_json`; :meth:`backtest_config`, :meth:`portfolio_config` and
    :meth:`strategy` give the objects the decision path runs on.
    """

    position_size_shares: int = 10
    max_positions: int = 5
    stop_loss_pct: float = 0.15
    take_profit_pct: float = 0.30
    min_confidence: float = 0.30
    symbols: tuple[str, ...] | None = None
    strategies: tuple[str, ...] | None = None
    enabled: bool = True
    initial_capital: float = 100_000.0
    max_risk_per_trade: float = 2.0
    max_position_pct: float = 10.0
    sizing_method: str = "VolatilityBased"
    max_portfolio_delta: float = 0.30
    max_concentration_pct: float = 20.0
    breach_policy: str = "reduce"
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    bot_id: str = "dbr"
    source: str = "<json>"

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, source: str | PathLike) -> BotConfig:
        """Read the seed's JSON (a path, or text starting with ``{``), ``//`` comments allowed.

        Raises
        ------
        ConfigError
            Naming the file, the key path, the bad value and the allowed values, with a hint.
        """
        text = str(source)
        if isinstance(source, str) and text.lstrip().startswith("{"):
            name, payload = "<json>", text
        else:
            path = Path(source)
            name = str(path)
            if not path.is_file():
                raise ConfigError(
                    f"bot config {path} does not exist; hint: save the guide's "
                    "personality_bot_config.json block to a file and pass its path"
                )
            payload = path.read_text()
        try:
            data = json.loads(strip_json_comments(payload))
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"{name}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}; "
                "hint: check commas and quotes (// comments are fine)"
            ) from err
        return cls.from_dict(data, source=name)

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> BotConfig:
        """Build from the parsed JSON object (same checks as :meth:`from_json`)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the bot config must be a JSON object with 'trading'")
        _check_keys(source, data, _SCHEMA, "")
        tr = data.get("trading", {})
        rm = tr.get("risk_management", {})
        pf = data.get("portfolio", {})
        sf = data.get("safety", {})
        bt = data.get("bot", {})
        for key, sec in (("trading", tr), ("trading.risk_management", rm), ("portfolio", pf),
                         ("safety", sf), ("bot", bt)):  # fmt: skip
            if not isinstance(sec, dict):
                raise ConfigError(f"{source}: {key} must be an object, got {sec!r}")
        d = cls()
        out = cls(
            position_size_shares=_int(source, "trading.position_size_shares",
                                      tr.get("position_size_shares", d.position_size_shares), 1),
            max_positions=_int(source, "trading.max_positions",
                               tr.get("max_positions", d.max_positions), 0),
            stop_loss_pct=_num(source, "trading.risk_management.stop_loss_pct",
                               rm.get("stop_loss_pct", d.stop_loss_pct), 0.0, 10.0, "0.15 = 15 %"),
            take_profit_pct=_num(source, "trading.risk_management.take_profit_pct",
                                 rm.get("take_profit_pct", d.take_profit_pct), 0.0, 100.0,
                                 "0.30 = 30 %"),
            min_confidence=_num(source, "trading.min_confidence",
                                tr.get("min_confidence", d.min_confidence), 0.0, 1.0, "0.30"),
            symbols=_names(source, "trading.symbols", tr.get("symbols")),
            strategies=_names(source, "trading.strategies", tr.get("strategies")),
            enabled=_bool(source, "portfolio.enabled", pf.get("enabled", d.enabled)),
            initial_capital=_num(source, "portfolio.initial_capital",
                                 pf.get("initial_capital", d.initial_capital), 0.0, 1e15,
                                 "100000.0", low_open=True),
            max_risk_per_trade=_num(source, "portfolio.max_risk_per_trade",
                                    pf.get("max_risk_per_trade", d.max_risk_per_trade), 0.0,
                                    100.0, "2.0 = 2 %", low_open=True),
            max_position_pct=_num(source, "portfolio.max_position_pct",
                                  pf.get("max_position_pct", d.max_position_pct), 0.0, 100.0,
                                  "10.0 = 10 %", low_open=True),
            sizing_method=_method(source, pf.get("sizing_method", d.sizing_method)),
            max_portfolio_delta=_num(source, "portfolio.max_portfolio_delta",
                                     pf.get("max_portfolio_delta", d.max_portfolio_delta), 0.0,
                                     100.0, "0.30 = 30 %", low_open=True),
            max_concentration_pct=_num(source, "portfolio.max_concentration_pct",
                                       pf.get("max_concentration_pct", d.max_concentration_pct),
                                       0.0, 100.0, "20.0 = 20 %", low_open=True),
            breach_policy=_choice(source, "portfolio.breach_policy",
                                  pf.get("breach_policy", d.breach_policy),
                                  ("reduce", "hedge", "block"), "use 'reduce'"),
            safety=SafetyConfig(
                max_daily_drawdown_pct=_num(source, "safety.max_daily_drawdown_pct",
                                            sf.get("max_daily_drawdown_pct", 5.0), 0.0, 100.0,
                                            "5.0 = 5 %, 0 = off"),
                kill_switch_file=_str(source, "safety.kill_switch_file",
                                      sf.get("kill_switch_file", "KILL")),
                kill_switch_flatten=_bool(source, "safety.kill_switch_flatten",
                                          sf.get("kill_switch_flatten", False)),
                check_market_hours=_bool(source, "safety.check_market_hours",
                                         sf.get("check_market_hours", True)),
                max_bar_age_hours=_num(source, "safety.max_bar_age_hours",
                                       sf.get("max_bar_age_hours", 96.0), 0.0, 1e9, "96",
                                       low_open=True),
                max_daily_trades=_int(source, "trading.risk_management.max_daily_trades",
                                      rm.get("max_daily_trades", 10), 0),
            ),
            bot_id=_str(source, "bot.id", bt.get("id", "dbr")),
            source=source,
        )  # fmt: skip
        if not out.bot_id.replace("-", "").replace("_", "").isalnum() or len(out.bot_id) > 16:
            raise ConfigError(
                f"{source}: bot.id={out.bot_id!r} must be 1-16 letters, digits, '-' or '_' "
                '(it prefixes client order ids); hint: "id": "dbr"'
            )
        out.strategy()  # validate the names now
        return out

    # ------------------------------------------------------------------------------------------
    def backtest_config(self) -> BacktestConfig:
        """The run settings: capital, portfolio management on/off, fixed size, stops."""
        return BacktestConfig(
            initial_capital=self.initial_capital,
            use_portfolio_management=self.enabled,
            max_positions=self.max_positions,
            position_size_units=0 if self.enabled else self.position_size_shares,
            stop_loss_pct=self.stop_loss_pct * 100.0 if self.stop_loss_pct > 0 else None,
            take_profit_pct=self.take_profit_pct * 100.0 if self.take_profit_pct > 0 else None,
        )

    def portfolio_config(self) -> PortfolioConfig | None:
        """Sizing and limits when ``portfolio.enabled``; None otherwise (no pre-trade checks)."""
        if not self.enabled:
            return None
        return PortfolioConfig(
            initial_capital=self.initial_capital,
            max_risk_per_trade=self.max_risk_per_trade,
            max_position_pct=self.max_position_pct,
            sizing_method=self.sizing_method,
            risk_limits=RiskLimits(
                max_portfolio_delta=self.max_portfolio_delta,
                max_concentration_pct=self.max_concentration_pct,
                breach_policy=self.breach_policy,
            ),
            max_positions=self.max_positions,
        )

    def strategy(self) -> Any:
        """The personality router (default) or the named strategies, with ``min_confidence``."""
        from dollarbill_research.strategies import Combined, PersonalityStrategy
        from dollarbill_research.strategies.router import default_strategies

        if self.strategies is None:
            return PersonalityStrategy(min_confidence=self.min_confidence)
        known = {s.name: s for s in default_strategies()}
        picked = []
        for name in self.strategies:
            if name not in known:
                near = difflib.get_close_matches(name, list(known), n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(known)}"
                raise ConfigError(
                    f"{self.source}: trading.strategies has unknown strategy {name!r}; "
                    f"allowed: {', '.join(known)}; hint: {hint}"
                )
            picked.append(dataclasses.replace(known[name], min_confidence=self.min_confidence))
        return picked[0] if len(picked) == 1 else Combined(tuple(picked))


# ---------------------------------------------------------------------------------------------
def _check_keys(source: str, data: dict[str, Any], schema: dict[str, Any], prefix: str) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in schema:
            near = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.5)
            hint = f"did you mean {prefix}{near[0]!r}?" if near else "remove it"
            raise ConfigError(
                f"{source}: unknown key {path!r}; known keys here: {', '.join(schema)}; "
                f"hint: {hint}"
            )
        sub = schema[key]
        if isinstance(sub, dict) and isinstance(value, dict):
            _check_keys(source, value, sub, f"{path}.")


def _num(
    source: str, path: str, value: object, low: float, high: float, example: str,
    *, low_open: bool = False,
) -> float:  # fmt: skip
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if low_open else v >= low) and v <= high
    if not ok:
        left = "(" if low_open else "["
        raise ConfigError(
            f"{source}: {path}={value!r} must be a number in {left}{low:g}, {high:g}]; "
            f"hint: e.g. {example}"
        )
    return float(value)  # type: ignore[arg-type]


def _int(source: str, path: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{source}: {path}={value!r} must be an integer >= {low}; hint: e.g. 10")
    return value


def _bool(source: str, path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {path}={value!r} must be true or false (JSON booleans)")
    return value


def _str(source: str, path: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source}: {path}={value!r} must be a non-empty string")
    return value


def _names(source: str, path: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ConfigError(
            f"{source}: {path}={value!r} must be a non-empty list of strings; "
            'hint: e.g. ["AAPL", "NVDA"]'
        )
    if len(set(value)) != len(value):
        raise ConfigError(f"{source}: {path} repeats names: {value!r}")
    return tuple(value)


def _choice(source: str, key: str, value: object, allowed: tuple[str, ...], fallback: str) -> str:
    """``value`` matched case-insensitively to one of ``allowed`` (returned as spelled there)."""
    if isinstance(value, str):
        for name in allowed:
            if value.lower() == name.lower():
                return name
    near = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.4)
    hint = f"did you mean {near[0]!r}?" if near else fallback
    raise ConfigError(f"{source}: {key}={value!r} is not one of {', '.join(allowed)}; hint: {hint}")


def _method(source: str, value: object) -> str:
    allowed = tuple(m.value for m in SizingMethod)
    return _choice(
        source, "portfolio.sizing_method", value, allowed, "use VolatilityBased to start"
    )
