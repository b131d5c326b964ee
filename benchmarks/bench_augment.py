"""3KG views per second: the batched transform (threekg_lite.augment.ThreeKG) versus the
per-sample pipeline of public implementations, same machine, same shapes, one run.

Two per-sample baselines, both fed float32 ECGs ``(12, T)`` one at a time:

* **public design** (the goal is measured against this one;
  :func:`threekg_lite.baseline.per_sample_pair`): what fairseq-signals'
  ``_3KGECGDataset.perturb`` does in its data-loader workers for each ECG, written from
  its description: the VCG of the 8 independent leads with the 3 x 8 inverse matrix, a
  pseudo-inverse of that matrix computed per call, then for each of the **two** views a
  rotation from ``scipy.spatial.transform.Rotation.from_euler("zyx")`` (three random
  angles), random per-axis scales, the back-projection into a new float64 ``(12, T)`` array
  (``np.zeros``, as the public code allocates it), III, aVR, aVL, aVF recomputed from I and
  II, and a Python loop over the 12 leads for the circular time mask;
* **lean** (:func:`threekg_lite.baseline.per_sample_view`): the same steps for one view at
  a time, but written into a float32 array and with the ``(8, 8)`` spatial matrix folded
  before the product (cheaper than the public code; reported for transparency).

The batched transform makes the two views of a batch as a training loop does: two calls
writing into two reused buffers (``out=``); a call that allocates a fresh output is also
timed (on a CPU, page faults on 60 MB of new memory cost as much as the transform).

Usage::

    python benchmarks/bench_augment.py [--batch 256] [--length 2500] [--repeats 5] [--threads 1]

Prints views/s of each and the ratios (goal: >= 10x the public design on a CPU). With CUDA
available it also times the batched transform on the GPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from threekg_lite.augment import ThreeKG
from threekg_lite.baseline import per_sample_pair, per_sample_view


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
    buffers = (torch.empty_like(x), torch.empty_like(x))

    def batched_into_buffers() -> None:
        aug(x, gen, out=buffers[0])
        aug(x, gen, out=buffers[1])

    n = 2 * args.batch  # views per timed call: two per ECG everywhere
    t_public = time_it(lambda: [per_sample_pair(e, rng) for e in x_np], args.repeats)
    t_lean = time_it(
        lambda: [per_sample_view(e, rng) for _ in range(2) for e in x_np], args.repeats
    )
    t_batch = time_it(batched_into_buffers, args.repeats)
    t_fresh = time_it(lambda: aug.views(x, gen, 2), args.repeats)

    def rate(label: str, seconds: float) -> None:
        print(f"{label:34s}: {n / seconds:10,.0f} views/s ({1e6 * seconds / n:7.2f} us/view)")

    print(
        f"B={args.batch} ECGs x 2 views, 12 x {args.length}, float32 input, "
        f"{args.threads} CPU thread(s), best of {args.repeats}"
    )
    rate("per-sample, public design", t_public)
    rate("per-sample, lean (float32)", t_lean)
    rate("batched torch, reused buffers", t_batch)
    rate("batched torch, fresh outputs", t_fresh)
    print(f"{'ratio to the public design':34s}: {t_public / t_batch:10.1f}x  (goal >= 10x)")
    print(f"{'ratio to the lean variant':34s}: {t_lean / t_batch:10.1f}x")
    print(f"{'ratio, fresh outputs, to public':34s}: {t_public / t_fresh:10.1f}x")
    if torch.cuda.is_available():
        xg = x.cuda()
        gg = torch.Generator(device="cuda").manual_seed(0)

        out_g = (torch.empty_like(xg), torch.empty_like(xg))

        def gpu() -> None:
            aug(xg, gg, out=out_g[0])
            aug(xg, gg, out=out_g[1])
            torch.cuda.synchronize()

        t_gpu = time_it(gpu, args.repeats)
        rate(f"batched torch ({torch.cuda.get_device_name()})", t_gpu)


if __name__ == "__main__":
    main()
