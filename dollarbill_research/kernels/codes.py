"""Integer codes shared by every kernel and the Python layer — defined once, here.

Kernels dispatch on these codes (never on strings or callables) so that they stay cacheable.
The Python layer maps codes to names and texts with the tables at the bottom of this file; the
rejection frame, the bot's ``REJECTED`` lines and the docs all render from :data:`REASON_TEXT`.
"""

from __future__ import annotations

import math

# ---------------------------------------------------------------------------------------------
# Signals (per symbol and bar, produced by strategies)
# ---------------------------------------------------------------------------------------------
SIG_NONE = 0
SIG_LONG = 1  # open the strategy's long template
SIG_SHORT = -1  # open the strategy's short template
SIG_EXIT = 2  # close this strategy's open position in the symbol

# ---------------------------------------------------------------------------------------------
# Instrument kinds (template field T_KIND). Geometry, with S the underlying close:
#   SHARES            1 leg: stock, ratio = direction (+1 long, -1 short)
#   CALL / PUT        1 leg at K = moneyness*S; direction +1 long, -1 short
#   CASH_SECURED_PUT  short put at K = moneyness*S, cash reserved = K*100 per contract
#   STRADDLE          call + put at K = moneyness*S; direction +1 long, -1 short
#   STRANGLE          put at (moneyness-width)*S, call at (moneyness+width)*S (or by delta_target)
#   PUT_CREDIT_SPREAD short put at (moneyness-width)*S, long put `wing`*S further OTM
#   CALL_CREDIT_SPREAD short call at (moneyness+width)*S, long call `wing`*S further OTM
#   IRON_CONDOR       put credit spread + call credit spread (short strikes +-width, wings +-wing)
#   IRON_BUTTERFLY    short straddle at moneyness*S + long wings at +-wing*S
# Strikes are rounded to the strike grid (T_STRIKE_STEP, 0 = automatic by price level).
# Every option leg has multiplier 100; a multi-leg position is one position with legs.
# ---------------------------------------------------------------------------------------------
KIND_SHARES = 0
KIND_CALL = 1
KIND_PUT = 2
KIND_CASH_SECURED_PUT = 3
KIND_STRADDLE = 4
KIND_STRANGLE = 5
KIND_PUT_CREDIT_SPREAD = 6
KIND_CALL_CREDIT_SPREAD = 7
KIND_IRON_CONDOR = 8
KIND_IRON_BUTTERFLY = 9
N_KINDS = 10

LEG_STOCK = 0
LEG_CALL = 1
LEG_PUT = 2
MAX_LEGS = 4
OPTION_MULTIPLIER = 100.0

# Instrument template: a float64 vector of length TEMPLATE_LEN
T_KIND = 0
T_DIRECTION = 1  # +1 or -1 (for credit kinds, +1 = as named, i.e. sell the spread)
T_DTE_DAYS = 2  # calendar days to expiry at entry
T_MONEYNESS = 3  # strike / spot of the centre strike (1.0 = ATM)
T_WIDTH = 4  # distance of short strikes from the centre, fraction of spot
T_WING = 5  # wing width beyond the short strikes, fraction of spot
T_DELTA_TARGET = 6  # |delta| for strike selection by delta (0 = use moneyness/width)
T_STRIKE_STEP = 7  # strike grid in dollars (0 = automatic)
TEMPLATE_LEN = 8

# ---------------------------------------------------------------------------------------------
# Sizing and allocation methods (values of PP_SIZING_METHOD / allocation codes)
# ---------------------------------------------------------------------------------------------
SIZE_VOLATILITY_BASED = 0
SIZE_KELLY = 1
SIZE_RISK_PARITY = 2
SIZE_FIXED_FRACTIONAL = 3
SIZE_FIXED_DOLLAR = 4
SIZE_SIMPLE = 5  # portfolio management off: floor(cash * position_size_pct% / unit cost)

