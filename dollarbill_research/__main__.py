"""Command line: ``python -m dollarbill_research demo``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = argparse.ArgumentParser(prog="dollarbill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="demo backtest and sizing-method comparison on synthetic data")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from dollarbill_research.demo import run_demo

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
