from __future__ import annotations

import json

import numpy as np
import pytest

from dollarbill_research.config.portfolio import (
    AllocationMethod,
    PortfolioConfig,
    RiskLimits,
    SizingMethod,
)
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels import codes


def test_seed_snippet_works():
    config = PortfolioConfig(
        initial_capital=100_000.0,
        max_risk_per_trade=2.0,
        max_position_pct=10.0,
        sizing_method=SizingMethod.VolatilityBased,
        risk_limits=RiskLimits(max_portfolio_delta=0.30, max_concentration_pct=20.0),
    )
    assert config.risk_limits.max_portfolio_gamma == 0.10  # ..Default::default()
    assert config.risk_limits.warn_fraction == 0.8


def test_spec_defaults():
    c = PortfolioConfig()
    assert (c.initial_capital, c.max_risk_per_trade, c.max_position_pct) == (1e5, 2.0, 10.0)
    assert c.sizing_method is SizingMethod.VolatilityBased
    assert c.allocation_method is AllocationMethod.RiskParity
    assert (c.kelly_fraction, c.kelly_cap, c.kelly_min_trades) == (0.5, 0.25, 20)
    r = c.risk_limits
    assert (r.max_portfolio_delta, r.max_portfolio_gamma, r.max_portfolio_vega) == (0.3, 0.1, 0.15)
    assert (r.max_concentration_pct, r.max_var_pct, r.max_sector_exposure_pct) == (20, 10, 40)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_position_pct": 150.0}, "PortfolioConfig.max_position_pct=150.0 must be in (0, 100]"),
        ({"initial_capital": -1.0}, "PortfolioConfig.initial_capital=-1.0 must be in (0, inf]"),
        ({"sizing_method": "Martingale"}, "PortfolioConfig.sizing_method='Martingale'"),
        ({"kelly_min_trades": 2.5}, "PortfolioConfig.kelly_min_trades=2.5 must be an integer"),
        ({"var_window": 1}, "PortfolioConfig.var_window=1 must be in [2, inf]"),
        ({"scale_to_fit": "yes"}, "PortfolioConfig.scale_to_fit='yes' must be a bool"),
    ],
)
def test_errors_name_the_field(kwargs, message):
    with pytest.raises(ConfigError) as err:
        PortfolioConfig(**kwargs)
    assert message in str(err.value)


def test_risk_limit_errors_and_revalidation():
    with pytest.raises(ConfigError, match=r"RiskLimits.warn_fraction=1.5 must be in \(0, 1\]"):
        RiskLimits(warn_fraction=1.5)
    config = PortfolioConfig()
    config.risk_limits.max_var_pct = 0.0  # set after construction, caught on validate()
    with pytest.raises(ConfigError, match=r"RiskLimits\.max_var_pct=0\.0"):
        config.validate()


def test_strings_accepted_and_coerced_after_construction():
    config = PortfolioConfig(sizing_method="FixedFractional", fixed_fraction_pct=1.5)
    assert config.sizing_method is SizingMethod.FixedFractional
    config.sizing_method = "KellyCriterion"
    config.allocation_method = "equalweight"
    config.validate()
    assert config.sizing_method is SizingMethod.KellyCriterion
    assert config.allocation_method is AllocationMethod.EqualWeight


def test_json_round_trip(tmp_path):
    config = PortfolioConfig(
        sizing_method="FixedDollar", fixed_dollar_amount=2500.0, scale_to_fit=True,
        max_positions=7, risk_limits=RiskLimits(max_portfolio_vega=0.2),
    )  # fmt: skip
    text = config.to_json(tmp_path / "p.json")
    assert json.loads(text)["sizing_method"] == "FixedDollar"
    assert PortfolioConfig.from_json(text) == config
    assert PortfolioConfig.from_json(tmp_path / "p.json") == config
    assert PortfolioConfig.from_dict(config.to_dict()) == config


def test_unknown_keys_rejected_by_name():
    with pytest.raises(ConfigError, match="no field 'max_risk'"):
        PortfolioConfig.from_dict({"max_risk": 2.0})
    with pytest.raises(ConfigError, match="RiskLimits has no field 'delta'"):
        PortfolioConfig.from_dict({"risk_limits": {"delta": 0.3}})
    with pytest.raises(ConfigError, match="invalid"):
        PortfolioConfig.from_json("{not json")


def test_to_kernel_layout():
    c = PortfolioConfig(sizing_method="KellyCriterion", scale_to_fit=True, max_positions=5)
    pp = c.to_kernel()
    assert pp.shape == (codes.PP_LEN,)
    assert pp.dtype == np.float64
    assert pp[codes.PP_SIZING_METHOD] == codes.SIZE_KELLY
    assert pp[codes.PP_MAX_RISK_PCT] == 2.0
    assert pp[codes.PP_MAX_DELTA] == 0.3
    assert pp[codes.PP_MAX_VAR_PCT] == 10.0
    assert pp[codes.PP_SCALE_TO_FIT] == 1.0
    assert pp[codes.PP_MAX_POSITIONS] == 5
    assert pp[codes.PP_VAR_WINDOW] == 60
    assert pp[codes.PP_ALLOCATION_METHOD] == codes.ALLOC_RISK_PARITY
    assert pp[codes.PP_STOP_DISTANCE] == 0.05
