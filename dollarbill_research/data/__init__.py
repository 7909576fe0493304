"""Data layer: load and validate bar frames, align them into panels, synthetic universe, features.

The canonical long bar frame is described in :mod:`dollarbill_research.data.schema`; every loader
returns it validated. :func:`to_panel` is the hand-off to the kernels.
"""

from __future__ import annotations

from dollarbill_research.data.features import (
    garman_klass_vol,
    iv_proxy,
    iv_proxy_panel,
    log_returns,
    parkinson_vol,
    realized_vol,
    realized_vol_panel,
)
from dollarbill_research.data.load import load_bars, load_csv, load_parquet, symbol_from_filename
from dollarbill_research.data.panel import Panel, panel_to_frame, proxy_iv_mask, to_panel
from dollarbill_research.data.synthetic import SyntheticParams, synthetic_params, synthetic_universe
from dollarbill_research.data.validate import validate_bars
from dollarbill_research.exceptions import DataError

__all__ = [
    "DataError",
    "Panel",
    "SyntheticParams",
    "garman_klass_vol",
    "iv_proxy",
    "iv_proxy_panel",
    "load_bars",
    "load_csv",
    "load_parquet",
    "log_returns",
    "panel_to_frame",
    "parkinson_vol",
    "proxy_iv_mask",
    "realized_vol",
    "realized_vol_panel",
    "symbol_from_filename",
    "synthetic_params",
    "synthetic_universe",
    "to_panel",
    "validate_bars",
]
