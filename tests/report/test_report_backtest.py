"""result.report(path): every section, metrics equal to result.metrics, self-contained, stable."""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestResult
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.report._html import format_metric
from dollarbill_research.report.backtest import SECTION_IDS


class _Page(HTMLParser):
    """Sections (id -> text), the metrics table rows, every URL-bearing attribute, images."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.headings: dict[str, str] = {}
        self.urls: list[str] = []
        self.images: list[str] = []
        self.section_images: dict[str, int] = {}
        self.tags: set[str] = set()
        self.metrics: list[tuple[str, str, str]] = []
        self._section: str | None = None
        self._in_h2 = False
        self._metrics_depth = 0
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for key in ("href", "src", "action", "srcset", "data"):
            if key in a:
                self.urls.append(a[key] or "")
        if tag == "img":
            self.images.append(a.get("src") or "")
            if self._section is not None:
                self.section_images[self._section] = self.section_images.get(self._section, 0) + 1
        if tag == "section":
            self._section = a["id"]
            self.sections[self._section] = []
        if tag == "h2":
            self._in_h2 = True
        if tag == "table" and "metrics" in (a.get("class") or "").split():
            self._metrics_depth = 1
        if self._metrics_depth and tag in ("th", "td"):
            self._cell = []
            if tag == "td":
                self._value = a.get("data-value")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        if self._metrics_depth and tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        if self._metrics_depth and tag == "tr":
            self.metrics.append((self._row[0], self._row[1], self._value or ""))
            self._row = []
        if tag == "table" and self._metrics_depth:
            self._metrics_depth = 0

    def handle_data(self, data):
        if self._section is not None:
            self.sections[self._section].append(data)
            if self._in_h2:
                self.headings[self._section] = data
        if self._cell is not None:
            self._cell.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def report(managed, tmp_path_factory) -> Path:
    return managed.report(tmp_path_factory.mktemp("rep") / "report.html")


def test_every_section_is_present_and_not_empty(report, managed):
    page = _parse(report)
    assert list(page.sections) == list(SECTION_IDS)
    for sid in SECTION_IDS:
        body = "".join(page.sections[sid]).replace(page.headings[sid], "", 1).strip()
        assert body or page.section_images.get(sid), f"section {sid} is empty"
    for sid in ("equity", "calendar", "rolling-sharpe", "exposure", "greeks", "rejections"):
        assert page.section_images.get(sid) == 1, sid
    text = "".join(page.sections["greeks"])
    assert "15.00%" in text  # the run's delta limit, next to the largest delta seen
    breaches = "".join(page.sections["breaches"])
    if managed.breaches.height:  # the breach policy acted (issue 11): its records are listed
        assert f"{managed.breaches.height} breach records" in breaches
    else:
        assert "no limit breaches" in breaches
    assert "Momentum" in "".join(page.sections["attribution"])


def test_metrics_shown_equal_result_metrics(report, managed):
    page = _parse(report)
    expected = managed.metrics.to_dict()
    shown = {name: (text, value) for name, text, value in page.metrics}
    assert set(shown) == set(expected)
    for name, value in expected.items():
        text, exact = shown[name]
        parsed = float(exact)
        assert parsed == value or (math.isnan(parsed) and math.isnan(value)), name
        assert text == format_metric(name, value)
    # the headline figures the way a reader sees them
    assert shown["total_return"][0] == f"{managed.metrics.total_return * 100:.2f}%"
    assert shown["sharpe_ratio"][0] == f"{managed.metrics.sharpe_ratio:.3f}"


def test_report_is_self_contained(report):
    page = _parse(report)
    assert page.images, "no figure"
    # equity, calendar, rolling Sharpe, exposure, greeks, rejections, P&L per strategy
    assert len(page.images) == 7
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for url in page.urls:
        assert url.startswith(("#", "data:")), url
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert "@import" not in report.read_text()
    assert "url(" not in report.read_text().split("<body>")[0]


def test_report_is_deterministic_and_survives_save_and_load(managed, report, tmp_path):
    again = managed.report(tmp_path / "again.html")
    assert again.read_bytes() == report.read_bytes()
    saved = managed.save(tmp_path / "run.zip")
    loaded = BacktestResult.load(saved)
    assert loaded.report(tmp_path / "loaded.html").read_bytes() == report.read_bytes()


def test_unmanaged_run_says_fixed_sizing_and_no_limits(unmanaged, tmp_path):
    page = _parse(unmanaged.report(tmp_path / "u.html"))
    assert "portfolio management is off" in "".join(page.sections["diagnosis"])
    assert "no exposure limits applied" in "".join(page.sections["greeks"])


def test_breaches_are_rendered_when_the_result_has_them(managed):
    import polars as pl

    from dollarbill_research.report.backtest import _breaches_section

    class WithBreaches:  # the breaches frame's documented columns
        breaches = pl.DataFrame({
            "timestamp": [1, 2, 3], "exposure": ["delta", "delta", "vega"],
            "value": [0.35, 0.33, 0.2], "limit": [0.3, 0.3, 0.15],
            "action": ["reduce", "block", "hedge"], "symbols": [["A"], ["A", "B"], ["C"]],
            "value_after": [0.3, 0.33, 0.15], "note": ["", "", ""],
        })  # fmt: skip

    html = _breaches_section(WithBreaches())  # type: ignore[arg-type]
    assert "3 breach records" in html
    assert "reduce" in html
    assert "hedge" in html
    assert "value (%)" in html
    assert ">35<" in html  # 0.35 of equity shown as 35 (%)
    assert "A; B" in html
    import dataclasses

    quiet = dataclasses.replace(managed, breaches=managed.breaches.clear())
    assert "recorded no" in _breaches_section(quiet)


def test_bad_output_paths_fail_before_any_work(managed, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        managed.report(tmp_path / "missing" / "r.html")
    with pytest.raises(ConfigError, match="is a folder"):
        managed.report(tmp_path)


@pytest.mark.parametrize("dtype", [pl.Date, pl.Datetime("us", "America/New_York")])
def test_report_accepts_the_input_timestamp_dtype(managed, dtype, tmp_path):
    """Result frames may carry the input's Date or zoned timestamps (as the loaders give them)."""
    import dataclasses

    def cast(frame: pl.DataFrame) -> pl.DataFrame:
        if dtype == pl.Date:
            return frame.with_columns(pl.col("timestamp").dt.date())
        naive = pl.col("timestamp").cast(pl.Datetime("us"))  # results of Date inputs are dates
        return frame.with_columns(naive.dt.replace_time_zone("America/New_York"))

    changed = dataclasses.replace(managed, equity=cast(managed.equity),
                                  trades=cast(managed.trades),
                                  rejections=cast(managed.rejections))  # fmt: skip
    page = _parse(changed.report(tmp_path / "tz.html"))
    assert list(page.sections) == list(SECTION_IDS)
    text = "".join(page.sections["drawdowns"])
    first = str(changed.equity["timestamp"][0])[:10]
    assert first in "".join(page.sections["run"])
    assert "20" in text
