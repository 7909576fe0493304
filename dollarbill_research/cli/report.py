"""``dollarbill report``: the HTML report of a saved backtest (.zip) or sweep (.parquet)."""

from __future__ import annotations

import argparse
from typing import Any

from dollarbill_research.cli._common import EXIT_OK, check_input, check_output, prepare_output
from dollarbill_research.exceptions import ConfigError

HELP = "write the HTML report of a saved backtest (.zip) or sweep (.parquet)"
DESCRIPTION = (
    "Write the self-contained HTML report of a result saved earlier: a backtest saved with "
    "'dollarbill backtest --save result.zip' (or result.save), or sweep rows written with "
    "'dollarbill sweep --out results.parquet'. A backtest's diagnosis is printed too."
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``report`` command to ``sub``."""
    parser = sub.add_parser("report", help=HELP, description=DESCRIPTION)
    parser.add_argument("result", metavar="RESULT", help="a saved result: .zip or .parquet")
    parser.add_argument(
        "--out", required=True, metavar="HTML", help="write the report here (.html)"
    )
    parser.set_defaults(run=run, prog="dollarbill report")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command (see :data:`DESCRIPTION`)."""
    out = check_output(args.out, "--out", (".html", ".htm"))
    src = check_input(args.result, "RESULT")
    suffix = src.suffix.lower()
    if suffix == ".parquet":
        from dollarbill_research.sweep.io import load_sweep

        result: Any = load_sweep(src)
        title = f"Sweep {src.name}"
    elif suffix == ".zip":
        from dollarbill_research.backtesting import BacktestResult

        result = BacktestResult.load(src)
        print(f"diagnosis:\n{result.diagnose()}")
        title = f"Backtest {src.name}"
    else:
        raise ConfigError(
            f"RESULT {args.result!r} is neither a saved backtest (.zip) nor sweep rows "
            "(.parquet); hint: use the file written by --save or --out"
        )
    prepare_output(out)
    print(f"report: {result.report(out, title=title)}")
    return EXIT_OK
