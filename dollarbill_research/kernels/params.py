"""The kernels' parameters: one numpy record with a named float64 field per setting.

Kernels read settings by name -- ``params.max_portfolio_delta``, ``params.commission_per_contract``
-- from one record of :data:`PARAMS_DTYPE`. Its fields are laid out exactly like the backtest
vector of :meth:`BacktestConfig.to_kernel() <dollarbill_research.config.BacktestConfig.to_kernel>`
(``BP_*`` of :mod:`.records`) followed by the portfolio vector of
:meth:`PortfolioConfig.to_kernel() <dollarbill_research.config.PortfolioConfig.to_kernel>`
(``PP_*`` of :mod:`.codes`), so ``np.concatenate([bp, pp]).view(PARAMS_DTYPE)`` is the record
and a sweep's matrix of parameter rows is an array of records without a copy. The index
constants say where each setting sits in those vectors; only the configs (which write the
vectors) and this module use them.

Field names are the config fields' names (``RiskLimits.max_portfolio_delta`` ->
``max_portfolio_delta``); the two settings both configs have are ``initial_capital`` /
``max_positions`` (the backtest's) and ``portfolio_initial_capital`` / ``portfolio_max_positions``.
Units are those of the configs: percentages as given (``10.0`` = 10 %), exposure limits as
fractions of equity, codes (``sizing_method``, ``breach_policy`` ...) as float64 integers, a
disabled stop or take profit as ``+inf``.
"""

from __future__ import annotations

import numpy as np

from dollarbill_research.kernels import codes, records

BACKTEST_FIELDS = (  # BacktestConfig.to_kernel(), index records.BP_*
    ("initial_capital", records.BP_INITIAL_CAPITAL),
    ("use_portfolio_management", records.BP_USE_PM),  # 1.0 = on
    ("position_size_pct", records.BP_POSITION_SIZE_PCT),
    ("max_positions", records.BP_MAX_POSITIONS),  # 0 = unlimited
    ("days_to_expiry", records.BP_DTE_DAYS),
    ("max_days_hold", records.BP_MAX_HOLD),  # bars; 0 = no limit
    ("stop_loss_pct", records.BP_STOP_LOSS_PCT),
    ("take_profit_pct", records.BP_TAKE_PROFIT_PCT),
    ("short_stop_loss_pct", records.BP_SHORT_STOP_LOSS_PCT),
    ("short_take_profit_pct", records.BP_SHORT_TAKE_PROFIT_PCT),
    ("risk_free_rate", records.BP_RISK_FREE_RATE),
    ("dividend_yield", records.BP_DIVIDEND_YIELD),
    ("commission_per_share", records.BP_COMMISSION_PER_SHARE),
    ("commission_per_contract", records.BP_COMMISSION_PER_CONTRACT),
    ("spread_pct", records.BP_SPREAD_PCT),
    ("slippage_vol_mult", records.BP_SLIPPAGE_VOL_MULT),
    ("bars_per_year", records.BP_BARS_PER_YEAR),
    ("tick_low", records.BP_TICK_LOW),  # option_tick_rule: half-spread floor below $3
    ("tick_high", records.BP_TICK_HIGH),  # ... at $3 or more
    ("max_contracts_per_trade", records.BP_MAX_CONTRACTS),
    ("max_notional_multiple", records.BP_MAX_NOTIONAL_MULT),
    ("cash_interest_rate", records.BP_CASH_RATE),  # effective_cash_interest_rate
    ("position_size_units", records.BP_POSITION_SIZE_UNITS),
    ("share_spread_pct", records.BP_SHARE_SPREAD_PCT),  # effective_share_spread_pct
    ("max_round_trip_cost_pct", records.BP_MAX_COST_PCT),
)

