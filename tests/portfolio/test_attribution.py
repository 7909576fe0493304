"""attribution_frame / compare_strategies / best_strategy: layout, ordering, tie-breaks, errors."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import polars as pl
import pytest

from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.portfolio.attribution import (
    ATTRIBUTION_COLUMNS,
    TOTAL_ROW,
    attribution_frame,
    best_strategy,
    compare_strategies,
)


def _frame(**overrides: object) -> pl.DataFrame:
    args: dict[str, object] = {
        "strategy_names": ["Momentum", "IronCondor", "Breakout"],
        "trade_strategy": np.array([0, 1, 1, 2, 0], dtype=np.int64),
        "trade_pnl": np.array([120.0, -40.0, 60.0, -10.0, -30.0]),
        "trade_entry_bar": np.array([0, 0, 2, 1, 3], dtype=np.int64),
        "trade_exit_bar": np.array([2, 2, 4, 3, 4], dtype=np.int64),
        "daily_pnl": np.array(
            [
                [20.0, -10.0, 0.0],
                [50.0, -30.0, -5.0],
                [50.0, 10.0, -5.0],
                [-10.0, 40.0, 0.0],
                [-20.0, 10.0, 0.0],
            ]
        ),
        "initial_capital": 10_000.0,
    }
    args.update(overrides)
    return attribution_frame(**args)  # type: ignore[arg-type]


def test_layout_and_order() -> None:
    f = _frame()
    assert f.columns == ["strategy", *ATTRIBUTION_COLUMNS]
    assert f["strategy"].to_list() == ["Breakout", "IronCondor", "Momentum", TOTAL_ROW]
    assert f["n_trades"].dtype == pl.Int64
    assert f["n_trades"].to_list() == [1, 2, 2, 5]
    row = f.row(2, named=True)  # Momentum
    assert row["pnl"] == 90.0
    assert row["realized_pnl"] == 90.0
    assert row["win_rate"] == 0.5
    assert row["profit_factor"] == pytest.approx(4.0)
    assert row["contribution"] == pytest.approx(90 / (90 + 20 - 10))
    assert row["exposure"] == pytest.approx(3 / 5)
    assert row["avg_bars_held"] == pytest.approx(1.5)
    r = np.array([20.0, 50, 50, -10, -20]) / 10_000
    assert row["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-10)
    total = f.row(3, named=True)
    assert total["pnl"] == pytest.approx(100.0)
    assert total["contribution"] == 1.0


def test_equity_base_default_initial_capital() -> None:
    daily = np.array([[10.0, -5.0], [20.0, 5.0], [-30.0, 0.0]])
    equity = 1000.0 + np.cumsum(daily.sum(axis=1))
    f = attribution_frame(
        ["a", "b"],
        trade_strategy=np.zeros(0, dtype=np.int64),
        trade_pnl=np.zeros(0),
        daily_pnl=daily,
        equity=equity,
    )
    curve = np.concatenate([[1000.0], equity])
    r = curve[1:] / curve[:-1] - 1
    total = f.row(2, named=True)
    assert total["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-10)
    assert math.isnan(total["exposure"])  # no mask and no trade bars
    assert math.isnan(total["avg_bars_held"])


def test_open_mask_overrides_trade_bars() -> None:
    mask = np.zeros((5, 3), dtype=bool)
    mask[:, 0] = True
    f = _frame(open_mask=mask)
    assert f["exposure"].to_list() == [0.0, 0.0, 1.0, 1.0]


def test_compare_and_best_are_deterministic_with_ties() -> None:
    f = pl.DataFrame(
        {
            "strategy": ["Zeta", "Alpha", "Mid", "Nan", TOTAL_ROW],
            "sharpe": [1.5, 1.5, 0.3, float("nan"), 1.0],
            "max_drawdown": [0.1, 0.2, 0.1, 0.05, 0.1],
        }
    )
    ranked = compare_strategies(f, "sharpe")
    assert ranked["strategy"].to_list() == ["Alpha", "Zeta", "Mid", "Nan"]
    assert ranked["rank"].to_list() == [1, 2, 3, 4]
    assert best_strategy(f) == "Alpha"
    # drawdown: smaller is better, ties by name
    assert compare_strategies(f, "max_drawdown")["strategy"].to_list() == [
        "Nan",
        "Mid",
        "Zeta",
        "Alpha",
    ]
    assert best_strategy(f, "max_drawdown") == "Nan"
    ascending = compare_strategies(f, "sharpe", descending=False)
    assert ascending["strategy"].to_list() == ["Mid", "Alpha", "Zeta", "Nan"]
    # the input order never matters
    shuffled = f.sample(fraction=1.0, shuffle=True, seed=3)
    assert compare_strategies(shuffled, "sharpe").equals(ranked)


def test_best_strategy_on_real_frame() -> None:
    f = _frame()
    best = best_strategy(f, "pnl")
    assert best == "Momentum"
    assert TOTAL_ROW not in compare_strategies(f, "pnl")["strategy"].to_list()


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"strategy_names": ["a", "a", "b"]}, DataError, "unique"),
        ({"strategy_names": ["a", "Total", "b"]}, DataError, "reserved"),
        ({"trade_strategy": np.array([0, 1, 1, 3, 0])}, DataError, r"trade_strategy\[3\]=3"),
        ({"trade_strategy": np.array([0.0, 1, 1, 2, 0])}, DataError, "integer"),
        ({"daily_pnl": np.zeros((5, 2))}, DataError, "one column per strategy"),
        ({"daily_pnl": np.full((5, 3), np.nan)}, DataError, "non-finite"),
        ({"trade_exit_bar": np.array([2, 2, 1, 3, 4])}, DataError, "trade 2 exits"),
        ({"open_mask": np.zeros((4, 3), dtype=bool)}, DataError, "open_mask"),
        ({"initial_capital": None}, ConfigError, "equity or initial_capital"),
        ({"initial_capital": -5.0}, ConfigError, "initial_capital"),
    ],
)
def test_input_errors(overrides: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _frame(**overrides)


def test_compare_errors() -> None:
    f = _frame()
    with pytest.raises(ConfigError, match="not an attribution column"):
        compare_strategies(f, "alpha")
    with pytest.raises(DataError, match="no strategy rows"):
        best_strategy(f.filter(pl.col("strategy") == TOTAL_ROW))


def test_column_table_matches_kernel_layout() -> None:
    from dollarbill_research.kernels import attribution_nb as at

    assert len(ATTRIBUTION_COLUMNS) == at.N_ATTRIBUTION
    assert ATTRIBUTION_COLUMNS.index("sharpe") == at.A_SHARPE
    assert ATTRIBUTION_COLUMNS.index("exposure") == at.A_EXPOSURE