ALLOC_EQUAL_WEIGHT = 0
ALLOC_RISK_PARITY = 1
ALLOC_PERFORMANCE_WEIGHTED = 2
ALLOC_VOLATILITY_WEIGHTED = 3
ALLOC_CUSTOM = 4

# ---------------------------------------------------------------------------------------------
# Portfolio parameter vector (PortfolioConfig.to_kernel() -> float64[PP_LEN])
# Percentages are stored as given by the user (2.0 = 2 %); exposure limits as fractions.
# ---------------------------------------------------------------------------------------------
PP_INITIAL_CAPITAL = 0
PP_MAX_RISK_PCT = 1  # max_risk_per_trade, % of equity
PP_MAX_POSITION_PCT = 2  # max_position_pct, % of equity (notional cap)
PP_SIZING_METHOD = 3  # SIZE_* code
PP_FIXED_FRACTION_PCT = 4  # FixedFractional parameter, % of equity
PP_FIXED_DOLLAR = 5  # FixedDollar parameter, dollars
PP_KELLY_FRACTION = 6  # fraction of full Kelly (default 0.5)
PP_KELLY_CAP = 7  # cap on the Kelly fraction, as a fraction (default 0.25)
PP_KELLY_MIN_TRADES = 8  # closed trades required before Kelly applies (default 20)
PP_STOP_DISTANCE = 9  # stop distance for shares' unit max loss, fraction of price
PP_MAX_DELTA = 10  # RiskLimits.max_portfolio_delta, fraction of equity
PP_MAX_GAMMA = 11
PP_MAX_VEGA = 12
PP_MAX_CONCENTRATION_PCT = 13
PP_MAX_VAR_PCT = 14
PP_MAX_SECTOR_PCT = 15
PP_WARN_FRACTION = 16
PP_SCALE_TO_FIT = 17  # 1.0 = scale a trade down to fit the limits instead of rejecting
PP_MAX_POSITIONS = 18  # 0 = unlimited
PP_VAR_WINDOW = 19  # bars in the rolling covariance for VaR
PP_ALLOCATION_METHOD = 20  # ALLOC_* code
# --- risk-b (issue 11): Kelly that learns ------------------------------------------------------
PP_KELLY_WINDOW = 21  # closed trades in Kelly's rolling window (default 50)
PP_KELLY_PRIOR = 22  # pseudo-trades of shrinkage toward no edge (default 10)
PP_KELLY_PROBE = 23  # units Kelly trades while its estimate is <= 0 (default 1)
# --- risk-a (issue 11 items 1, 6): breach policy and allocation through time ------------------
PP_BREACH_POLICY = 24  # BREACH_* code (RiskLimits.breach_policy)
PP_REBALANCE_BARS = 25  # bars between recomputations of the strategy capacities
PP_LEN = 26

# ---------------------------------------------------------------------------------------------
# Exposure vector (projected or current book, normalised by equity; see SPEC 5.3)
# ---------------------------------------------------------------------------------------------
EXP_DELTA = 0  # net dollar delta / equity
EXP_GAMMA = 1  # dollar gamma for a 1% move / equity
EXP_VEGA = 2  # P&L for a 10 vol-point shock / equity
EXP_THETA = 3  # theta per calendar day / equity
EXP_CONCENTRATION = 4  # max |market value| (defined-risk options: max loss) / equity
EXP_SECTOR = 5  # max over sectors of sum |market value| / equity
EXP_VAR95 = 6  # delta-normal one-bar VaR 95 / equity
EXP_VAR99 = 7
EXP_GROSS = 8  # sum |market value| / equity
EXP_NET = 9  # sum market value / equity
EXP_DIVERSIFICATION = 10  # effective number of positions, 1 / sum w^2 over |mv| weights
N_EXPOSURES = 11

# "Exceeds a limit" = strictly above it with this relative tolerance (approval_nb.exceeds_nb,
# breach_nb): a value landing exactly on a limit, up to float residue, is inside it.
EXCEED_RTOL = 1e-9

