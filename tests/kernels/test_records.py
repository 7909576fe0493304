"""The typed records the kernels take (kernels/records.py, kernels/params.py)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dollarbill_research.config.backtest import BacktestConfig
from dollarbill_research.config.portfolio import PortfolioConfig, RiskLimits
from dollarbill_research.kernels import codes, records
from dollarbill_research.kernels.params import (
    BACKTEST_FIELDS,
    PARAMS_DTYPE,
    PORTFOLIO_FIELDS,
    make_params,
    params_rows,
    portfolio_params,
)

ROOT = Path(__file__).resolve().parents[2]


def test_named_fields_are_the_vector_entries() -> None:
    bt = BacktestConfig(commission_per_contract=0.65, stop_loss_pct=None)
    pc = PortfolioConfig(risk_limits=RiskLimits(max_portfolio_delta=0.27, breach_policy="hedge"))
    bp, pp = bt.to_kernel(), pc.to_kernel()
    params = make_params(bp, pp)
    for name, i in BACKTEST_FIELDS:
        assert params[name] == bp[i] or (np.isinf(params[name]) and np.isinf(bp[i])), name
    for name, i in PORTFOLIO_FIELDS:
        assert params[name] == pp[i], name
    assert params.max_portfolio_delta == 0.27  # the config's name, the config's value
    assert portfolio_params(pp).max_portfolio_delta == 0.27
    assert params.commission_per_contract == 0.65
    assert params.stop_loss_pct == np.inf  # a disabled stop
    assert params.breach_policy == codes.BREACH_HEDGE
    assert PARAMS_DTYPE.itemsize == 8 * (records.BP_LEN + codes.PP_LEN)


def test_sweep_rows_are_records_of_the_same_layout() -> None:
    bp = BacktestConfig().to_kernel()
    pps = np.stack([PortfolioConfig(max_risk_per_trade=r).to_kernel() for r in (1.0, 2.5)])
    rows = params_rows(bp, pps)
    assert rows.shape == (2,)
    assert rows.max_risk_per_trade.tolist() == [1.0, 2.5]
    assert rows[1].initial_capital == bp[records.BP_INITIAL_CAPITAL]


def test_records_pickle_by_name() -> None:
    # numba's cache keys the signatures on these types: module-level classes that pickle
    market = records.make_market(
        np.zeros(2), np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3), bool), np.zeros(3), 1
    )
    again = pickle.loads(pickle.dumps(market))
    assert type(again) is records.Market
    assert again.n_sectors == 1
    assert again.close.dtype == np.float64
    assert records.Book._fields == ("account", "counters", "positions", "legs", "stats")


_RUN = """
import json
import numpy as np
from dollarbill_research.backtesting import BacktestConfig, BacktestEngine
from dollarbill_research.config.portfolio import PortfolioConfig
from dollarbill_research.data import synthetic_universe
from dollarbill_research.kernels.driver_nb import run_bars_nb
from dollarbill_research.strategies import Momentum
frame = synthetic_universe(n_symbols=3, n_bars=80, seed=3)
cfg = BacktestConfig(use_portfolio_management=True)
BacktestEngine(cfg, PortfolioConfig()).run(frame, Momentum())
stats = run_bars_nb.stats
print(json.dumps([sum(stats.cache_hits.values()), sum(stats.cache_misses.values())]))
"""


@pytest.mark.slow  # about 5 s warm; the first process compiles the driver in a fresh cache
def test_a_second_process_loads_the_driver_from_the_cache() -> None:
    # records (NamedTuples, the parameter record) keep the driver cacheable: the first process
    # compiles (or loads) it, the second loads it and compiles nothing
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOLLARBILL_NO_COMPILE_NOTICE": "1"}
    outs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", _RUN], capture_output=True, text=True,
                              timeout=600, env=env, check=True)  # fmt: skip
        outs.append(done.stdout.strip().splitlines()[-1])
    hits, misses = (int(x) for x in outs[1].strip("[]").split(","))
    assert (hits, misses) == (1, 0), outs
