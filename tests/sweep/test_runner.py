"""sweep() rows equal BacktestEngine runs of each configuration alone; errors, groups, ranking."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes
from dollarbill_research.kernels.codes import REASON_NAMES
from dollarbill_research.plotting import plot_heatmap, plot_sizing_comparison
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import SIZING_METHODS, sweep
from dollarbill_research.sweep.runner import METRIC_COLUMNS


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=6, n_bars=260, seed=11)


BASE_BT = BacktestConfig(initial_capital=100_000.0, use_portfolio_management=True)
GRID = {
    "sizing_method": ["VolatilityBased", "KellyCriterion", "RiskParity"],
    "max_risk_per_trade": [1.0, 3.0],
    "strategy.lookback": [10, 30],
}


@pytest.fixture(scope="module")
def result(data: pl.DataFrame):  # type: ignore[no-untyped-def]
    return sweep(
        data, Momentum(), GRID, backtest_config=BASE_BT, n_jobs=2, chunk_size=5,
        keep_best=3, progress=False,
    )  # fmt: skip


def _alone(data: pl.DataFrame, row: dict[str, object]):  # type: ignore[no-untyped-def]
    portfolio = PortfolioConfig(
        sizing_method=row["sizing_method"],  # type: ignore[arg-type]
        max_risk_per_trade=row["max_risk_per_trade"],  # type: ignore[arg-type]
    )
    engine = BacktestEngine(BASE_BT, portfolio)
    return engine.run(data, Momentum(lookback=row["strategy.lookback"]))  # type: ignore[arg-type]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_every_row_equals_the_engine_run_alone(data: pl.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    frame = result.frame
    assert frame.height == 12
    assert frame["error"].null_count() == 12
    for row in frame.iter_rows(named=True):
        alone = _alone(data, row)
        expected = alone.metrics.to_dict()
        for name in METRIC_COLUMNS:
            assert _same(row[name], expected[name]), (row["config_id"], name)
        reasons = alone.raw.rejections["reason"]
        assert row["n_rejections"] == reasons.size
        for code, name in REASON_NAMES.items():
            col = f"rejected_{name}"
            if col in frame.columns:
                assert row[col] == int(np.count_nonzero(reasons >> code & 1)), col


def test_rows_are_in_grid_order_with_parameters(result) -> None:  # type: ignore[no-untyped-def]
    frame = result.frame
    assert frame["config_id"].to_list() == list(range(12))
    assert frame["sizing_method"].to_list()[:4] == ["VolatilityBased"] * 4
    assert frame["max_risk_per_trade"].to_list()[:4] == [1.0, 1.0, 3.0, 3.0]
    assert frame["strategy.lookback"].to_list()[:4] == [10, 30, 10, 30]


def test_threads_and_chunks_do_not_change_results(data: pl.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    serial = sweep(
        data, Momentum(), GRID, backtest_config=BASE_BT, n_jobs=1, chunk_size=1, progress=False
    )
    assert serial.frame.equals(result.frame)


def test_keep_best_keeps_the_top_curves(data: pl.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    top = result.best(3)
    assert list(result.curves) == top["config_id"].to_list()
    best_id = top["config_id"][0]
    row = result.frame.filter(pl.col("config_id") == best_id).row(0, named=True)
    alone = _alone(data, row)
    np.testing.assert_array_equal(
        result.curves[best_id]["equity"].to_numpy(), alone.equity["equity"].to_numpy()
    )
    assert result.frame["sharpe_ratio"].max() == top["sharpe_ratio"][0]


def test_bad_values_become_error_rows_and_good_rows_still_run(data: pl.DataFrame) -> None:
    res = sweep(
        data,
        Momentum(),
        [
            {"max_risk_per_trade": -1.0},
            {"sizing_method": "Martingale"},
            {"strategy.lookback": 0},
            {"symbols": ["NOPE"]},
            {"max_portfolio_delta": 0.05, "symbols": ["SYN000", "SYN001"]},
        ],
        mode="list",
        backtest_config=BASE_BT,
        n_jobs=2,
        progress=False,
    )
    errors = res.frame["error"].to_list()
    assert "PortfolioConfig.max_risk_per_trade=-1.0" in errors[0]
    assert "sizing_method='Martingale'" in errors[1]
    assert "lookback" in errors[2]
    assert "NOPE" in errors[3]
    assert errors[4] is None
    assert res.frame["sharpe_ratio"][:4].null_count() == 4
    # list mode: a parameter absent from a configuration shows the base value
    assert res.frame["max_portfolio_delta"].to_list()[0] == RiskLimits().max_portfolio_delta
    assert res.frame["symbols"][0] == ",".join(sorted(data["symbol"].unique()))
    alone = BacktestEngine(BASE_BT, PortfolioConfig(risk_limits=RiskLimits(0.05))).run(
        data.filter(pl.col("symbol").is_in(["SYN000", "SYN001"])), Momentum()
    )
    assert res.frame["total_return"][4] == alone.metrics.total_return


def test_unknown_name_and_bad_options_raise(data: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="valid names: symbols"):
        sweep(data, Momentum(), {"max_risk": [1.0]}, progress=False)
    with pytest.raises(ConfigError, match="metric"):
        sweep(data, Momentum(), GRID, metric="alpha", progress=False)
    with pytest.raises(ConfigError, match="keep_best"):
        sweep(data, Momentum(), GRID, keep_best=-1, progress=False)
    with pytest.raises(ConfigError, match="backend"):
        sweep(data, Momentum(), GRID, backend="dask", progress=False)  # type: ignore[arg-type]


def test_five_sizing_methods_in_one_call_and_one_plot(
    data: pl.DataFrame,
    result,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    res = sweep(
        data, Momentum(), {"sizing_method": list(SIZING_METHODS)}, backtest_config=BASE_BT,
        keep_best=5, progress=False,
    )  # fmt: skip
    assert res.frame["sizing_method"].to_list() == list(SIZING_METHODS)
    assert len(res.curves) == 5 - res.frame["sharpe_ratio"].is_nan().sum()
    out = tmp_path / "sizing.png"
    plot_sizing_comparison(res, path=out)
    assert out.stat().st_size > 10_000
    heat = tmp_path / "heat.png"
    plot_heatmap(result, "max_risk_per_trade", "sizing_method", "total_return", path=heat)
    assert heat.stat().st_size > 5_000


@pytest.mark.realdata
def test_five_sizing_methods_on_the_real_data_folder(real_data_dir: Path, tmp_path: Path) -> None:
    res = sweep(
        real_data_dir, Momentum(), {"sizing_method": list(SIZING_METHODS)},
        backtest_config=BASE_BT, keep_best=5, progress=False,
    )  # fmt: skip
    assert res.frame["error"].null_count() == 5
    out = tmp_path / "real.png"
    plot_sizing_comparison(res, path=out)
    assert out.stat().st_size > 10_000
    # the row for one method equals the engine on the same folder
    alone = BacktestEngine(BASE_BT, PortfolioConfig(sizing_method="RiskParity")).run(
        real_data_dir, Momentum()
    )
    row = res.frame.filter(pl.col("sizing_method") == "RiskParity").row(0, named=True)
    assert row["total_return"] == alone.metrics.total_return
    assert row["n_trades"] == alone.metrics.n_trades


def test_cost_filter_is_a_sweep_axis_with_its_rejection_count() -> None:
    from dollarbill_research.strategies import IronCondor

    data = synthetic_universe(n_symbols=6, n_bars=300, seed=5)
    frame = sweep(
        data, IronCondor(), {"max_round_trip_cost_pct": [0.0, 10.0]}, progress=False
    ).frame
    for row in frame.iter_rows(named=True):
        config = BacktestConfig(max_round_trip_cost_pct=row["max_round_trip_cost_pct"])
        alone = BacktestEngine(config).run(data, IronCondor())
        reasons = alone.raw.rejections["reason"]
        assert row["n_trades"] == alone.metrics.n_trades
        assert row["rejected_cost"] == int(np.count_nonzero(reasons >> codes.R_COST & 1))
    assert frame["rejected_cost"].to_list()[0] == 0 < frame["rejected_cost"].to_list()[1]
