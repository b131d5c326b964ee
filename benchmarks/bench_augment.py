"""3KG views per second: the batched transform (threekg_lite.augment.ThreeKG) versus the
per-sample pipeline of public implementations, same machine, same shapes, one run.

Two per-sample baselines, both fed float32 ECGs ``(12, T)`` one at a time:

* **public design** (the goal is measured against this one;
  :func:`public_baseline.per_sample_pair`): what fairseq-signals'
  ``_3KGECGDataset.perturb`` does in its data-loader workers for each ECG, written from
  its description: the VCG of the 8 independent leads with the 3 x 8 inverse matrix, a
  pseudo-inverse of that matrix computed per call, then for each of the **two** views a
  rotation from ``scipy.spatial.transform.Rotation.from_euler("zyx")`` (three random
  angles), random per-axis scales, the back-projection into a new float64 ``(12, T)`` array
  (``np.zeros``, as the public code allocates it), III, aVR, aVL, aVF recomputed from I and
  II, and a Python loop over the 12 leads for the circular time mask;
* **lean** (:func:`public_baseline.per_sample_view`): the same steps for one view at
  a time, but written into a float32 array and with the ``(8, 8)`` spatial matrix folded
  before the product (cheaper than the public code; reported for transparency).

The batched transform makes the two views of a batch as the trainer does: one
``ThreeKG.views`` call (one batched matrix product and a mask per view).

Usage::

    python benchmarks/bench_augment.py [--batch 256] [--length 2500] [--repeats 5] [--threads 1]

Prints views/s of each and the ratios (goal: >= 10x the public design on a CPU), twice:
with the default memory allocator, and (on glibc) with the allocator told to keep freed
memory, which removes page-fault costs that neither algorithm needs and makes the ratio
repeatable on a shared machine. With CUDA
available it also times the batched transform on the GPU.
"""

from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np
import torch
from public_baseline import per_sample_pair, per_sample_view  # noqa: I001 - beside this file

from threekg_lite.augment import ThreeKG


def time_it(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _glibc():
    """The C library, where it is glibc (for ``mallopt``), else ``None``."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - present on glibc only
        return libc
    except (OSError, AttributeError):
        return None


def _quiet_allocator() -> None:
    """Raise glibc's mmap and trim thresholds, so that freed memory is reused instead of
    returned to the system and faulted in again. By default each 240 kB float64 view of the
    per-sample code and each 2 MB work buffer of the batched code can cost fresh page faults,
    which on a virtual machine vary from run to run more than the work itself."""
    libc = _glibc()
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)


def time_interleaved(fns: dict, repeats: int) -> dict:
    """Best time of each function, timed in alternation (one call of each per round), so
    that a slow spell of a shared machine touches every contender alike."""
    for fn in fns.values():
        fn()  # warm-up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
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
    n = 2 * args.batch  # views per timed call: two per ECG everywhere
    contenders = {
        "public": lambda: [per_sample_pair(e, rng) for e in x_np],
        "lean": lambda: [per_sample_view(e, rng) for _ in range(2) for e in x_np],
        "batch": lambda: aug.views(x, gen, 2),
    }

    def rate(label: str, seconds: float) -> None:
        print(f"{label:34s}: {n / seconds:10,.0f} views/s ({1e6 * seconds / n:7.2f} us/view)")

    print(
        f"B={args.batch} ECGs x 2 views, 12 x {args.length}, float32 input, "
        f"{args.threads} CPU thread(s), best of {args.repeats}, timed in alternation"
    )
    phases = [("default memory allocator", None)]
    if _glibc() is not None:
        phases.append(("allocator without page-fault churn (glibc mallopt)", _quiet_allocator))
    for title, setup in phases:
        if setup is not None:
            setup()
        best = time_interleaved(contenders, args.repeats)
        print(f"-- {title}")
        rate("per-sample, public design", best["public"])
        rate("per-sample, lean (float32)", best["lean"])
        rate("batched (ThreeKG.views)", best["batch"])
        ratio = best["public"] / best["batch"]
        print(f"{'ratio to the public design':34s}: {ratio:10.1f}x  (goal >= 10x)")
        print(f"{'ratio to the lean variant':34s}: {best['lean'] / best['batch']:10.1f}x")
    if torch.cuda.is_available():
        xg = x.cuda()
        gg = torch.Generator(device="cuda").manual_seed(0)

        def gpu() -> None:
            aug.views(xg, gg, 2)
            torch.cuda.synchronize()

        t_gpu = time_it(gpu, args.repeats)
        rate(f"batched torch ({torch.cuda.get_device_name()})", t_gpu)


if __name__ == "__main__":
    main()
