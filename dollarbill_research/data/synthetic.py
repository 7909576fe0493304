"""The embedded default data set: a deterministic synthetic universe of daily bars.

Model (daily bars, ``dt = 1/252``; constants in :mod:`dollarbill_research.kernels.synthetic_nb`):

* **Volatility.** ``sigma_t = base_vol * m(regime_t) * exp(x_t - s**2)``: a market-wide two-state
  Markov regime (calm x0.8, stress x1.6; calm->stress 1 %/bar, stress->calm 5 %/bar, so
  ``E[m**2] ~ 1``) times a per-symbol mean-reverting log-vol ``x`` (AR(1), half-life 30 bars,
  stationary sd ``s = 0.3``) whose shocks are correlated -0.5 with the symbol's return shock
  (leverage effect). ``base_vol`` is log-uniform in [15 %, 90 %] per symbol.
* **Returns.** GBM log return ``(drift - sigma**2/2) dt + sigma sqrt(dt) z`` with
  ``z = 0.5 market + 0.4 sector + 0.77 idiosyncratic`` standard normals (so stocks co-move by
  sector), plus overnight jumps (4 a year, size ``base_vol * N(-0.07, 0.14)``) carrying 10 % of the
  variance (the diffusion carries 90 %). Drift is uniform in [2 %, 12 %] a year.
* **OHLC.** The open is the previous close moved by the overnight part of the day's Brownian
  path (a Brownian-bridge split, 25 % of the variance, plus any jump); high and low are the
  maximum and minimum of a Brownian bridge from open to close, so ``low <= open, close <= high``
  holds exactly.
* **Volume** scales with the regime and the size of the day's move, with log-normal noise.
* **iv** is a forecast of the next 21 bars' variance (mean-reverting from today's model variance
  toward ``base_vol**2``, jumps included), times ``1 + vrp`` (premium uniform in [5 %, 20 %]),
  times log-normal noise (8 %): a noisy forecast of future realised vol plus a premium.
* **Sector**: one of 11 GICS-style names per symbol.

Determinism: every draw comes from numpy ``Generator(PCG64)`` streams spawned from
``SeedSequence(seed)`` — one per symbol (its parameters first, then its bar draws in bar-major
order), one per sector and one for the market — so the frame is identical across runs and
machines (numpy guarantees the stream), the first ``k`` symbols do not depend on ``n_symbols`` and
the first ``k`` bars do not depend on ``n_bars``. The path recursions run in a numba kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from dollarbill_research._typing import FloatArray, IntArray
from dollarbill_research.exceptions import ConfigError
from dollarbill_research.kernels.synthetic_nb import (
    N_NORMALS,
    N_UNIFORMS,
    market_regimes_nb,
    simulate_paths_nb,
)

__all__ = ["SECTOR_NAMES", "SyntheticParams", "synthetic_params", "synthetic_universe"]

SECTOR_NAMES: tuple[str, ...] = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)
VOL_RANGE = (0.15, 0.90)
DRIFT_RANGE = (0.02, 0.12)
VRP_RANGE = (0.05, 0.20)
VOLUME_RANGE = (5e5, 5e7)
PRICE_RANGE = (20.0, 500.0)


@dataclass(frozen=True, slots=True)
class SyntheticParams:
    """Per-symbol parameters of a synthetic universe (all arrays of shape ``(n_symbols,)``).

    Attributes
    ----------
    symbols : tuple of str
        ``SYN000``, ``SYN001``, ... (zero-padded, so sorted order is index order).
    base_vol : numpy.ndarray
        Annualised volatility level (decimal), log-uniform in [0.15, 0.90].
    drift : numpy.ndarray
        Annual drift (decimal).
    vrp : numpy.ndarray
        Implied-vol premium over the variance forecast (fraction, 0.1 = iv 10 % above).
    base_volume : numpy.ndarray
        Typical shares per bar.
    start_price : numpy.ndarray
        Reference close before the first bar, dollars.
    sector_codes : numpy.ndarray
        int64 index into :data:`SECTOR_NAMES`.
    """

    symbols: tuple[str, ...]
    base_vol: FloatArray
    drift: FloatArray
    vrp: FloatArray
    base_volume: FloatArray
    start_price: FloatArray
    sector_codes: IntArray


def synthetic_params(n_symbols: int = 50, seed: int = 7) -> SyntheticParams:
    """The per-symbol parameters :func:`synthetic_universe` uses for ``(n_symbols, seed)``."""
    _check_int("n_symbols", n_symbols, 1)
    _check_int("seed", seed, 0)
    streams = _symbol_streams(n_symbols, seed)
    u = np.array([g.random(6) for g, _ in streams]).reshape(n_symbols, 6)
    return _params_from_uniforms(u)


def synthetic_universe(
    n_symbols: int = 50, n_bars: int = 1260, seed: int = 7, start: str = "2020-01-02"
) -> pl.DataFrame:
    """Generate a deterministic, realistic universe of daily bars (the embedded data set).

    Parameters
    ----------
    n_symbols : int
        Number of symbols (>= 1).
    n_bars : int
        Bars per symbol (>= 2), on consecutive business days (Mon-Fri, no holidays).
    seed : int
        Seed (>= 0); the same seed gives the identical frame on any machine.
    start : str
        ISO date of the first bar (rolled forward to a business day).

    Returns
    -------
    polars.DataFrame
        Canonical bar frame ``symbol, timestamp (pl.Date, naive), open, high, low, close,
        volume, iv, sector``, sorted by ``(symbol, timestamp)``, no missing bars. It satisfies
        :func:`~dollarbill_research.data.validate_bars` by construction (tested), so it is not
        re-validated here.

    Examples
    --------
    >>> f = synthetic_universe(3, 10, seed=1)
    >>> f.shape, f["symbol"].unique().sort().to_list()
    ((30, 9), ['SYN000', 'SYN001', 'SYN002'])
    """
    _check_int("n_symbols", n_symbols, 1)
    _check_int("n_bars", n_bars, 2)
    _check_int("seed", seed, 0)
    try:
        first = np.datetime64(start, "D")
    except ValueError as exc:
        raise ConfigError(f"start={start!r} is not an ISO date such as '2020-01-02'.") from exc
    root = np.random.SeedSequence(seed)
    market_ss, sector_ss, _ = root.spawn(3)
    normals = np.empty((n_symbols, n_bars, N_NORMALS))
    uniforms = np.empty((n_symbols, n_bars, N_UNIFORMS))
    u_params = np.empty((n_symbols, 6))
    for i, (g_uniform, g_normal) in enumerate(_symbol_streams(n_symbols, seed)):
        u_params[i] = g_uniform.random(6)
        g_uniform.random(out=uniforms[i])
        g_normal.standard_normal(out=normals[i])
    params = _params_from_uniforms(u_params)
    g_regime, g_market = _streams(market_ss)
    regime = market_regimes_nb(g_regime.random(n_bars))
    z_market = g_market.standard_normal(n_bars)
    z_sector = np.stack(
        [_streams(ss)[1].standard_normal(n_bars) for ss in sector_ss.spawn(len(SECTOR_NAMES))]
    )
    o, h, lo, c, vol, iv = simulate_paths_nb(
        (
            params.base_vol,
            params.drift,
            params.vrp,
            params.base_volume,
            params.start_price,
            params.sector_codes,
        ),
        regime,
        z_market,
        z_sector,
        normals,
        uniforms,
    )
    days = np.busday_offset(first, np.arange(n_bars), roll="forward")
    sym_idx = np.repeat(np.arange(n_symbols, dtype=np.int64), n_bars)
    return pl.DataFrame(
        {
            "symbol": pl.Series(list(params.symbols), dtype=pl.String).gather(sym_idx),
            "timestamp": pl.Series(np.tile(days, n_symbols)),
            "open": o.ravel(),
            "high": h.ravel(),
            "low": lo.ravel(),
            "close": c.ravel(),
            "volume": vol.ravel(),
            "iv": iv.ravel(),
            "sector": pl.Series(list(SECTOR_NAMES), dtype=pl.String).gather(
                params.sector_codes[sym_idx]
            ),
        }
    )


def _streams(ss: np.random.SeedSequence) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent PCG64 generators (uniforms, normals) from one seed sequence.

    Separate streams keep bar-prefix stability: the uniforms of bar t never depend on how many
    normals were drawn before them.
    """
    a, b = ss.spawn(2)
    return np.random.Generator(np.random.PCG64(a)), np.random.Generator(np.random.PCG64(b))


