"""The main job: ``python -m dollarbill_research demo``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dollarbill_research.__main__ import main


def test_demo_runs_small_universe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--symbols", "6", "--bars", "400", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "With / without portfolio management" in out
    for method in (
        "VolatilityBased",
        "KellyCriterion",
        "RiskParity",
        "FixedFractional",
        "FixedDollar",
    ):
        assert method in out
    assert (tmp_path / "demo_backtest.png").stat().st_size > 10_000
    assert (tmp_path / "demo_sizing_methods.png").stat().st_size > 10_000


def test_demo_rejects_too_short_history() -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--bars", "10"])


@pytest.mark.slow
def test_module_entry_point_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dollarbill_research", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0
    assert "demo" in done.stdout