# ---------------------------------------------------------------------------------------------
# Rejection reasons and warnings: bit positions in an int64 mask. A rejection may carry several.
# Warning bits reuse the exposure reason bits ("approaching limit") plus the W_* extras.
# ---------------------------------------------------------------------------------------------
R_DELTA = 0
R_GAMMA = 1
R_VEGA = 2
R_CONCENTRATION = 3
R_SECTOR = 4
R_VAR = 5
R_STRATEGY_CAPACITY = 6
R_CASH = 7
R_MAX_POSITIONS = 8
R_ZERO_SIZE = 9
R_ALREADY_OPEN = 10  # the strategy already holds a position in this symbol
R_NO_PRICE = 11  # missing bar or unusable price/vol for this symbol
W_KELLY_FALLBACK = 12  # Kelly before its minimum trade count: FixedFractional was used
W_SCALED_DOWN = 13  # scale-to-fit reduced the size
# --- risk-b (issue 11): liquidity caps and Kelly that learns ----------------------------------
R_LIQUIDITY = 14  # one unit is above max_contracts_per_trade or the notional cap
W_LIQUIDITY_CAPPED = 15  # the liquidity caps reduced the size
R_UNIT_TOO_LARGE = 16  # Kelly's minimum size (one probe) does not fit the sizing caps
W_KELLY_PROBE = 17  # Kelly estimate <= 0: traded the probe size
R_COST = 18  # the round trip's costs are above max_round_trip_cost_pct of the unit's max loss
N_REASONS = 19
# Bits that only ever warn (on fills and rejections), never reject: add new W_* codes here.
WARNING_ONLY_BITS = frozenset((W_KELLY_FALLBACK, W_SCALED_DOWN, W_LIQUIDITY_CAPPED, W_KELLY_PROBE))

# ---------------------------------------------------------------------------------------------
# Breach policy (PP_BREACH_POLICY) and the actions of the breaches record (kernels/breach_nb.py)
# ---------------------------------------------------------------------------------------------
BREACH_BLOCK = 0  # record the breach; entries that grow the exposure are rejected
BREACH_REDUCE = 1  # also close / trim the largest contributors until back inside
BREACH_HEDGE = 2  # delta: trade the underlying's shares; other exposures: reduce

BA_BLOCK = 0
BA_REDUCE = 1
BA_HEDGE = 2
BA_UNREDUCIBLE = 3  # not (fully) brought back inside; the note says why

BN_NONE = 0
BN_NO_BAR = 1  # the remaining contributors have no bar (no price to trade at) this bar
BN_ACTION_CAP = 2  # the bar's cap on risk trades was reached
BN_NO_CONTRIBUTOR = 3  # no open position contributes to the exposure
BN_CONFLICT = 4  # bringing another limit inside pushed this one out again

# ---------------------------------------------------------------------------------------------
# Fill / exit reasons (trades frame)
# ---------------------------------------------------------------------------------------------
FILL_ENTRY = 0
EXIT_EXPIRY = 1
EXIT_MAX_HOLD = 2
EXIT_STOP_LOSS = 3
EXIT_TAKE_PROFIT = 4
EXIT_SIGNAL = 5
EXIT_END = 6  # closed at the last bar (only when the run asks for it)
# --- risk-b (issue 11): calendar-correct expiry -----------------------------------------------
EXIT_EXPIRY_NO_DATA = 7  # expired while its symbol had no bar: intrinsic at the last close
# An option expires on the first bar at or after ``expiry_day - EXPIRY_TOLERANCE_DAYS``: its
# expiry is a session date, and daily bars stamped at a fixed local time move by an hour in UTC
# across daylight-saving changes (docs/risk-model.md, "Expiry").
EXPIRY_TOLERANCE_DAYS = 0.5
# --- risk-a (issue 11 item 1): breach policy fills --------------------------------------------
EXIT_RISK_REDUCE = 8  # closed or trimmed by the breach policy "reduce" (partial: qty < open qty)
FILL_RISK_HEDGE = 9  # share hedge traded by the breach policy "hedge" (opens, adds or trims)

