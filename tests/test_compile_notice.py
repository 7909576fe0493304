"""The one-line notice when kernels first compile into an empty cache (issue 12, item 7).

Kept cheap: a fresh NUMBA_CACHE_DIR and one tiny kernel, in subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dollarbill_research._compile_notice import NOTICE, cache_is_empty

ROOT = Path(__file__).resolve().parents[1]
TINY = """
import numpy as np
from dollarbill_research.kernels.panel_nb import block_to_panel_nb
print(block_to_panel_nb(np.arange(6.0), 2, 3).shape)
"""


def _run(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "DOLLARBILL_NO_COMPILE_NOTICE"}
    full.update(PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(cache), **env)
    return subprocess.run([sys.executable, "-c", TINY], capture_output=True, text=True,
                          timeout=300, env=full, check=True)  # fmt: skip


@pytest.mark.slow
def test_notice_once_with_an_empty_cache_and_never_with_a_warm_one(tmp_path: Path) -> None:
    cold = _run(tmp_path / "cache")
    assert cold.stdout.strip() == "(3, 2)"
    assert cold.stderr.count(NOTICE) == 1
    assert "dollarbill warmup" in NOTICE
    warm = _run(tmp_path / "cache")  # the kernel is cached now
    assert NOTICE not in warm.stderr
    silenced = _run(tmp_path / "other", DOLLARBILL_NO_COMPILE_NOTICE="1")
    assert NOTICE not in silenced.stderr


def test_cache_is_empty(tmp_path: Path) -> None:
    assert cache_is_empty(tmp_path / "missing")
    assert cache_is_empty(tmp_path)
    (tmp_path / "x.nbi").write_bytes(b"")
    assert not cache_is_empty(tmp_path)
    assert not cache_is_empty(None)  # an uncached kernel: nothing to say
