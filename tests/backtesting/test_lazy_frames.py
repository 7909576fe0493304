"""Result frames built lazily and column by column equal a slow row-by-row reference.

The reference below renders every fill, rejection and breach row by row from the records with
:func:`~dollarbill_research.kernels.codes.render_reason` and plain Python formatting (the way the
frames were built before they became lazy and columnar).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from golden.record import plain_frame as _plain
from hypothesis import given
from hypothesis import strategies as st

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.backtesting import engine as engine_module
from dollarbill_research.backtesting import frames as frames_module
from dollarbill_research.backtesting import result as result_module
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import panel_to_frame, synthetic_universe, to_panel
from dollarbill_research.kernels import codes, records
from dollarbill_research.strategies import (
    CashSecuredPuts,
    Combined,
    IronCondor,
    Momentum,
    VolatilityMeanReversion,
)

LETTER = {codes.LEG_STOCK: "S", codes.LEG_CALL: "C", codes.LEG_PUT: "P"}


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synthetic_universe(n_symbols=8, n_bars=300, seed=5)


def _hedged(frame: pl.DataFrame) -> BacktestResult:
    limits = RiskLimits(max_portfolio_delta=0.1, max_var_pct=1.0, max_concentration_pct=15.0,
                        breach_policy="hedge")  # fmt: skip
    engine = BacktestEngine.with_portfolio(BacktestConfig(), PortfolioConfig(risk_limits=limits))
    strategy = Combined((VolatilityMeanReversion(), Momentum(), IronCondor(), CashSecuredPuts()))
    return engine.run(frame, strategy)


@pytest.fixture(scope="module")
def hedged(frame: pl.DataFrame) -> BacktestResult:
    return _hedged(frame)


def _texts(rec, field, warning, res, limits):
    table = codes.WARNING_TEXT if warning else codes.REASON_TEXT
    values = {
        codes.R_DELTA: abs(float(rec["p_delta"])) * 100.0,
        codes.R_GAMMA: abs(float(rec["p_gamma"])) * 100.0,
        codes.R_VEGA: abs(float(rec["p_vega"])) * 100.0,
        codes.R_CONCENTRATION: float(rec["p_concentration"]) * 100.0,
        codes.R_SECTOR: float(rec["p_sector"]) * 100.0,
        codes.R_VAR: float(rec["p_var95"]) * 100.0,
        codes.R_CASH: float(rec["cash_needed"]) * 100.0,
    }
    return [
        codes.render_reason(
            bit,
            value=values.get(bit, math.nan),
            limit=limits.get(bit, math.nan),
            strategy=res.strategies[int(rec["strategy"])],
            symbol=res.symbols[int(rec["symbol"])],
            warning=warning,
        )
        for bit in codes.mask_bits(int(rec[field]))
        if bit in table
    ]


def _limits(res: BacktestResult) -> dict[int, float]:
    pp = res.portfolio_config.to_kernel()
    maxpos = result_module.max_positions_limit(res.config, pp)
    return {
        codes.R_DELTA: pp[codes.PP_MAX_DELTA] * 100.0,
        codes.R_GAMMA: pp[codes.PP_MAX_GAMMA] * 100.0,
        codes.R_VEGA: pp[codes.PP_MAX_VEGA] * 100.0,
        codes.R_CONCENTRATION: pp[codes.PP_MAX_CONCENTRATION_PCT],
        codes.R_SECTOR: pp[codes.PP_MAX_SECTOR_PCT], codes.R_VAR: pp[codes.PP_MAX_VAR_PCT],
        codes.R_MAX_POSITIONS: maxpos,
    }  # fmt: skip


def _legs(rec) -> str:
    parts = []
    for i in range(int(rec["n_legs"])):
        kind = int(rec[f"leg{i}_type"])
        strike = "" if kind == codes.LEG_STOCK else f"{float(rec[f'leg{i}_strike']):g}"
        parts.append(f"{float(rec[f'leg{i}_ratio']):+g} {LETTER[kind]}{strike}")
    return " ".join(parts)


def _names(mask: int) -> list[str]:
    return [codes.REASON_NAMES[b] for b in codes.mask_bits(int(mask))]


def test_trades_frame_equals_row_by_row_reference(hedged):
    res, limits = hedged, _limits(hedged)
    fills = res.raw.fills
    rows = []
    ts = res.equity["timestamp"].to_list()
    for i in range(len(fills)):
        r = fills[i]
        expiry = float(r["expiry_day"])
        rows.append({
            "timestamp": ts[int(r["bar"])], "symbol": res.symbols[int(r["symbol"])],
            "strategy": res.strategies[int(r["strategy"])],
            "instrument": codes.KIND_NAMES[int(r["kind"])], "legs": _legs(r),
            "side": "open" if r["side"] > 0 else "close", "direction": float(r["direction"]),
            "qty": float(r["qty"]), "price": float(r["price"]),
            "cash_flow": float(r["cash_flow"]), "costs": float(r["costs"]),
            "pnl": None if r["side"] > 0 or np.isnan(r["pnl"]) else float(r["pnl"]),
            "reason": codes.EXIT_NAMES[int(r["reason"])], "warnings": _names(r["warn"]),
            "warning_text": _texts(r, "warn", True, res, limits),
            "spot": float(r["spot"]), "iv": float(r["sigma"]),
            "expiry": None if not math.isfinite(expiry) else int(expiry * 86_400e9),
        })  # fmt: skip
    want = pl.DataFrame(rows, schema_overrides={"warnings": pl.List(pl.String),
                                                "warning_text": pl.List(pl.String)})  # fmt: skip
    want = want.with_columns(pl.col("expiry").cast(pl.Datetime("ns")))
    got = res.trades
    assert got.height > 50
    assert got.filter(pl.col("warnings").list.len() > 0).height > 0  # texts were exercised
    assert got["legs"].str.contains(" P").any()  # multi-leg options were exercised
    assert got.columns == want.columns
    assert _plain(got).equals(want.cast(_plain(got).schema))


def test_rejections_and_breaches_equal_row_by_row_reference(hedged):
    res, limits = hedged, _limits(hedged)
    rej = res.raw.rejections
    ts = res.equity["timestamp"].to_list()
    want = pl.DataFrame(
        [{
            "timestamp": ts[int(r["bar"])], "symbol": res.symbols[int(r["symbol"])],
            "strategy": res.strategies[int(r["strategy"])], "reasons": _names(r["reason"]),
            "text": "; ".join(_texts(r, "reason", False, res, limits)),
            "warnings": _names(r["warn"]), "units": float(r["units"]),
            "reason_mask": int(r["reason"]),
        } for r in rej],
        schema_overrides={"reasons": pl.List(pl.String), "warnings": pl.List(pl.String)},
    )  # fmt: skip
    got = res.rejections
    assert got.height > 20
    assert got["text"].str.contains("exceeds limit").any()  # value texts were exercised
    assert _plain(got).equals(want.cast(_plain(got).schema))
    br = res.raw.breaches
    want_b = pl.DataFrame(
        [{
            "timestamp": ts[int(b["bar"])], "exposure": codes.REASON_NAMES[int(b["exposure"])],
            "value": float(b["value"]), "limit": float(b["limit"]),
            "action": codes.BREACH_ACTION_NAMES[int(b["action"])],
            "symbols": [res.symbols[int(b[f"sym{k}"])]
                        for k in range(min(int(b["n_symbols"]), records.MAX_BREACH_SYMBOLS))],
            "value_after": float(b["value_after"]), "note": codes.BREACH_NOTE_TEXT[int(b["note"])],
        } for b in br],
        schema_overrides={"symbols": pl.List(pl.String)},
    )  # fmt: skip
    assert res.breaches.height > 0
    assert _plain(res.breaches).equals(want_b.cast(_plain(res.breaches).schema))


def test_frames_are_built_on_first_access_only(frame):
    res = _hedged(frame)
    slots = result_module._SLOTS

    def built(name: str) -> bool:
        return type(slots[name].__get__(res, BacktestResult)) is not result_module._Pending

    pending = [n for n in result_module.LAZY_FIELDS if not built(n)]
    assert pending == list(result_module.LAZY_FIELDS)  # nothing built by the run
    reasons = res.rejection_reasons()  # counting by reason renders no text ...
    assert not built("rejections")
    assert "text" not in reasons.columns
    assert reasons.equals(res.rejections.drop("text"))  # ... and gives the same rows
    assert res.trades is res.trades  # built once, then kept
    assert res.rejection_reasons().equals(reasons)


def test_categorical_columns_and_string_comparisons(hedged):
    t = hedged.trades
    for col in ("instrument", "side", "reason"):
        assert t.schema[col] == pl.Categorical, col
    for col in ("symbol", "strategy", "legs"):  # joins back to the bars / attribution
        assert t.schema[col] == pl.String, col
    assert hedged.rejections.schema["reasons"] == pl.List(pl.Categorical)
    assert t.filter(pl.col("symbol") == hedged.symbols[0]).height > 0
    assert t.filter(pl.col("symbol") == "NOT-A-SYMBOL").height == 0
    assert hedged.rejections.schema["text"] == pl.String


@given(st.lists(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**6, 10**6).map(lambda k: k / 20.0),  # exact halves at one decimal
    st.integers(-10**5, 10**5).map(lambda k: k / 200.0),
    st.sampled_from([0.0, -0.0, 0.05, 0.15, 0.25, 2.675, 1e9, 1e16, -1e-12]),
), max_size=40), st.sampled_from([0, 1, 2]))  # fmt: skip
def test_fixed_point_texts_equal_python_format(values, decimals):
    got = frames_module._fixed_texts(np.array(values, dtype=np.float64), decimals).to_list()
    assert got == [format(v, f".{decimals}f") for v in values]


def test_panel_with_builtin_strategy_is_not_turned_back_into_a_frame(frame, monkeypatch):
    panel = to_panel(frame)
    strategy = Combined((Momentum(), IronCondor()))
    want = BacktestEngine(BacktestConfig()).run(frame, strategy)

    def refuse(*args, **kwargs):
        raise AssertionError("panel_to_frame called")

    monkeypatch.setattr(engine_module, "panel_to_frame", refuse)
    got = BacktestEngine(BacktestConfig()).run(panel, strategy)
    assert got.raw.fills.tobytes() == want.raw.fills.tobytes()
    assert got.trades.equals(want.trades)


def test_custom_strategy_gets_the_panel_frame_without_revalidation(frame):
    panel = to_panel(frame)
    seen = {}

    class Custom:
        name = "custom"

        def signals(self, bars, p):
            seen["bars"] = bars
            return Momentum().signals(None, p)

    BacktestEngine(BacktestConfig()).run(panel, Custom())
    assert seen["bars"].equals(panel_to_frame(panel))  # the validated frame, same rows
    assert engine_module.needs_frame(Custom())
    assert not engine_module.needs_frame(Combined((Momentum(), CashSecuredPuts())))


def test_unsorted_panel_frame_without_validation_is_sorted():
    from backtesting._helpers import make_panel

    close = 100.0 + np.arange(36.0).reshape(3, 12)  # symbols S0..S11: "S10" < "S2"
    panel = make_panel(close)
    assert panel_to_frame(panel, validate=False).equals(panel_to_frame(panel))


def test_save_load_round_trip_keeps_categoricals(hedged, tmp_path):
    back = BacktestResult.load(hedged.save(tmp_path / "r.zip"))
    for name in ("trades", "rejections", "breaches", "equity", "attribution"):
        a, b = getattr(hedged, name), getattr(back, name)
        assert a.schema == b.schema, name
        assert a.equals(b), name


def test_row_by_row_and_columnar_paths_agree(hedged, monkeypatch):
    """A live bar's few records take the row-by-row path; both give the same frames."""
    pp = hedged.portfolio_config.to_kernel()
    maxpos = result_module.max_positions_limit(hedged.config, pp)
    ts = hedged.raw.equity["cash"].shape[0]
    stamps = np.arange(ts).astype("datetime64[D]").astype("datetime64[ns]")
    args = (stamps, hedged.symbols, hedged.strategies, pp, maxpos)
    fills, rej = hedged.raw.fills, hedged.raw.rejections
    columnar = (frames_module.fills_frame(fills, *args), frames_module.rejections_frame(rej, *args))
    monkeypatch.setattr(frames_module, "ROW_BY_ROW_MAX", 10**9)
    by_row = (frames_module.fills_frame(fills, *args), frames_module.rejections_frame(rej, *args))
    for a, b in zip(columnar, by_row, strict=True):
        assert a.schema == b.schema
        assert a.equals(b)