def _symbol_streams(
    n_symbols: int, seed: int
) -> list[tuple[np.random.Generator, np.random.Generator]]:
    sym_ss = np.random.SeedSequence(seed).spawn(3)[2]
    return [_streams(ss) for ss in sym_ss.spawn(n_symbols)]


def _params_from_uniforms(u: FloatArray) -> SyntheticParams:
    n = u.shape[0]
    width = max(3, len(str(n - 1)))

    def log_uniform(x: FloatArray, lo: float, hi: float) -> FloatArray:
        return np.exp(math.log(lo) + x * (math.log(hi) - math.log(lo)))

    return SyntheticParams(
        symbols=tuple(f"SYN{i:0{width}d}" for i in range(n)),
        base_vol=log_uniform(u[:, 0], *VOL_RANGE),
        drift=DRIFT_RANGE[0] + u[:, 1] * (DRIFT_RANGE[1] - DRIFT_RANGE[0]),
        vrp=VRP_RANGE[0] + u[:, 2] * (VRP_RANGE[1] - VRP_RANGE[0]),
        base_volume=log_uniform(u[:, 3], *VOLUME_RANGE),
        start_price=log_uniform(u[:, 4], *PRICE_RANGE),
        sector_codes=np.minimum(
            (u[:, 5] * len(SECTOR_NAMES)).astype(np.int64), len(SECTOR_NAMES) - 1
        ),
    )


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"synthetic_universe {name}={value!r} must be an integer >= {minimum}.")
