"""Throughput of the synthetic ECG generator on one CPU core: records per second.

Usage::

    python benchmarks/bench_synthetic.py [--n 2048] [--repeats 5] [--fs 100 500]

BLAS and OpenMP are pinned to one thread before numpy is imported (only the batched matmul
could use more; everything else in numpy is single-threaded anyway). Each setting is run once
to warm up (the first touch of fresh memory is slow on some VMs), then ``--repeats`` times;
the best and the median rate are printed, plus one JSON line per setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048, help="records per timed call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per setting")
    parser.add_argument("--fs", type=float, nargs="+", default=[100.0, 500.0], help="Hz")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per record")
    parser.add_argument("--chunk-size", type=int, default=256, help="records per batch")
    args = parser.parse_args()

    import numpy as np  # noqa: F401  (imported after the thread settings on purpose)

    from threekg_lite.data.synthetic import generate

    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    for fs in args.fs:
        kwargs = dict(fs=fs, duration=args.duration, chunk_size=args.chunk_size)
        generate(args.n, seed=0, **kwargs)  # warm-up
        rates = []
        for rep in range(args.repeats):
            start = time.perf_counter()
            generate(args.n, seed=rep + 1, **kwargs)
            rates.append(args.n / (time.perf_counter() - start))
        rates.sort()
        best, median = rates[-1], rates[len(rates) // 2]
        print(
            f"fs={fs:g} Hz, {args.duration:g} s, chunk {args.chunk_size}: "
            f"best {best:,.0f} records/s, median {median:,.0f} records/s "
            f"({1e3 / median:.2f} ms/record)"
        )
        print(json.dumps({"fs": fs, "n": args.n, "best_rps": best, "median_rps": median}))


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    main()
