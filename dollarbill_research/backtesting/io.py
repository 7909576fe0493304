"""Save a :class:`~dollarbill_research.backtesting.BacktestResult` to one file and load it back.

The file is a zip archive (entries stored, not compressed: Parquet compresses itself) holding

* ``manifest.json``: format name and version, package version, strategies, symbols, limits,
  metrics, the run's ``BacktestConfig`` / ``PortfolioConfig`` as JSON and the list of entries;
* ``frames/<name>.parquet``: every polars frame of the result (``equity``, ``trades``,
  ``rejections``, ``attribution`` and any frame a later version adds, such as ``breaches``);
* ``raw/<name>.parquet``: the kernel records (one column per record field), so a loaded result
  has the exact numbers of the run.

Writing is atomic (a temporary file in the target folder, flushed and renamed over the target),
and the archive is deterministic (fixed entry times), so saving one result twice gives the same
bytes. Loading a damaged or foreign file raises :class:`~dollarbill_research.exceptions.
StateError` naming the file and what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import ConfigError, StateError

if TYPE_CHECKING:
    from dollarbill_research.backtesting.result import BacktestResult

__all__ = ["FORMAT", "FORMAT_VERSION", "load_result", "save_result"]

FORMAT = "dollarbill-backtest-result"
FORMAT_VERSION = 1
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_PLAIN_ARRAYS = frozenset({"strat_pnl"})  # 2-D float arrays (the others are record arrays)


def _jsonable(value: Any) -> Any:
    """Floats that JSON cannot hold (NaN, inf) as tagged strings; everything else as is."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"float"}:
            return float(value["float"])
        return {k: _unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _records_table(rec: np.ndarray) -> pa.Table:
    """A structured array as an arrow table, one column per field.

    A 1-D sub-array field (the Kelly ring ``k_ret`` of the strategy stats) becomes a
    fixed-size list column of that length.
    """
    if rec.dtype.names is None:  # a plain 2-D float array (per-strategy P&L)
        arr = np.atleast_2d(rec)
        return pa.table({f"c{i}": arr[:, i] for i in range(arr.shape[1])})
    columns: dict[str, pa.Array] = {}
    for name in rec.dtype.names:
        values = np.ascontiguousarray(rec[name])
        if values.ndim == 1:
            columns[name] = pa.array(values)
        else:
            width = int(np.prod(values.shape[1:]))
            flat = pa.array(values.reshape(-1))
            columns[name] = pa.FixedSizeListArray.from_arrays(flat, width)
    return pa.table(columns)


def _table_records(table: pa.Table, structured: bool) -> np.ndarray:
    if not structured:
        cols = {name: table.column(name).to_numpy() for name in table.column_names}
        if not cols:
            return np.zeros((table.num_rows, 0))
        return np.ascontiguousarray(np.column_stack(list(cols.values())), dtype=np.float64)
    fields, cols = [], {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(column.type):
            width = column.type.list_size
            values = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), width)
            fields.append((name, values.dtype, (width,)))
        else:
            values = column.to_numpy(zero_copy_only=False)
            fields.append((name, values.dtype))
        cols[name] = values
    out = np.zeros(table.num_rows, dtype=np.dtype(fields))
    for name, values in cols.items():
        out[name] = values
    return out


def _write_entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    zf.writestr(info, data)


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise ConfigError(
            f"result path {str(path)!r} is a folder; hint: give a file name such as result.zip"
        )
    if not path.parent.exists():
        raise ConfigError(
            f"result path {str(path)!r}: folder {str(path.parent)!r} does not exist; "
            "hint: create it first"
        )


