"""BotConfig: the seed's JSON block as printed, mapping onto our configs, clear errors."""

from __future__ import annotations

import json

import pytest

from dollarbill_research.config.bot import BotConfig, strip_json_comments
from dollarbill_research.config.portfolio import SizingMethod
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.strategies import Combined, Momentum, PersonalityStrategy

from ._bot import SEED_CONFIG


def test_seed_block_with_comments_maps_onto_our_configs(tmp_path):
    path = tmp_path / "personality_bot_config.json"
    path.write_text(SEED_CONFIG)
    cfg = BotConfig.from_json(path)
    bt, pc = cfg.backtest_config(), cfg.portfolio_config()
    assert bt.use_portfolio_management is True
    assert bt.max_positions == 5
    assert bt.stop_loss_pct == pytest.approx(15.0)
    assert bt.take_profit_pct == pytest.approx(30.0)
    assert bt.initial_capital == 100_000.0
    assert bt.position_size_units == 0  # PM on: sizing by the portfolio manager
    assert pc.sizing_method is SizingMethod.VolatilityBased
    assert (pc.max_risk_per_trade, pc.max_position_pct) == (2.0, 10.0)
    assert pc.risk_limits.max_portfolio_delta == pytest.approx(0.30)
    assert pc.risk_limits.max_concentration_pct == 20.0
    assert cfg.safety.max_daily_trades == 10
    strategy = cfg.strategy()
    assert isinstance(strategy, PersonalityStrategy)
    assert strategy.min_confidence == pytest.approx(0.30)


def test_disabled_portfolio_uses_fixed_shares_and_no_checks():
    cfg = BotConfig.from_json(SEED_CONFIG.replace('"enabled": true', '"enabled": false'))
    assert cfg.portfolio_config() is None
    bt = cfg.backtest_config()
    assert bt.use_portfolio_management is False
    assert bt.position_size_units == 10


def test_comment_markers_inside_strings_survive():
    text = '{"bot": {"id": "a//b"}} // tail'
    assert json.loads(strip_json_comments(text)) == {"bot": {"id": "a//b"}}


def test_optional_symbols_and_strategies():
    cfg = BotConfig.from_json(
        '{"trading": {"symbols": ["AAPL", "SPY"], "strategies": ["Momentum", "Breakout"],'
        ' "min_confidence": 0.4}}'
    )
    assert cfg.symbols == ("AAPL", "SPY")
    s = cfg.strategy()
    assert isinstance(s, Combined)
    assert [x.name for x in s.strategies] == ["Momentum", "Breakout"]
    assert all(x.min_confidence == pytest.approx(0.4) for x in s.strategies)
    one = BotConfig.from_json('{"trading": {"strategies": ["Momentum"]}}').strategy()
    assert isinstance(one, Momentum)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"portfolio": {"sizing_method": "Kelly"}}',
         r"portfolio\.sizing_method='Kelly' is not one of .*KellyCriterion.*hint: did you mean "
         r"'KellyCriterion'"),
        ('{"trading": {"max_positon": 5}}',
         r"unknown key 'trading\.max_positon'.*hint: did you mean trading\.'max_positions'"),
        ('{"trading": {"risk_management": {"stop_loss_pct": -1}}}',
         r"trading\.risk_management\.stop_loss_pct=-1 must be a number in \[0, 10\]; hint"),
        ('{"portfolio": {"enabled": "yes"}}', r"portfolio\.enabled='yes' must be true or false"),
        ('{"trading": {"strategies": ["Momentun"]}}',
         r"unknown strategy 'Momentun'.*did you mean 'Momentum'"),
        ('{"trading": {"min_confidence": 30}}', r"trading\.min_confidence=30 must be .*\[0, 1\]"),
        ('{"portfolo": {}}', r"unknown key 'portfolo'.*did you mean 'portfolio'"),
        ('{"trading": {"symbols": "AAPL"}}', r"trading\.symbols='AAPL' must be a non-empty list"),
    ],
)  # fmt: skip
def test_errors_name_file_key_value_and_hint(tmp_path, text, match):
    path = tmp_path / "cfg.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        BotConfig.from_json(path)
    assert str(path) in str(err.value)
    assert "hint" in str(err.value) or "must be" in str(err.value)


def test_invalid_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"trading": {"max_positions": 5,,}}')
    with pytest.raises(ConfigError, match=r"bad\.json: invalid JSON at line 1"):
        BotConfig.from_json(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        BotConfig.from_json(tmp_path / "missing.json")
