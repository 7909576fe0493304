"""Throughput of the BSM Greeks and implied-vol kernels; compile times; py_vollib_vectorized peer.

Usage: ``python benchmarks/bench_pricing.py [--sizes 1000000,10000000] [--repeats 5]``

Prints machine and versions, then for each size the median of warm runs of the full Greeks set
(price, delta, gamma, vega, theta, rho) on 1 core (serial kernel) and on 1 and 2 threads of the
``prange`` kernel, implied vols per second, first-call compile time in a fresh subprocess with an
empty numba cache and again with the warm cache, and, when ``py_vollib_vectorized`` is installed
(``bench`` extra), the same Greeks computed by it on the same inputs, checked and timed.
Every result is checked against an independent scipy closed form before it is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cold_and_warm, last_line, machine_info, warm_median

from dollarbill_research.kernels.iv_nb import implied_vol_vec_nb, implied_vol_vec_par_nb
from dollarbill_research.kernels.pricing_nb import bs_greeks_vec_nb, bs_greeks_vec_par_nb

NAMES = ("price", "delta", "gamma", "vega", "theta", "rho")


def inputs(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Realistic random options: strikes 70-140 % of spot, 1 day to 2 years, vols 10-100 %."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(50.0, 150.0, n)
    return (
        rng.random(n) < 0.5,
        s,
        s * rng.uniform(0.7, 1.4, n),
        rng.uniform(1 / 365, 2.0, n),
        rng.uniform(0.0, 0.06, n),
        rng.uniform(0.0, 0.03, n),
        rng.uniform(0.1, 1.0, n),
    )


def closed_form(c, s, k, t, r, q, sg) -> tuple[np.ndarray, ...]:
    """Vectorized textbook BSM with scipy's ndtr (the independent check)."""
    sign = np.where(c, 1.0, -1.0)
    vt = sg * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + sg * sg / 2) * t) / vt
    d2 = d1 - vt
    fs, fk = s * np.exp(-q * t), k * np.exp(-r * t)
    pdf = np.exp(-d1 * d1 / 2) / np.sqrt(2 * np.pi)
    n1, n2 = ndtr(sign * d1), ndtr(sign * d2)
    theta = -fs * pdf * sg / (2 * np.sqrt(t)) + sign * (q * fs * n1 - r * fk * n2)
    return (
        sign * (fs * n1 - fk * n2),
        sign * np.exp(-q * t) * n1,
        fs * pdf / (s * s * vt),
        fs * pdf * np.sqrt(t) / 100,
        theta / 365,
        sign * fk * t * n2 / 100,
    )


def check(outs, want, label: str) -> None:
    for name, got, ref in zip(NAMES, outs, want, strict=True):
        err = np.abs(got - ref) / np.maximum(1.0, np.abs(ref))
        if not err.max() <= 1e-9:
            raise SystemExit(f"{label}: {name} differs from the closed form by {err.max():.2e}")


COMPILE_SNIPPET = """
import json, time
t0 = time.perf_counter()
import numpy as np
from numba import njit
from dollarbill_research.kernels.pricing_nb import bs_greeks_vec_nb, bs_greeks_vec_par_nb
from dollarbill_research.kernels.iv_nb import implied_vol_vec_nb
t1 = time.perf_counter()
njit(lambda x: x + 1)(1)  # numba's one-time start-up, so it is not billed to the kernels
t1b = time.perf_counter()
n = 8
a = [np.full(n, v) for v in (100.0, 100.0, 1.0, 0.05, 0.0, 0.2)]
c = np.ones(n, dtype=np.bool_)
o = np.empty((6, n))
t2 = time.perf_counter(); bs_greeks_vec_nb(c, *a, o); t3 = time.perf_counter()
bs_greeks_vec_par_nb(c, *a, o); t4 = time.perf_counter()
iv = np.empty(n); implied_vol_vec_nb(c, o[0], *a[:5], iv); t5 = time.perf_counter()
times = {"import": t1 - t0, "init": t1b - t1, "greeks": t3 - t2}
times |= {"greeks_par": t4 - t3, "iv": t5 - t4}
print(json.dumps(times))
"""


def compile_times() -> None:
    cold, warm = cold_and_warm(COMPILE_SNIPPET)
    for label, (_, stdout) in (("cold cache", cold), ("warm cache", warm)):
        t = json.loads(last_line(stdout))
        print(
            f"  first call, fresh process, {label}: import {t['import']:.2f}s  "
            f"numba init {t['init']:.2f}s  "
            f"greeks {t['greeks']:.2f}s  greeks_par {t['greeks_par']:.2f}s  iv {t['iv']:.2f}s"
        )


