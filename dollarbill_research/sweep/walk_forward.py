"""Walk-forward analysis: choose on a training window, trade the next window, stitch the trades.

``walk_forward(data, strategy, grid, train_bars=..., test_bars=...)``:

1. Windows on the data's bar index (the sorted union of timestamps). Window ``k`` trains on
   bars ``[k * step, k * step + train_bars)`` (``anchored=True``: from bar 0) and tests on the
   ``test_bars`` bars after it; ``step_bars`` defaults to ``test_bars`` (back-to-back test
   windows). Only complete test windows are used; ``step_bars < test_bars`` (overlapping test
   windows) cannot be stitched and raises.
2. On each training window, a full :func:`~dollarbill_research.sweep.sweep` of ``grid`` (local
   or Ray backend) ranks the configurations by ``metric``; the best one is kept. A window where
   no configuration has a usable metric stays in cash (its row has no ``config_id``).
3. The chosen configuration runs on the test window. Its signals are computed on the bars from
   the training window's start to the test window's end and then cut to the test window:
   strategies see the history they were chosen on (signals are past-only, so nothing after a bar
   reaches it), and nothing after the test window is read. **Each test segment starts flat**
   (no positions) **with the previous segment's ending equity** as its initial capital (the
   first with ``initial_capital``; both ``BacktestConfig.initial_capital`` and
   ``PortfolioConfig.initial_capital`` are set to it); positions still open at a segment's end
   are valued at that bar's mark, as in any backtest's final equity, and not carried into the
   next segment.
4. The segments are stitched into one :class:`~dollarbill_research.backtesting.BacktestResult`
   (frames concatenated; records with bar indices of the stitched curve; metrics of the stitched
   equity and trades), with the per-window choices and in- vs out-of-sample metrics beside it.

No look-ahead: window ``k``'s choice and segment depend only on bars before its test window's
end (``tests/sweep/test_walk_forward.py`` changes later bars and checks nothing earlier moves).
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from dollarbill_research.backtesting.annualisation import resolve_bars_per_year
from dollarbill_research.backtesting.result import (
    BacktestResult,
    RawRecords,
    attribution_frame,
    records_metrics,
)
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.sweep.grid import Grid

__all__ = ["WalkForwardResult", "walk_forward", "windows"]


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """What :func:`walk_forward` returns.

    Attributes
    ----------
    windows : polars.DataFrame
        One row per window: ``window``, ``train_start``, ``train_end``, ``test_start``,
        ``test_end`` (timestamps, ends inclusive), ``config_id`` of the chosen configuration, its
        parameter columns, ``is_<metric>`` (its training-window value) and ``oos_<metric>``
        (its test-segment value), and ``start_equity`` / ``end_equity`` of the segment.
    result : BacktestResult
        The stitched out-of-sample backtest (``result.metrics`` are its metrics).
    segments : tuple of BacktestResult
        Each test segment on its own.
    metric : str
        The selection metric.
    param_names : tuple of str
        Parameter columns of ``windows``.
    """

    windows: pl.DataFrame
    result: BacktestResult
    segments: tuple[BacktestResult, ...]
    metric: str
    param_names: tuple[str, ...]

    @property
    def oos_metric(self) -> float:
        """The selection metric of the stitched out-of-sample curve."""
        return float(getattr(self.result.metrics, self.metric))

    @property
    def mean_is_metric(self) -> float:
        """Mean in-sample metric of the chosen configurations."""
        return _mean(self.windows[f"is_{self.metric}"])

    @property
    def mean_oos_metric(self) -> float:
        """Mean out-of-sample metric of the segments."""
        return _mean(self.windows[f"oos_{self.metric}"])

    def sentence(self) -> str:
        """One plain sentence comparing in- and out-of-sample."""
        return (
            f"Over {self.windows.height} walk-forward windows the chosen configurations had a "
            f"mean in-sample {self.metric} of {self.mean_is_metric:.2f} and a mean "
            f"out-of-sample {self.metric} of {self.mean_oos_metric:.2f}; the stitched "
            f"out-of-sample curve has {self.metric} {self.oos_metric:.2f} and total return "
            f"{self.result.metrics.total_return:.1%}."
        )

    def __repr__(self) -> str:
        n_cfg = self.windows["config_id"].n_unique()
        return (
            f"WalkForwardResult({self.windows.height} windows, {n_cfg} distinct choices, "
            f"metric={self.metric!r}, mean IS={self.mean_is_metric:.3f}, "
            f"mean OOS={self.mean_oos_metric:.3f}, stitched OOS={self.oos_metric:.3f}, "
            f"total return={self.result.metrics.total_return:.2%})"
        )

    def _repr_html_(self) -> str:
        table = self.windows._repr_html_()
        return (
            f"<div><b>Walk-forward</b> ({self.windows.height} windows, metric "
            f"{html.escape(self.metric)})<p>{html.escape(self.sentence())}</p>{table}</div>"
        )

    def plot(self, path: object | None = None) -> object:
        """Stitched out-of-sample equity with window boundaries; a ``Figure`` (no pyplot)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4), layout="constrained")
        ax = fig.subplots()
        eq = self.result.equity
        ax.plot(eq["timestamp"].to_numpy(), eq["equity"].to_numpy(), color="#4C72B0", lw=1.2)
        for ts in self.windows["test_start"].to_numpy()[1:]:
            ax.axvline(ts, color="grey", lw=0.6, alpha=0.6)
        ax.set_title(f"Walk-forward out-of-sample equity ({self.windows.height} windows)")
        ax.set_ylabel("equity ($)")
        if path is not None:
            fig.savefig(path)
        return fig


