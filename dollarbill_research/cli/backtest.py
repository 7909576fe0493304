"""``dollarbill backtest``: one backtest of a named strategy on a CSV/Parquet file or folder."""

from __future__ import annotations

import argparse
import time
from typing import Any

from dollarbill_research.cli._common import EXIT_OK, check_output, prepare_output
from dollarbill_research.cli._inputs import (
    add_data_options,
    load_configs,
    load_data,
    load_strategy,
)

HELP = "backtest a strategy on your data; print the metrics and write an HTML report"
DESCRIPTION = (
    "Backtest a strategy on a CSV or Parquet file or folder, print the headline metrics and "
    "the diagnosis, and optionally write a self-contained HTML report and a saved result. "
    "Example: dollarbill backtest --data data/ --strategy Momentum --report out/report.html"
)

#: Metrics printed after a run, with their format.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("total_return", "{:.2%}"),
    ("cagr", "{:.2%}"),
    ("annual_volatility", "{:.2%}"),
    ("sharpe_ratio", "{:.2f}"),
    ("sortino_ratio", "{:.2f}"),
    ("max_drawdown", "{:.2%}"),
    ("win_rate", "{:.2%}"),
    ("n_trades", "{:d}"),
    ("total_costs", "{:,.2f}"),
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``backtest`` command to ``sub``."""
    parser = sub.add_parser("backtest", help=HELP, description=DESCRIPTION)
    add_data_options(parser)
    parser.add_argument("--report", metavar="HTML", help="write the HTML report here (.html)")
    parser.add_argument(
        "--save", metavar="FILE",
        help="save the result (one .zip file) for 'dollarbill report' later",
    )  # fmt: skip
    parser.set_defaults(run=run, prog="dollarbill backtest")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command (see :data:`DESCRIPTION`)."""
    report = check_output(args.report, "--report", (".html", ".htm"))
    save = check_output(args.save, "--save", (".zip",))
    backtest, portfolio = load_configs(args)
    strategy = load_strategy(args.strategy)
    frame = load_data(args.data)

    from dollarbill_research.backtesting import BacktestEngine

    n_symbols = frame["symbol"].n_unique()
    print(f"data: {args.data}: {n_symbols} symbols, {frame.height} bars")
    start = time.perf_counter()
    result = BacktestEngine(backtest, portfolio).run(frame, strategy)
    elapsed = time.perf_counter() - start
    pm = "on" if backtest.use_portfolio_management else "off"
    print(f"strategy: {strategy.name} ({', '.join(result.strategies)}); portfolio management {pm}")
    print(describe_annualisation(backtest, result))
    print_metrics(result)
    print(f"rejections: {result.rejections.height}; run time {elapsed:.1f} s")
    diagnosis = getattr(result, "diagnose", None)
    if callable(diagnosis):
        print(f"\ndiagnosis:\n{diagnosis()}")
    if report is not None:
        prepare_output(report)
        written = result.report(report, title=f"{strategy.name} on {args.data}")
        print(f"\nreport: {written}")
    if save is not None:
        prepare_output(save)
        print(f"saved: {result.save(save)}")
    return EXIT_OK


def describe_annualisation(given: Any, result: Any) -> str:
    """'bars per year: 252 (inferred from the timestamps)' or '(from the config)'."""
    used = getattr(getattr(result, "config", None), "bars_per_year", None)
    if used is None:
        used = given.bars_per_year
    how = "inferred from the timestamps" if given.bars_per_year is None else "from the config"
    return f"bars per year: {used} ({how})"


def print_metrics(result: Any) -> None:
    """The headline metrics, one per line."""
    values = result.metrics.to_dict()
    width = max(len(name) for name, _ in HEADLINE)
    for name, fmt in HEADLINE:
        value = values[name]
        text = "n/a" if value is None or value != value else fmt.format(value)
        print(f"  {name:<{width}}  {text}")
