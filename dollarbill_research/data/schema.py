"""The canonical long bar frame: column names, dtypes and tolerances, defined once.

One row per symbol and bar, sorted by ``(symbol, timestamp)``:

========== ============================================ =========================================
column     dtype                                        meaning
========== ============================================ =========================================
symbol     ``pl.String``                                ticker, as given (file names upper-cased)
timestamp  ``pl.Datetime(unit, zone)`` as given;        bar time; naive inputs stay naive
           ``Datetime("us", "UTC")`` for strings with
           offsets, ``Datetime("us")`` or ``Date``
           for naive strings
open       ``pl.Float64``                               dollars, > 0
high       ``pl.Float64``                               dollars, >= max(open, close, low)
low        ``pl.Float64``                               dollars, <= min(open, close)
close      ``pl.Float64``                               dollars, > 0
volume     ``pl.Float64``                               shares, >= 0
iv         ``pl.Float64`` (optional)                    annualised implied vol (decimal), in
                                                        (0, MAX_IV];
                                                        null = fill from the proxy in ``to_panel``
sector     ``pl.String`` (optional)                     sector name, one per symbol; null allowed
========== ============================================ =========================================
"""

from __future__ import annotations

SYMBOL = "symbol"
TIMESTAMP = "timestamp"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VOLUME = "volume"
IV = "iv"
SECTOR = "sector"

REQUIRED_COLUMNS: tuple[str, ...] = (SYMBOL, TIMESTAMP, *PRICE_COLUMNS, VOLUME)
OPTIONAL_COLUMNS: tuple[str, ...] = (IV, SECTOR)
CANONICAL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, VOLUME, IV)

TIME_UNIT = "us"

#: Largest accepted implied vol (decimal): 5.0 = 500 %. Above it the column is taken for percent.
MAX_IV = 5.0
UNKNOWN_SECTOR = "Unknown"

#: Relative tolerance of the OHLC consistency checks. Vendors' split/dividend adjustment leaves
#: round-off of a few ulps (yfinance's TLT has close = high * (1 + 1e-16)); 1e-9 accepts that
#: and still rejects every real inconsistency.
OHLC_RTOL = 1e-9

#: Case-insensitive aliases used by the loaders (after ``strip().lower()`` and spaces -> ``_``).
COLUMN_ALIASES: dict[str, str] = {
    "symbol": SYMBOL,
    "ticker": SYMBOL,
    "timestamp": TIMESTAMP,
    "date": TIMESTAMP,
    "datetime": TIMESTAMP,
    "time": TIMESTAMP,
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": VOLUME,
    "iv": IV,
    "implied_vol": IV,
    "implied_volatility": IV,
    "impliedvol": IV,
    "sector": SECTOR,
}