def _mean(column: pl.Series) -> float:
    value = column.cast(pl.Float64).fill_nan(None).mean()
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def windows(
    n_bars: int,
    train_bars: int,
    test_bars: int,
    step_bars: int | None = None,
    anchored: bool = False,
) -> list[tuple[int, int, int, int]]:
    """``(train_start, train_end, test_start, test_end)`` bar ranges (ends exclusive).

    Raises
    ------
    ConfigError
        Bad sizes, overlapping test windows, or no complete window in ``n_bars``.
    """
    for name, value, low in (("train_bars", train_bars, 2), ("test_bars", test_bars, 2)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ConfigError(f"walk_forward {name}={value!r} must be an int >= {low}")
    step = test_bars if step_bars is None else step_bars
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < test_bars:
        raise ConfigError(
            f"walk_forward step_bars={step_bars!r} must be an int >= test_bars ({test_bars}); "
            "hint: overlapping test windows cannot be stitched into one curve"
        )
    out = []
    k = 0
    while k * step + train_bars + test_bars <= n_bars:
        train_end = k * step + train_bars
        out.append((0 if anchored else k * step, train_end, train_end, train_end + test_bars))
        k += 1
    if not out:
        raise ConfigError(
            f"walk_forward: {n_bars} bars hold no window of train_bars={train_bars} + "
            f"test_bars={test_bars}; hint: shorter windows or a longer history"
        )
    return out


def walk_forward(
    data: object,
    strategy: object,
    grid: Grid | Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    *,
    train_bars: int,
    test_bars: int,
    step_bars: int | None = None,
    anchored: bool = False,
    metric: str = "sharpe_ratio",
    backtest_config: object | None = None,
    portfolio_config: object | None = None,
    mode: Literal["product", "list"] = "product",
    chunk_size: int = 64,
    n_jobs: int | None = None,
    backend: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    progress: bool = False,
) -> WalkForwardResult:
    """Walk-forward: sweep each training window, run its best on the next test window, stitch.

    Parameters
    ----------
    data, strategy, grid, backtest_config, portfolio_config, mode, chunk_size, n_jobs, backend,
    ray_address
        As for :func:`~dollarbill_research.sweep.sweep` (``backend="ray"`` runs each training
        sweep on Ray). The grid may not vary ``symbols`` (segments must share one universe).
    train_bars, test_bars : int
        Bars of each training and test window (at least 2 each).
    step_bars : int, optional
        Bars between window starts (default ``test_bars``; must be ``>= test_bars``).
    anchored : bool
        Training windows all start at bar 0 (expanding) instead of rolling.
    metric : str
        Selection metric (a ``Metrics`` field; lower-is-better ones rank ascending).
    progress : bool
        A progress bar per training sweep.

    Returns
    -------
    WalkForwardResult
        See the module docstring for how segments are stitched.
    """
    from dollarbill_research.backtesting.engine import BacktestEngine, check_signals
    from dollarbill_research.data.panel import to_panel
    from dollarbill_research.strategies.base import Signals
    from dollarbill_research.sweep.plan import plan_sweep
    from dollarbill_research.sweep.runner import METRIC_COLUMNS, sweep

    if metric not in METRIC_COLUMNS:
        raise ConfigError(
            f"walk_forward metric={metric!r} must be one of {', '.join(METRIC_COLUMNS)}"
        )
    plan = plan_sweep(
        data, strategy, grid, backtest_config=backtest_config,
        portfolio_config=portfolio_config, mode=mode,
    )  # fmt: skip
    if any(cfg.symbols is not None for cfg in plan.configurations):
        raise ConfigError(
            "walk_forward cannot vary 'symbols' (segments must trade one universe); hint: run "
            "one walk_forward per symbol subset"
        )
    ts = plan.panel.timestamps
    spans = windows(plan.panel.n_bars, train_bars, test_bars, step_bars, anchored)
    from dollarbill_research.config.backtest import BacktestConfig

    base = backtest_config if backtest_config is not None else BacktestConfig()
    capital = float(base.initial_capital)  # type: ignore[attr-defined]
    rows: list[dict[str, object]] = []
    segments: list[BacktestResult] = []
    for k, (tr0, tr1, te0, te1) in enumerate(spans):
        train = _between(plan.frame, ts[tr0], ts[tr1 - 1])
        res = sweep(
            train, strategy, grid, backtest_config=backtest_config,
            portfolio_config=portfolio_config, mode=mode, chunk_size=chunk_size, n_jobs=n_jobs,
            metric=metric, progress=progress, backend=backend, ray_address=ray_address,
        )  # fmt: skip
        best = res.best(1, metric)
        row: dict[str, object] = {
            "window": k,
            "config_id": None,
        }
        row.update({name: None for name in plan.param_names})
        row["is_" + metric] = None
        warm = _between(plan.frame, ts[tr0], ts[te1 - 1])
        panel = to_panel(warm, validate=False)
        cut = int(np.searchsorted(panel.timestamps, ts[te0]))
        test_panel = _slice_panel(panel, cut)
        if best.height:
            cid = int(best["config_id"][0])
            row["config_id"] = cid
            row.update(plan.param_values[cid])
            row["is_" + metric] = float(best[metric][0])
        else:  # nothing usable in-sample: stay in cash (a runnable config, no signals)
            cid = next(c.index for c in plan.configurations if c.error is None)
        cfg = plan.configurations[cid]
        signals = check_signals(cfg.strategy.signals(warm, panel), panel)  # type: ignore[union-attr]
        sig = np.ascontiguousarray(signals.signal[:, cut:])
        conf = np.ascontiguousarray(signals.confidence[:, cut:])
        if not best.height:
            sig, conf = np.zeros_like(sig), np.zeros_like(conf)
        test_signals = Signals(signals.strategies, sig, conf, signals.templates)
        bt = dataclasses.replace(cfg.backtest, initial_capital=capital)  # type: ignore[type-var]
        pf = dataclasses.replace(cfg.portfolio, initial_capital=capital)  # type: ignore[type-var]
        segment = BacktestEngine(bt, pf).run(test_panel, test_signals)  # type: ignore[arg-type]
        row["start_equity"] = capital
        capital = float(segment.equity["equity"][-1])
        row["end_equity"] = capital
        row["oos_" + metric] = float(getattr(segment.metrics, metric))
        rows.append(row)
        segments.append(segment)
    bounds = np.asarray(spans)
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("config_id").cast(pl.Int64)
    )
    stamps = [
        pl.Series(name, ts[bounds[:, col] - shift])
        for name, col, shift in (("train_start", 0, 0), ("train_end", 1, 1),
                                 ("test_start", 2, 0), ("test_end", 3, 1))
    ]  # fmt: skip
    frame = frame.insert_column(1, stamps[0]).insert_column(2, stamps[1])
    frame = frame.insert_column(3, stamps[2]).insert_column(4, stamps[3])
    stitched = _stitch(segments, base)
    return WalkForwardResult(frame, stitched, tuple(segments), metric, plan.param_names)


