"""The main job: a demo backtest and sizing-method comparison on the embedded synthetic universe.

``python -m dollarbill_research demo`` generates a seeded synthetic universe (no download), prices
a few options on it, runs a multi-strategy options and equity book without and with portfolio
management, compares the five sizing methods, and saves two plots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult, compare
from dollarbill_research.config.portfolio import AllocationMethod, PortfolioConfig, SizingMethod
from dollarbill_research.data import synthetic_universe, to_panel
from dollarbill_research.pricing import bs_greeks
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    VolatilityMeanReversion,
)

SUMMARY_COLUMNS = (
    "run",
    "total_return",
    "cagr",
    "sharpe_ratio",
    "max_drawdown",
    "n_trades",
    "n_rejections",
    "total_costs",
)


#: Share spread of the demo's runs (% of price, full bid-ask): a large-cap share quotes a cent or
#: two wide on tens to hundreds of dollars; ``spread_pct`` (1 %, with the tick floor) stays on
#: option legs, where it is cheaper than the shipped chains' quotes (docs/risk-model.md, "Costs").
DEMO_SHARE_SPREAD_PCT = 0.05


def demo_config() -> BacktestConfig:
    """The demo's backtest settings: the defaults with the demo's share spread."""
    return BacktestConfig(share_spread_pct=DEMO_SHARE_SPREAD_PCT)


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """Size of the demo universe and where plots go."""

    n_symbols: int = 40
    n_bars: int = 1260
    seed: int = 7
    out_dir: Path = Path("out")


def _print_table(title: str, frame: pl.DataFrame) -> None:
    print(f"\n{title}")
    with pl.Config(tbl_rows=20, tbl_cols=12, tbl_width_chars=140, float_precision=4,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):  # fmt: skip
        print(frame)


def _greeks_table(frame: pl.DataFrame) -> pl.DataFrame:
    """30-day ATM call Greeks on the last bar of the first three symbols, at their iv."""
    panel = to_panel(frame)
    spot = panel.close[-1, :3]
    vol = panel.iv[-1, :3]
    g = bs_greeks(spot, spot, 30 / 365, 0.04, vol)
    return pl.DataFrame(
        {
            "symbol": list(panel.symbols[:3]),
            "spot": spot,
            "iv": vol,
            "call": np.asarray(g.price),
            "delta": np.asarray(g.delta),
            "gamma": np.asarray(g.gamma),
            "vega_per_pt": np.asarray(g.vega),
            "theta_per_day": np.asarray(g.theta),
        }
    )


def run_demo(settings: DemoSettings | None = None) -> int:
    """Run the demo and print its report; return 0 on success."""
    s = settings or DemoSettings()
    t0 = time.perf_counter()
    frame = synthetic_universe(s.n_symbols, s.n_bars, seed=s.seed)
    n_sectors = frame["sector"].n_unique()
    print(
        f"Synthetic universe: {s.n_symbols} symbols x {s.n_bars} daily bars, {n_sectors} sectors, "
        f"seed {s.seed} ({time.perf_counter() - t0:.1f} s)"
    )
    _print_table("Option Greeks (30-day ATM calls, last bar; vega per vol point, theta per day)",
                 _greeks_table(frame))  # fmt: skip

    strategy = Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts()))
    print(f"\nStrategies: {', '.join(st.name for st in strategy.strategies)}")

    results: dict[str, BacktestResult] = {}
    t1 = time.perf_counter()
    c = demo_config()
    print(
        f"Costs: ${c.commission_per_contract} a contract, {c.spread_pct:g} % spread on option legs "
        f"(at least the exchange tick), {c.share_spread_pct:g} % on shares; option structures "
        f"whose round trip costs more than {c.max_round_trip_cost_pct:g} % of their max loss are "
        "not traded"
    )
    results["without portfolio management"] = BacktestEngine(c).run(frame, strategy)
    config = demo_config()
    config.use_portfolio_management = True
    results["with portfolio management"] = BacktestEngine(config).run(frame, strategy)
    _print_table(
        f"With / without portfolio management ({time.perf_counter() - t1:.1f} s)",
        compare(results).select(SUMMARY_COLUMNS),
    )
    managed = results["with portfolio management"]
    top = (
        managed.rejection_reasons()
        .explode("reasons")
        .with_columns(pl.col("reasons").cast(pl.String))
        .group_by("reasons")
        .len()
        .sort(["len", "reasons"], descending=[True, False])
    )
    _print_table("Rejections by reason (with portfolio management)", top)
    rej = managed.rejections.with_columns(pl.col("reasons").list.eval(pl.element().cast(pl.String)))
    for reason in top["reasons"].head(4):
        example = rej.filter(pl.col("reasons").list.contains(reason))["text"][0]
        print(f"  e.g. {example}")

    t2 = time.perf_counter()
    by_method: dict[str, BacktestResult] = {}
    for method in SizingMethod:
        engine = BacktestEngine.with_portfolio(demo_config(), PortfolioConfig(sizing_method=method))
        by_method[method.value] = engine.run(frame, strategy)
    _print_table(
        f"Sizing methods compared ({time.perf_counter() - t2:.1f} s)",
        compare(by_method).select(SUMMARY_COLUMNS).rename({"run": "sizing_method"}),
    )
    _print_limits(managed)
    _print_allocations(frame, strategy)

    s.out_dir.mkdir(parents=True, exist_ok=True)
    path = s.out_dir / "demo_backtest.png"
    managed.plot(path, title="Managed multi-strategy book")
    print(f"\nPlot: {path}")
    _plot_methods(by_method, s.out_dir / "demo_sizing_methods.png")
    print(f"Done in {time.perf_counter() - t0:.1f} s")
    return 0


def limit_table(result: BacktestResult) -> pl.DataFrame:
    """Per limited exposure of a managed run: bars ending above the limit, peak, breach rows."""
    eq = result.equity
    lim = PortfolioConfig().risk_limits  # the demo's managed run uses the defaults
    checks = {
        "delta": ("delta_exposure", lim.max_portfolio_delta),
        "gamma": ("gamma_exposure", lim.max_portfolio_gamma),
        "vega": ("vega_exposure", lim.max_portfolio_vega),
        "concentration": ("concentration", lim.max_concentration_pct / 100.0),
        "sector": ("sector_exposure", lim.max_sector_exposure_pct / 100.0),
        "var": ("var_95", lim.max_var_pct / 100.0),
    }
    rows = []
    breaches = result.breaches if result.breaches is not None else pl.DataFrame()
    for name, (col, limit) in checks.items():
        values = np.abs(eq[col].fill_null(0.0).to_numpy())
        mine = breaches.filter(pl.col("exposure") == name) if breaches.height else breaches
        rows.append({
            "exposure": name, "limit": limit,
            "bars_above": int((values > limit * (1 + 1e-9)).sum()),
            "peak": float(values.max()) if values.size else 0.0,
            "breaches": mine.height,
            "unreducible": mine.filter(pl.col("action") == "unreducible").height
            if mine.height else 0,
        })  # fmt: skip
    return pl.DataFrame(rows)


def _print_limits(managed: BacktestResult) -> None:
    trades = managed.trades
    n_reduce = trades.filter(pl.col("reason") == "risk_reduce").height
    _print_table(
        f"Limits (with portfolio management, breach policy 'reduce': {n_reduce} risk_reduce "
        "fills); bars ending above a limit",
        limit_table(managed),
    )


def _print_allocations(frame: pl.DataFrame, strategy: Combined) -> None:
    """The managed book under each allocation method (capacities recomputed every 21 bars)."""
    t = time.perf_counter()
    by_alloc: dict[str, BacktestResult] = {}
    custom = {st.name: float(len(strategy.strategies) - i) for i, st in
              enumerate(strategy.strategies)}  # fmt: skip
    for method in AllocationMethod:
        weights = custom if method == AllocationMethod.Custom else None
        pc = PortfolioConfig(allocation_method=method, custom_weights=weights)
        by_alloc[method.value] = BacktestEngine.with_portfolio(demo_config(), pc).run(
            frame, strategy
        )
    _print_table(
        f"Allocation methods compared ({time.perf_counter() - t:.1f} s; Custom weights "
        f"{':'.join(f'{w:g}' for w in custom.values())})",
        compare(by_alloc).select(SUMMARY_COLUMNS).rename({"run": "allocation_method"}),
    )


def _plot_methods(results: dict[str, BacktestResult], path: Path) -> None:
    from dollarbill_research.plotting import plot_sizing_comparison

    plot_sizing_comparison(results, path=path)
    print(f"Plot: {path}")