# ---------------------------------------------------------------------------------------------
# Python-side tables (names and texts). Kernels never touch these.
# ---------------------------------------------------------------------------------------------
KIND_NAMES: dict[int, str] = {
    KIND_SHARES: "shares",
    KIND_CALL: "call",
    KIND_PUT: "put",
    KIND_CASH_SECURED_PUT: "cash_secured_put",
    KIND_STRADDLE: "straddle",
    KIND_STRANGLE: "strangle",
    KIND_PUT_CREDIT_SPREAD: "put_credit_spread",
    KIND_CALL_CREDIT_SPREAD: "call_credit_spread",
    KIND_IRON_CONDOR: "iron_condor",
    KIND_IRON_BUTTERFLY: "iron_butterfly",
}

REASON_NAMES: dict[int, str] = {
    R_DELTA: "delta",
    R_GAMMA: "gamma",
    R_VEGA: "vega",
    R_CONCENTRATION: "concentration",
    R_SECTOR: "sector",
    R_VAR: "var",
    R_STRATEGY_CAPACITY: "strategy_capacity",
    R_CASH: "cash",
    R_MAX_POSITIONS: "max_positions",
    R_ZERO_SIZE: "zero_size",
    R_ALREADY_OPEN: "already_open",
    R_NO_PRICE: "no_price",
    W_KELLY_FALLBACK: "kelly_fallback",
    W_SCALED_DOWN: "scaled_down",
    R_LIQUIDITY: "liquidity",
    W_LIQUIDITY_CAPPED: "liquidity_capped",
    R_UNIT_TOO_LARGE: "unit_too_large",
    W_KELLY_PROBE: "kelly_probe",
    R_COST: "cost",
}

# Texts take keyword fields: value and limit in percent, strategy, symbol.
REASON_TEXT: dict[int, str] = {
    R_DELTA: "Portfolio delta ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_GAMMA: "Portfolio gamma ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_VEGA: "Portfolio vega ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_CONCENTRATION: "Concentration ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_SECTOR: "Sector exposure ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_VAR: "VaR 95 ({value:.1f}%) exceeds limit ({limit:.1f}%)",
    R_STRATEGY_CAPACITY: "Strategy {strategy} at capacity",
    R_CASH: "Not enough cash ({value:.1f}% of equity needed)",
    R_MAX_POSITIONS: "Max positions reached ({limit:.0f})",
    R_ZERO_SIZE: "Position size is zero after sizing",
    R_ALREADY_OPEN: "Strategy {strategy} already holds {symbol}",
    R_NO_PRICE: "No usable price or volatility for {symbol}",
    W_KELLY_FALLBACK: "Kelly needs more closed trades; sized with FixedFractional",
    W_SCALED_DOWN: "Size scaled down to fit the limits",
    R_LIQUIDITY: "One unit of {symbol} exceeds max_contracts_per_trade or the notional cap",
    W_LIQUIDITY_CAPPED: "Size capped by max_contracts_per_trade or the notional cap",
    R_UNIT_TOO_LARGE: (
        "One unit of {symbol} does not fit the sizing caps (max_position_pct, max_risk_per_trade)"
    ),
    W_KELLY_PROBE: "Kelly estimate <= 0; traded the probe size",
    R_COST: "Round-trip costs of {symbol} exceed max_round_trip_cost_pct of its max loss",
}

WARNING_TEXT: dict[int, str] = {
    R_DELTA: "Portfolio delta ({value:.1f}%) approaching limit ({limit:.1f}%)",
    R_GAMMA: "Portfolio gamma ({value:.1f}%) approaching limit ({limit:.1f}%)",
    R_VEGA: "Portfolio vega ({value:.1f}%) approaching limit ({limit:.1f}%)",
    R_CONCENTRATION: "Concentration ({value:.1f}%) approaching limit ({limit:.1f}%)",
    R_SECTOR: "Sector exposure ({value:.1f}%) approaching limit ({limit:.1f}%)",
    R_VAR: "VaR 95 ({value:.1f}%) approaching limit ({limit:.1f}%)",
    W_KELLY_FALLBACK: REASON_TEXT[W_KELLY_FALLBACK],
    W_SCALED_DOWN: REASON_TEXT[W_SCALED_DOWN],
    W_LIQUIDITY_CAPPED: REASON_TEXT[W_LIQUIDITY_CAPPED],
    W_KELLY_PROBE: REASON_TEXT[W_KELLY_PROBE],
}

