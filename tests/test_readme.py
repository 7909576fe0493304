"""The README's Python examples run as written and print what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_two_setup_commands() -> None:
    text = README.read_text()
    assert "python -m pip install -e . && python -m dollarbill_research demo" in text
    assert 'python -m pip install -e ".[dev]" && python -m pytest' in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[dev]" && python -m pytest' in ci


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    printed = out.getvalue()
    assert printed.strip(), "every README example prints something"
    if "bs_greeks" in code:
        assert "10.450584 0.636831 0.37524" in printed
        assert "\n0.2\n" in printed
    if "PortfolioManager(" in code:
        assert "False ('Portfolio delta (32.0%) exceeds limit (30.0%)',)" in printed
        assert (
            "True ('Portfolio delta (30.0%) at limit (30.0%)', "
            "'Concentration (27.0%) above limit (20.0%)')" in printed
        )
        assert (
            "True 111 ('Portfolio delta (28.0%) approaching limit (30.0%)', "
            "'Concentration (18.0%) approaching limit (20.0%)')" in printed
        )
    if "sweep(" in code:
        assert (tmp_path / "heat.png").stat().st_size > 5_000
        assert (tmp_path / "sizing.png").stat().st_size > 10_000
    if "LivePortfolio(" in code:
        assert printed.strip().endswith("True")
        assert (tmp_path / "live_state.npz").exists()
    if "run_simple_strategy" in code:
        assert re.search(r"Total Return: -?\d+\.\d\d%", printed)
        assert re.search(r"Sharpe Ratio: (-?\d+\.\d\d|nan)", printed)
