"""The command line: ``dollarbill <command>`` (or ``python -m dollarbill_research <command>``).

Each command lives in its own module with ``add_parser(subparsers)`` (which sets ``run`` as the
parser default) and ``run(args) -> int``. :data:`COMMANDS` maps command names to those modules;
another package adds a command with one line (``COMMANDS["bot"] = "dollarbill_research.live.cli"``).

Bad input never ends in a traceback: argument errors and every
:class:`~dollarbill_research.exceptions.DollarbillError` print one line on stderr naming what is
wrong and a hint, and exit with status 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence

from dollarbill_research.cli._common import (
    EXIT_USAGE,
    ArgumentError,
    Parser,
    one_line,
    run_guarded,
)

__all__ = ["COMMANDS", "build_parser", "main"]

#: Command name -> module defining ``add_parser(subparsers)`` and ``run(args)``.
COMMANDS: dict[str, str] = {
    "backtest": "dollarbill_research.cli.backtest",
    "sweep": "dollarbill_research.cli.sweep",
    "report": "dollarbill_research.cli.report",
    "warmup": "dollarbill_research.cli.warmup",
    "demo": "dollarbill_research.cli.demo",
    "bot": "dollarbill_research.live.cli",
}

DESCRIPTION = (
    "dollarbill-research: options and equity backtests with portfolio management. "
    "Run 'dollarbill COMMAND --help' for a command's options."
)


def build_parser(commands: Mapping[str, str] | None = None) -> Parser:
    """The argument parser with every command of ``commands`` (default :data:`COMMANDS`)."""
    parser = Parser(prog="dollarbill", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (commands or COMMANDS).values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, commands: Mapping[str, str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command and return its exit status."""
    parser = build_parser(commands)
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except ArgumentError as exc:
        print(one_line(f"{exc.prog}: error: {exc.message}; hint: {exc.hint}"), file=sys.stderr)
        return EXIT_USAGE
    return run_guarded(args.run, args, getattr(args, "prog", "dollarbill"))
