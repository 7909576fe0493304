"""Turning command-line options into data, strategy and configs (errors say which option)."""

from __future__ import annotations

import argparse
from typing import Any

from dollarbill_research.cli._common import check_input, read_json_file
from dollarbill_research.exceptions import ConfigError


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--strategy``, ``--config``, ``--backtest-config``."""
    from dollarbill_research.strategies.registry import STRATEGY_NAMES

    parser.add_argument(
        "--data", required=True, metavar="PATH",
        help="a CSV or Parquet file, or a folder of them (yfinance files such as "
        "aapl_five_year.csv: the symbol comes from the file name)",
    )  # fmt: skip
    parser.add_argument(
        "--strategy", required=True, metavar="NAME",
        help="strategy name, or several separated by commas for one combined book: "
        + ", ".join(STRATEGY_NAMES),
    )  # fmt: skip
    parser.add_argument(
        "--config", metavar="PORTFOLIO_JSON",
        help="portfolio settings (PortfolioConfig as JSON: sizing_method, max_risk_per_trade, "
        "risk_limits, ...); giving it turns portfolio management on",
    )  # fmt: skip
    parser.add_argument(
        "--backtest-config", metavar="BACKTEST_JSON",
        help="run settings (BacktestConfig as JSON: initial_capital, costs, exits, "
        "use_portfolio_management, bars_per_year, ...)",
    )  # fmt: skip


def load_configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """``(BacktestConfig, PortfolioConfig or None)`` from ``--backtest-config`` and ``--config``.

    A portfolio config only acts with portfolio management on, so ``--config`` turns it on;
    a backtest config that explicitly sets ``use_portfolio_management: false`` together with
    ``--config`` is a contradiction (``ConfigError``).
    """
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.config.portfolio import PortfolioConfig

    explicit_pm = None
    if args.backtest_config:
        raw = read_json_file(args.backtest_config, "--backtest-config")
        if not isinstance(raw, dict):
            raise ConfigError(
                f"--backtest-config {args.backtest_config!r} must hold a JSON object; "
                'hint: {"initial_capital": 100000, "use_portfolio_management": true}'
            )
        explicit_pm = raw.get("use_portfolio_management")
        backtest = _with_file(args.backtest_config, lambda: BacktestConfig.from_dict(raw))
    else:
        backtest = BacktestConfig()
    portfolio = None
    if args.config:
        raw_p = read_json_file(args.config, "--config")
        if not isinstance(raw_p, dict):
            raise ConfigError(
                f"--config {args.config!r} must hold a JSON object; "
                'hint: {"sizing_method": "VolatilityBased", "max_risk_per_trade": 2.0}'
            )
        portfolio = _with_file(args.config, lambda: PortfolioConfig.from_dict(raw_p))
        if explicit_pm is False:
            raise ConfigError(
                f"--config {args.config!r} gives portfolio settings but --backtest-config "
                f"{args.backtest_config!r} sets use_portfolio_management to false, so they "
                "would change nothing; hint: drop one of the two"
            )
        backtest.use_portfolio_management = True
        backtest.validate()
    return backtest, portfolio


def _with_file(path: str, build: Any) -> Any:
    try:
        return build()
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}; hint: check the field names and types") from None


def load_strategy(name: str) -> Any:
    """The strategy named on the command line."""
    from dollarbill_research.strategies.registry import strategy_from_name

    try:
        return strategy_from_name(name)
    except ConfigError as exc:
        raise ConfigError(f"--strategy: {exc}") from None


def load_data(path: str) -> Any:
    """The validated bar frame of ``--data``."""
    from dollarbill_research.data import load_bars

    return load_bars(check_input(path, "--data"))
