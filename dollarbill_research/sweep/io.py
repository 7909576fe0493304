"""Sweep results on disk: one Parquet file with the rows, and the run's facts in its metadata.

``save_sweep(result, "results.parquet")`` writes ``result.frame`` as an ordinary Parquet table
(any tool reads it) and stores the ranking metric, the parameter columns, timing, backend and
the kept equity curves in the file's key-value metadata under ``dollarbill``;
``load_sweep`` rebuilds the :class:`~dollarbill_research.sweep.result.SweepResult`. Writes are
atomic (a temporary file renamed into place).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import StateError
from dollarbill_research.sweep.result import SweepResult

__all__ = ["load_sweep", "save_sweep"]

_KEY = b"dollarbill"
_FORMAT = "dollarbill-sweep"
_VERSION = 1


def save_sweep(result: SweepResult, path: PathLike) -> Path:
    """Write ``result`` to the Parquet file ``path`` (atomically); return the path."""
    out = Path(path)
    curves = {
        str(cid): {
            "timestamp": frame["timestamp"].to_physical().to_list(),
            "timestamp_dtype": _dtype_text(frame.schema["timestamp"]),
            "equity": frame["equity"].to_list(),
        }
        for cid, frame in result.curves.items()
    }
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "metric": result.metric,
        "param_names": list(result.param_names),
        "elapsed_s": result.elapsed_s,
        "n_jobs": result.n_jobs,
        "backend": result.backend,
        "curves": curves,
    }
    table = result.frame.to_arrow()
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _KEY: json.dumps(meta).encode()}
    )
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return out


def load_sweep(path: PathLike) -> SweepResult:
    """Read a file written by :func:`save_sweep`.

    Raises
    ------
    StateError
        Missing file, not Parquet, or a Parquet file without the sweep metadata.
    """
    src = Path(path)
    if not src.is_file():
        raise StateError(f"sweep results {str(src)!r} do not exist; hint: check the path")
    try:
        table = pq.read_table(src)
    except (pa.ArrowException, OSError) as exc:
        raise StateError(
            f"sweep results {str(src)!r} are not a readable Parquet file ({exc}); hint: write "
            "them with 'dollarbill sweep --out' or save_sweep"
        ) from None
    raw = (table.schema.metadata or {}).get(_KEY)
    if raw is None:
        raise StateError(
            f"{str(src)!r} is a Parquet file without sweep metadata; hint: write it with "
            "'dollarbill sweep --out' or save_sweep"
        )
    meta = json.loads(raw)
    if meta.get("format") != _FORMAT or int(meta.get("version", 0)) > _VERSION:
        raise StateError(f"{str(src)!r} holds an unknown sweep format; hint: rerun the sweep")
    curves = {}
    for cid, c in meta["curves"].items():
        ts = _timestamps(c["timestamp"], c["timestamp_dtype"])
        curves[int(cid)] = pl.DataFrame({"timestamp": ts, "equity": c["equity"]})
    return SweepResult(
        frame=pl.from_arrow(table),  # type: ignore[arg-type]
        curves=curves,
        metric=meta["metric"],
        param_names=tuple(meta["param_names"]),
        elapsed_s=float(meta["elapsed_s"]),
        n_jobs=int(meta["n_jobs"]),
        backend=str(meta["backend"]),
    )


def _dtype_text(dtype: pl.DataType) -> list[str | None]:
    if isinstance(dtype, pl.Datetime):
        return ["Datetime", dtype.time_unit, dtype.time_zone]
    return ["Date", None, None]


def _timestamps(values: list[int], dtype: list[str | None]) -> pl.Series:
    kind, unit, zone = dtype
    if kind == "Date":
        return pl.Series("timestamp", values, pl.Int32).cast(pl.Date)
    ts = pl.Series("timestamp", values, pl.Int64).cast(pl.Datetime(unit or "us"))  # type: ignore[arg-type]
    return ts.dt.replace_time_zone("UTC").dt.convert_time_zone(zone) if zone else ts
