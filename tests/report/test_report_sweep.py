"""sweep_result.report(path): ranking, heatmaps of swept pairs, best curves, rejections."""

from __future__ import annotations

from html.parser import HTMLParser

import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.report.sweep import SWEEP_SECTION_IDS, swept_axes
from dollarbill_research.strategies import Momentum
from dollarbill_research.sweep import sweep


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.text: dict[str, str] = {}
        self.images: dict[str, int] = {}
        self.ranking_ids: list[int] = []
        self._ranking = False
        self._col = -1
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.current = a["id"]
            self.text[self.current] = ""
        if tag == "img" and self.current:
            assert (a.get("src") or "").startswith("data:image/png;base64,")
            self.images[self.current] = self.images.get(self.current, 0) + 1
        if tag == "table" and a.get("class") == "ranking":
            self._ranking = True
        if self._ranking and tag == "tr":
            self._col = -1
        if self._ranking and tag == "td":
            self._col += 1
            self._in_td = self._col == 0

    def handle_endtag(self, tag):
        if tag == "table":
            self._ranking = False
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self.current:
            self.text[self.current] += data
        if self._in_td:
            self.ranking_ids.append(int(data.replace(",", "")))


@pytest.fixture(scope="module")
def swept():
    frame = synthetic_universe(n_symbols=4, n_bars=260, seed=2)
    grid = {"sizing_method": ["VolatilityBased", "FixedFractional", "FixedDollar"],
            "max_risk_per_trade": [1.0, 3.0], "max_portfolio_delta": [0.05, 0.5]}  # fmt: skip
    return sweep(frame, Momentum(), grid, keep_best=3, progress=False, n_jobs=1,
                 backtest_config=BacktestConfig(use_portfolio_management=True))  # fmt: skip


def test_sweep_report_sections(swept, tmp_path):
    path = swept.report(tmp_path / "sweep.html")
    page = _Sections()
    page.feed(path.read_text(encoding="utf-8"))
    assert list(page.text) == list(SWEEP_SECTION_IDS)
    assert swept_axes(swept) == ["sizing_method", "max_risk_per_trade", "max_portfolio_delta"]
    assert page.images["heatmaps"] == 3  # every pair of the three swept axes
    assert page.images["best-curves"] == 1
    assert page.images["rejections"] == 1
    # the ranking table lists the best configurations in order
    assert page.ranking_ids == swept.best(20)["config_id"].to_list()
    assert "not computed for this sweep" in page.text["selection-bias"]
    assert "Every configuration ran" in page.text["errors"]
    assert path.read_bytes() == swept.report(tmp_path / "again.html").read_bytes()


def test_sweep_rejection_counts_per_configuration_are_shown(swept, tmp_path):
    frame = swept.frame
    tight = frame.filter(pl.col("max_portfolio_delta") == 0.05)
    assert tight["rejected_delta"].sum() > 0
    html = swept.report(tmp_path / "s.html").read_text()
    rej = html.split('id="rejections"')[1].split("</section>")[0]
    for count in tight["n_rejections"].to_list():
        assert f">{count:,d}<" in rej


def test_one_axis_sweep_explains_the_missing_heatmap(tmp_path):
    frame = synthetic_universe(n_symbols=3, n_bars=200, seed=1)
    res = sweep(frame, Momentum(), {"max_risk_per_trade": [1.0, 2.0]}, progress=False, n_jobs=1,
                backtest_config=BacktestConfig(use_portfolio_management=True))  # fmt: skip
    html = res.report(tmp_path / "one.html").read_text()
    assert "Fewer than two parameters vary" in html
    assert "keep_best=5" in html
    assert "<strong>SweepResult(" in res._repr_html_()


def test_failed_configurations_are_listed(tmp_path):
    frame = synthetic_universe(n_symbols=3, n_bars=150, seed=1)
    grid = {"max_risk_per_trade": [-1.0, 2.0], "max_position_pct": [5.0, 9.0]}
    res = sweep(frame, Momentum(), grid, progress=False, n_jobs=1,
                backtest_config=BacktestConfig(use_portfolio_management=True))  # fmt: skip
    failed = res.frame.filter(pl.col("error").is_not_null())
    assert failed.height == 2
    html = res.report(tmp_path / "e.html").read_text()
    errors = html.split('id="errors"')[1].split("</section>")[0]
    assert "max_risk_per_trade" in errors
    assert errors.count("<tr>") == 1 + 2  # header and the two failed rows
