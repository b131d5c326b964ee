"""The per-sample 3KG pipeline of the public implementations, as a reference to measure against.

Public 3KG code (fairseq-signals' ``_3KGECGDataset``, the 3KG base code) makes the views in
the data-loader's worker processes, one ECG at a time, in NumPy: each ``__getitem__`` crops
a record and builds its two views, the default collate stacks them into a batch, and the
training loop moves the batch to the device. This module rebuilds that design, written here
from its description (no code taken from those projects), so that ``bench_pipeline.py``
and ``benchmarks/bench_augment.py`` can time the batched, device-resident pipeline of
:mod:`threekg_lite.pretrain` against it on the same machine:

* :func:`per_sample_pair` (**public design**): what fairseq-signals' ``perturb`` does for
  each ECG: the VCG of the 8 independent leads with the ``3 x 8`` inverse matrix, a
  pseudo-inverse of that matrix computed per call, then for each of the **two** views a
  rotation from ``scipy.spatial.transform.Rotation.from_euler("zyx")`` (three random
  angles), random per-axis scales, the back-projection into a new float64 ``(12, T)`` array
  (``np.zeros``, as the public code allocates it), III, aVR, aVL, aVF recomputed from I and
  II, and a Python loop over the 12 leads for the circular time mask;
* :func:`per_sample_view` (**lean**): the same steps for one view at a time, but written
  into a float32 array and with the ``(8, 8)`` spatial matrix folded before the product
  (cheaper than the public code; reported for transparency);
* :class:`PerSampleDataset` and :func:`make_loader`: the data-loader around
  :func:`per_sample_pair` (random crop per record, two views per item, worker processes).

The draws follow fairseq-signals (angles ``U[-45°, 45°]`` in the fixed ``zyx`` order, scales
``U[1, 1.5]`` never inverted), not :class:`threekg_lite.augment.ThreeKG`'s defaults (random
axis order, shrink or grow); the arithmetic per view is the same either way.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from threekg_lite.leads import derived_limb_leads
from threekg_lite.vcg import DOWER_8, INVERSE_DOWER_B

INDEPENDENT = [0, 1, 6, 7, 8, 9, 10, 11]
"""Row indices of the independent leads I, II, V1-V6 in the 12-lead order."""


def _limb_leads(out: np.ndarray) -> None:
    """III, aVR, aVL, aVF of a ``(12, T)`` array from its I and II, in place."""
    out[2:6] = np.stack(derived_limb_leads(out[0], out[1]))


def _mask_each_lead(out: np.ndarray, rng: np.random.Generator, mask_ratio: float) -> None:
    """The per-lead loop: zero ``floor(mask_ratio * T)`` samples from a random start, wrapping."""
    t = out.shape[-1]
    length = math.floor(mask_ratio * t)
    starts = rng.integers(0, t, size=12)
    for lead in range(12):
        start = int(starts[lead])
        end = start + length
        out[lead, start : min(end, t)] = 0
        if end > t:
            out[lead, : end - t] = 0


def per_sample_pair(
    x: np.ndarray, rng: np.random.Generator, mask_ratio: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two 3KG views (float64) of one ECG ``(12, T)``, the way the public per-sample code
    builds them in its data-loader workers.

    Draws, in this order, for each view: three angles (``rng.uniform(-45, 45, 3)``, degrees),
    three scales (``rng.uniform(1, 1.5, 3)``), twelve mask starts (``rng.integers(0, T, 12)``).
    """
    inverse = np.asarray(INVERSE_DOWER_B)  # (3, 8)
    back = np.linalg.pinv(inverse)  # (8, 3), computed per call as in the public code
    vcg = inverse @ x[INDEPENDENT]  # (3, T)
    views = []
    for _ in range(2):
        rotation = Rotation.from_euler("zyx", rng.uniform(-45.0, 45.0, size=3), degrees=True)
        scale = np.diag(rng.uniform(1.0, 1.5, size=3))
        out = np.zeros((12, x.shape[-1]))
        out[INDEPENDENT] = back @ scale @ rotation.as_matrix() @ vcg
        _limb_leads(out)
        _mask_each_lead(out, rng, mask_ratio)
        views.append(out)
    return views[0], views[1]


