"""State, record dtypes and the backtest parameter vector: defined once, here.

The step kernel (:mod:`dollarbill_research.kernels.step_nb`) advances a portfolio state made of
a handful of numpy arrays; the backtest driver and :class:`~dollarbill_research.live.LivePortfolio`
hold exactly these arrays, which is why a bar-by-bar replay reproduces a backtest bit for bit.

State
-----
``account``   float64 ``(ACCT_LEN,)``: cash, cash reserved by short/credit positions, the
              last bar's calendar day and the bar's cash interest.
``counters``  int64 ``(CNT_LEN,)``: records written so far, open positions.
``positions`` :data:`POSITION_DTYPE` ``(n_strategies * n_symbols,)``: one slot per
              (strategy, symbol) pair, ``slot = strategy * n_symbols + symbol`` (a strategy holds
              at most one position per symbol).
``legs``      :data:`LEG_DTYPE` ``(n_slots, MAX_LEGS)``.
``stats``     :data:`STATS_DTYPE` ``(n_strategies,)``: closed trades, wins, sums of wins and
              losses (Kelly ``p`` and ``b``), realised P&L and costs.

Records
-------
``fills``       :data:`FILL_DTYPE`, one row per entry or exit.
``rejections``  :data:`REJECTION_DTYPE`, one row per rejected entry candidate.
``equity``      :data:`EQUITY_DTYPE`, one row per bar.
``strat_pnl``   float64 ``(n_bars, n_strategies)``: cumulative P&L per strategy (realised +
                unrealised, after costs), for attribution.

Units: dollars; ``qty`` in shares or contracts (spreads count as one unit per set of legs);
``price`` per unit of the position (one share, or one contract set x 100), signed (shorts and
credits negative). Exposures are fractions of equity (see ``EXP_*`` in ``codes``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dollarbill_research.kernels.codes import MAX_LEGS

# ---------------------------------------------------------------------------------------------
# Backtest parameter vector (BacktestConfig.to_kernel() -> float64[BP_LEN])
# Percentages as given by the user (10.0 = 10 %); a disabled stop / take profit is +inf.
# ---------------------------------------------------------------------------------------------
BP_INITIAL_CAPITAL = 0
BP_USE_PM = 1  # 1.0 = portfolio management on
BP_POSITION_SIZE_PCT = 2  # PM off sizing: floor(cash * pct% / unit cost)
BP_MAX_POSITIONS = 3  # 0 = unlimited
BP_DTE_DAYS = 4  # default calendar days to expiry (template T_DTE_DAYS = 0)
BP_MAX_HOLD = 5  # bars; 0 = no limit
BP_STOP_LOSS_PCT = 6  # long / debit positions: loss in % of entry value
BP_TAKE_PROFIT_PCT = 7
BP_SHORT_STOP_LOSS_PCT = 8  # short / credit positions: loss in % of credit received
BP_SHORT_TAKE_PROFIT_PCT = 9
BP_RISK_FREE_RATE = 10  # decimal, continuously compounded
BP_DIVIDEND_YIELD = 11
BP_COMMISSION_PER_SHARE = 12  # dollars
BP_COMMISSION_PER_CONTRACT = 13  # dollars per option contract (per leg)
BP_SPREAD_PCT = 14  # full bid-ask spread, % of price; half is paid on each side
BP_SLIPPAGE_VOL_MULT = 15  # extra cost: mult x iv / sqrt(bars_per_year) x traded value
BP_BARS_PER_YEAR = 16
# --- risk-b (issue 11): option spread floor, liquidity caps, cash interest ---------------------
BP_TICK_LOW = 17  # minimum half-spread per share of an option leg priced below $3 (dollars)
BP_TICK_HIGH = 18  # ... priced at $3 or more (dollars); 0 and 0 = no floor
BP_MAX_CONTRACTS = 19  # option contracts per trade (units x contracts per unit); 0 = unlimited
BP_MAX_NOTIONAL_MULT = 20  # underlying notional per trade, multiple of equity; 0 = unlimited
BP_CASH_RATE = 21  # cash_interest_rate: annual, simple, accrued per calendar day
# --- added for the live bot (issue 10): the seed's fixed ``position_size_shares`` -------------
BP_POSITION_SIZE_UNITS = 22  # PM off: fixed units per entry (0 = size by BP_POSITION_SIZE_PCT)
BP_SHARE_SPREAD_PCT = 23  # full bid-ask spread of shares, % of price (spread_pct when unset)
BP_MAX_COST_PCT = 24  # entry rejected when 2 x one unit's costs > this % of its max loss; 0 = off
BP_LEN = 25

# ---------------------------------------------------------------------------------------------
# Account and counters
# ---------------------------------------------------------------------------------------------
A_CASH = 0
A_RESERVED = 1  # cash set aside for short shares, short options and credit structures
A_LAST_DAY = 2  # calendar day of the last bar (cash interest accrues from it); NaN before
A_BAR_INTEREST = 3  # cash interest credited on the current bar (dollars)
ACCT_LEN = 4

C_FILLS = 0
C_REJECTIONS = 1
C_OPEN = 2
C_BREACHES = 3  # rows of the breaches record written (issue 11 item 1)
CNT_LEN = 4

# ---------------------------------------------------------------------------------------------
# Dtypes
# ---------------------------------------------------------------------------------------------
POSITION_DTYPE = np.dtype(
    [
        ("active", np.int64),
        ("symbol", np.int64),
        ("strategy", np.int64),
        ("kind", np.int64),
        ("n_legs", np.int64),
        ("entry_bar", np.int64),
        ("defined_risk", np.int64),
        ("direction", np.float64),
        ("entry_day", np.float64),
        ("expiry_day", np.float64),
        ("qty", np.float64),
        ("entry_value", np.float64),  # per-unit signed value at entry (dollars)
        ("entry_costs", np.float64),  # costs paid at entry (dollars, total)
        ("reserved", np.float64),  # cash reserved while open (dollars, total)
        ("committed", np.float64),  # unit_cost x qty at entry (strategy capacity, dollars)
        ("unit_max_loss", np.float64),
        ("value", np.float64),  # per-unit signed mark (dollars)
        ("spot", np.float64),  # underlying close of the last mark
        ("sigma", np.float64),  # iv of the last mark
        ("mv", np.float64),  # value x qty
        ("delta_d", np.float64),  # dollar delta, total
        ("gamma_d", np.float64),  # dollar gamma for a 1% move, total
        ("vega10", np.float64),  # P&L for +10 vol points, total
        ("theta", np.float64),  # dollars per calendar day, total
        ("conc", np.float64),  # concentration value (|mv| or max loss), total
    ]
)

LEG_DTYPE = np.dtype(
    [
        ("type", np.int64),  # LEG_STOCK / LEG_CALL / LEG_PUT
        ("strike", np.float64),  # dollars (0 for stock)
        ("ratio", np.float64),  # signed count per unit (+1 long, -1 short)
        ("price", np.float64),  # last mark per share of underlying
    ]
)

# Kelly's rolling window of closed-trade returns per unit of risk (pnl / (unit max loss x qty))
# is a ring buffer of this many slots in each strategy's stats row (kelly_window <= this).
KELLY_MAX_WINDOW = 1000

STATS_DTYPE = np.dtype(
    [
        ("n_entries", np.int64),
        ("n_closed", np.int64),
        ("n_wins", np.int64),
        ("sum_win", np.float64),
        ("sum_loss", np.float64),  # positive dollars
        ("realized_pnl", np.float64),  # after costs
        ("costs", np.float64),
        ("k_n", np.int64),  # returns in the ring (<= KELLY_MAX_WINDOW)
        ("k_head", np.int64),  # next slot to write
        ("k_ret", np.float64, (KELLY_MAX_WINDOW,)),  # return on max loss of each closed trade
    ]
)

_PROJECTED = [
    ("p_delta", np.float64),
    ("p_gamma", np.float64),
    ("p_vega", np.float64),
    ("p_concentration", np.float64),
    ("p_sector", np.float64),
    ("p_var95", np.float64),
    ("cash_needed", np.float64),  # fraction of equity the entry needs (cash reason text)
]

FILL_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("symbol", np.int64),
        ("strategy", np.int64),
        ("kind", np.int64),
        ("reason", np.int64),  # FILL_ENTRY or EXIT_*
        ("warn", np.int64),  # warning mask of an entry
        ("n_legs", np.int64),
        ("direction", np.float64),
        ("side", np.float64),  # +1 open, -1 close
        ("qty", np.float64),  # units, > 0
        ("price", np.float64),  # per-unit signed value (dollars)
        ("cash_flow", np.float64),  # change of cash excluding costs
        ("costs", np.float64),  # commission + half spread + slippage (dollars)
        ("pnl", np.float64),  # exits: realised P&L after entry and exit costs
        ("spot", np.float64),
        ("sigma", np.float64),
        ("expiry_day", np.float64),
        *[(f"leg{i}_type", np.int64) for i in range(MAX_LEGS)],
        *[(f"leg{i}_strike", np.float64) for i in range(MAX_LEGS)],
        *[(f"leg{i}_ratio", np.float64) for i in range(MAX_LEGS)],
        *_PROJECTED,
    ]
)

REJECTION_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("symbol", np.int64),
        ("strategy", np.int64),
        ("reason", np.int64),  # R_* mask
        ("warn", np.int64),
        ("units", np.float64),  # size before approval
        *_PROJECTED,
    ]
)

# Flat book (open positions) handed to the risk and approval kernels: int rows and float rows
# of two 2-D arrays ``book_i (BOOK_I_LEN, n_slots)`` and ``book_f (BOOK_F_LEN, n_slots)``.
BI_SYMBOL = 0
BI_SECTOR = 1
BI_STRATEGY = 2
BOOK_I_LEN = 3
BF_DELTA = 0
BF_GAMMA = 1
BF_VEGA = 2
BF_THETA = 3
BF_MV = 4
BF_CONC = 5
BOOK_F_LEN = 6

EXPOSURE_FIELDS = (
    "delta",
    "gamma",
    "vega",
    "theta",
    "concentration",
    "sector",
    "var95",
    "var99",
    "gross",
    "net",
    "diversification",
)  # order of EXP_* in codes

# One row per limit found breached on a bar and what the breach policy did (kernels/breach_nb.py)
MAX_BREACH_SYMBOLS = 8
BREACH_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("exposure", np.int64),  # R_DELTA .. R_VAR
        ("action", np.int64),  # BA_* code
        ("note", np.int64),  # BN_* code (why it was not fully reduced)
        ("value", np.float64),  # |exposure| / equity when found (fraction)
        ("limit", np.float64),  # fraction
        ("value_after", np.float64),  # after the action
        ("n_symbols", np.int64),
        *[(f"sym{i}", np.int64) for i in range(MAX_BREACH_SYMBOLS)],  # acted on / contributors
    ]
)

EQUITY_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("n_positions", np.int64),
        ("cash", np.float64),
        ("reserved", np.float64),
        ("positions_value", np.float64),
        ("equity", np.float64),
        *[(f"exp_{name}", np.float64) for name in EXPOSURE_FIELDS],
        *[(f"pre_{name}", np.float64) for name in EXPOSURE_FIELDS],  # after exits, pre-entry
        ("interest", np.float64),  # cash interest credited on this bar (dollars)
    ]
)


def new_state(
    n_strategies: int, n_symbols: int, initial_capital: float, hedge_slots: bool = False
) -> Book:
    """Allocate an empty portfolio state.

    ``hedge_slots`` (breach policy ``hedge``) adds one slot per symbol after the strategies'
    slots, ``slot = n_strategies * n_symbols + symbol``, for the share hedges of
    :mod:`~dollarbill_research.kernels.breach_nb`.

    Returns
    -------
    Book
        ``(account, counters, positions, legs, stats)`` as described in the module docstring;
        cash is ``initial_capital`` dollars and no position is open.
    """
    account = np.zeros(ACCT_LEN)
    account[A_CASH] = initial_capital
    account[A_LAST_DAY] = np.nan
    counters = np.zeros(CNT_LEN, dtype=np.int64)
    n_slots = n_strategies * n_symbols + (n_symbols if hedge_slots else 0)
    positions = np.zeros(n_slots, dtype=POSITION_DTYPE)
    legs = np.zeros((n_slots, MAX_LEGS), dtype=LEG_DTYPE)
    stats = np.zeros(n_strategies, dtype=STATS_DTYPE)
    return Book(account, counters, positions, legs, stats)


# ---------------------------------------------------------------------------------------------
# The typed records the kernels take (module-level NamedTuples: numba types them by field, they
# pickle for the cache, and a call passes their members, so grouping costs nothing)
# ---------------------------------------------------------------------------------------------
class Market(NamedTuple):
    """The bars x symbols inputs (``data.Panel`` rows) the step reads, rows ``<= t`` only."""

    days: np.ndarray  # float64 (n_rows,): calendar day of each row (days since 1970-01-01)
    close: np.ndarray  # float64 (n_rows, n_symbols), dollars
    iv: np.ndarray  # float64 (n_rows, n_symbols), decimal implied vol
    valid: np.ndarray  # bool (n_rows, n_symbols): the symbol has a bar
    sector_codes: np.ndarray  # int64 (n_symbols,)
    n_sectors: int


class SignalBlock(NamedTuple):
    """What the strategies ask for: codes, confidences, instruments and capital shares."""

    signal: np.ndarray  # int8 (n_strategies, n_rows_sig, n_symbols), SIG_* codes
    confidence: np.ndarray  # float64, same shape, in [0, 1]
    templates: np.ndarray  # float64 (n_strategies, 2, TEMPLATE_LEN): long, short
    capacity: np.ndarray  # float64 (n_strategies,): allocation targets, fractions of equity


class Book(NamedTuple):
    """The portfolio state (module docstring), updated in place by the step."""

    account: np.ndarray
    counters: np.ndarray
    positions: np.ndarray
    legs: np.ndarray
    stats: np.ndarray


class Records(NamedTuple):
    """The record buffers the step appends to (``counters`` says how many rows are used)."""

    fills: np.ndarray  # FILL_DTYPE
    rejections: np.ndarray  # REJECTION_DTYPE
    breaches: np.ndarray  # BREACH_DTYPE
    equity: np.ndarray  # EQUITY_DTYPE, one row per bar
    strat_pnl: np.ndarray  # float64 (n_rows, n_strategies)


class BarAt(NamedTuple):
    """Where one step is: the global bar, its rows in the market, signal and per-bar records."""

    bar: int  # global bar number (recorded; entry bars and max hold use it)
    t: int  # row in Market (rows <= t may be read)
    ts: int  # row in SignalBlock.signal / confidence
    row: int  # row of Records.equity / strat_pnl written
    day: float  # calendar day of the bar


class AllocTime(NamedTuple):
    """Allocation through time (:mod:`.alloc_time_nb`): the driver's per-bar strategy series."""

    alloc: np.ndarray  # float64 (3, n_strategies): custom weights, lower and upper bounds
    strat_returns: np.ndarray  # float64 (n_bars, n_strategies), indexed by bar
    targets: np.ndarray  # float64 (n_bars, n_strategies): capacities in force, by bar
    committed_prev: np.ndarray  # float64 (n_strategies,): committed dollars at the last close