def save_result(result: BacktestResult, path: PathLike) -> Path:
    """Write ``result`` to ``path`` atomically; return the path written (see module docstring)."""
    from dollarbill_research import __version__

    out = Path(path)
    _check_target(out)
    frames = {
        f.name: getattr(result, f.name)
        for f in dataclasses.fields(result)
        if isinstance(getattr(result, f.name), pl.DataFrame)
    }
    # every record array of the run (fields a later version adds travel too; None is skipped)
    raw_names = [
        f.name for f in dataclasses.fields(result.raw) if getattr(result.raw, f.name) is not None
    ]
    config = getattr(result, "config", None)
    portfolio = getattr(result, "portfolio_config", None)
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "package_version": __version__,
        "strategies": list(result.strategies),
        "symbols": list(result.symbols),
        "limits": result.limits,
        "metrics": result.metrics.to_dict(),
        "config": config.to_dict() if config is not None else None,
        "portfolio_config": portfolio.to_dict() if portfolio is not None else None,
        "frames": sorted(frames),
        "raw": raw_names,
    }
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                text = json.dumps(_jsonable(manifest), indent=1, sort_keys=True, allow_nan=False)
                _write_entry(zf, "manifest.json", text.encode())
                for name in sorted(frames):
                    _write_entry(
                        zf, f"frames/{name}.parquet", _parquet_bytes(frames[name].to_arrow())
                    )
                for name in raw_names:
                    table = _records_table(getattr(result.raw, name))
                    _write_entry(zf, f"raw/{name}.parquet", _parquet_bytes(table))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        raise ConfigError(
            f"cannot write result file {str(out)!r}: {exc.strerror or exc}; "
            "hint: check the folder is writable and has space"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return out


def _damaged(path: Path, what: str) -> StateError:
    return StateError(
        f"result file {str(path)!r} is damaged or not a saved backtest result: {what}; "
        "hint: save it again with result.save(path)"
    )


def load_result(path: PathLike) -> BacktestResult:
    """Load a result written by :func:`save_result`.

    Raises
    ------
    StateError
        When the file is missing, truncated, not a result archive or from a newer format.
    """
    from dollarbill_research.backtesting.metrics import Metrics
    from dollarbill_research.backtesting.result import BacktestResult, RawRecords
    from dollarbill_research.config.backtest import BacktestConfig
    from dollarbill_research.config.portfolio import PortfolioConfig

    src = Path(path)
    if not src.is_file():
        raise StateError(
            f"result file {str(src)!r} does not exist; hint: write one with result.save(path)"
        )
    try:
        with zipfile.ZipFile(src) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise _damaged(src, f"entry {bad!r} fails its checksum")
            try:
                manifest = _unjson(json.loads(zf.read("manifest.json")))
            except KeyError as exc:
                raise _damaged(src, "no manifest.json") from exc
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise _damaged(src, "manifest.json is not a dollarbill result manifest")
            if int(manifest.get("version", 0)) > FORMAT_VERSION:
                raise StateError(
                    f"result file {str(src)!r} has format version {manifest['version']}, newer "
                    f"than this package reads ({FORMAT_VERSION}); hint: upgrade dollarbill-research"
                )
            frames = {
                name: pl.from_arrow(pq.read_table(io.BytesIO(zf.read(f"frames/{name}.parquet"))))
                for name in manifest["frames"]
            }
            raw = {
                name: _table_records(
                    pq.read_table(io.BytesIO(zf.read(f"raw/{name}.parquet"))),
                    structured=name not in _PLAIN_ARRAYS,
                )
                for name in manifest["raw"]
            }
    except StateError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, pa.ArrowException) as exc:
        raise _damaged(src, f"{type(exc).__name__}: {exc}") from exc
    try:
        names = {f.name for f in dataclasses.fields(BacktestResult)}
        kwargs: dict[str, Any] = {n: f for n, f in frames.items() if n in names}
        kwargs["metrics"] = Metrics(**manifest["metrics"])
        kwargs["strategies"] = tuple(manifest["strategies"])
        kwargs["symbols"] = tuple(manifest["symbols"])
        kwargs["limits"] = {k: float(v) for k, v in manifest["limits"].items()}
        raw_fields = {f.name for f in dataclasses.fields(RawRecords)}
        kwargs["raw"] = RawRecords(**{n: a for n, a in raw.items() if n in raw_fields})
        if "config" in names and manifest.get("config") is not None:
            kwargs["config"] = BacktestConfig.from_dict(manifest["config"])
        if "portfolio_config" in names and manifest.get("portfolio_config") is not None:
            kwargs["portfolio_config"] = PortfolioConfig.from_dict(manifest["portfolio_config"])
        return BacktestResult(**kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(src, f"{type(exc).__name__}: {exc}") from exc