def _between(frame: pl.DataFrame, first: np.datetime64, last: np.datetime64) -> pl.DataFrame:
    """Rows with ``first <= timestamp <= last`` (compared as UTC nanoseconds)."""
    lo = int(np.datetime64(first, "ns").astype(np.int64))
    hi = int(np.datetime64(last, "ns").astype(np.int64))
    return frame.filter(pl.col("timestamp").dt.epoch("ns").is_between(lo, hi))


def _slice_panel(panel: object, cut: int) -> object:
    fields = {}
    for f in dataclasses.fields(panel):  # type: ignore[arg-type]
        value = getattr(panel, f.name)
        if f.name in ("timestamps", "open", "high", "low", "close", "volume", "iv", "valid"):
            value = np.ascontiguousarray(value[cut:])
        fields[f.name] = value
    return type(panel)(**fields)


def _stitch(segments: Sequence[BacktestResult], config: object) -> BacktestResult:
    """One BacktestResult from consecutive segments (records' bars renumbered)."""
    first = segments[0]
    names = {seg.strategies for seg in segments}
    strategies = first.strategies
    if len(names) > 1:
        raise ConfigError(
            "walk_forward: the chosen configurations trade different strategies "
            f"({sorted(names)}); hint: keep the strategy composition fixed in the grid"
        )
    offsets = np.cumsum([0] + [seg.raw.equity.shape[0] for seg in segments[:-1]])

    def shifted(name: str) -> np.ndarray:
        parts = []
        for off, seg in zip(offsets, segments, strict=True):
            rec = getattr(seg.raw, name).copy()
            rec["bar"] += off
            parts.append(rec)
        return np.concatenate(parts)

    pnl_parts, carry = [], np.zeros(len(strategies))
    for seg in segments:  # cumulative per-strategy P&L continues across segments
        pnl_parts.append(seg.raw.strat_pnl + carry)
        carry = pnl_parts[-1][-1] if seg.raw.strat_pnl.shape[0] else carry
    stats = segments[0].raw.stats.copy()
    for seg in segments[1:]:
        for f in stats.dtype.names or ():
            stats[f] += seg.raw.stats[f]
    raw = RawRecords(
        fills=shifted("fills"),
        rejections=shifted("rejections"),
        equity=shifted("equity"),
        strat_pnl=np.concatenate(pnl_parts),
        stats=stats,
        positions=segments[-1].raw.positions,
    )
    ts = np.concatenate([seg.equity["timestamp"].to_numpy() for seg in segments])
    config = resolve_bars_per_year(config, ts)  # inferred from the bars when not set
    return BacktestResult(
        equity=pl.concat([seg.equity for seg in segments]),
        trades=pl.concat([seg.trades for seg in segments], how="vertical_relaxed"),
        rejections=pl.concat([seg.rejections for seg in segments], how="vertical_relaxed"),
        attribution=attribution_frame(raw, strategies, config),  # type: ignore[arg-type]
        metrics=records_metrics(raw, ts, config),  # type: ignore[arg-type]
        strategies=strategies,
        symbols=first.symbols,
        raw=raw,
        limits=next((seg.limits for seg in segments if seg.limits), {}),
    )
