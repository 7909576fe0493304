"""``dollarbill warmup``: compile every kernel once, ahead of the first real run.

numba compiles a kernel the first time it is called with new argument types and caches the
machine code on disk; a fresh environment therefore spends about 15-30 s compiling on its first
backtest. Warmup runs each code path once on a tiny synthetic universe (pricing, data,
signals, backtests with and without portfolio management and every sizing method, the portfolio
manager, allocation, metrics, the live step, a threaded sweep), printing a progress line per
step, then says where the cache lives and how many kernels it holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dollarbill_research.cli._common import EXIT_OK

HELP = "compile every kernel once (about 30 s in a fresh environment) and show the cache"
DESCRIPTION = (
    "Compile every numba kernel once, with a progress line per step, so that the first real "
    "run starts fast; then print where the numba cache lives. Run it once per environment "
    "(after installing or upgrading)."
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``warmup`` command to ``sub``."""
    parser = sub.add_parser("warmup", help=HELP, description=DESCRIPTION)
    parser.set_defaults(run=run, prog="dollarbill warmup")
    return parser


def steps() -> list[tuple[str, Callable[[], object]]]:
    """The warmup steps, in order: ``(label, callable)``."""
    return [
        ("pricing (Black-Scholes, Greeks, implied vol)", _pricing),
        ("synthetic data, panels, iv proxy", _data),
        ("signals of every strategy and the personality router", _signals),
        ("backtests without portfolio management", _backtest_plain),
        ("backtests with each sizing method", _backtest_managed),
        ("portfolio manager, sizer, risk analyzer, allocator", _portfolio),
        ("metrics and attribution", _metrics),
        ("live step (LivePortfolio.on_bar) and the bot's last-bar signals", _live),
        ("threaded sweep", _sweep),
    ]


def run(args: argparse.Namespace) -> int:
    """Run every step with a progress line, then report the cache."""
    from dollarbill_research import _compile_notice

    _compile_notice.silence()  # warmup says what it compiles itself
    todo = steps()
    total_start = time.perf_counter()
    for k, (label, fn) in enumerate(todo, start=1):
        print(f"[{k}/{len(todo)}] {label} ...", end="", flush=True)
        start = time.perf_counter()
        fn()
        print(f" {time.perf_counter() - start:.1f} s", flush=True)
    print(f"warm in {time.perf_counter() - total_start:.1f} s")
    print(f"numba cache: {cache_location()}")
    return EXIT_OK


def cache_location() -> str:
    """Where the kernels' compiled code is cached (and what decides it)."""
    import os

    from dollarbill_research._compile_notice import cache_dir_of
    from dollarbill_research.kernels.driver_nb import run_bars_nb

    folder = cache_dir_of(run_bars_nb)
    files = sorted(Path(folder).glob("*.nbi")) if folder is not None else []
    where = f"{folder} ({len(files)} cached kernels)"
    if os.environ.get("NUMBA_CACHE_DIR"):
        return f"{where}; set by NUMBA_CACHE_DIR"
    return f"{where}; set NUMBA_CACHE_DIR to move it (e.g. for a read-only install)"


# -- steps ------------------------------------------------------------------------------------


def _frame(n_symbols: int = 4, n_bars: int = 320) -> Any:
    from dollarbill_research.data import synthetic_universe

    return synthetic_universe(n_symbols=n_symbols, n_bars=n_bars, seed=1)


def _pricing() -> None:
    import numpy as np

    from dollarbill_research.pricing import bs_greeks, bs_price, implied_vol

    spot = np.array([90.0, 100.0, 110.0])
    bs_price(spot, 100.0, 0.5, 0.03, 0.25)
    bs_price(100.0, 100.0, 0.5, 0.03, 0.25, is_call=False)
    bs_greeks(spot, 100.0, 0.5, 0.03, 0.25)
    bs_greeks(100.0, 100.0, 0.5, 0.03, 0.25, is_call=False)
    implied_vol(np.array([5.0, 8.0, 12.0]), spot, 100.0, 0.5, 0.03)
    implied_vol(5.0, 100.0, 100.0, 0.5, 0.03, is_call=False)


def _data() -> None:
    import polars as pl

    from dollarbill_research.data import to_panel

    frame = _frame()
    to_panel(frame)
    to_panel(frame.drop("iv"))
    to_panel(frame.filter(pl.col("timestamp") != pl.col("timestamp").first()).vstack(
        frame.filter(pl.col("timestamp") == pl.col("timestamp").first()).head(1)))  # fmt: skip


