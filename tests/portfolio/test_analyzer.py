from __future__ import annotations

import numpy as np
import pytest
from reference.portfolio_reference import ref_var

from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.portfolio import Position, RiskAnalyzer


def test_stock_book_and_var_against_reference():
    rng = np.random.default_rng(4)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, (90, 3)), axis=0))
    closes[3:9, 1] = np.nan
    book = [
        Position.shares("AAPL", "Momentum", 100, 150.0, sector="Tech"),
        Position.shares("XOM", "Mean Reversion", -50, 100.0, sector="Energy"),
    ]
    cfg = PortfolioConfig(var_window=30)
    ex = RiskAnalyzer(cfg).analyze(book, equity=50_000.0, closes=closes,
                                   symbols=("XOM", "MSFT", "AAPL"))  # fmt: skip
    assert ex.delta == pytest.approx((15_000 - 5_000) / 50_000)
    assert ex.gross == pytest.approx(0.4)
    assert ex.concentration == pytest.approx(0.3)
    assert ex.sector == pytest.approx(0.3)
    var95, var99 = ref_var(closes, 89, 30, [2, 0], [15_000.0, -5_000.0])
    assert ex.var95 == pytest.approx(var95 / 50_000, rel=1e-9)
    assert ex.var99 == pytest.approx(var99 / 50_000, rel=1e-9)


def test_without_prices_var_is_zero_and_empty_book():
    an = RiskAnalyzer(PortfolioConfig())
    assert an.analyze([Position.shares("A", "S", 10, 10.0)], equity=1e4).var95 == 0.0
    assert an.analyze([], equity=1e4).gross == 0.0
