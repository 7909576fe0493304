"""Shared helpers of the bot tests: the seed's config block, fast state directories."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SEED_CONFIG = """{
  "trading": {
    "position_size_shares": 10,  // Fallback if portfolio mgmt disabled
    "max_positions": 5,
    "risk_management": {
      "stop_loss_pct": 0.15,
      "take_profit_pct": 0.30,
      "max_daily_trades": 10
    },
    "min_confidence": 0.30
  },
  "portfolio": {
    "enabled": true,                   // Enable portfolio management
    "initial_capital": 100000.0,       // Starting capital
    "max_risk_per_trade": 2.0,         // 2% risk per trade
    "max_position_pct": 10.0,          // 10% max position size
    "sizing_method": "VolatilityBased",  // Options: VolatilityBased, KellyCriterion, RiskParity
    "max_portfolio_delta": 0.30,       // 30% max portfolio delta
    "max_concentration_pct": 20.0      // 20% max single position
  }
}
"""


def fast_dir(prefix: str = "dbr-bot-") -> Path:
    """A fresh folder on tmpfs when there is one (fsync is free there), else under /tmp."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