def _strategies() -> Any:
    from dollarbill_research.strategies import Combined, PersonalityStrategy, default_strategies

    return Combined(tuple(default_strategies())), PersonalityStrategy(window=60)


def _signals() -> None:
    from dollarbill_research.data import to_panel

    frame = _frame()
    panel = to_panel(frame)
    for strategy in _strategies():
        strategy.signals(frame, panel)


def _backtest_plain() -> None:
    from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
    from dollarbill_research.strategies import Momentum

    frame = _frame()
    combined, _ = _strategies()
    BacktestEngine(BacktestConfig()).run(frame, Momentum())
    BacktestEngine(BacktestConfig()).run(frame, combined)
    BacktestEngine(BacktestConfig()).run_simple_strategy("SYN000", frame, 0.45)


def _backtest_managed() -> None:
    from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
    from dollarbill_research.config.portfolio import PortfolioConfig, SizingMethod

    frame = _frame()
    combined, personality = _strategies()
    for method in SizingMethod:
        engine = BacktestEngine.with_portfolio(
            BacktestConfig(), PortfolioConfig(sizing_method=method)
        )
        engine.run(frame, combined)
    BacktestEngine(BacktestConfig(use_portfolio_management=True)).run(frame, personality)


def _portfolio() -> None:
    from dollarbill_research import (
        AllocationMethod,
        Candidate,
        PortfolioConfig,
        PortfolioManager,
        Position,
        PositionSizer,
        RiskAnalyzer,
        StrategyAllocator,
    )

    config = PortfolioConfig()
    book = [Position.shares("AAPL", "Momentum", 100, 150.0)]
    RiskAnalyzer(config).analyze(book, equity=100_000.0)
    PositionSizer(config).size(
        equity=100_000.0, unit_cost=100.0, unit_max_loss=5.0, unit_dollar_vol=2.0
    )
    manager = PortfolioManager(config)
    manager.update_capital(100_000.0)
    manager.update_positions(book)
    manager.decide(Candidate.shares("MSFT", "Momentum", price=100.0, volatility=0.25), size=50)
    manager.decide(Candidate.shares("TLT", "Momentum", price=90.0, volatility=0.15))
    returns = {"A": [0.01, -0.02, 0.01, 0.005], "B": [0.0, 0.01, 0.02, -0.01]}
    for method in AllocationMethod:
        if method is not AllocationMethod.Custom:
            StrategyAllocator(method).targets(returns)


def _metrics() -> None:
    import numpy as np

    from dollarbill_research.backtesting.metrics import compute_metrics, equity_metrics_matrix

    curve = 100.0 * np.cumprod(1.0 + np.linspace(-0.01, 0.012, 50))
    compute_metrics(curve, None)
    equity_metrics_matrix(np.vstack([curve, curve[::-1]]), None)


def _live() -> None:
    from dollarbill_research import BacktestConfig, LivePortfolio, Momentum, to_panel
    from dollarbill_research.strategies.rolling import RollingSignals, window_panel

    frame = _frame(n_bars=120)
    panel = to_panel(frame)
    signals = Momentum().signals(frame, panel)
    live = LivePortfolio(
        BacktestConfig(use_portfolio_management=True), None, symbols=panel.symbols,
        strategies=signals.strategies, templates=signals.templates,
        sector_codes=panel.sector_codes,
    )  # fmt: skip
    for t in range(3):
        live.on_bar(panel.timestamps[t], close=panel.close[t], iv=panel.iv[t],
                    signal=signals.signal[:, t], confidence=signals.confidence[:, t],
                    valid=panel.valid[t])  # fmt: skip
    _, personality = _strategies()
    rolling = RollingSignals(personality, panel.symbols)
    rolling.step(window_panel(panel, panel.n_bars - 1, rolling.lookback_bars))


def _sweep() -> None:
    from dollarbill_research import BacktestConfig, Momentum
    from dollarbill_research.sweep import sweep

    grid = {"sizing_method": ["VolatilityBased", "FixedFractional"]}
    sweep(_frame(), Momentum(), grid, backtest_config=BacktestConfig(use_portfolio_management=True),
          n_jobs=2, progress=False)  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace()))
