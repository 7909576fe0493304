"""What every command shares: the parser class, one-line errors, path and JSON checks."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from dollarbill_research.exceptions import ConfigError, DollarbillError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERNAL = 1


class ArgumentError(Exception):
    """An argument error raised by :class:`Parser` instead of argparse's print-and-exit."""

    def __init__(self, prog: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.message = message
        self.hint = hint


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors become :class:`ArgumentError` (printed as one line)."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage block and exiting."""
        raise ArgumentError(self.prog, message, f"'{self.prog} --help' lists the options")


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


def report_error(prog: str, exc: BaseException) -> None:
    """Print ``exc`` as one ``prog: error: ...`` line on stderr, with a hint."""
    text = one_line(str(exc)) or type(exc).__name__
    if "hint" not in text.lower():
        text += f"; hint: '{prog} --help' lists the options"
    print(f"{prog}: error: {text}", file=sys.stderr)


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: Any = None, line: str | None = None,
) -> None:  # fmt: skip
    print(f"dollarbill: warning: {one_line(str(message))}", file=sys.stderr)


def run_guarded(
    fn: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str
) -> int:
    """Run a command: library errors and OS errors become one line and exit status 2.

    An unexpected exception (a bug) also prints one line, pointing at ``DOLLARBILL_DEBUG=1``
    for the traceback, and exits with status 1.
    """
    debug = os.environ.get("DOLLARBILL_DEBUG", "") not in ("", "0")
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return int(fn(args))
    except (DollarbillError, OSError) as exc:
        if debug:
            raise
        report_error(prog, exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(str(exc))}; hint: rerun "
            "with DOLLARBILL_DEBUG=1 for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        warnings.showwarning = previous


# -- argument types ---------------------------------------------------------------------------


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} must be >= {low}")
    return value


def positive_int(text: str) -> int:
    """Argument type: an int >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """Argument type: an int >= 0."""
    return _int_at_least(text, 0)


def positive_float(text: str) -> float:
    """Argument type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number > 0")
    return value


# -- paths ------------------------------------------------------------------------------------


def check_input(path: str, what: str) -> Path:
    """An existing file or folder, else :class:`ConfigError` naming the option."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"{what} {path!r} does not exist; hint: check the path")
    return p


def check_output(path: str | None, what: str, suffixes: tuple[str, ...] = ()) -> Path | None:
    """Check, before anything runs, that ``path`` can be written; return it (None passes).

    The parent folder must exist (or be creatable below an existing writable folder) and be
    writable, the path must not be a folder, and an existing file must be writable.
    """
    if path is None:
        return None
    p = Path(path).expanduser()
    if p.is_dir():
        raise ConfigError(f"{what} {path!r} is a folder; hint: give a file name inside it")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(
            f"{what} {path!r} should end in {' or '.join(suffixes)}; hint: e.g. "
            f"{what} out{suffixes[0]}"
        )
    if p.exists():
        if not os.access(p, os.W_OK) or not _can_create_in(p.parent):
            raise ConfigError(f"{what} {path!r} exists and is not writable; hint: choose another")
        return p
    existing = p.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not _can_create_in(existing):
        raise ConfigError(
            f"{what} {path!r}: folder {str(existing)!r} is not writable; hint: choose a folder "
            "you can write to"
        )
    return p


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried: permissions alone mislead root)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dollarbill-check-"):
            return True
    except OSError:
        return False


def prepare_output(path: Path | None) -> None:
    """Create the parent folders of a checked output path."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def read_json_file(path: str, what: str) -> Any:
    """Parse a JSON file; a missing file or bad JSON is a :class:`ConfigError` with the location."""
    p = check_input(path, what)
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{what} {path!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); hint: check the file with python -m json.tool"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path!r} is not a text file; hint: give a JSON file") from None
