"""sweep(..., keep_returns=True): every configuration's returns, in memory or memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting.engine import BacktestEngine
from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep

BT = BacktestConfig(use_portfolio_management=True)
GRID = {
    "sizing_method": ["VolatilityBased", "FixedFractional", "KellyCriterion"],
    "max_risk_per_trade": [1.0, -1.0, 3.0],  # -1 fails validation: a NaN column
}


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return synthetic_universe(n_symbols=5, n_bars=240, seed=4)


@pytest.fixture(scope="module")
def result(data: pl.DataFrame):  # type: ignore[no-untyped-def]
    return sweep(data, Momentum(), GRID, backtest_config=BT, keep_returns=True, n_jobs=2,
                 progress=False)  # fmt: skip


def test_returns_equal_each_engine_run(data: pl.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    kept = result.returns
    assert kept.values.dtype == np.float32
    assert kept.values.shape == (239, 9)
    assert kept.values.flags.f_contiguous
    assert kept.nbytes == 4 * 239 * 9
    assert kept.timestamps.shape == (239,)
    for row in result.frame.iter_rows(named=True):
        col = np.asarray(kept.values[:, row["config_id"]])
        if row["error"] is not None:
            assert np.isnan(col).all()
            continue
        pc = PortfolioConfig(
            sizing_method=row["sizing_method"], max_risk_per_trade=row["max_risk_per_trade"]
        )
        engine = BacktestEngine(BT, pc)
        eq = engine.run(data, Momentum()).equity["equity"].to_numpy()
        np.testing.assert_allclose(col, (eq[1:] / eq[:-1] - 1).astype(np.float32), rtol=1e-6,
                                   atol=1e-9)  # fmt: skip
    assert np.isnan(kept.risk_free_rate[~kept.valid]).all()
    assert (kept.risk_free_rate[kept.valid] == BT.risk_free_rate).all()


def test_deflated_sharpe_of_a_sweep(result) -> None:  # type: ignore[no-untyped-def]
    table = result.deflated_sharpe()
    ok = result.frame.filter(pl.col("error").is_null())
    assert table["config_id"].to_list() == ok["config_id"].to_list()  # failed rows left out
    assert set(result.param_names) <= set(table.columns)
    joined = table.join(ok.select("config_id", pl.col("sharpe_ratio").alias("frame_sr")),
                        on="config_id")  # fmt: skip
    # the same excess returns (risk_free_rate 5 %) as the frame's Sharpe, up to float32
    np.testing.assert_allclose(joined["sharpe_ratio"], joined["frame_sr"], rtol=1e-4, atol=1e-4)
    assert (table["n_trials"] == ok.height).all()
    assert (table["n_trials_effective"] <= ok.height).all()
    # the frame carries the same numbers (nulls for failed rows)
    framed = result.frame.join(table.select("config_id", pl.col("dsr").alias("t")), on="config_id",
                               how="left")  # fmt: skip
    assert framed["dsr"].null_count() == 3
    assert framed.filter(pl.col("t").is_not_null()).select((pl.col("dsr") == pl.col("t")).all())[
        0, 0
    ]
    res = result.pbo(n_splits=6)
    assert res.n_configs == ok.height
    assert set(res.chosen.tolist()) <= set(ok["config_id"].to_list())
    dsr_text, pbo_text = result.overfitting_summary()
    assert f"After {ok.height} trials" in dsr_text
    assert "chance of being at or below the median out of sample" in pbo_text


def test_memory_mapped_to_a_given_file(data: pl.DataFrame, result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "returns.f32"
    mapped = sweep(data, Momentum(), GRID, backtest_config=BT, keep_returns=path,
                   progress=False)  # fmt: skip
    assert isinstance(mapped.returns.values, np.memmap)
    assert mapped.returns.path == path
    assert path.stat().st_size == 4 * 239 * 9
    again = np.memmap(path, dtype=np.float32, mode="r", shape=(239, 9), order="F")
    np.testing.assert_array_equal(again, result.returns.values)
    assert str(path) in repr(mapped.returns)


def test_memory_mapped_to_a_temporary_file_above_the_budget(data: pl.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    mapped = sweep(data, Momentum(), GRID, backtest_config=BT, keep_returns=True,
                   returns_budget_mb=0.001, progress=False)  # fmt: skip
    assert isinstance(mapped.returns.values, np.memmap)
    assert mapped.returns.path is None
    assert "temporary" in repr(mapped.returns)
    np.testing.assert_array_equal(mapped.returns.values, result.returns.values)
    small = sweep(data, Momentum(), GRID, backtest_config=BT, keep_returns=True,
                  returns_budget_mb=1.0, progress=False)  # fmt: skip
    assert not isinstance(small.returns.values, np.memmap)


def test_symbol_subsets_are_aligned_on_the_data(data: pl.DataFrame) -> None:
    syms = sorted(set(data["symbol"].to_list()))
    first = sorted(set(data["timestamp"].to_list()))[40]
    # the subset's symbols start 40 bars late, so its bars are a part of the data's
    late = data.filter(~pl.col("symbol").is_in(syms[:2]) | (pl.col("timestamp") >= first))
    res = sweep(late, Momentum(), {"symbols": [syms[:2], syms]}, backtest_config=BT,
                keep_returns=True, progress=False)  # fmt: skip
    assert res.returns.values.shape == (239, 2)
    sub = np.asarray(res.returns.values[:, 0], dtype=np.float64)
    assert (sub[:40] == 0).all()  # before its first bar: flat
    total = res.frame["total_return"][0]
    assert abs(total) > 1e-4
    assert np.prod(1 + sub) - 1 == pytest.approx(total, rel=1e-4, abs=1e-6)


def test_no_returns_kept_is_a_clear_error(data: pl.DataFrame) -> None:
    res = sweep(data, Momentum(), {"sizing_method": ["FixedDollar"]}, backtest_config=BT,
                progress=False)  # fmt: skip
    assert res.returns is None
    with pytest.raises(ConfigError, match="keep_returns=True"):
        res.deflated_sharpe()
    with pytest.raises(ConfigError, match="keep_returns=True"):
        res.pbo()
    with pytest.raises(ConfigError, match="keep_returns"):
        sweep(data, Momentum(), {"sizing_method": ["FixedDollar"]}, keep_returns=3,  # type: ignore[arg-type]
              backtest_config=BT, progress=False)  # fmt: skip
