"""Jupyter: short reprs and HTML reprs, summary(), figures that never touch the backend."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.data import synthetic_universe
from dollarbill_research.kernels import codes
from dollarbill_research.live import LivePortfolio
from dollarbill_research.strategies import Combined, IronCondor, Momentum
from dollarbill_research.sweep import sweep


@pytest.fixture(scope="module")
def big() -> BacktestResult:
    frame = synthetic_universe(n_symbols=12, n_bars=600, seed=3)
    config = BacktestConfig(use_portfolio_management=True)
    return BacktestEngine(config).run(frame, Combined((Momentum(), IronCondor())))


def test_result_repr_is_short_and_names_the_headline(big):
    text = repr(big)
    assert len(text.encode()) < 2048
    assert text.startswith("BacktestResult(")
    assert f"{big.metrics.total_return * 100:.2f}%" in text
    assert f"{big.rejections.height}" in text
    assert len(text.splitlines()) <= 6
    html = big._repr_html_()
    assert len(html) < 8000
    assert "<table" in html
    assert f"{big.metrics.sharpe_ratio:.3f}" in html


def test_metrics_repr_is_a_few_lines(big):
    text = repr(big.metrics)
    assert len(text) < 2048
    assert 1 < len(text.splitlines()) <= 6
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "sharpe_ratio=" in text
    assert "<table" in big.metrics._repr_html_()


def test_summary_values_equal_the_metrics(big):
    frame = big.summary()
    assert frame.schema == pl.Schema({"name": pl.String, "value": pl.Float64, "display": pl.String})
    values = dict(zip(frame["name"].to_list(), frame["value"].to_list(), strict=True))
    for name, value in big.metrics.to_dict().items():
        assert values[name] == pytest.approx(value, nan_ok=True)
    assert values["bars"] == big.equity.height
    assert values["final_equity"] == big.equity["equity"][-1]
    assert values["n_rejections"] == big.rejections.height
    shown = dict(zip(frame["name"].to_list(), frame["display"].to_list(), strict=True))
    assert shown["total_return"] == f"{big.metrics.total_return * 100:.2f}%"


def test_sweep_repr_and_html():
    frame = synthetic_universe(n_symbols=3, n_bars=150, seed=1)
    config = BacktestConfig(use_portfolio_management=True)
    res = sweep(frame, Momentum(), {"max_risk_per_trade": [1.0, 2.0, 3.0]}, progress=False,
                n_jobs=1, backtest_config=config)  # fmt: skip
    assert len(repr(res)) < 2048
    assert "<table" in res._repr_html_()


def test_decisions_repr_is_short():
    tpl = np.zeros((1, 2, codes.TEMPLATE_LEN))
    tpl[:, :, codes.T_DIRECTION] = 1.0
    n_sym = 40
    live = LivePortfolio(
        BacktestConfig(use_portfolio_management=True, max_positions=0),
        PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=1.0,
                        risk_limits=RiskLimits(max_portfolio_delta=0.2)),
        symbols=tuple(f"S{j:02d}" for j in range(n_sym)), strategies=("Momentum",),
        templates=tpl,
    )  # fmt: skip
    d = live.on_bar(np.datetime64("2024-01-02"), close=np.full(n_sym, 100.0),
                    iv=np.full(n_sym, 0.3), signal=np.ones((1, n_sym), np.int8),
                    confidence=np.full((1, n_sym), 0.5))  # fmt: skip
    assert d.orders.height > 5
    assert d.rejections.height > 5
    text = repr(d)
    assert len(text.encode()) < 2048
    assert text.startswith("Decisions(2024-01-02")
    assert "more" in text
    html = d._repr_html_()
    assert "orders" in html
    assert "rejections" in html


_BACKEND_SCRIPT = textwrap.dedent(
    """
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
    from dollarbill_research.data import synthetic_universe
    from dollarbill_research.plotting import plot_heatmap, plot_sizing_comparison
    from dollarbill_research.strategies import Momentum
    from dollarbill_research.sweep import sweep

    frame = synthetic_universe(n_symbols=3, n_bars=150, seed=1)
    res = BacktestEngine(BacktestConfig(use_portfolio_management=True)).run(frame, Momentum())
    figs = [res.plot()]
    grid = {"max_risk_per_trade": [1.0, 2.0], "max_position_pct": [5.0, 9.0]}
    sw = sweep(frame, Momentum(), grid, progress=False, n_jobs=1, keep_best=2,
               backtest_config=BacktestConfig(use_portfolio_management=True))
    figs.append(plot_heatmap(sw, "max_risk_per_trade", "max_position_pct"))
    figs.append(plot_sizing_comparison(sw))
    res.report("r.html")
    sw.report("s.html")
    assert matplotlib.get_backend() == "pdf", matplotlib.get_backend()
    assert plt.get_fignums() == [], plt.get_fignums()
    for fig in figs:
        png = fig._repr_png_()
        assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    print("OK", len(figs))
    """
)


def test_plotting_never_changes_the_backend_or_pyplot_state(tmp_path):
    out = subprocess.run([sys.executable, "-c", _BACKEND_SCRIPT], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK 3" in out.stdout


@pytest.mark.slow
def test_figures_display_inline_in_a_notebook_without_pyplot(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import matplotlib\nbefore = matplotlib.get_backend()\n"
            "import polars as pl\nfrom dollarbill_research.plotting import plot_heatmap\n"
            "frame = pl.DataFrame({'a': [1, 1, 2, 2], 'b': [1, 2, 1, 2], "
            "'sharpe_ratio': [0.1, 0.2, 0.3, 0.4], 'config_id': [0, 1, 2, 3]})\n"
            "plot_heatmap(frame, 'a', 'b')"
        ),
        nbformat.v4.new_code_cell("print(before == matplotlib.get_backend())"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = nb.cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    assert nb.cells[1].outputs[0]["text"].strip() == "True"