def per_sample_view(x: np.ndarray, rng: np.random.Generator, mask_ratio: float = 0.5) -> np.ndarray:
    """One 3KG view (float32) of one ECG ``(12, T)``: the lean per-sample variant."""
    angles = rng.uniform(-45.0, 45.0, size=3)
    rotation = Rotation.from_euler("zyx", angles, degrees=True).as_matrix()
    scale = np.diag(rng.uniform(1.0, 1.5, size=3))
    m = DOWER_8 @ scale @ rotation @ np.linalg.pinv(DOWER_8)  # (8, 8), pinv per call
    out = np.empty_like(x)
    out[INDEPENDENT] = m @ x[INDEPENDENT]
    _limb_leads(out)
    _mask_each_lead(out, rng, mask_ratio)
    return out


class PerSampleDataset(torch.utils.data.Dataset):
    """Item ``i``: a random crop of record ``i`` and its two views by :func:`per_sample_pair`.

    Parameters
    ----------
    signals
        ``(N, 12, T)`` float32 array, the prepared records (kept as given, not copied: forked
        worker processes share its memory).
    crop
        Samples per crop, ``<= T``.
    seed
        Seeds the crops and the views (see below).
    mask_ratio
        Fraction of each lead masked.

    Returns, per item, ``(view1, view2, i)``: two float32 tensors ``(12, crop)`` and the
    record index (for the record-level positives of the loss); the default collate makes
    ``(B, 12, crop)`` batches of them.

    Randomness: each process that reads items (the main process with ``num_workers=0``, else
    every worker) owns one :class:`numpy.random.Generator`, created on its first item from
    ``(seed, torch worker seed)``. The worker seed is the one the DataLoader gives each
    worker (``base_seed + worker_id``, with ``base_seed`` drawn from the loader's
    ``generator``), so the workers draw different numbers, and a loader built by
    :func:`make_loader` with the same seed draws the same ones (the item-to-worker
    assignment is fixed). No ``worker_init_fn`` is needed. In the main process the
    generator comes from ``seed`` alone.
    """

    def __init__(
        self, signals: np.ndarray, crop: int, seed: int = 0, mask_ratio: float = 0.5
    ) -> None:
        signals = np.asarray(signals)
        if signals.ndim != 3 or signals.shape[1] != 12:
            raise ValueError(f"signals must be (N, 12, T), got {signals.shape}")
        if signals.dtype != np.float32:
            signals = signals.astype(np.float32)
        if not 1 <= crop <= signals.shape[-1]:
            raise ValueError(
                f"crop must be in [1, {signals.shape[-1]}] (the record length), got {crop}"
            )
        self.signals = signals
        self.crop = int(crop)
        self.seed = int(seed)
        self.mask_ratio = mask_ratio
        self._rng: np.random.Generator | None = None
        self._rng_key: int | None = None

    def __len__(self) -> int:
        return self.signals.shape[0]

    def _generator(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        key = -1 if info is None else int(info.seed)
        if self._rng is None or self._rng_key != key:
            entropy = [self.seed] if info is None else [self.seed, key]
            self._rng, self._rng_key = np.random.default_rng(entropy), key
        return self._rng

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        rng = self._generator()
        start = int(rng.integers(0, self.signals.shape[-1] - self.crop + 1))
        x = self.signals[i, :, start : start + self.crop]
        v1, v2 = per_sample_pair(x, rng, self.mask_ratio)
        return (
            torch.from_numpy(v1.astype(np.float32)),
            torch.from_numpy(v2.astype(np.float32)),
            int(i),
        )


def make_loader(
    signals: np.ndarray,
    crop: int,
    batch_size: int,
    workers: int = 2,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The public implementations' pipeline: :class:`PerSampleDataset` in a DataLoader.

    Shuffled, last partial batch dropped, ``workers`` worker processes (kept alive between
    epochs when there are any), default collate, page-locked batches when CUDA is available
    (so the training loop's ``.to(device, non_blocking=True)`` is an asynchronous copy). The
    loader's generator is seeded with ``seed`` (batch order and worker seeds).
    """
    dataset = PerSampleDataset(signals, crop, seed=seed)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
