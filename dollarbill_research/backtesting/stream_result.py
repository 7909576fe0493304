"""Streaming outputs: per-chunk Parquet records and :class:`StreamedResult` (lazy frames)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray, PathLike
from dollarbill_research.backtesting.metrics import Metrics
from dollarbill_research.backtesting.result import (
    equity_frame,
)
from dollarbill_research.data import panel as panel_module
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels import records
from dollarbill_research.kernels.params import portfolio_params

if TYPE_CHECKING:
    pass

__all__ = ["StreamedResult"]

# the fill fields the metrics and the attribution read (records_metrics, attribution_frame)
_COMPACT_FILL = np.dtype(
    [(name, records.FILL_DTYPE.fields[name][0]) for name in (
        "bar", "strategy", "symbol", "kind", "side", "reason", "pnl", "costs", "price", "qty",
    )]
)  # fmt: skip


def _compact(rec: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.empty(rec.shape[0], dtype=dtype)
    for name in dtype.names or ():
        out[name] = rec[name]
    return out


class _Writer:
    """Per-chunk Parquet records under ``out_dir`` (atomic: each file via a temporary name)."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir
        for sub in ("trades", "rejections", "breaches", "equity"):
            folder = out_dir / sub
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
        self.peak = -math.inf
        self.timestamp_dtype: pl.DataType | None = None

    def write(self, sub: str, i: int, frame: pl.DataFrame) -> None:
        convert = getattr(panel_module, "with_input_timestamps", None)
        if convert is not None and self.timestamp_dtype is not None and sub != "breaches":
            # the input's timestamp dtype, on the frames BacktestResult.from_records converts
            frame = convert(frame, self.timestamp_dtype)
        path = self.root / sub / f"part-{i:06d}.parquet"
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        os.replace(tmp, path)

    def equity(self, i: int, eq: np.ndarray, stamps: np.ndarray) -> None:
        frame = equity_frame(eq, stamps)
        e = eq["equity"]
        peak = np.maximum.accumulate(np.concatenate(([self.peak], e)))[1:]
        if e.shape[0]:
            self.peak = float(peak[-1])
        dd = np.where(peak > 0, 1.0 - e / peak, 0.0)
        self.write("equity", i, frame.with_columns(pl.Series("drawdown", dd)))


@dataclass(frozen=True, slots=True)
class _Names:
    strategies: tuple[str, ...]


def _limits(config: Any, pp: FloatArray) -> dict[str, float]:
    if not config.use_portfolio_management:
        return {}
    named = portfolio_params(pp)
    return {
        "delta_exposure": float(named.max_portfolio_delta),
        "gamma_exposure": float(named.max_portfolio_gamma),
        "vega_exposure": float(named.max_portfolio_vega),
        "var_95": float(named.max_var_pct) / 100.0,
    }


# ---------------------------------------------------------------------------------------------
# lazy results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamedResult:
    """A streaming run's records on disk: lazy frames, metrics and attribution in memory.

    Attributes
    ----------
    out_dir : pathlib.Path
    equity, trades, rejections, breaches : polars.LazyFrame
        The frames of :class:`~dollarbill_research.backtesting.BacktestResult` (same columns,
        same rows), read lazily from ``out_dir``.
    attribution : polars.DataFrame
    metrics : Metrics
    strategies, symbols : tuple of str
    limits : dict of str to float
    """

    out_dir: Path
    equity: pl.LazyFrame
    trades: pl.LazyFrame
    rejections: pl.LazyFrame
    breaches: pl.LazyFrame
    attribution: pl.DataFrame
    metrics: Metrics
    strategies: tuple[str, ...]
    symbols: tuple[str, ...]
    limits: dict[str, float]

    @classmethod
    def write(cls, out_dir: Path, metrics: Metrics, attribution: pl.DataFrame,
              strategies: tuple[str, ...], symbols: tuple[str, ...],
              limits: dict[str, float]) -> StreamedResult:  # fmt: skip
        """Write the run's summary files next to the per-chunk records and open the result."""
        attribution.write_parquet(out_dir / "attribution.parquet")
        meta = {
            "version": 1,
            "metrics": dataclasses.asdict(metrics),
            "strategies": list(strategies),
            "symbols": list(symbols),
            "limits": limits,
        }
        tmp = out_dir / "result.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, out_dir / "result.json")
        return cls.open(out_dir)

    @classmethod
    def open(cls, out_dir: PathLike) -> StreamedResult:
        """Open the records a streaming run wrote to ``out_dir`` (frames stay on disk)."""
        root = Path(out_dir)
        meta_path = root / "result.json"
        if not meta_path.is_file():
            raise DataError(
                f"{root} holds no streaming result (no result.json); hint: pass the out_dir of "
                "a finished run_streaming"
            )
        meta = json.loads(meta_path.read_text())
        return cls(
            root,
            pl.scan_parquet(root / "equity" / "*.parquet"),
            pl.scan_parquet(root / "trades" / "*.parquet"),
            pl.scan_parquet(root / "rejections" / "*.parquet"),
            pl.scan_parquet(root / "breaches" / "*.parquet"),
            pl.read_parquet(root / "attribution.parquet"),
            Metrics(**meta["metrics"]),
            tuple(meta["strategies"]),
            tuple(meta["symbols"]),
            {k: float(v) for k, v in meta["limits"].items()},
        )

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"StreamedResult({self.out_dir}, {len(self.strategies)} strategies, "
            f"{len(self.symbols)} symbols, total_return={m.total_return:.4f}, "
            f"trades={m.n_trades})"
        )