PORTFOLIO_FIELDS = (  # PortfolioConfig.to_kernel(), index codes.PP_*
    ("portfolio_initial_capital", codes.PP_INITIAL_CAPITAL),
    ("max_risk_per_trade", codes.PP_MAX_RISK_PCT),
    ("max_position_pct", codes.PP_MAX_POSITION_PCT),
    ("sizing_method", codes.PP_SIZING_METHOD),  # SIZE_* code
    ("fixed_fraction_pct", codes.PP_FIXED_FRACTION_PCT),
    ("fixed_dollar_amount", codes.PP_FIXED_DOLLAR),
    ("kelly_fraction", codes.PP_KELLY_FRACTION),
    ("kelly_cap", codes.PP_KELLY_CAP),
    ("kelly_min_trades", codes.PP_KELLY_MIN_TRADES),
    ("stop_distance", codes.PP_STOP_DISTANCE),
    ("max_portfolio_delta", codes.PP_MAX_DELTA),  # RiskLimits.*: fractions of equity
    ("max_portfolio_gamma", codes.PP_MAX_GAMMA),
    ("max_portfolio_vega", codes.PP_MAX_VEGA),
    ("max_concentration_pct", codes.PP_MAX_CONCENTRATION_PCT),  # RiskLimits.*: percent
    ("max_var_pct", codes.PP_MAX_VAR_PCT),
    ("max_sector_exposure_pct", codes.PP_MAX_SECTOR_PCT),
    ("warn_fraction", codes.PP_WARN_FRACTION),
    ("scale_to_fit", codes.PP_SCALE_TO_FIT),  # 1.0 = on
    ("portfolio_max_positions", codes.PP_MAX_POSITIONS),  # 0 = unlimited
    ("var_window", codes.PP_VAR_WINDOW),
    ("allocation_method", codes.PP_ALLOCATION_METHOD),  # ALLOC_* code
    ("kelly_window", codes.PP_KELLY_WINDOW),
    ("kelly_shrinkage_trades", codes.PP_KELLY_PRIOR),
    ("kelly_probe_units", codes.PP_KELLY_PROBE),
    ("breach_policy", codes.PP_BREACH_POLICY),  # BREACH_* code
    ("rebalance_bars", codes.PP_REBALANCE_BARS),
)

for _fields, _length in ((BACKTEST_FIELDS, records.BP_LEN), (PORTFOLIO_FIELDS, codes.PP_LEN)):
    if [i for _, i in _fields] != list(range(_length)):  # pragma: no cover - layout guard
        raise ImportError("kernels.params: the field list does not follow the vector layout")

PARAMS_DTYPE = np.dtype([(name, np.float64) for name, _ in BACKTEST_FIELDS + PORTFOLIO_FIELDS])
"""One run's settings (backtest then portfolio), one float64 field each."""

BACKTEST_DTYPE = np.dtype([(name, np.float64) for name, _ in BACKTEST_FIELDS])
"""The backtest part alone: the layout of ``BacktestConfig.to_kernel()``."""

PORTFOLIO_DTYPE = np.dtype([(name, np.float64) for name, _ in PORTFOLIO_FIELDS])
"""The portfolio part alone: the layout of ``PortfolioConfig.to_kernel()``."""


def params_rows(bp: np.ndarray, pp: np.ndarray) -> np.recarray:
    """Parameter records from backtest and portfolio vectors (rows ``(n, BP_LEN)``/``(n, PP_LEN)``).

    ``bp`` float64 ``(BP_LEN,)`` or ``(n, BP_LEN)``, ``pp`` likewise with ``PP_LEN`` (a single
    vector is broadcast against the other's rows). Returns a record array of ``n`` rows (1 for
    two vectors); read settings by name (``rows[0].max_portfolio_delta``).
    """
    bp2 = np.atleast_2d(np.asarray(bp, dtype=np.float64))
    pp2 = np.atleast_2d(np.asarray(pp, dtype=np.float64))
    n = max(bp2.shape[0], pp2.shape[0])
    flat = np.empty((n, records.BP_LEN + codes.PP_LEN))
    flat[:, : records.BP_LEN] = bp2
    flat[:, records.BP_LEN :] = pp2
    return flat.view(PARAMS_DTYPE).reshape(n).view(np.recarray)


def portfolio_params(pp: np.ndarray) -> np.record:
    """Named view of a portfolio vector ``PortfolioConfig.to_kernel()`` (no copy).

    ``portfolio_params(pp).max_portfolio_delta`` is ``RiskLimits.max_portfolio_delta``: how
    the Python side (rejection texts, diagnostics) reads the settings the kernels read.
    """
    vec = np.ascontiguousarray(pp, dtype=np.float64)
    return vec.view(PORTFOLIO_DTYPE).view(np.recarray)[0]


def params_array(bp: np.ndarray, pp: np.ndarray) -> np.ndarray:
    """The parameters as a plain 1-row array of :data:`PARAMS_DTYPE` (``row[0]`` the record).

    What Python hands the driver, the step and the allocation kernels: numba dispatches an
    array in a fraction of a microsecond where a record argument takes microseconds
    (Python-level typing), which a driver called at every rebalance pays each time.
    """
    flat = np.empty(records.BP_LEN + codes.PP_LEN)
    flat[: records.BP_LEN] = np.asarray(bp, dtype=np.float64)
    flat[records.BP_LEN :] = np.asarray(pp, dtype=np.float64)
    return flat.view(PARAMS_DTYPE)


def make_params(bp: np.ndarray, pp: np.ndarray) -> np.record:
    """The one parameter record the kernels take (``params.max_portfolio_delta`` ...).

    From ``BacktestConfig.to_kernel()`` and ``PortfolioConfig.to_kernel()``.
    """
    return params_rows(bp, pp)[0]
