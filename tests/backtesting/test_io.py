"""result.save / BacktestResult.load: exact round trip, atomic write, clear errors."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dollarbill_research.backtesting import BacktestConfig, BacktestEngine, BacktestResult
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.exceptions import ConfigError, StateError
from dollarbill_research.strategies import Combined, IronCondor, Momentum


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    frame = synthetic_universe(n_symbols=4, n_bars=250, seed=9)
    pc = PortfolioConfig(sizing_method="KellyCriterion")
    config = BacktestConfig(use_portfolio_management=True, stop_loss_pct=None)
    return BacktestEngine(config, pc).run(frame, Combined((Momentum(), IronCondor())))


def test_round_trip_is_exact(result, tmp_path):
    path = result.save(tmp_path / "run.zip")
    loaded = BacktestResult.load(path)
    for f in dataclasses.fields(BacktestResult):
        a, b = getattr(result, f.name), getattr(loaded, f.name)
        if f.name == "raw":
            for name in ("fills", "rejections", "equity", "stats", "positions", "strat_pnl"):
                x, y = getattr(a, name), getattr(b, name)
                assert x.dtype == y.dtype, name
                assert x.tobytes() == y.tobytes(), name
        elif hasattr(a, "equals"):
            assert a.equals(b), f.name
            assert a.schema == b.schema, f.name
        else:
            assert a == b, f.name
    assert loaded.config.stop_loss_pct is None
    assert loaded.portfolio_config.sizing_method.value == "KellyCriterion"
    # deterministic bytes
    assert result.save(tmp_path / "again.zip").read_bytes() == path.read_bytes()
    # NaN metrics survive (the JSON carries no bare NaN)
    manifest = zipfile.ZipFile(path).read("manifest.json").decode()
    assert "NaN" not in manifest
    assert "Infinity" not in manifest


def test_config_is_a_copy(tmp_path):
    frame = synthetic_universe(n_symbols=2, n_bars=120, seed=1)
    config = BacktestConfig(use_portfolio_management=True)
    res = BacktestEngine(config).run(frame, Momentum())
    config.position_size_pct = 55.0
    assert res.config.position_size_pct == 10.0


def test_damaged_files_raise_state_error_naming_the_file(result, tmp_path):
    good = result.save(tmp_path / "good.zip").read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(StateError, match=r"truncated\.zip.*damaged"):
        BacktestResult.load(truncated)
    flipped = bytearray(good)
    middle = len(flipped) // 2
    flipped[middle : middle + 64] = bytes(64)
    (tmp_path / "flipped.zip").write_bytes(bytes(flipped))
    with pytest.raises(StateError, match=r"flipped\.zip"):
        BacktestResult.load(tmp_path / "flipped.zip")
    (tmp_path / "other.zip").write_bytes(_zip_with({"manifest.json": b'{"format": "x"}'}))
    with pytest.raises(StateError, match="not a dollarbill result manifest"):
        BacktestResult.load(tmp_path / "other.zip")
    (tmp_path / "text.zip").write_text("hello")
    with pytest.raises(StateError, match=r"text\.zip.*hint: save it again"):
        BacktestResult.load(tmp_path / "text.zip")
    with pytest.raises(StateError, match="does not exist"):
        BacktestResult.load(tmp_path / "missing.zip")


def _zip_with(entries: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_save_is_atomic_and_checks_the_target(result, tmp_path, monkeypatch):
    path = result.save(tmp_path / "run.zip")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dollarbill_research.backtesting.io._parquet_bytes", boom)
    with pytest.raises(ConfigError, match="No space left"):
        result.save(path)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zip"]  # no temporary left
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="does not exist"):
        result.save(tmp_path / "nope" / "r.zip")
    with pytest.raises(ConfigError, match="is a folder"):
        result.save(tmp_path)
    assert isinstance(path, Path)
    assert np.isfinite(BacktestResult.load(path).equity["equity"].to_numpy()).all()