# A warning on an exposure that is already past its limit (a hedge that shrinks a breached
# exposure, or a book above a limit) says "above limit"; one that lands on it (within
# EXCEED_RTOL) says "at limit"; "approaching" is only ever said below the limit.
WARNING_ABOVE_TEXT: dict[int, str] = {
    code: WARNING_TEXT[code].replace("approaching limit", "above limit")
    for code in (R_DELTA, R_GAMMA, R_VEGA, R_CONCENTRATION, R_SECTOR, R_VAR)
}
WARNING_AT_TEXT: dict[int, str] = {
    code: WARNING_TEXT[code].replace("approaching limit", "at limit") for code in WARNING_ABOVE_TEXT
}

EXIT_NAMES: dict[int, str] = {
    FILL_ENTRY: "entry",
    EXIT_EXPIRY: "expiry",
    EXIT_MAX_HOLD: "max_hold",
    EXIT_STOP_LOSS: "stop_loss",
    EXIT_TAKE_PROFIT: "take_profit",
    EXIT_SIGNAL: "signal_exit",
    EXIT_END: "end_of_data",
    EXIT_EXPIRY_NO_DATA: "expiry_no_data",
    EXIT_RISK_REDUCE: "risk_reduce",
    FILL_RISK_HEDGE: "risk_hedge",
}

BREACH_POLICY_NAMES: dict[int, str] = {
    BREACH_BLOCK: "block",
    BREACH_REDUCE: "reduce",
    BREACH_HEDGE: "hedge",
}
BREACH_ACTION_NAMES: dict[int, str] = {
    BA_BLOCK: "block",
    BA_REDUCE: "reduce",
    BA_HEDGE: "hedge",
    BA_UNREDUCIBLE: "unreducible",
}
BREACH_NOTE_TEXT: dict[int, str] = {
    BN_NONE: "",
    BN_NO_BAR: "contributors have no bar to trade at",
    BN_ACTION_CAP: "cap on risk trades per bar reached",
    BN_NO_CONTRIBUTOR: "no open position contributes",
    BN_CONFLICT: "reducing another limit pushed this one out again",
}


def render_reason(
    code: int,
    *,
    value: float = float("nan"),
    limit: float = float("nan"),
    strategy: str = "",
    symbol: str = "",
    warning: bool = False,
) -> str:
    """Render one reason (or, with ``warning=True``, warning) text from the tables above.

    ``value`` and ``limit`` are in percent. "Above" means :data:`EXCEED_RTOL` past the limit
    (the kernels' rule): an exposure warning says "approaching" below its limit and "above
    limit" past it. A value past its limit is rounded *up* to the shown precision so that it
    never reads like ``Portfolio delta (30.0%) exceeds limit (30.0%)`` when it was 30.04%.
    """
    table = WARNING_TEXT if warning else REASON_TEXT
    above = value == value and limit == limit and abs(value) > limit * (1.0 + EXCEED_RTOL)
    if warning and code in WARNING_ABOVE_TEXT and value == value and limit == limit:
        if above:
            table = WARNING_ABOVE_TEXT
        elif abs(value) >= limit * (1.0 - EXCEED_RTOL):
            table = WARNING_AT_TEXT
    if above:  # away from zero, so a negative delta rounds the same way
        value = math.copysign(math.ceil(abs(value) * 10.0 - 1e-9) / 10.0, value)
    return table[code].format(value=value, limit=limit, strategy=strategy, symbol=symbol)


def mask_bits(mask: int) -> list[int]:
    """Return the reason codes set in an int64 reason mask, in ascending order."""
    return [code for code in range(N_REASONS) if mask >> code & 1]
