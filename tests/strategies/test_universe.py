"""Every strategy fires on the synthetic universe and on the real histories, none on every bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dollarbill_research.data import load_csv, synthetic_universe, to_panel
from dollarbill_research.kernels.codes import SIG_EXIT, SIG_LONG, SIG_SHORT
from dollarbill_research.strategies import Combined, PersonalityStrategy, default_strategies


def _check_counts(label: str, frame) -> None:
    panel = to_panel(frame)
    usable = panel.valid.sum()
    for strategy in (Combined(default_strategies()), PersonalityStrategy()):
        sig = strategy.signals(frame, panel)
        for i, name in enumerate(sig.strategies):
            s = sig.signal[i]
            n_long = int((s == SIG_LONG).sum())
            n_short = int((s == SIG_SHORT).sum())
            n_exit = int((s == SIG_EXIT).sum())
            print(
                f"{label} {type(strategy).__name__:>19} {name:<26} long={n_long:5d} "
                f"short={n_short:5d} exit={n_exit:5d} of {usable} symbol-bars"
            )
            assert n_long + n_short > 0, f"{name} never fires on {label}"
            # never on every bar: at most a small share of symbol-bars, and no symbol always on
            assert (s != 0).sum() < 0.5 * usable
            assert not (s != 0).all(axis=0).any()


def test_every_strategy_fires_on_the_synthetic_universe() -> None:
    _check_counts("synthetic", synthetic_universe(n_symbols=20, n_bars=1260, seed=7))


@pytest.mark.realdata
def test_every_strategy_fires_on_real_data(real_data_dir: Path) -> None:
    _check_counts("real", load_csv(real_data_dir))


def test_signals_frame_is_long_and_matches_the_block() -> None:
    frame = synthetic_universe(n_symbols=4, n_bars=400, seed=2)
    panel = to_panel(frame)
    sig = Combined(default_strategies()).signals(frame, panel)
    long = sig.to_frame(panel)
    assert long.columns == [
        "symbol",
        "timestamp",
        "strategy",
        "signal",
        "signal_name",
        "confidence",
    ]
    assert long.height == int(np.count_nonzero(sig.signal))
    row = long.row(0, named=True)
    k = sig.strategies.index(row["strategy"])
    t = int(np.nonzero(panel.timestamps == np.datetime64(row["timestamp"], "ns"))[0][0])
    j = panel.symbols.index(row["symbol"])
    assert sig.signal[k, t, j] == row["signal"]
    assert sig.confidence[k, t, j] == row["confidence"]
    full = sig.to_frame(panel, active_only=False)
    assert full.height == sig.signal.size