def bench_size(n: int, repeats: int) -> None:
    args = inputs(n)
    outs = np.empty((len(NAMES), n))
    want = closed_form(*args)
    bs_greeks_vec_nb(*args, outs)
    check(outs, want, "serial")
    bs_greeks_vec_par_nb(*args, outs)
    check(outs, want, "parallel")
    serial = warm_median(lambda: bs_greeks_vec_nb(*args, outs), repeats)
    print(f"  {n:>10,d}  greeks serial kernel (1 core): {n / serial / 1e6:7.2f} M sets/s")
    rates = {}
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        rates[threads] = n / warm_median(lambda: bs_greeks_vec_par_nb(*args, outs), repeats)
        rate = rates[threads] / 1e6
        print(f"  {n:>10,d}  greeks prange kernel, {threads} thread(s): {rate:7.2f} M sets/s")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    top = max(rates)
    print(f"  {n:>10,d}  scaling 1 -> {top} threads: {rates[top] / rates[1]:.2f}x")


def bench_iv(n: int, repeats: int) -> None:
    c, s, k, t, r, q, sg = inputs(n, seed=1)
    ref = closed_form(c, s, k, t, r, q, sg)
    price, vega_unit = ref[0], ref[3] * 100.0
    out = np.empty(n)
    implied_vol_vec_nb(c, price, s, k, t, r, q, out)
    # well-conditioned quotes (one ulp of price moves sigma < 1e-10), as in tests/kernels
    ok = (price > 1e-300) & (np.finfo(float).eps * price <= 1e-10 * vega_unit)
    err = np.abs(out[ok] - sg[ok]).max()
    if not err <= 1e-8:
        raise SystemExit(f"implied vol round trip error {err:.2e}")
    print(f"  round trip max error {err:.1e} on the {ok.mean():.1%} well-conditioned quotes")
    ser = warm_median(lambda: implied_vol_vec_nb(c, price, s, k, t, r, q, out), repeats)
    par = warm_median(lambda: implied_vol_vec_par_nb(c, price, s, k, t, r, q, out), repeats)
    print(
        f"  {n:>10,d}  implied vol: serial {n / ser / 1e6:.2f} M/s, prange {n / par / 1e6:.2f} M/s"
    )


def bench_peer(n: int, repeats: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import py_vollib_vectorized as pvv
        except ImportError:
            print("  py_vollib_vectorized not installed (pip install '.[bench]'); peer skipped")
            return
        args = inputs(n, seed=2)
        c, s, k, t, r, q, sg = args
        flag = np.where(c, "c", "p")

        def peer():
            price = pvv.vectorized_black_scholes_merton(flag, s, k, t, r, sg, q, return_as="numpy")
            g = pvv.get_all_greeks(
                flag, s, k, t, r, sg, q, model="black_scholes_merton", return_as="dict"
            )
            return price, g

        price, g = peer()
        peer_time = warm_median(peer, max(1, repeats // 2))
    outs = np.empty((len(NAMES), n))
    ours = warm_median(lambda: bs_greeks_vec_nb(*args, outs), repeats)
    ref = closed_form(*args)
    print(f"  peer check on {n:,d} options (max |ours - peer|, max |peer - closed form|):")
    diffs = {"price": price, **{name: np.asarray(g[name]) for name in NAMES[1:]}}
    for name, ours_v, ref_v in zip(NAMES, outs, ref, strict=True):
        d = np.abs(ours_v - diffs[name]).max()
        print(
            f"    {name:>5}: {d:.2e}  peer vs closed form {np.abs(diffs[name] - ref_v).max():.2e}"
        )
    if not np.abs(outs[0] - price).max() <= 1e-9 * max(1.0, np.abs(price).max()):
        raise SystemExit("price differs from py_vollib_vectorized")
    for name in ("delta", "gamma"):  # the peer's own CDF is good to ~1e-5 here
        if not np.abs(getattr_outs(outs, name) - diffs[name]).max() <= 1e-4:
            raise SystemExit(f"{name} differs from py_vollib_vectorized")
    print(
        "    (py_vollib_vectorized 0.1.1 takes vega and theta by finite differences and returns\n"
        "     Black-76 rho -t*price for BSM, hence those gaps; ours match the closed form)"
    )
    print(
        f"  py_vollib_vectorized: {n / peer_time / 1e6:.3f} M sets/s; ours serial "
        f"{n / ours / 1e6:.2f} M sets/s -> {peer_time / ours:.0f}x faster on one core"
    )


def getattr_outs(outs, name: str) -> np.ndarray:
    return outs[NAMES.index(name)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-size", type=int, default=200_000)
    opts = parser.parse_args()
    sizes = [int(float(x)) for x in opts.sizes.split(",")]
    print(machine_info())
    print(f"numba threads={numba.config.NUMBA_NUM_THREADS}")
    print("compile:")
    compile_times()
    print(f"greeks (median of {opts.repeats} warm runs, checked vs scipy closed form to 1e-9):")
    for n in sizes:
        bench_size(n, opts.repeats)
    print("implied vol (round trip checked to 1e-8):")
    bench_iv(min(sizes), opts.repeats)
    print("peer:")
    bench_peer(opts.peer_size, opts.repeats)


if __name__ == "__main__":
    main()
