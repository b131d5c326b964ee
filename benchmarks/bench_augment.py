"""3KG views per second: the batched transform (threekg_lite.augment.ThreeKG) versus the
per-sample pipeline of public implementations, same machine, same shapes, one run.

The per-sample baseline does, for each ECG and each view, what public 3KG code does in its
data-loader workers: a rotation from ``scipy.spatial.transform.Rotation.from_euler`` (three
random angles), random per-axis scales, a pseudo-inverse of the Dower matrix computed per
call, the ``(8, 8)`` spatial product applied to the 8 independent leads, the derived limb leads
recomputed, and a Python loop over the 12 leads for the circular time mask.

Usage::

    python benchmarks/bench_augment.py [--batch 256] [--length 2500] [--repeats 5] [--threads 1]

Prints views/s of both and their ratio (goal: >= 10x on a CPU). With CUDA available it also
times the batched transform on the GPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from threekg_lite.augment import ThreeKG
from threekg_lite.dower import DOWER_8


def per_sample_view(x: np.ndarray, rng: np.random.Generator, mask_ratio: float = 0.5) -> np.ndarray:
    """One 3KG view of one ECG ``(12, T)``, the way public per-sample code builds it."""
    angles = rng.uniform(-45.0, 45.0, size=3)
    rot = Rotation.from_euler("zyx", angles, degrees=True).as_matrix()
    scale = np.diag(rng.uniform(1.0, 1.5, size=3))
    inverse = np.linalg.pinv(DOWER_8)  # computed per call, as in the public code
    m = DOWER_8 @ scale @ rot @ inverse  # (8, 8)
    x8 = x[[0, 1, 6, 7, 8, 9, 10, 11]]
    y8 = m @ x8
    out = np.empty_like(x)
    out[[0, 1, 6, 7, 8, 9, 10, 11]] = y8
    i, ii = out[0], out[1]
    out[2], out[3], out[4], out[5] = ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2
    t = x.shape[-1]
    length = int(mask_ratio * t)
    for lead in range(12):  # the per-lead loop of public implementations
        start = int(rng.integers(0, t))
        end = start + length
        if end <= t:
            out[lead, start:end] = 0
        else:
            out[lead, start:] = 0
            out[lead, : end - t] = 0
    return out


def time_it(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--length", type=int, default=2500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    x_np = rng.normal(size=(args.batch, 12, args.length)).astype(np.float32)
    x = torch.from_numpy(x_np)
    gen = torch.Generator().manual_seed(0)
    aug = ThreeKG()

    t_loop = time_it(lambda: [per_sample_view(e, rng) for e in x_np], args.repeats)
    t_batch = time_it(lambda: aug(x, gen), args.repeats)
    n = args.batch

    def rate(label: str, seconds: float) -> None:
        print(f"{label:23s}: {n / seconds:10,.0f} views/s ({1e6 * seconds / n:7.2f} us/view)")

    print(
        f"B={n}, 12 x {args.length}, float32, {args.threads} CPU thread(s), best of {args.repeats}"
    )
    rate("per-sample NumPy/SciPy", t_loop)
    rate("batched torch (CPU)", t_batch)
    print(f"{'ratio':23s}: {t_loop / t_batch:10.1f}x  (goal >= 10x)")
    if torch.cuda.is_available():
        xg = x.cuda()
        gg = torch.Generator(device="cuda").manual_seed(0)

        def gpu() -> None:
            aug(xg, gg)
            torch.cuda.synchronize()

        t_gpu = time_it(gpu, args.repeats)
        rate(f"batched torch ({torch.cuda.get_device_name()})", t_gpu)


if __name__ == "__main__":
    main()
