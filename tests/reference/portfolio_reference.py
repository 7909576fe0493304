"""Slow, obvious Python versions of sizing, exposures and VaR (proof of the kernels' formulas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.6448536269514722
Z99 = 2.3263478740408408


def ref_caps(raw, equity, unit_cost, unit_max_loss, max_position_pct, max_risk_pct):
    """Largest whole n <= raw with n*cost <= equity*pos% and n*loss <= equity*risk%."""
    if not (raw > 0):
        return 0
    n = math.floor(raw)
    while n > 0 and (
        n * unit_cost > equity * max_position_pct / 100
        or n * unit_max_loss > equity * max_risk_pct / 100
    ):
        n -= 1
    return n


def ref_size(method, equity, unit_cost, unit_max_loss, unit_dollar_vol, cfg, p=0.0, b=0.0, n=0):
    """Units per SPEC 5.2 for one candidate; cfg is a dict of PortfolioConfig fields."""
    fallback = False
    if method == "FixedFractional":
        raw = equity * cfg["fixed_fraction_pct"] / 100 / unit_cost
    elif method == "FixedDollar":
        raw = cfg["fixed_dollar_amount"] / unit_cost
    elif method == "VolatilityBased":
        raw = equity * cfg["max_risk_per_trade"] / 100 / unit_dollar_vol
    elif method == "KellyCriterion":
        # at least the probe size: before the minimum trades, and while the estimate is <= 0
        probe = cfg["kelly_probe_units"]
        if n < cfg["kelly_min_trades"]:
            fallback = True
            raw = max(equity * cfg["max_risk_per_trade"] / 100 / unit_cost, probe)
        else:
            f = cfg["kelly_fraction"] * (p - (1 - p) / b) if b > 0 else 0.0
            f = min(max(f, 0.0), cfg["kelly_cap"])
            raw = max(equity * f / unit_max_loss, probe) if f > 0 else probe
    elif method == "RiskParity":
        raw = equity * cfg["max_position_pct"] / 100 / unit_cost
    else:
        raise ValueError(method)
    units = ref_caps(
        raw, equity, unit_cost, unit_max_loss, cfg["max_position_pct"], cfg["max_risk_per_trade"]
    )
    return units, fallback


def ref_returns(closes, t, window):
    """DataFrame of simple returns over bars t-window+1..t (NaN where a close is missing)."""
    c = pd.DataFrame(np.where(closes > 0, closes, np.nan))
    r = c / c.shift(1) - 1.0
    first = max(t - window + 1, 1)
    return r.iloc[first : t + 1]


def ref_var(closes, t, window, syms, delta_d):
    """Delta-normal VaR with pandas' pairwise-complete covariance."""
    n_sym = closes.shape[1]
    d = np.zeros(n_sym)
    for s, x in zip(syms, delta_d, strict=True):
        d[s] += x
    rets = ref_returns(closes, t, window)
    cov = rets.cov(min_periods=2).fillna(0.0).to_numpy() if len(rets) else np.zeros((n_sym,) * 2)
    held = d != 0
    q = float(d[held] @ cov[np.ix_(held, held)] @ d[held])
    sd = math.sqrt(q) if q > 0 else 0.0
    return Z95 * sd, Z99 * sd


def ref_exposures(book, equity, closes, t, window):
    """Dict of exposures of a book given as a list of dicts (one per position)."""
    if not book:
        return dict.fromkeys(
            ["delta", "gamma", "vega", "theta", "concentration", "sector", "var95", "var99",
             "gross", "net", "diversification"], 0.0)  # fmt: skip
    sectors: dict[int, float] = {}
    for p in book:
        sectors[p["sector"]] = sectors.get(p["sector"], 0.0) + abs(p["mv"])
    gross = sum(abs(p["mv"]) for p in book)
    sq = sum(p["mv"] ** 2 for p in book)
    var95, var99 = ref_var(
        closes, t, window, [p["symbol"] for p in book], [p["delta_d"] for p in book]
    )
    return {
        "delta": sum(p["delta_d"] for p in book) / equity,
        "gamma": sum(p["gamma_d"] for p in book) / equity,
        "vega": sum(p["vega10"] for p in book) / equity,
        "theta": sum(p["theta"] for p in book) / equity,
        "concentration": max(abs(p["conc"]) for p in book) / equity,
        "sector": max(sectors.values()) / equity,
        "var95": var95 / equity,
        "var99": var99 / equity,
        "gross": gross / equity,
        "net": sum(p["mv"] for p in book) / equity,
        "diversification": gross**2 / sq if sq > 0 else 0.0,
    }
