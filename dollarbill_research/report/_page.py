"""The page around a report's sections: inline CSS, table of contents, atomic write."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.report._html import esc

__all__ = ["Section", "check_output", "render_page", "write_page"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#222;line-height:1.4;font-size:14px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ccc;
padding-bottom:3px;margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{background:#fafafa;font-weight:600}
img{max-width:100%;height:auto;display:block;margin:6px 0}
nav ol{columns:3;font-size:13px}.note{color:#666;font-size:12.5px}
.problem{color:#a30000}.ok{color:#2b6b00}.info{color:#555}
.placeholder{border:2px dashed #bbb;padding:10px;color:#666}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
"""


@dataclass(frozen=True, slots=True)
class Section:
    """One ``<section>`` of a report: ``id`` (anchor), heading and HTML body."""

    id: str
    title: str
    body: str


def check_output(path: PathLike) -> Path:
    """The output path, checked before any work: a file name whose folder exists."""
    out = Path(path)
    if out.is_dir():
        raise ConfigError(
            f"report path {str(out)!r} is a folder; hint: give a file name such as report.html"
        )
    if not out.parent.exists():
        raise ConfigError(
            f"report path {str(out)!r}: folder {str(out.parent)!r} does not exist; "
            "hint: create it first"
        )
    if not os.access(out.parent, os.W_OK):
        raise ConfigError(f"report path {str(out)!r}: folder {str(out.parent)!r} is not writable")
    return out


def render_page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="note">{esc(subtitle)}</p>'
        f"<nav><ol>{toc}</ol></nav>{body}</body></html>\n"
    )


def write_page(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the folder, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write report {str(path)!r}: {exc.strerror or exc}; "
            "hint: check the folder is writable and has space"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
