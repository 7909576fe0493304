"""Black–Scholes–Merton prices, Greeks and implied volatility over scalars, arrays and Series.

Thin, checked wrappers over :mod:`dollarbill_research.kernels.pricing_nb` and
:mod:`dollarbill_research.kernels.iv_nb`. Inputs broadcast against each other (numpy rules);
the result mirrors them: all scalars give a ``float``, any ``polars.Series`` gives a
``polars.Series``, otherwise a float64 ``numpy.ndarray`` of the broadcast shape. For polars
frames use the expression helpers :func:`bs_price_expr`, :func:`greeks_expr` and
:func:`implied_vol_expr`.

Units (the py_vollib convention)
    ``s``, ``k`` and prices in dollars per share of underlying; ``t`` in years; ``r`` and ``q``
    continuously compounded decimals (0.05 = 5 %); ``sigma`` annualised decimal (0.2 = 20 %).
    ``delta`` per dollar of spot, ``gamma`` per dollar², ``vega`` per 1 vol point (σ + 0.01),
    ``theta`` per calendar day (annual / 365), ``rho`` per 1 rate point (r + 0.01).

Option type
    ``is_call`` is ``True``/``False``, an array of bools (or 0/1), or the strings ``"call"`` /
    ``"put"`` (also ``"c"``/``"p"``, any case), scalar or array.

Validation and NaN policy
    ``s`` and ``k`` must be > 0 and not infinite: otherwise :class:`DataError` (a
    ``ValueError``) naming the argument, the first offending position and its value. ``t <= 0``
    means expired (intrinsic value, step delta, other Greeks 0); ``sigma <= 0`` gives the
    discounted forward-intrinsic limit. A NaN in any numeric input gives NaN in that option's
    outputs (missing quotes stay missing; they are not an error).

Examples
--------
>>> from dollarbill_research.pricing import bs_price, bs_greeks, implied_vol
>>> round(bs_price(100.0, 100.0, 1.0, 0.05, 0.2), 6)
10.450584
>>> round(bs_price(100.0, 100.0, 1.0, 0.05, 0.2, is_call="put"), 6)
5.573526
>>> g = bs_greeks(100.0, 100.0, 1.0, 0.05, 0.2)
>>> round(g.delta, 6), round(g.gamma, 6), round(g.vega, 6)
(0.636831, 0.018762, 0.37524)
>>> round(implied_vol(10.450584, 100.0, 100.0, 1.0, 0.05), 6)
0.2
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import polars as pl

from dollarbill_research._typing import BoolArray, FloatArray
from dollarbill_research.exceptions import DataError
from dollarbill_research.kernels.iv_nb import implied_vol_vec_nb, implied_vol_vec_par_nb
from dollarbill_research.kernels.pricing_nb import (
    bs_greeks_vec_nb,
    bs_greeks_vec_par_nb,
    bs_price_vec_nb,
    bs_price_vec_par_nb,
)

__all__ = [
    "GREEK_NAMES",
    "Greeks",
    "bs_greeks",
    "bs_price",
    "bs_price_expr",
    "greeks_expr",
    "implied_vol",
    "implied_vol_expr",
]

Number: TypeAlias = float | int | np.ndarray | pl.Series
OptionType: TypeAlias = bool | str | np.ndarray | pl.Series | list[Any]
ExprLike: TypeAlias = str | float | int | bool | pl.Expr
Result: TypeAlias = float | FloatArray | pl.Series

GREEK_NAMES: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho")
PARALLEL_MIN_SIZE = 50_000  # below this the threaded kernels cost more than they save
_CALL_WORDS = {"call": True, "c": True, "put": False, "p": False}


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and the five Greeks of each option (units in the module docstring).

    Every field has the same kind as the inputs gave: ``float``, ``numpy.ndarray`` of the
    broadcast shape, or ``polars.Series`` named after the field.
    """

    price: Result
    delta: Result
    gamma: Result
    vega: Result
    theta: Result
    rho: Result

    def to_dict(self) -> dict[str, Result]:
        """The six fields as ``{name: value}`` in :data:`GREEK_NAMES` order."""
        return {name: getattr(self, name) for name in GREEK_NAMES}


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Flat C-contiguous kernel inputs plus how to shape the result."""

    arrays: tuple[FloatArray, ...]
    is_call: BoolArray
    shape: tuple[int, ...]
    scalar: bool
    series: bool


def _is_call_array(is_call: OptionType) -> BoolArray:
    """``is_call`` as a bool array; strings ``call``/``put``/``c``/``p`` accepted."""
    if isinstance(is_call, pl.Series):
        is_call = is_call.to_numpy()
    arr = np.asarray(is_call)
    if arr.dtype.kind in "USO":
        words = np.char.lower(arr.astype(str))
        unknown = ~np.isin(words, list(_CALL_WORDS))
        if unknown.any():
            bad = words.ravel()[np.flatnonzero(unknown.ravel())[0]]
            raise DataError(
                f"is_call={str(bad)!r} is not an option type; hint: use True/False or 'call'/'put'"
            )
        return np.isin(words, ["call", "c"])
    if arr.dtype.kind not in "biu":
        raise DataError(
            f"is_call has dtype {arr.dtype}; hint: use booleans, 0/1 or 'call'/'put' strings"
        )
    return arr.astype(np.bool_)


def _prepare(named: dict[str, Number], is_call: OptionType) -> _Prepared:
    """Broadcast inputs, check ``s``/``k`` and flatten everything for the kernels."""
    series = any(isinstance(v, pl.Series) for v in (*named.values(), is_call))
    raw = [v.to_numpy() if isinstance(v, pl.Series) else v for v in named.values()]
    try:
        values = [np.asarray(v, dtype=np.float64) for v in raw]
    except (TypeError, ValueError) as exc:
        raise DataError(f"pricing inputs must be numeric ({exc}); hint: cast to float") from exc
    flags = _is_call_array(is_call)
    scalar = all(v.ndim == 0 for v in values) and flags.ndim == 0
    try:
        shape = np.broadcast_shapes(flags.shape, *(v.shape for v in values))
    except ValueError as exc:
        shapes = ", ".join(f"{n}{v.shape}" for n, v in zip(named, values, strict=True))
        raise DataError(f"pricing inputs do not broadcast: {shapes}; hint: {exc}") from exc
    flat = tuple(
        np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).reshape(-1)
        for v in values
    )
    for name in ("s", "k"):
        if name in named:
            arr = flat[list(named).index(name)]
            bad = ~((arr > 0.0) & (arr < np.inf)) & ~np.isnan(arr)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{name}={float(arr[i])!r} at position {i} must be finite and > 0; "
                    "hint: spot and strike are prices in dollars"
                )
    calls = np.ascontiguousarray(np.broadcast_to(flags, shape)).reshape(-1)
    return _Prepared(flat, calls, shape, scalar, series)


def _shape_out(prep: _Prepared, arr: FloatArray, name: str) -> Result:
    if prep.scalar:
        return float(arr[0])
    if prep.series:
        return pl.Series(name, arr)
    return arr.reshape(prep.shape)


def _run(
    prep: _Prepared,
    serial: Callable[..., None],
    threaded: Callable[..., None],
    parallel: bool | None,
    n_out: int,
) -> tuple[FloatArray, ...]:
    """Call ``serial`` or ``threaded`` (by ``parallel``, else by size) on the prepared inputs.

    Both kernels take ``(is_call, *prep.arrays, out)``: one output array ``(n,)``, or
    ``(n_out, n)`` when there are several; returns the ``n_out`` flat outputs (rows).
    """
    n = prep.is_call.shape[0]
    out = np.empty((n_out, n))
    use_threads = n >= PARALLEL_MIN_SIZE if parallel is None else parallel
    (threaded if use_threads else serial)(prep.is_call, *prep.arrays, out[0] if n_out == 1 else out)
    return tuple(out)


def bs_price(
    s: Number,
    k: Number,
    t: Number,
    r: Number,
    sigma: Number,
    *,
    q: Number = 0.0,
    is_call: OptionType = True,
    parallel: bool | None = None,
) -> Result:
    """Black–Scholes–Merton price of European options.

    Parameters
    ----------
    s, k : float, array or Series
        Spot and strike in dollars, > 0.
    t : float, array or Series
        Time to expiry in years; ``<= 0`` means expired (intrinsic value).
    r, q : float, array or Series
        Risk-free rate and dividend yield, continuously compounded decimals.
    sigma : float, array or Series
        Annualised volatility as a decimal; ``<= 0`` gives the discounted forward intrinsic.
    is_call : bool, str or array
        Option type per option (see module docstring).
    parallel : bool or None
        Use the threaded kernel; ``None`` decides by size (>= 50,000 options).

    Returns
    -------
    float, ndarray or Series
        Price per share of underlying, in the broadcast shape of the inputs.
    """
    prep = _prepare({"s": s, "k": k, "t": t, "r": r, "q": q, "sigma": sigma}, is_call)
    (out,) = _run(prep, bs_price_vec_nb, bs_price_vec_par_nb, parallel, 1)
    return _shape_out(prep, out, "price")


def bs_greeks(
    s: Number,
    k: Number,
    t: Number,
    r: Number,
    sigma: Number,
    *,
    q: Number = 0.0,
    is_call: OptionType = True,
    parallel: bool | None = None,
) -> Greeks:
    """Price, delta, gamma, vega, theta and rho of European options in one pass.

    Parameters are those of :func:`bs_price`. Returns a frozen :class:`Greeks` whose fields are
    in the module's units: vega per vol point, theta per calendar day, rho per rate point.
    """
    prep = _prepare({"s": s, "k": k, "t": t, "r": r, "q": q, "sigma": sigma}, is_call)
    outs = _run(prep, bs_greeks_vec_nb, bs_greeks_vec_par_nb, parallel, len(GREEK_NAMES))
    return Greeks(*(_shape_out(prep, o, name) for o, name in zip(outs, GREEK_NAMES, strict=True)))


def implied_vol(
    price: Number,
    s: Number,
    k: Number,
    t: Number,
    r: Number,
    *,
    q: Number = 0.0,
    is_call: OptionType = True,
    parallel: bool | None = None,
) -> Result:
    """Black–Scholes–Merton implied volatility (annualised decimal) of option prices.

    Solver: bracketed Newton on the log of the out-of-the-money price (see
    :mod:`dollarbill_research.kernels.iv_nb`), converged to ~1e-15 relative in σ.

    Returns NaN where ``t <= 0``, any input is NaN, or the price lies outside the no-arbitrage
    bounds: below the discounted forward intrinsic ``max(±(s e^{-qt} - k e^{-rt}), 0)`` or at or
    above ``s e^{-qt}`` (calls) / ``k e^{-rt}`` (puts). A price equal to the lower bound gives
    0.0. Accuracy is limited by conditioning, not the solver: a quote moves σ by
    ``ulp(price) / vega``, so deep in-the-money short-dated quotes whose time value is lost in
    the rounding of the intrinsic value cannot be inverted to 1e-8.
    """
    prep = _prepare({"price": price, "s": s, "k": k, "t": t, "r": r, "q": q}, is_call)
    (out,) = _run(prep, implied_vol_vec_nb, implied_vol_vec_par_nb, parallel, 1)
    return _shape_out(prep, out, "iv")


def _expr(value: ExprLike) -> pl.Expr:
    """A column name, a literal or an expression, as an expression."""
    if isinstance(value, pl.Expr):
        return value
    if isinstance(value, str):
        return pl.col(value)
    return pl.lit(value)


def _struct(fields: dict[str, ExprLike], is_call: ExprLike) -> pl.Expr:
    """One struct of the float inputs plus ``is_call``.

    The strings ``"call"``/``"put"`` are literals here (``pl.col("call")`` names a column).
    """
    exprs = [_expr(v).cast(pl.Float64).alias(n) for n, v in fields.items()]
    if isinstance(is_call, str) and is_call.lower() in _CALL_WORDS:
        flag = pl.lit(_CALL_WORDS[is_call.lower()])
    else:
        flag = _expr(is_call)
    return pl.struct([*exprs, flag.alias("is_call")])


def _map_expr(
    fields: dict[str, ExprLike],
    is_call: ExprLike,
    compute: Callable[[dict[str, pl.Series], pl.Series], pl.Series],
    dtype: pl.DataType | type[pl.DataType],
    name: str,
) -> pl.Expr:
    """Expression named ``name`` that calls ``compute(columns, is_call)`` on each batch.

    ``columns`` maps each key of ``fields`` to its float64 Series; ``compute`` is called with
    them as keywords of the wrapped pricing function.
    """

    def run(batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest()
        return compute({n: frame[n] for n in fields}, frame["is_call"])

    return _struct(fields, is_call).map_batches(run, return_dtype=dtype).alias(name)


def bs_price_expr(
    s: ExprLike,
    k: ExprLike,
    t: ExprLike,
    r: ExprLike,
    sigma: ExprLike,
    *,
    q: ExprLike = 0.0,
    is_call: ExprLike = True,
) -> pl.Expr:
    """Polars expression of :func:`bs_price`; a ``str`` argument is a column name.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"close": [100.0], "strike": [100.0], "iv": [0.2]})
    >>> df.select(bs_price_expr("close", "strike", 1.0, 0.05, "iv").round(6)).item()
    10.450584
    """
    fields = {"s": s, "k": k, "t": t, "r": r, "q": q, "sigma": sigma}

    def run(cols: dict[str, pl.Series], calls: pl.Series) -> pl.Series:
        return bs_price(**cols, is_call=calls)  # type: ignore[return-value]

    return _map_expr(fields, is_call, run, pl.Float64, "price")


def greeks_expr(
    s: ExprLike,
    k: ExprLike,
    t: ExprLike,
    r: ExprLike,
    sigma: ExprLike,
    *,
    q: ExprLike = 0.0,
    is_call: ExprLike = True,
) -> pl.Expr:
    """Polars struct expression with fields price, delta, gamma, vega, theta, rho.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"close": [100.0], "strike": [100.0], "iv": [0.2]})
    >>> out = df.with_columns(greeks_expr("close", "strike", 1.0, 0.05, "iv")).unnest("greeks")
    >>> round(out["delta"].item(), 6), round(out["vega"].item(), 6)
    (0.636831, 0.37524)
    """
    fields = {"s": s, "k": k, "t": t, "r": r, "q": q, "sigma": sigma}
    dtype = pl.Struct({name: pl.Float64 for name in GREEK_NAMES})

    def run(cols: dict[str, pl.Series], calls: pl.Series) -> pl.Series:
        return pl.DataFrame(bs_greeks(**cols, is_call=calls).to_dict()).to_struct("greeks")

    return _map_expr(fields, is_call, run, dtype, "greeks")


def implied_vol_expr(
    price: ExprLike,
    s: ExprLike,
    k: ExprLike,
    t: ExprLike,
    r: ExprLike,
    *,
    q: ExprLike = 0.0,
    is_call: ExprLike = True,
) -> pl.Expr:
    """Polars expression of :func:`implied_vol`; a ``str`` argument is a column name."""
    fields = {"price": price, "s": s, "k": k, "t": t, "r": r, "q": q}

    def run(cols: dict[str, pl.Series], calls: pl.Series) -> pl.Series:
        return implied_vol(**cols, is_call=calls)  # type: ignore[return-value]

    return _map_expr(fields, is_call, run, pl.Float64, "iv")
