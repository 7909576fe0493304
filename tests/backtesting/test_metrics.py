"""compute_metrics / Metrics: closed forms, empyrical agreement, input errors."""

from __future__ import annotations

import dataclasses
import math

import empyrical
import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting.metrics import (
    EQUITY_METRIC_NAMES,
    Metrics,
    compute_metrics,
    elapsed_years,
    equity_metrics_matrix,
)
from dollarbill_research.exceptions import ConfigError, DataError
from dollarbill_research.kernels.metrics_nb import N_EQUITY_METRICS


def even_timestamps(n: int, bars_per_year: int) -> np.ndarray:
    step_ns = 365.25 * 86_400e9 / bars_per_year
    offsets = np.round(np.arange(n) * step_ns).astype(np.int64).astype("timedelta64[ns]")
    return np.datetime64("2020-01-01T00:00:00", "ns") + offsets


def test_metrics_record_is_frozen_slots_and_seed_usage_works() -> None:
    m = compute_metrics(np.array([100.0, 105.0, 103.0]), None)
    assert not hasattr(m, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.total_return = 1.0  # type: ignore[misc]
    assert f"{m.total_return * 100:.2f}%" == "3.00%"
    assert f"{m.max_drawdown * 100:.2f}%" == f"{(105 - 103) / 105 * 100:.2f}%"
    d = m.to_dict()
    assert list(d) == [f.name for f in dataclasses.fields(Metrics)]
    assert d["total_return"] == m.total_return


def test_cagr_closed_form_from_timestamps() -> None:
    ts = np.array(["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"], dtype="datetime64[D]")
    equity = np.array([100.0, 130.0, 90.0, 150.0])
    m = compute_metrics(equity, ts)
    years = (np.datetime64("2023-01-01") - np.datetime64("2020-01-01")).astype(int) / 365.25
    assert m.cagr == pytest.approx(1.5 ** (1 / years) - 1, rel=1e-12)
    assert m.max_drawdown == pytest.approx(40 / 130)
    assert m.calmar_ratio == pytest.approx(m.cagr / (40 / 130))


def test_cagr_agrees_with_empyrical_when_evenly_spaced() -> None:
    rng = np.random.default_rng(3)
    for bpy in (252, 52, 12):
        r = rng.normal(0.0005, 0.01, 300)
        equity = 1000 * np.concatenate([[1.0], np.cumprod(1 + r)])
        m = compute_metrics(equity, even_timestamps(len(equity), bpy), bars_per_year=bpy)
        assert m.cagr == pytest.approx(empyrical.cagr(r, annualization=bpy), rel=1e-9)
        assert m.calmar_ratio == pytest.approx(
            empyrical.calmar_ratio(r, annualization=bpy), rel=1e-9
        )
        assert m.sharpe_ratio == pytest.approx(
            empyrical.sharpe_ratio(r, annualization=bpy), rel=1e-9
        )


def test_polars_timestamps_accepted() -> None:
    import datetime as dt

    s = pl.Series(
        [
            dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2021, 7, 2, 12, tzinfo=dt.UTC),
        ]
    )
    years = elapsed_years(s.to_numpy(), 2)
    assert years == pytest.approx(182.5 / 365.25)
    dates = pl.Series([dt.date(2021, 1, 1), dt.date(2022, 1, 1)])
    assert elapsed_years(dates.to_numpy(), 2) == pytest.approx(365 / 365.25)


def test_trade_exposure_turnover_fields() -> None:
    equity = np.array([100.0, 100.0, 100.0, 100.0, 100.0])
    ts = even_timestamps(5, 4)  # one year elapsed
    m = compute_metrics(
        equity,
        ts,
        bars_per_year=4,
        trade_pnl=np.array([10.0, -5.0, 20.0]),
        costs=3.5,
        exposure_mask=np.array([False, True, True, False, False]),
        traded_notional=400.0,
    )
    assert m.n_trades == 3
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(30 / 5)
    assert m.avg_win == pytest.approx(15.0)
    assert m.avg_loss == pytest.approx(-5.0)
    assert m.total_costs == 3.5
    assert m.exposure == pytest.approx(2 / 5)
    assert m.turnover == pytest.approx(400 / 100 / 1.0)


def test_no_trades_and_no_mask() -> None:
    m = compute_metrics(np.array([100.0, 101.0]), None)
    assert m.n_trades == 0
    assert math.isnan(m.win_rate)
    assert math.isnan(m.exposure)
    assert math.isnan(m.sharpe_ratio)  # a single return


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"equity": np.array([])}, DataError, "non-empty"),
        ({"equity": np.array([100.0, np.nan])}, DataError, "bar 1"),
        ({"bars_per_year": 0}, ConfigError, "bars_per_year"),
        ({"risk_free_rate": math.nan}, ConfigError, "risk_free_rate"),
        ({"exposure_mask": np.array([True])}, DataError, "exposure_mask"),
        ({"costs": -1.0}, DataError, "costs"),
        ({"timestamps": np.array([2, 1])}, DataError, "timestamps"),
        (
            {"timestamps": np.array(["2021-01-02", "2021-01-01"], dtype="datetime64[D]")},
            DataError,
            "decrease at bar 1",
        ),
    ],
)
def test_input_errors(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {"equity": np.array([100.0, 101.0]), "timestamps": None}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        compute_metrics(**args)  # type: ignore[arg-type]


def test_equity_metrics_matrix_matches_compute_metrics() -> None:
    rng = np.random.default_rng(11)
    eq = 100 * np.cumprod(1 + rng.normal(0, 0.01, size=(3, 40)), axis=1)
    ts = even_timestamps(40, 252)
    out = equity_metrics_matrix(eq, ts, risk_free_rate=0.02)
    assert out.shape == (3, N_EQUITY_METRICS) == (3, len(EQUITY_METRIC_NAMES))
    for i in range(3):
        m = compute_metrics(eq[i], ts, risk_free_rate=0.02)
        for j, name in enumerate(EQUITY_METRIC_NAMES):
            assert out[i, j] == pytest.approx(getattr(m, name), rel=1e-12)
    with pytest.raises(DataError, match="2-D"):
        equity_metrics_matrix(eq[0], ts)


def test_numpy_scalars_accepted() -> None:
    m = compute_metrics(
        np.array([100.0, 101.0, 102.0]),
        None,
        bars_per_year=np.int64(252),
        costs=np.int64(3),
        traded_notional=np.float32(10.0),
    )
    assert m.total_costs == 3.0