class Span(NamedTuple):
    """The rows one driver call runs and how they map to global bars."""

    t0: int
    t1: int
    bar_offset: int  # bar = row + bar_offset
    rebalanced_at: int  # the bar the caller just rebalanced (-1: none)


class Candidate(NamedTuple):
    """One entry candidate: its per-unit quantities (docs/architecture.md) and where it goes."""

    unit_cost: float
    unit_delta_d: float
    unit_gamma_d: float
    unit_vega10: float
    unit_theta: float
    unit_mv: float
    unit_conc: float
    symbol: int
    sector: int
    strategy: int


class CandidateBlock(NamedTuple):
    """``n`` candidates as arrays (``(n,)`` each): :class:`Candidate`'s fields plus sizing's."""

    unit_cost: np.ndarray
    unit_max_loss: np.ndarray
    unit_dollar_vol: np.ndarray
    unit_delta_d: np.ndarray
    unit_gamma_d: np.ndarray
    unit_vega10: np.ndarray
    unit_theta: np.ndarray
    unit_mv: np.ndarray
    unit_conc: np.ndarray
    symbol: np.ndarray  # int64
    sector: np.ndarray  # int64
    strategy: np.ndarray  # int64


class Room(NamedTuple):
    """What the book leaves a candidate: equity and free cash, open count, strategy dollars."""

    equity: float
    cash: float
    n_open: int
    strategy_exposure: np.ndarray  # float64 (n_strategies,): dollars committed
    strategy_capacity: np.ndarray  # float64 (n_strategies,): dollars allowed (inf = no cap)


