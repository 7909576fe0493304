"""``dollarbill sweep``: many configurations of a named strategy, rows to Parquet, HTML report."""

from __future__ import annotations

import argparse
from typing import Any

from dollarbill_research.cli._common import (
    EXIT_OK,
    check_output,
    non_negative_int,
    positive_float,
    positive_int,
    prepare_output,
    read_json_file,
)
from dollarbill_research.cli._inputs import (
    add_data_options,
    load_configs,
    load_data,
    load_strategy,
)
from dollarbill_research.exceptions import ConfigError

HELP = "run a parameter sweep; write one row per configuration and an HTML report"
DESCRIPTION = (
    "Run one backtest per configuration of a grid and write one row of metrics per "
    "configuration. The grid file is JSON: an object of name -> list of values runs every "
    'combination, e.g. {"sizing_method": ["VolatilityBased", "KellyCriterion"], '
    '"max_risk_per_trade": [1.0, 2.0], "strategy.lookback": [10, 20]}; a list of objects '
    "runs exactly those configurations. Portfolio parameters need portfolio management on "
    "(--config, or use_portfolio_management in --backtest-config or in the grid)."
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to ``sub``."""
    parser = sub.add_parser("sweep", help=HELP, description=DESCRIPTION)
    add_data_options(parser)
    parser.add_argument("--grid", required=True, metavar="GRID_JSON", help="the grid (JSON)")
    parser.add_argument("--out", metavar="PARQUET", help="write the rows here (.parquet)")
    parser.add_argument("--report", metavar="HTML", help="write the HTML report here (.html)")
    parser.add_argument(
        "--metric", default="sharpe_ratio", help="ranking metric (default sharpe_ratio)"
    )
    parser.add_argument(
        "--keep-best", type=non_negative_int, default=5,
        help="keep the equity curves of the best N configurations (default 5)",
    )  # fmt: skip
    parser.add_argument(
        "--n-jobs", type=positive_int, default=None,
        help="worker threads (local) or CPUs per task (ray); default all cores",
    )  # fmt: skip
    parser.add_argument(
        "--backend", choices=("local", "ray"), default="local",
        help="local threads (default) or a Ray cluster",
    )  # fmt: skip
    parser.add_argument(
        "--ray-address", metavar="ADDRESS",
        help="Ray cluster address, e.g. 127.0.0.1:6379 or ray://head:10001 (with --backend ray)",
    )  # fmt: skip
    parser.add_argument(
        "--ray-timeout", type=positive_float, default=30.0, metavar="SECONDS",
        help="give up connecting to the Ray cluster after this long (default 30)",
    )  # fmt: skip
    parser.add_argument(
        "--no-selection-bias", action="store_true",
        help="skip the deflated Sharpe ratio and the probability of backtest overfitting "
        "(computed by default from every configuration's kept returns)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, prog="dollarbill sweep")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command (see :data:`DESCRIPTION`)."""
    out = check_output(args.out, "--out", (".parquet",))
    report = check_output(args.report, "--report", (".html", ".htm"))
    if args.backend != "ray" and args.ray_address:
        raise ConfigError("--ray-address needs --backend ray; hint: add --backend ray")
    grid = read_json_file(args.grid, "--grid")
    if isinstance(grid, dict):
        mode = "product"
    elif isinstance(grid, list):
        mode = "list"
    else:
        raise ConfigError(
            f"--grid {args.grid!r} must hold a JSON object (every combination) or a list of "
            'objects; hint: {"max_risk_per_trade": [1.0, 2.0]}'
        )
    backtest, portfolio = load_configs(args)
    strategy = load_strategy(args.strategy)
    frame = load_data(args.data)

    from dollarbill_research.sweep import sweep

    try:
        result = sweep(
            frame, strategy, grid, backtest_config=backtest, portfolio_config=portfolio,
            mode=mode, keep_best=args.keep_best, metric=args.metric, n_jobs=args.n_jobs,
            progress=not args.no_progress, backend=args.backend, ray_address=args.ray_address,
            ray_timeout=args.ray_timeout, keep_returns=not args.no_selection_bias,
        )  # fmt: skip
    except ConfigError as exc:
        text = str(exc)
        if "use_portfolio_management is False" in text:
            text += (
                "; on the command line: --config portfolio.json, or "
                '"use_portfolio_management": true in --backtest-config'
            )
        raise ConfigError(f"--grid {args.grid}: {text}") from None
    print(result_lines(result))
    if result.returns is not None:
        for sentence in result.overfitting_summary():
            print(sentence)
    if out is not None:
        from dollarbill_research.sweep.io import save_sweep

        prepare_output(out)
        print(f"rows: {save_sweep(result, out)}")
    if report is not None:
        prepare_output(report)
        print(f"report: {result.report(report)}")
    return EXIT_OK


def result_lines(result: Any, n: int = 10) -> str:
    """A summary line and the best ``n`` rows as a table."""
    import polars as pl

    failed = result.frame.filter(pl.col("error").is_not_null()).height
    head = (
        f"{result.frame.height} configurations, {failed} failed, {result.elapsed_s:.1f} s "
        f"({result.configs_per_second:.1f} cfg/s, backend {result.backend})"
    )
    columns = [*result.param_names, "total_return", "sharpe_ratio", "max_drawdown", "n_trades"]
    if result.metric not in columns:
        columns.append(result.metric)
    best = result.best(n).select([c for c in columns if c in result.frame.columns])
    with pl.Config(tbl_rows=n, tbl_cols=len(columns), tbl_width_chars=160, float_precision=4,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):  # fmt: skip
        return f"{head}\nbest {min(n, best.height)} by {result.metric}:\n{best}"
