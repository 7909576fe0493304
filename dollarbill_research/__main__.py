"""Command line: ``python -m dollarbill_research demo``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = argparse.ArgumentParser(prog="dollarbill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="demo backtest and sizing-method comparison on synthetic data"
    )
    demo.add_argument(
        "--symbols", type=int, default=40, help="symbols in the universe (default 40)"
    )
    demo.add_argument("--bars", type=int, default=1260, help="daily bars (default 1260)")
    demo.add_argument("--seed", type=int, default=7, help="universe seed (default 7)")
    demo.add_argument("--out", default="out", help="folder for the plots (default out/)")
    from dollarbill_research.live.cli import add_bot_parser, run_bot  # the bot (issue 10)

    add_bot_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "bot":
        return run_bot(args)
    if args.command == "demo":
        from pathlib import Path

        from dollarbill_research.demo import DemoSettings, run_demo

        if args.symbols < 1 or args.bars < 300:
            parser.error("demo needs --symbols >= 1 and --bars >= 300 (strategies need history)")
        return run_demo(DemoSettings(args.symbols, args.bars, args.seed, Path(args.out)))
    return 2


if __name__ == "__main__":
    sys.exit(main())
