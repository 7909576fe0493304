"""SQLite connections for the bot's ledgers: WAL journal, full fsync, one writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dollarbill_research.exceptions import StateError

__all__ = ["connect"]


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating) the database at ``path`` with WAL + ``synchronous=FULL`` and ``schema``.

    Every transaction the caller commits is on disk when ``commit`` returns, so a process
    killed at any point leaves the database at its last committed transaction.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        con.executescript(schema)
    except sqlite3.DatabaseError as err:
        raise StateError(
            f"cannot open the ledger {path}: {err}; hint: the file is damaged or not a "
            "SQLite database; move it away to start a fresh state"
        ) from err
    return con