class Context(NamedTuple):
    """The book context of :mod:`.context_nb` the O(1) approval reads."""

    tot: np.ndarray  # CX_* totals
    sector_abs: np.ndarray  # per sector sum |mv|
    cd: np.ndarray  # (C d)_s per symbol
    var_sym: np.ndarray  # C_ss per symbol


class FlatBook(NamedTuple):
    """The open book as flat per-position arrays (k positions; docs/architecture.md)."""

    pos_symbol: np.ndarray
    pos_sector: np.ndarray
    pos_strategy: np.ndarray
    delta_d: np.ndarray
    gamma_d: np.ndarray
    vega10: np.ndarray
    theta: np.ndarray
    mv: np.ndarray
    conc: np.ndarray


def make_market(
    days: np.ndarray,
    close: np.ndarray,
    iv: np.ndarray,
    valid: np.ndarray,
    sector_codes: np.ndarray,
    n_sectors: int,
) -> Market:
    """A :class:`Market` of C-contiguous arrays of the kernels' dtypes (copies only if needed)."""
    return Market(
        np.ascontiguousarray(days, dtype=np.float64),
        np.ascontiguousarray(close, dtype=np.float64),
        np.ascontiguousarray(iv, dtype=np.float64),
        np.ascontiguousarray(valid, dtype=np.bool_),
        np.ascontiguousarray(sector_codes, dtype=np.int64),
        int(n_sectors),
    )


def new_records(
    n_rows: int,
    n_strategies: int,
    capacity: int,
    n_breaches: int = 64,
    n_rejections: int | None = None,
) -> Records:
    """Empty record buffers (``n_rows`` per-bar rows, ``capacity`` fill rows).

    ``n_rejections`` rejection rows (default ``capacity``) and ``n_breaches`` breach rows.
    """
    return Records(
        np.zeros(capacity, dtype=FILL_DTYPE),
        np.zeros(capacity if n_rejections is None else n_rejections, dtype=REJECTION_DTYPE),
        np.zeros(n_breaches, dtype=BREACH_DTYPE),
        np.zeros(n_rows, dtype=EQUITY_DTYPE),
        np.zeros((n_rows, n_strategies)),
    )
