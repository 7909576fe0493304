"""Large synthetic histories written straight to a partitioned Parquet dataset.

:func:`write_synthetic_parquet` writes the rows of
:func:`~dollarbill_research.data.synthetic_universe` ``(n_symbols, n_bars, seed)`` — the same
numbers, bit for bit — without ever holding the whole universe: symbols are generated a group at
a time (each symbol's random streams are independent of the others', and the market and sector
shocks are ``n_bars`` vectors), and each group is written as one file of a hive partition
``group=NNNNN/part.parquet`` whose row groups are blocks of ``bars_per_row_group`` timestamps
(rows sorted by symbol, then timestamp, inside a block). So a time-window read (the streaming
engine's chunks) touches one row group per file, and a symbol-range read touches one file.

>>> import tempfile, polars as pl
>>> from dollarbill_research.data import synthetic_universe
>>> path = write_synthetic_parquet(tempfile.mkdtemp() + "/u", n_symbols=3, n_bars=50, seed=1,
...                                symbols_per_file=2, bars_per_row_group=20)
>>> got = pl.read_parquet(path, hive_partitioning=False).sort("symbol", "timestamp")
>>> got.equals(synthetic_universe(3, 50, seed=1))
True
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from dollarbill_research._typing import PathLike
from dollarbill_research.data.synthetic import (
    SECTOR_NAMES,
    _check_int,
    _params_from_uniforms,
    _streams,
    _symbol_streams,
)
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.synthetic_nb import (
    N_NORMALS,
    N_UNIFORMS,
    market_regimes_nb,
    simulate_paths_nb,
)

__all__ = ["write_synthetic_parquet"]


def write_synthetic_parquet(
    path: PathLike,
    n_symbols: int,
    n_bars: int,
    seed: int = 7,
    *,
    start: str = "2020-01-02",
    symbols_per_file: int = 64,
    bars_per_row_group: int = 500,
    overwrite: bool = False,
) -> Path:
    """Write ``synthetic_universe(n_symbols, n_bars, seed, start)`` as a Parquet dataset.

    Parameters
    ----------
    path : path
        Folder to create (its files: ``group=NNNNN/part.parquet``).
    n_symbols, n_bars, seed, start
        As in :func:`~dollarbill_research.data.synthetic_universe`.
    symbols_per_file : int
        Symbols generated and written together (memory ~ ``symbols_per_file x n_bars x 100``
        bytes).
    bars_per_row_group : int
        Timestamps per Parquet row group.
    overwrite : bool
        Replace an existing non-empty folder (default: a ConfigError).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    _check_int("n_symbols", n_symbols, 1)
    _check_int("n_bars", n_bars, 2)
    _check_int("seed", seed, 0)
    _check_int("symbols_per_file", symbols_per_file, 1)
    _check_int("bars_per_row_group", bars_per_row_group, 1)
    try:
        first = np.datetime64(start, "D")
    except ValueError as exc:
        raise ConfigError(f"start={start!r} is not an ISO date such as '2020-01-02'.") from exc
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"write_synthetic_parquet: {root} exists and is not empty; hint: pass "
                "overwrite=True or another path"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    market_ss, sector_ss, _ = np.random.SeedSequence(seed).spawn(3)
    g_regime, g_market = _streams(market_ss)
    regime = market_regimes_nb(g_regime.random(n_bars))
    z_market = g_market.standard_normal(n_bars)
    z_sector = np.stack(
        [_streams(ss)[1].standard_normal(n_bars) for ss in sector_ss.spawn(len(SECTOR_NAMES))]
    )
    streams = _symbol_streams(n_symbols, seed)
    width = max(3, len(str(n_symbols - 1)))
    days = np.busday_offset(first, np.arange(n_bars), roll="forward")
    for g, s0 in enumerate(range(0, n_symbols, symbols_per_file)):
        s1 = min(s0 + symbols_per_file, n_symbols)
        k = s1 - s0
        normals = np.empty((k, n_bars, N_NORMALS))
        uniforms = np.empty((k, n_bars, N_UNIFORMS))
        u_params = np.empty((k, 6))
        for i, (g_uniform, g_normal) in enumerate(streams[s0:s1]):
            u_params[i] = g_uniform.random(6)
            g_uniform.random(out=uniforms[i])
            g_normal.standard_normal(out=normals[i])
        params = _params_from_uniforms(u_params)
        paths = simulate_paths_nb(
            (params.base_vol, params.drift, params.vrp, params.base_volume, params.start_price,
             params.sector_codes), regime, z_market, z_sector, normals, uniforms,
        )  # fmt: skip
        del normals, uniforms
        names = [f"SYN{i:0{width}d}" for i in range(s0, s1)]
        sectors = [SECTOR_NAMES[c] for c in params.sector_codes.tolist()]
        folder = root / f"group={g:05d}"
        folder.mkdir()
        target = folder / "part.parquet"
        tmp = folder / "part.parquet.tmp"
        writer: pq.ParquetWriter | None = None
        try:
            for b0 in range(0, n_bars, bars_per_row_group):
                b1 = min(b0 + bars_per_row_group, n_bars)
                table = _block(names, sectors, days[b0:b1], [a[:, b0:b1] for a in paths])
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table, row_group_size=table.num_rows)
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, target)
    return root


def _block(names: list[str], sectors: list[str], days: np.ndarray,
           paths: list[np.ndarray]) -> object:  # fmt: skip
    """One row group: the group's symbols over ``days``, sorted by (symbol, timestamp)."""
    k, n = paths[0].shape
    sym_idx = np.repeat(np.arange(k, dtype=np.int64), n)
    o, h, lo, c, vol, iv = (np.ascontiguousarray(a).ravel() for a in paths)
    frame = pl.DataFrame(
        {
            "symbol": pl.Series(names, dtype=pl.String).gather(sym_idx),
            "timestamp": pl.Series(np.tile(days, k)),
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": vol,
            "iv": iv,
            "sector": pl.Series(sectors, dtype=pl.String).gather(sym_idx),
        }
    )
    return frame.to_arrow()
