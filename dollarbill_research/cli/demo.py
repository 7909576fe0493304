"""``dollarbill demo``: the main job on the embedded synthetic universe (no download)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dollarbill_research.cli._common import check_output, non_negative_int, positive_int
from dollarbill_research.exceptions import ConfigError

HELP = "demo backtest and sizing-method comparison on synthetic data"
DESCRIPTION = (
    "Generate a seeded synthetic universe (no download), backtest a multi-strategy options and "
    "equity book without and with portfolio management, compare the five sizing methods and "
    "save two plots."
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` command to ``sub``."""
    parser = sub.add_parser("demo", help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "--symbols", type=positive_int, default=40, help="symbols in the universe (default 40)"
    )
    parser.add_argument(
        "--bars", type=positive_int, default=1260, help="daily bars, at least 300 (default 1260)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=7, help="universe seed, >= 0 (default 7)"
    )
    parser.add_argument("--out", default="out", help="folder for the plots (default out)")
    parser.set_defaults(run=run, prog="dollarbill demo")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from dollarbill_research.demo import DemoSettings, run_demo

    if args.bars < 300:
        raise ConfigError(
            f"--bars {args.bars} is too short; hint: the strategies need history, give "
            "--bars 300 or more"
        )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r} is a file; hint: give a folder for the plots")
    check_output(str(out / "demo_backtest.png"), "--out")
    return run_demo(DemoSettings(args.symbols, args.bars, args.seed, out))
