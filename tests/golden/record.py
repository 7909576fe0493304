"""Golden runs: record the raw kernel records of a fixed set of backtests, compare byte for byte.

A refactor of the engine, the kernels or the result frames must leave every number the same. This
script runs a fixed set of *golden runs* and saves, per run, the raw records the kernels wrote
(the numpy record arrays before any frame is built: ``fills``, ``rejections``, ``equity``,
``breaches``, ``strat_pnl``, ``stats``, ``positions``, ``targets``, ``strategy_returns``) as
``.npy`` files, the metrics as a float64 vector, and the result frames (``trades``,
``rejections``, ``equity``, ``attribution``, ``breaches``) as Parquet. Compare mode runs the set
again (or reads a second saved folder) and reports, per array, whether the bytes are equal, and
per frame whether the values are equal and whether the dtypes changed.

Golden runs (on each data set)
------------------------------
* ``equities_momentum``: ``Momentum`` on shares, portfolio management off.
* ``options_no_pm``: the demo's four strategies (volatility mean reversion, momentum, iron
  condor, cash-secured puts), portfolio management off.
* ``options_pm``: the same with portfolio management on (default settings).
* ``sizing_<method>``: portfolio management on with each sizing method (``VolatilityBased``,
  ``KellyCriterion``, ``RiskParity``, ``FixedFractional``, ``FixedDollar``).
* ``breach_<policy>``: tight delta / VaR / concentration limits with each breach policy
  (``block``, ``reduce``, ``hedge``).
* ``live_replay_hedge`` / ``live_replay_pm_off``: ``breach_hedge`` / ``equities_momentum`` replayed
  bar by bar through :class:`~dollarbill_research.live.LivePortfolio` (records concatenated over
  the bars; frames are the per-bar ``orders`` / ``rejections`` / ``breaches`` stacked).
* ``streaming_pm``: ``options_pm`` through ``run_streaming`` on a Parquet copy of the data
  (``chunk_bars=97``), in memory, and ``streaming_out_pm`` with ``out_dir`` (the frames written
  per chunk, read back from the :class:`~dollarbill_research.backtesting.streaming.StreamedResult`).

Data sets: ``synthetic`` (``synthetic_universe(24, 1008, seed=7)``, always) and ``real`` (the
folder in ``$DOLLARBILL_REAL_DATA``, when set).

Usage (from the repository root; ``PYTHONPATH=$PWD`` so the checkout's package is imported)::

    PYTHONPATH=$PWD python tests/golden/record.py record /work/golden-base
    PYTHONPATH=$PWD python tests/golden/record.py compare /work/golden-base
    PYTHONPATH=$PWD python tests/golden/record.py compare /work/golden-base --against /tmp/new

``record`` writes ``<dir>/<dataset>/<run>/<array>.npy`` (+ ``frames/<name>.parquet``) and a
``manifest.json`` (commit, dirty flag, versions). ``compare`` without ``--against`` records into
a temporary folder first. It prints one line per run and exits 1 when any raw array differs
(frames: values must be equal; a dtype change alone is reported but is not a failure unless
``--strict-dtypes``). ``--only SUBSTR`` restricts to runs whose name contains it. Re-capture the
baseline from any commit (``git worktree add /tmp/base <commit>`` and run ``record`` there) when
the reference changes on purpose, e.g. new cost defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[2]
RAW_FIELDS = (
    "fills", "rejections", "equity", "breaches", "strat_pnl", "stats", "positions", "targets",
    "strategy_returns",
)  # fmt: skip
FRAMES = ("trades", "rejections", "equity", "attribution", "breaches")
SIZING = ("VolatilityBased", "KellyCriterion", "RiskParity", "FixedFractional", "FixedDollar")
POLICIES = ("block", "reduce", "hedge")


# --- the runs ------------------------------------------------------------------------------------
def _datasets() -> dict[str, pl.DataFrame]:
    from dollarbill_research.data import load_bars, synthetic_universe

    out = {"synthetic": synthetic_universe(n_symbols=24, n_bars=1008, seed=7)}
    real = os.environ.get("DOLLARBILL_REAL_DATA")
    if real and Path(real).is_dir():
        out["real"] = load_bars(real)
    return out


def _combined():
    from dollarbill_research.strategies import (
        CashSecuredPuts,
        Combined,
        IronCondor,
        Momentum,
        VolatilityMeanReversion,
    )

    return Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts()))


def _engines() -> dict[str, tuple[object, object]]:
    """Run name -> (engine, strategy) of the engine runs."""
    from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
    from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
    from dollarbill_research.strategies import Momentum

    pm = BacktestConfig(use_portfolio_management=True)
    runs: dict[str, tuple[object, object]] = {
        "equities_momentum": (BacktestEngine(BacktestConfig()), Momentum()),
        "options_no_pm": (BacktestEngine(BacktestConfig()), _combined()),
        "options_pm": (BacktestEngine(pm), _combined()),
    }
    for method in SIZING:
        portfolio = PortfolioConfig(sizing_method=method, kelly_min_trades=5)
        runs[f"sizing_{method}"] = (BacktestEngine.with_portfolio(pm, portfolio), _combined())
    for policy in POLICIES:
        limits = RiskLimits(max_portfolio_delta=0.1, max_var_pct=1.0, max_concentration_pct=15.0,
                            breach_policy=policy)  # fmt: skip
        portfolio = PortfolioConfig(risk_limits=limits)
        runs[f"breach_{policy}"] = (BacktestEngine.with_portfolio(pm, portfolio), _combined())
    return runs


def _raw_arrays(raw: object) -> dict[str, np.ndarray]:
    out = {}
    for name in RAW_FIELDS:
        value = getattr(raw, name, None)
        if value is not None:
            out[name] = np.asarray(value)
    return out


def _metrics_vector(metrics: object) -> np.ndarray:
    values = dataclasses.asdict(metrics)  # type: ignore[call-overload]
    return np.array([float(values[k]) for k in sorted(values)], dtype=np.float64)


def _result_payload(res: object) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
    arrays = _raw_arrays(res.raw)  # type: ignore[attr-defined]
    arrays["metrics"] = _metrics_vector(res.metrics)  # type: ignore[attr-defined]
    frames = {}
    for name in FRAMES:
        frame = getattr(res, name)
        if frame is not None:
            frames[name] = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return arrays, frames


def _replay(engine: object, strategy: object, frame: pl.DataFrame):
    from dollarbill_research.backtesting.engine import check_signals
    from dollarbill_research.data import to_panel
    from dollarbill_research.live import LivePortfolio

    panel = to_panel(frame, validate=False)
    signals = check_signals(strategy.signals(frame, panel), panel)  # type: ignore[attr-defined]
    live = LivePortfolio(
        engine.config, engine.portfolio_config, symbols=panel.symbols,  # type: ignore[attr-defined]
        strategies=signals.strategies, templates=signals.templates,
        sector_codes=panel.sector_codes,
    )  # fmt: skip
    parts: dict[str, list] = {k: [] for k in ("fills", "rejections", "equity", "breaches")}
    fparts: dict[str, list] = {k: [] for k in ("trades", "rejections", "breaches")}
    for t in range(panel.n_bars):
        d = live.on_bar(
            panel.timestamps[t], close=panel.close[t], iv=panel.iv[t], valid=panel.valid[t],
            signal=signals.signal[:, t], confidence=signals.confidence[:, t],
        )  # fmt: skip
        parts["fills"].append(d.fills)
        parts["rejections"].append(d.rejection_records)
        parts["equity"].append(np.atleast_1d(d.equity))
        if d.breach_records is not None:
            parts["breaches"].append(d.breach_records)
        if len(d.fills):
            fparts["trades"].append(d.orders)
        if len(d.rejection_records):
            fparts["rejections"].append(d.rejections)
        if d.breach_records is not None and len(d.breach_records):
            fparts["breaches"].append(d.breaches)
    arrays = {k: np.concatenate(v) for k, v in parts.items() if v}
    arrays["positions"] = np.asarray(live.positions)
    frames = {k: pl.concat(v) for k, v in fparts.items() if v}
    return arrays, frames


def golden_runs(only: str | None = None) -> dict[str, Callable[[], tuple[dict, dict]]]:
    """``"<dataset>/<run>"`` -> a callable returning ``(arrays, frames)`` of that run."""
    runs: dict[str, Callable[[], tuple[dict, dict]]] = {}
    for ds, frame in _datasets().items():
        engines = _engines()
        for name, (engine, strategy) in engines.items():
            runs[f"{ds}/{name}"] = (
                lambda e=engine, s=strategy, f=frame: _result_payload(e.run(f, s))  # type: ignore[attr-defined]
            )
        for name, base in (("live_replay_hedge", "breach_hedge"),
                           ("live_replay_pm_off", "equities_momentum")):  # fmt: skip
            engine, strategy = engines[base]
            runs[f"{ds}/{name}"] = lambda e=engine, s=strategy, f=frame: _replay(e, s, f)
        engine, strategy = engines["options_pm"]
        runs[f"{ds}/streaming_pm"] = lambda e=engine, s=strategy, f=frame: _streamed(e, s, f)
        runs[f"{ds}/streaming_out_pm"] = lambda e=engine, s=strategy, f=frame: _streamed(
            e, s, f, out=True
        )
    if only:
        runs = {k: v for k, v in runs.items() if only in k}
    return runs


def _streamed(engine: object, strategy: object, frame: pl.DataFrame, out: bool = False):
    with tempfile.TemporaryDirectory(prefix="golden-stream-") as tmp:
        path = Path(tmp) / "bars.parquet"
        frame.write_parquet(path)
        out_dir = Path(tmp) / "out" if out else None
        res = engine.run_streaming(path, strategy, chunk_bars=97, out_dir=out_dir)  # type: ignore[attr-defined]
        if not out:
            return _result_payload(res)
        arrays = {"metrics": _metrics_vector(res.metrics)}
        frames = {name: getattr(res, name) for name in FRAMES}
        frames = {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in frames.items()}
        return arrays, frames


# --- record / compare ----------------------------------------------------------------------------
def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return ""


def record(out: Path, only: str | None = None) -> None:
    """Run the golden runs and save their records under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name, fn in golden_runs(only).items():
        t = time.perf_counter()
        arrays, frames = fn()
        folder = out / name
        (folder / "frames").mkdir(parents=True, exist_ok=True)
        for key, arr in arrays.items():
            np.save(folder / f"{key}.npy", arr, allow_pickle=False)
        for key, frame in frames.items():
            frame.write_parquet(folder / "frames" / f"{key}.parquet")
        counted = ("fills", "rejections", "breaches")
        sizes = ", ".join(f"{k} {len(v)}" for k, v in arrays.items() if k in counted)
        print(f"  recorded {name:36s} {time.perf_counter() - t:6.2f} s  ({sizes})", flush=True)
    import numba

    manifest = {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain")),
        "numpy": np.__version__,
        "polars": pl.__version__,
        "numba": numba.__version__,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def plain_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical / Enum columns (also inside lists) cast to String: compare values only."""

    def plain(dtype: pl.DataType) -> pl.DataType:
        if isinstance(dtype, pl.Categorical | pl.Enum):
            return pl.String()
        if isinstance(dtype, pl.List):
            return pl.List(plain(dtype.inner))
        return dtype

    return frame.cast({c: plain(d) for c, d in frame.schema.items()})


def compare_dirs(
    base: Path, new: Path, strict_dtypes: bool = False, only: str | None = None
) -> bool:
    """Print one line per run; True when every array is byte-equal and every frame value-equal."""
    ok = True
    runs = [p.parent.relative_to(base) for p in base.rglob("*.npy")]
    runs = [r for r in runs if not only or only in str(r)]
    runs = sorted(set(runs))
    n_arrays = n_frames = 0
    dtype_changes: set[str] = set()
    for run in runs:
        problems = []
        for path in sorted((base / run).glob("*.npy")):
            other = new / run / path.name
            if not other.exists():
                problems.append(f"{path.stem}: missing")
                continue
            a, b = np.load(path), np.load(other)
            n_arrays += 1
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                problems.append(f"{path.stem}: DIFFERENT ({a.dtype} {a.shape} vs "
                                f"{b.dtype} {b.shape})")  # fmt: skip
        for path in sorted((base / run / "frames").glob("*.parquet")):
            other = new / run / "frames" / path.name
            if not other.exists():
                problems.append(f"frame {path.stem}: missing")
                continue
            a, b = pl.read_parquet(path), pl.read_parquet(other)
            n_frames += 1
            if a.columns != b.columns:
                problems.append(f"frame {path.stem}: columns {a.columns} vs {b.columns}")
                continue
            for col in a.columns:
                if a.schema[col] != b.schema[col]:
                    dtype_changes.add(f"{path.stem}.{col}: {a.schema[col]} -> {b.schema[col]}")
                    if strict_dtypes:
                        problems.append(f"frame {path.stem}.{col}: dtype changed")
            if not plain_frame(a).equals(plain_frame(b)):
                problems.append(f"frame {path.stem}: values DIFFERENT")
        ok &= not problems
        print(f"  {'same' if not problems else 'DIFF'}  {run}" +
              ("" if not problems else "\n        " + "\n        ".join(problems)))  # fmt: skip
    for change in sorted(dtype_changes):
        print(f"  dtype change (values equal): {change}")
    print(f"{len(runs)} runs, {n_arrays} raw arrays byte-compared, {n_frames} frames compared: "
          f"{'ALL EQUAL' if ok else 'DIFFERENCES'}")  # fmt: skip
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("record", "compare"))
    parser.add_argument("dir", type=Path, help="folder to record into / the baseline to compare")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="compare: a second recorded folder (default: record now)",
    )
    parser.add_argument("--only", default=None, help="only runs whose name contains this")
    parser.add_argument("--strict-dtypes", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "record":
        record(args.dir, args.only)
        return 0
    if args.against is not None:
        return 0 if compare_dirs(args.dir, args.against, args.strict_dtypes, args.only) else 1
    with tempfile.TemporaryDirectory(prefix="golden-new-") as tmp:
        record(Path(tmp), args.only)
        return 0 if compare_dirs(args.dir, Path(tmp), args.strict_dtypes, args.only) else 1


if __name__ == "__main__":
    sys.exit(main())
