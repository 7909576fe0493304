"""Command line: ``python -m dollarbill_research COMMAND`` (installed as ``dollarbill``).

The commands live in :mod:`dollarbill_research.cli`; a package adds one by naming its module in
``COMMANDS`` (the module defines ``add_parser(subparsers)`` and ``run(args)``).
"""

from __future__ import annotations

import sys

from dollarbill_research.cli import COMMANDS, main

__all__ = ["COMMANDS", "main"]

# Extra commands (one line each): COMMANDS["name"] = "package.module"

if __name__ == "__main__":
    sys.exit(main())
