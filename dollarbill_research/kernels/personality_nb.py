"""Kernels of the stock-personality classifier: rolling regression and the scoring step.

Layout and window conventions are those of :mod:`dollarbill_research.kernels.signals_nb`:
series-major ``(n_series, n_bars)`` float64 arrays, windows over the symbol's own valid bars,
a window defined only when all its values are finite, nothing read after the current bar.
"""

from __future__ import annotations

import math

import numpy as np

from dollarbill_research.kernels._jit import jit, jit_inner

# Personality codes (order of the score vector); -1 = not classified (window not full).
P_NONE = -1
P_MOMENTUM_LEADER = 0
P_MEAN_REVERTING = 1
P_TREND_FOLLOWER = 2
P_VOLATILE_BREAKER = 3
P_STABLE_ACCUMULATOR = 4
N_PERSONALITIES = 5

# Reference distribution of annualised equity vol for the volatility percentile:
# lognormal with median 30 % and log-dispersion 0.5.
VOL_REF_MEDIAN = 0.30
VOL_REF_DISPERSION = 0.5


@jit
def rolling_ols_nb(
    x: np.ndarray, y: np.ndarray, valid: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rolling least squares ``y = a + b x`` over the last ``window`` valid bars.

    Sums are kept around reference values (the window means at the last exact recomputation,
    once per ``window`` bars) so large levels of ``x`` (a bar index) cost no precision.

    Returns
    -------
    slope, r2, slope_se : numpy.ndarray
        ``b``, the coefficient of determination and the standard error of ``b``
        (``sqrt(SSE / (n - 2) / Sxx)``), each ``(n_series, n_bars)``; NaN until the window is
        full of finite pairs, and where ``x`` is constant in the window.
    """
    n_sym, n_bars = x.shape
    slope = np.full((n_sym, n_bars), np.nan)
    r2 = np.full((n_sym, n_bars), np.nan)
    se = np.full((n_sym, n_bars), np.nan)
    rx = np.empty(window)
    ry = np.empty(window)
    for j in range(n_sym):
        k = 0
        sx = 0.0
        sy = 0.0
        sxx = 0.0
        sxy = 0.0
        syy = 0.0
        n_nan = 0
        refx = 0.0
        refy = 0.0
        for t in range(n_bars):
            if not valid[j, t]:
                continue
            pos = k % window
            if k >= window:
                ox = rx[pos] - refx
                oy = ry[pos] - refy
                if math.isfinite(ox) and math.isfinite(oy):
                    sx -= ox
                    sy -= oy
                    sxx -= ox * ox
                    sxy -= ox * oy
                    syy -= oy * oy
                else:
                    n_nan -= 1
            rx[pos] = x[j, t]
            ry[pos] = y[j, t]
            vx = x[j, t] - refx
            vy = y[j, t] - refy
            if math.isfinite(vx) and math.isfinite(vy):
                sx += vx
                sy += vy
                sxx += vx * vx
                sxy += vx * vy
                syy += vy * vy
            else:
                n_nan += 1
            if pos == window - 1:  # exact recomputation around the window means
                cnt = 0
                tx = 0.0
                ty = 0.0
                for i in range(window):
                    if math.isfinite(rx[i]) and math.isfinite(ry[i]):
                        tx += rx[i]
                        ty += ry[i]
                        cnt += 1
                if cnt > 0:
                    refx = tx / cnt
                    refy = ty / cnt
                sx = sy = sxx = sxy = syy = 0.0
                for i in range(window):
                    if math.isfinite(rx[i]) and math.isfinite(ry[i]):
                        dx = rx[i] - refx
                        dy = ry[i] - refy
                        sx += dx
                        sy += dy
                        sxx += dx * dx
                        sxy += dx * dy
                        syy += dy * dy
            k += 1
            if k >= window and n_nan == 0:
                n = float(window)
                cxx = sxx - sx * sx / n
                cxy = sxy - sx * sy / n
                cyy = syy - sy * sy / n
                if cxx > 1e-300:
                    b = cxy / cxx
                    slope[j, t] = b
                    r2[j, t] = min(max(cxy * cxy / (cxx * cyy), 0.0), 1.0) if cyy > 0.0 else 0.0
                    if window > 2:
                        sse = max(cyy - b * cxy, 0.0)
                        se[j, t] = math.sqrt(sse / (n - 2.0) / cxx)
    return slope, r2, se


@jit_inner
def _clip01(v: float) -> float:
    return min(max(v, 0.0), 1.0)


@jit
def personality_scores_nb(
    vol: np.ndarray,
    trend_r2: np.ndarray,
    trend_tau: np.ndarray,
    accel: np.ndarray,
    ar1_t: np.ndarray,
    breakout_freq: np.ndarray,
    beta_stability: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score the five personalities and pick one per symbol and bar.

    Derived quantities (all in [0, 1]):

    * ``vol_pct = Phi(ln(vol / 0.30) / 0.5)`` — percentile of the annualised vol in a lognormal
      reference distribution of equity vols (median 30 %);
    * ``trend = r2 x clip(|tau| / 2, 0, 1)`` — straightness of the log-price path times the
      size of the move in noise units (so a random walk's spurious R^2 scores low);
    * ``mr = clip(-ar1_t / 4, 0, 1)`` — Dickey-Fuller t of the AR(1) coefficient of log price;
    * ``up = 1`` when ``tau > 0``.

    Scores:

    * MomentumLeader ``= up x trend x clip(0.5 + accel / 4, 0, 1)``
    * MeanReverting ``= mr x (1 - trend)``
    * TrendFollower ``= trend x (1 - clip(|accel| / 4, 0, 1))``
    * VolatileBreaker ``= vol_pct x clip(breakout_freq / 0.15, 0, 1)``
    * StableAccumulator ``= (1 - vol_pct) x beta_stability x (1 - trend)``

    The personality is the arg-max (ties: lowest code); its confidence is
    ``clip((s_max / sum(s) - 0.2) / 0.8, 0, 1)``: 0 when all scores are equal, 1 when only one
    is positive. Any NaN input or an all-zero score vector gives ``P_NONE`` and confidence 0.

    Returns
    -------
    code : numpy.ndarray
        int64 ``(n_series, n_bars)`` personality codes ``P_*``.
    confidence : numpy.ndarray
        float64, same shape.
    vol_pct : numpy.ndarray
        float64, same shape (NaN where vol is NaN).
    """
    n_sym, n_bars = vol.shape
    code = np.full((n_sym, n_bars), P_NONE, dtype=np.int64)
    conf = np.zeros((n_sym, n_bars))
    vpct = np.full((n_sym, n_bars), np.nan)
    s = np.empty(N_PERSONALITIES)
    for j in range(n_sym):
        for t in range(n_bars):
            v = vol[j, t]
            if v > 0.0 and math.isfinite(v):
                z = math.log(v / VOL_REF_MEDIAN) / VOL_REF_DISPERSION
                vpct[j, t] = 0.5 * math.erfc(-z / math.sqrt(2.0))
            vp = vpct[j, t]
            r2 = trend_r2[j, t]
            tau = trend_tau[j, t]
            a = accel[j, t]
            dft = ar1_t[j, t]
            bf = breakout_freq[j, t]
            bs = beta_stability[j, t]
            ok = True
            for q in (vp, r2, tau, a, dft, bf, bs):
                if not math.isfinite(q):
                    ok = False
            if not ok:
                continue
            trend = r2 * _clip01(abs(tau) / 2.0)
            mr = _clip01(-dft / 4.0)
            up = 1.0 if tau > 0.0 else 0.0
            s[P_MOMENTUM_LEADER] = up * trend * _clip01(0.5 + a / 4.0)
            s[P_MEAN_REVERTING] = mr * (1.0 - trend)
            s[P_TREND_FOLLOWER] = trend * (1.0 - _clip01(abs(a) / 4.0))
            s[P_VOLATILE_BREAKER] = vp * _clip01(bf / 0.15)
            s[P_STABLE_ACCUMULATOR] = (1.0 - vp) * _clip01(bs) * (1.0 - trend)
            total = 0.0
            best = 0
            for i in range(N_PERSONALITIES):
                total += s[i]
                if s[i] > s[best]:
                    best = i
            if total > 0.0:
                code[j, t] = best
                conf[j, t] = _clip01((s[best] / total - 0.2) / 0.8)
    return code, conf, vpct
